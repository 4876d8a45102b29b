/**
 * Dialog identifiers (RFC 3261 §12): Call-ID, local tag and remote tag, seen from our side, and
 * the small header readers a dialog needs (Contact, Record-Route lists).
 *
 * @remarks
 * §12: "A dialog is identified at each UA with a dialog ID, which consists of a Call-ID value, a
 * local tag and a remote tag." For a request we receive, the local tag is the To tag and the
 * remote tag the From tag; for a response to a request we sent, the other way round (§12.1.1,
 * §12.1.2, §12.2.2).
 */

import { parseNameAddr } from '../message/headers.js';
import type { NameAddr, SipRequest, SipResponse } from '../message/types.js';

/** The identity of a dialog at one UA. */
export interface DialogId {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
}

/** A map key for a dialog id; tags compare case-sensitively, as the Call-ID does (§19.3). */
export function dialogKey(id: DialogId): string {
  return `${id.callId}\u0000${id.localTag}\u0000${id.remoteTag}`;
}

/**
 * The dialog id of a request we received, or `undefined` when it names no dialog (no To tag:
 * a request outside any dialog, §12.2.2).
 */
export function dialogIdOfRequest(request: SipRequest): DialogId | undefined {
  const localTag = request.to.params['tag'];
  if (localTag === undefined || localTag === '') return undefined;
  return { callId: request.callId, localTag, remoteTag: request.from.params['tag'] ?? '' };
}

/** The dialog id of a response to a request we sent; `undefined` without a To tag. */
export function dialogIdOfResponse(response: SipResponse): DialogId | undefined {
  const remoteTag = response.to.params['tag'];
  if (remoteTag === undefined || remoteTag === '') return undefined;
  return { callId: response.callId, localTag: response.from.params['tag'] ?? '', remoteTag };
}

/**
 * Splits a header value list at the commas that separate values: not inside a quoted string or
 * inside angle brackets (RFC 3261 §7.3.1).
 */
export function splitHeaderList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charAt(i);
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '<') angle = true;
    else if (c === '>') angle = false;
    else if (c === ',' && !angle) {
      out.push(value.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(value.slice(start).trim());
  return out.filter((v) => v.length > 0);
}

/** Every name-addr of a list header (Record-Route, Route, Contact), in order; bad ones skipped. */
export function readNameAddrs(values: readonly string[] | undefined): NameAddr[] {
  const out: NameAddr[] = [];
  for (const line of values ?? []) {
    for (const v of splitHeaderList(line)) {
      const a = parseNameAddr(v);
      if (a !== undefined) out.push(a);
    }
  }
  return out;
}

/** The URI of the first Contact, or `undefined` when there is none that can be read. */
export function contactUri(message: SipRequest | SipResponse): string | undefined {
  return readNameAddrs(message.headers['contact'])[0]?.uri;
}
