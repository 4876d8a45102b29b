/**
 * IP addresses as bytes for synthetic packet headers: IPv4 (RFC 791), IPv6 (RFC 4291 §2.2 text
 * forms), and a stable made-up address for a host that is a name.
 */

/** The four bytes of a dotted IPv4 address, or `undefined`. */
export function parseIpv4(host: string): Uint8Array | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (m === null) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const n = Number(m[i + 1]);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

/** The sixteen bytes of an IPv6 address (brackets and zone allowed), or `undefined`. */
export function parseIpv6(host: string): Uint8Array | undefined {
  let h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  const zone = h.indexOf('%');
  if (zone >= 0) h = h.slice(0, zone);
  if (!h.includes(':')) return undefined;
  const halves = h.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (i === items.length - 1 && item.includes('.')) {
        const v4 = parseIpv4(item);
        if (v4 === undefined) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(item)) out.push(parseInt(item, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** FNV-1a, 32 bits: a stable hash for made-up addresses. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * A stable IPv4 address for a host name, in 198.18.0.0/15 (RFC 2544 benchmarking range, RFC
 * 6890): never a real host.
 */
export function syntheticIpv4(name: string): Uint8Array {
  const h = fnv1a(name);
  return Uint8Array.of(198, 18 + (h >>> 24 & 1), (h >>> 8) & 0xff, Math.max(1, h & 0xff));
}

/** A stable IPv6 address for a host name, in the documentation prefix 2001:db8::/32 (RFC 3849). */
export function syntheticIpv6(name: string): Uint8Array {
  const out = new Uint8Array(16);
  out.set([0x20, 0x01, 0x0d, 0xb8]);
  const h = fnv1a(name);
  out[12] = h >>> 24;
  out[13] = (h >>> 16) & 0xff;
  out[14] = (h >>> 8) & 0xff;
  out[15] = h & 0xff;
  return out;
}
