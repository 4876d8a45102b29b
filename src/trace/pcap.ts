/**
 * The `--pcap` file: a classic libpcap capture of a trace, with synthetic Ethernet, IP, UDP and
 * TCP headers around each SIP message, for Wireshark, tshark and sngrep.
 *
 * @remarks
 * File format: libpcap (pcap-savefile(5); IETF draft-ietf-opsawg-pcap), microsecond timestamps,
 * LINKTYPE_ETHERNET (1). IPv4 (RFC 791) or IPv6 (RFC 8200) by the addresses, UDP (RFC 768), TCP
 * (RFC 9293) with a three-way handshake and consistent sequence and acknowledgement numbers per
 * connection, checksums computed (RFC 1071). TLS and WebSocket messages are written as the SIP
 * they carry over plain TCP (the trace sees them decrypted and unframed); the memory transport as
 * UDP. A host that is a name gets a stable made-up address in a reserved range.
 */

import { fnv1a, parseIpv4, parseIpv6, syntheticIpv4, syntheticIpv6 } from './ip-address.js';
import { formatAddress, receiverOf, senderOf, type TraceAddress, type TraceRecord } from './record.js';

/** LINKTYPE_ETHERNET (tcpdump.org link-layer header types). */
export const LINKTYPE_ETHERNET = 1;
/** The snapshot length written in the file header: the largest packet written. */
export const PCAP_SNAPLEN = 262_144;
/** The largest IP datagram (RFC 791 Total Length, RFC 8200 Payload Length: 16 bits). */
export const MAX_IP_PACKET = 65_535;

/** Options of {@link writePcap}. */
export interface PcapOptions {
  /**
   * Largest TCP payload per segment; longer messages are split into several segments.
   * @defaultValue 65_000 (loopback segments are this large); at most what fits an IP packet
   */
  readonly maxSegmentBytes?: number;
}

/** What {@link writePcap} made. */
export interface PcapResult {
  /** The whole file. */
  readonly bytes: Uint8Array;
  /** How many packets it holds (handshakes and segments included). */
  readonly packets: number;
  /** What could not be written as it went (a UDP message over the IP limit, cut). */
  readonly notes: readonly string[];
}

const ETH = 14;
const IPV4 = 20;
const IPV6 = 40;
const UDP = 8;
const TCP = 20;
const TCP_SYN = 0x02;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;

type Family = 4 | 6;

interface Endpoint {
  readonly ip: Uint8Array;
  readonly port: number;
  readonly mac: Uint8Array;
}

/** A locally administered unicast MAC address derived from the IP (IEEE 802: bit 1 of byte 0). */
function macOf(ip: Uint8Array): Uint8Array {
  const h = fnv1a(Array.from(ip).join('.'));
  return Uint8Array.of(0x02, 0x00, h >>> 24, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff);
}

/** The IP bytes of both ends in one family: IPv4 when both can be, otherwise IPv6. */
function addresses(a: TraceAddress, b: TraceAddress): { family: Family; src: Endpoint; dst: Endpoint } {
  const v4a = parseIpv4(a.host);
  const v4b = parseIpv4(b.host);
  const v6a = parseIpv6(a.host);
  const v6b = parseIpv6(b.host);
  const family: Family = (v6a !== undefined && !isMappedV4(v6a)) || (v6b !== undefined && !isMappedV4(v6b)) ? 6 : 4;
  const ip = (v4: Uint8Array | undefined, v6: Uint8Array | undefined, host: string): Uint8Array => {
    if (family === 4) return v4 ?? (v6 !== undefined && isMappedV4(v6) ? v6.slice(12) : syntheticIpv4(host));
    if (v6 !== undefined) return v6;
    if (v4 !== undefined) return Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4);
    return syntheticIpv6(host);
  };
  const src = ip(v4a, v6a, a.host);
  const dst = ip(v4b, v6b, b.host);
  return {
    family,
    src: { ip: src, port: a.port & 0xffff, mac: macOf(src) },
    dst: { ip: dst, port: b.port & 0xffff, mac: macOf(dst) },
  };
}

function isMappedV4(v6: Uint8Array): boolean {
  for (let i = 0; i < 10; i++) if (v6[i] !== 0) return false;
  return v6[10] === 0xff && v6[11] === 0xff;
}

/** Ones' complement sum of 16-bit words (RFC 1071), not yet complemented. */
function sum16(bytes: Uint8Array, start: number, end: number, acc = 0): number {
  let s = acc;
  let i = start;
  for (; i + 1 < end; i += 2) s += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) s += bytes[i]! << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

function fold(s: number): number {
  let v = s;
  while (v > 0xffff) v = (v & 0xffff) + (v >>> 16);
  return ~v & 0xffff;
}

/** Growing little-endian output. */
class Out {
  #buf = new Uint8Array(64 * 1024);
  #view = new DataView(this.#buf.buffer);
  length = 0;

  reserve(n: number): void {
    if (this.length + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.length));
    this.#buf = next;
    this.#view = new DataView(next.buffer);
  }

  u32le(v: number): void {
    this.reserve(4);
    this.#view.setUint32(this.length, v >>> 0, true);
    this.length += 4;
  }

  u16le(v: number): void {
    this.reserve(2);
    this.#view.setUint16(this.length, v, true);
    this.length += 2;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.#buf.set(b, this.length);
    this.length += b.length;
  }

  result(): Uint8Array {
    return this.#buf.slice(0, this.length);
  }
}

/** One packet: Ethernet, IP and the transport header with `payload`, checksums filled in. */
function packet(
  family: Family,
  src: Endpoint,
  dst: Endpoint,
  proto: 'udp' | 'tcp',
  payload: Uint8Array,
  id: number,
  tcp?: { seq: number; ack: number; flags: number },
): Uint8Array {
  const l4 = proto === 'udp' ? UDP : TCP;
  const ipLen = family === 4 ? IPV4 : IPV6;
  const p = new Uint8Array(ETH + ipLen + l4 + payload.length);
  const v = new DataView(p.buffer);
  p.set(dst.mac, 0);
  p.set(src.mac, 6);
  v.setUint16(12, family === 4 ? 0x0800 : 0x86dd);
  const ip = ETH;
  const next = proto === 'udp' ? 17 : 6;
  const segLen = l4 + payload.length;
  if (family === 4) {
    p[ip] = 0x45;
    v.setUint16(ip + 2, IPV4 + segLen);
    v.setUint16(ip + 4, id & 0xffff);
    v.setUint16(ip + 6, 0x4000); // don't fragment
    p[ip + 8] = 64;
    p[ip + 9] = next;
    p.set(src.ip, ip + 12);
    p.set(dst.ip, ip + 16);
    v.setUint16(ip + 10, fold(sum16(p, ip, ip + IPV4)));
  } else {
    v.setUint32(ip, 0x60000000);
    v.setUint16(ip + 4, segLen);
    p[ip + 6] = next;
    p[ip + 7] = 64;
    p.set(src.ip, ip + 8);
    p.set(dst.ip, ip + 24);
  }
  const t = ip + ipLen;
  v.setUint16(t, src.port);
  v.setUint16(t + 2, dst.port);
  if (proto === 'udp') {
    v.setUint16(t + 4, segLen);
  } else {
    v.setUint32(t + 4, tcp!.seq >>> 0);
    v.setUint32(t + 8, tcp!.ack >>> 0);
    p[t + 12] = (TCP / 4) << 4;
    p[t + 13] = tcp!.flags;
    v.setUint16(t + 14, 65_535);
  }
  p.set(payload, t + l4);
  // pseudo-header: addresses, protocol, length (RFC 768, RFC 9293 §3.1, RFC 8200 §8.1)
  let s = sum16(src.ip, 0, src.ip.length);
  s = sum16(dst.ip, 0, dst.ip.length, s);
  s += next + (segLen & 0xffff) + (segLen >>> 16);
  s = sum16(p, t, p.length, s);
  let ck = fold(s);
  if (proto === 'udp' && ck === 0) ck = 0xffff; // zero means "no checksum" in UDP
  v.setUint16(t + (proto === 'udp' ? 6 : 16), ck);
  return p;
}

interface TcpFlow {
  /** Next sequence number of each direction, by sender key. */
  readonly next: Map<string, number>;
}

const endpointKey = (a: TraceAddress): string => formatAddress(a).toLowerCase();

/**
 * The pcap file of `records`, one packet per UDP message and one or more TCP segments per TCP
 * message (after a synthetic handshake the first time a connection is seen), in the order given
 * (see `mergeTrace`).
 *
 * @remarks
 * A UDP message too large for one IP packet cannot have been sent as one datagram: it is cut to
 * the limit and a note says so.
 */
export function writePcap(records: readonly TraceRecord[], options: PcapOptions = {}): PcapResult {
  const out = new Out();
  // global header (pcap-savefile(5)): magic, version 2.4, thiszone, sigfigs, snaplen, network
  out.u32le(0xa1b2c3d4);
  out.u16le(2);
  out.u16le(4);
  out.u32le(0);
  out.u32le(0);
  out.u32le(PCAP_SNAPLEN);
  out.u32le(LINKTYPE_ETHERNET);
  const notes: string[] = [];
  let packets = 0;
  let ipId = 1;
  const flows = new Map<string, TcpFlow>();
  const emit = (time: number, p: Uint8Array): void => {
    const micros = Math.max(0, Math.round(time * 1000));
    out.u32le(Math.floor(micros / 1_000_000));
    out.u32le(micros % 1_000_000);
    out.u32le(p.length);
    out.u32le(p.length);
    out.bytes(p);
    packets++;
  };
  records.forEach((r, n) => {
    const from = senderOf(r);
    const to = receiverOf(r);
    const { family, src, dst } = addresses(from, to);
    const room = MAX_IP_PACKET - (family === 4 ? IPV4 : 0);
    const stream = r.transport === 'tcp' || r.transport === 'tls' || r.transport === 'ws' || r.transport === 'wss';
    if (!stream) {
      let payload = r.bytes;
      if (payload.length > room - UDP) {
        notes.push(
          `message ${n + 1} (${formatAddress(from)} → ${formatAddress(to)}): ${payload.length} bytes do not fit one UDP datagram; cut to ${room - UDP}`,
        );
        payload = payload.subarray(0, room - UDP);
      }
      emit(r.time, packet(family, src, dst, 'udp', payload, ipId++));
      return;
    }
    const fk = endpointKey(from);
    const tk = endpointKey(to);
    const flowKey = fk < tk ? `${fk}|${tk}` : `${tk}|${fk}`;
    let flow = flows.get(flowKey);
    if (flow === undefined) {
      // the sender of the first message opened the connection: SYN, SYN-ACK, ACK (RFC 9293 §3.5)
      const h = fnv1a(flowKey);
      const isnA = (h & 0x0fffffff) + 1_000;
      const isnB = ((h >>> 4) ^ 0x5a5a5a5a) >>> 0;
      emit(r.time, packet(family, src, dst, 'tcp', new Uint8Array(0), ipId++, { seq: isnA, ack: 0, flags: TCP_SYN }));
      emit(r.time, packet(family, dst, src, 'tcp', new Uint8Array(0), ipId++, { seq: isnB, ack: isnA + 1, flags: TCP_SYN | TCP_ACK }));
      emit(r.time, packet(family, src, dst, 'tcp', new Uint8Array(0), ipId++, { seq: isnA + 1, ack: isnB + 1, flags: TCP_ACK }));
      flow = { next: new Map([[fk, (isnA + 1) >>> 0], [tk, (isnB + 1) >>> 0]]) };
      flows.set(flowKey, flow);
    }
    const max = Math.max(1, Math.min(options.maxSegmentBytes ?? 65_000, room - TCP));
    const bytes = r.bytes;
    // an empty message still gets one segment, so that every record shows
    for (let off = 0; off < bytes.length || off === 0; off += max) {
      const piece = bytes.subarray(off, Math.min(bytes.length, off + max));
      const last = off + max >= bytes.length;
      const seq = flow.next.get(fk)!;
      const ack = flow.next.get(tk)!;
      emit(r.time, packet(family, src, dst, 'tcp', piece, ipId++, { seq, ack, flags: TCP_ACK | (last ? TCP_PSH : 0) }));
      flow.next.set(fk, (seq + piece.length) >>> 0);
      if (bytes.length === 0) break;
    }
  });
  return { bytes: out.result(), packets, notes };
}
