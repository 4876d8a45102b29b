/**
 * The Replaces header (RFC 3891) and the URI headers of a Refer-To (RFC 3515 §2.1, RFC 3261
 * §19.1.1): reading and writing the dialog id that a new INVITE replaces.
 *
 * @remarks
 * RFC 3891 §3: the receiver of an INVITE with Replaces matches its Call-ID, `to-tag` and
 * `from-tag` against the Call-ID, local tag and remote tag of a dialog it has. So the sender
 * writes the tags as the receiver sees them: in an attended transfer, the transferor puts the
 * remote tag of its own dialog with the target in `to-tag` and its local tag in `from-tag`.
 */

import type { DialogId } from './dialog-id.js';

/** A parsed Replaces value (RFC 3891 §6.1). */
export interface Replaces {
  readonly callId: string;
  /** The local tag of the replaced dialog at the receiver of the INVITE. */
  readonly toTag: string;
  /** The remote tag of the replaced dialog at the receiver of the INVITE. */
  readonly fromTag: string;
  /** `early-only`: replace only a dialog that is still early. */
  readonly earlyOnly: boolean;
}

/**
 * Reads a Replaces header value (`callid;to-tag=a;from-tag=b[;early-only]`); `undefined` when
 * the Call-ID or either tag is missing.
 */
export function parseReplaces(value: string): Replaces | undefined {
  const parts = value.split(';').map((p) => p.trim());
  const callId = parts[0] ?? '';
  if (callId.length === 0 || /\s/.test(callId)) return undefined;
  let toTag: string | undefined;
  let fromTag: string | undefined;
  let earlyOnly = false;
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=');
    const name = (eq < 0 ? p : p.slice(0, eq)).trim().toLowerCase();
    const val = eq < 0 ? '' : p.slice(eq + 1).trim();
    if (name === 'to-tag') toTag = val;
    else if (name === 'from-tag') fromTag = val;
    else if (name === 'early-only') earlyOnly = true;
  }
  if (toTag === undefined || toTag === '' || fromTag === undefined || fromTag === '')
    return undefined;
  return { callId, toTag, fromTag, earlyOnly };
}

/** Writes a Replaces header value. */
export function formatReplaces(r: Replaces): string {
  return `${r.callId};to-tag=${r.toTag};from-tag=${r.fromTag}${r.earlyOnly ? ';early-only' : ''}`;
}

/**
 * The Replaces that names `id` (a dialog of ours, seen from our side) for the peer that will
 * receive the INVITE: its `to-tag` is our remote tag, its `from-tag` our local tag.
 */
export function replacesFor(id: DialogId, earlyOnly = false): Replaces {
  return { callId: id.callId, toTag: id.remoteTag, fromTag: id.localTag, earlyOnly };
}

/** True when `r` names the dialog `id` as its receiver holds it (RFC 3891 §3). */
export function replacesMatches(r: Replaces, id: DialogId): boolean {
  return r.callId === id.callId && r.toTag === id.localTag && r.fromTag === id.remoteTag;
}

/** A URI split into its base and its `?` headers (RFC 3261 §19.1.1), values unescaped. */
export interface UriWithHeaders {
  /** The URI without its headers part. */
  readonly uri: string;
  /** Header names as written (case kept), values percent-decoded. */
  readonly headers: Readonly<Record<string, string>>;
}

function unescape(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a stray '%' is kept as written
  }
}

/** Splits the headers part off a URI; a URI without one has no headers. */
export function splitUriHeaders(uri: string): UriWithHeaders {
  const q = uri.indexOf('?');
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  if (q < 0) return { uri, headers };
  for (const pair of uri.slice(q + 1).split('&')) {
    if (pair.length === 0) continue;
    const eq = pair.indexOf('=');
    const name = unescape(eq < 0 ? pair : pair.slice(0, eq));
    headers[name] = unescape(eq < 0 ? '' : pair.slice(eq + 1));
  }
  return { uri: uri.slice(0, q), headers };
}

/** `uri` with a Replaces URI header, escaped for a Refer-To (RFC 3891 §7.2 example). */
export function uriWithReplaces(uri: string, r: Replaces): string {
  const sep = uri.includes('?') ? '&' : '?';
  return `${uri}${sep}Replaces=${encodeURIComponent(formatReplaces(r))}`;
}

/** The value of the URI header `name` (case-insensitive), if any. */
export function uriHeader(u: UriWithHeaders, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const k in u.headers) if (k.toLowerCase() === lower) return u.headers[k];
  return undefined;
}
