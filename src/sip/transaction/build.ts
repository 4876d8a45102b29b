/**
 * The few messages the transaction layer builds itself: 100 (Trying), 482 (Loop Detected) and
 * the ACK to a non-2xx final response.
 *
 * @remarks
 * Kept small and private to the transaction folder so it can be swapped for `createResponse`
 * from `sip/message/serialize.ts`. The typed fields and the raw `headers` are both filled, and
 * raw header values are copied from the request where RFC 3261 says "copied", so nothing is
 * lost in reformatting.
 */

import type { NameAddr, SipRequest, SipResponse, Via } from '../message/types.js';

const EMPTY_BODY = new Uint8Array(0);

/** Formats one Via value: `SIP/2.0/UDP host:port;param=value…` (RFC 3261 §20.42). */
export function formatVia(via: Via): string {
  const host = via.host.includes(':') && !via.host.startsWith('[') ? `[${via.host}]` : via.host;
  let s = `SIP/2.0/${via.transport} ${host}${via.port === undefined ? '' : `:${via.port}`}`;
  let sawBranch = false;
  for (const [name, value] of Object.entries(via.params)) {
    if (name === 'branch') sawBranch = true;
    s += value === '' ? `;${name}` : `;${name}=${value}`;
  }
  if (!sawBranch && via.branch !== undefined) s += `;branch=${via.branch}`;
  return s;
}

/** Formats a name-addr (RFC 3261 §20.10) from its parts. */
function formatNameAddr(a: NameAddr): string {
  let s =
    a.displayName === undefined || a.displayName === ''
      ? `<${a.uri}>`
      : `"${a.displayName}" <${a.uri}>`;
  for (const [name, value] of Object.entries(a.params))
    s += value === '' ? `;${name}` : `;${name}=${value}`;
  return s;
}

/** The raw values of a header, or the formatted fallback when the message carries none. */
function raw(
  message: SipRequest | SipResponse,
  name: string,
  fallback: () => string,
): readonly string[] {
  const values = message.headers[name];
  return values !== undefined && values.length > 0 ? values : [fallback()];
}

/**
 * Builds a response to `request` with no body (RFC 3261 §8.2.6).
 *
 * @remarks
 * §8.2.6.2: "The From field of the response MUST equal the From header field of the request.
 * The Call-ID header field of the response MUST equal the Call-ID header field of the request.
 * The CSeq header field of the response MUST equal the CSeq field of the request. The Via header
 * field values in the response MUST equal the Via header field values in the request." A To tag
 * is added when `toTag` is given and the request's To has none; a 100 (Trying) passes none
 * (§17.2.1 downgrades that tag to SHOULD NOT). §8.2.6.1: a Timestamp is copied into a 100.
 */
export function buildResponse(
  request: SipRequest,
  status: number,
  reason: string,
  toTag?: string,
): SipResponse {
  const hasTag = request.to.params['tag'] !== undefined;
  const addTag = toTag !== undefined && !hasTag;
  const to: NameAddr = addTag
    ? { ...request.to, params: { ...request.to.params, tag: toTag } }
    : request.to;
  const headers: Record<string, readonly string[]> = {
    via: raw(request, 'via', () => request.via.map(formatVia).join(', ')),
    from: raw(request, 'from', () => formatNameAddr(request.from)),
    to: addTag
      ? [`${raw(request, 'to', () => formatNameAddr(request.to))[0] ?? ''};tag=${toTag}`]
      : raw(request, 'to', () => formatNameAddr(request.to)),
    'call-id': [request.callId],
    cseq: [`${request.cseq.seq} ${request.cseq.method}`],
  };
  const timestamp = request.headers['timestamp'];
  if (status === 100 && timestamp !== undefined) headers['timestamp'] = timestamp;
  headers['content-length'] = ['0'];
  return {
    kind: 'response',
    status,
    reason,
    via: request.via,
    from: request.from,
    to,
    callId: request.callId,
    cseq: request.cseq,
    headers,
    body: EMPTY_BODY,
  };
}

/**
 * Builds the ACK for a non-2xx final response to `invite` (RFC 3261 §17.1.1.3).
 *
 * @remarks
 * "The ACK request constructed by the client transaction MUST contain values for the Call-ID,
 * From, and Request-URI that are equal to the values of those header fields in the request
 * passed to the transport by the client transaction (call this the "original request"). The To
 * header field in the ACK MUST equal the To header field in the response being acknowledged.
 * The ACK MUST contain a single Via header field, and this MUST be equal to the top Via header
 * field of the original request. The CSeq header field in the ACK MUST contain the same value
 * for the sequence number as was present in the original request, but the method parameter MUST
 * be equal to "ACK"." "If the INVITE request whose response is being acknowledged had Route
 * header fields, those header fields MUST appear in the ACK."
 */
export function buildAck(invite: SipRequest, response: SipResponse): SipRequest {
  const top = invite.via[0];
  const via = top === undefined ? [] : [top];
  const headers: Record<string, readonly string[]> = {
    via: via.map(formatVia),
    'max-forwards': [String(invite.maxForwards ?? 70)],
    from: raw(invite, 'from', () => formatNameAddr(invite.from)),
    to: raw(response, 'to', () => formatNameAddr(response.to)),
    'call-id': [invite.callId],
    cseq: [`${invite.cseq.seq} ACK`],
  };
  const route = invite.headers['route'];
  if (route !== undefined) headers['route'] = route;
  headers['content-length'] = ['0'];
  return {
    kind: 'request',
    method: 'ACK',
    uri: invite.uri,
    maxForwards: invite.maxForwards ?? 70,
    via,
    from: invite.from,
    to: response.to,
    callId: invite.callId,
    cseq: { seq: invite.cseq.seq, method: 'ACK' },
    headers,
    body: EMPTY_BODY,
  };
}
