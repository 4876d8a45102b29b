/**
 * Addresses of simulated phones on SIP: the device ID of a phone (`sip:EXTENSION@HOST` of its
 * listen address), the forms accepted on input (`tel:` and a bare extension, ECMA-269 §6.1.4
 * device identifiers as phones and PBXs write them, digest §2.3), and the SIP URI a call to a
 * dialled number goes to.
 */

import { uriUser } from './endpoint-router.js';

/** A host as it goes into a SIP URI: IPv6 in brackets (RFC 3261 §25.1 `IPv6reference`). */
export function uriHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** The device ID of the phone `extension` listening on `host`: `sip:1000@192.0.2.1`. */
export function phoneDeviceId(extension: string, host: string): string {
  return `sip:${extension}@${uriHost(host)}`;
}

/** The Contact of the phone `extension`: `sip:1000@192.0.2.1:5060` (with `;transport=` off UDP). */
export function phoneContact(extension: string, host: string, port: number, protocol = 'udp'): string {
  const transport = protocol === 'udp' ? '' : `;transport=${protocol}`;
  return `sip:${extension}@${uriHost(host)}:${port}${transport}`;
}

/**
 * The extension a device identifier names: `sip:1000@host`, `sips:1000@host`, `tel:1000`,
 * `tel:+1000`, or `1000` itself (digits, `*`, `#`, `+`, letters for named extensions).
 * `undefined` for anything else.
 */
export function extensionOf(device: string): string | undefined {
  const d = device.trim();
  if (/^(sips?|tel):/i.test(d)) return uriUser(d);
  return /^[+]?[0-9A-Za-z*#._-]{1,64}$/.test(d) ? d : undefined;
}

/** Where calls to dialled numbers go. */
export interface DialPlan {
  /**
   * The host (and port) of the SIP URI for a number: the registrar/proxy domain when the phones
   * register, else the host and port the phones listen on, so that phones of one process call
   * each other directly.
   */
  readonly domain: string;
}

/**
 * The Request-URI for a called party: a `sip:`/`sips:` URI as given (URI headers dropped), a
 * `tel:` number or a bare extension as `sip:NUMBER@domain` (RFC 3261 §19.1.6 turns a telephone
 * number into a SIP URI at a gateway's or proxy's domain).
 */
export function callTarget(to: string, plan: DialPlan): string | undefined {
  const t = to.trim();
  if (/^sips?:/i.test(t)) {
    const q = t.indexOf('?');
    return q < 0 ? t : t.slice(0, q);
  }
  const number = /^tel:/i.test(t) ? uriUser(t) : extensionOf(t);
  if (number === undefined) return undefined;
  return `sip:${number}@${plan.domain}`;
}
