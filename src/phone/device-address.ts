/**
 * Device identifiers of the simulated phone: comparing what a controller sends with a line's
 * deviceID, and turning a dial string into the deviceID events report.
 *
 * @remarks
 * Digest §1.6: DeviceIDs are opaque strings, compared after normalising the scheme
 * (`sip:`/`sips:`/none), the case of the host and the default port; a bare extension and a
 * `tel:` number name the line whose user part they equal (digest §1.6, issue #7 item 7).
 */

import type { DeviceID } from '../csta/model/types.js';

/** The text of a DeviceID (attributes dropped, §4.1.1). */
export function deviceText(id: DeviceID | undefined): string {
  if (id === undefined) return '';
  return typeof id === 'string' ? id.trim() : String(id.value ?? '').trim();
}

interface Parts {
  readonly user: string;
  readonly host: string | undefined;
}

function parts(address: string): Parts {
  let s = address.trim();
  const lt = s.indexOf('<');
  if (lt >= 0) s = s.slice(lt + 1, s.indexOf('>', lt) < 0 ? undefined : s.indexOf('>', lt));
  s = s.replace(/^(sips?|tel):/i, '');
  const semi = s.indexOf(';');
  if (semi >= 0) s = s.slice(0, semi);
  const at = s.lastIndexOf('@');
  if (at < 0) return { user: s, host: undefined };
  let host = s.slice(at + 1).toLowerCase();
  if (host.endsWith(':5060')) host = host.slice(0, -5);
  return { user: s.slice(0, at), host };
}

/** The user part of a SIP/tel address or the extension itself (`sip:1001@h` → `1001`). */
export function userPart(address: string): string {
  return parts(address).user;
}

/** The host part of a SIP address (lower case, without the default port), if any. */
export function hostPart(address: string): string | undefined {
  return parts(address).host;
}

/**
 * True when `input` (from a controller) names the device `own`: same user and host after
 * normalisation, or a bare extension / `tel:` number equal to `own`'s user part.
 */
export function namesDevice(input: string, own: string): boolean {
  if (input === '') return false;
  const a = parts(input);
  const b = parts(own);
  if (a.user !== b.user) return false;
  return a.host === undefined || b.host === undefined || a.host === b.host;
}

/**
 * The deviceID events give a dialled party: a bare number dialled from `sip:1001@host` becomes
 * `sip:NUMBER@host` (digest Example 3: `2002` → `sip:2002@pbx.example.com`); URIs stay as dialled.
 */
export function dialledDevice(dialled: string, own: string): string {
  const s = dialled.trim();
  if (/^(sips?|tel):/i.test(s)) return s;
  if (s.includes('@')) return `sip:${s}`;
  const host = hostPart(own);
  return host === undefined || !/^sips?:/i.test(own) ? s : `sip:${s}@${own.slice(own.lastIndexOf('@') + 1).replace(/[;>].*$/, '')}`;
}
