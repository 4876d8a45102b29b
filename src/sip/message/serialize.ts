/**
 * SIP message output: typed messages to bytes, and the builders for requests and responses.
 *
 * @remarks
 * RFC 3261 §7 (message structure), §8.1.1 (requests), §8.2.6 (responses), §20 (header fields).
 * Text is written as UTF-8 and `Content-Length` is the body's byte count, computed here and
 * never taken from the caller (STYLE §7.1). Every piece of text is checked before it is written:
 * CR, LF or NUL in a header value, a method, a URI or a reason phrase throws `ERR_INVALID_ARG`,
 * so nothing a caller passes can inject a header line or end the header section (STYLE §7.5).
 */
import { UaCstaError } from '../../errors.js';
import { headerKey, isToken, isTokenChar, newRecord, parseNameAddr } from './headers.js';
import type { SipParseError } from './parse-error.js';
import type { CSeq, NameAddr, SipMessage, SipRequest, SipResponse, Via } from './types.js';
import { MAX_CSEQ } from './validate.js';

const utf8 = new TextEncoder();

/** Size of one shared slab of bytes. */
const SLAB_BYTES = 65_536;
/** Pieces larger than this get their own allocation rather than a slab view. */
const SLAB_MAX_TAKE = 16_384;

/**
 * Small byte arrays cut from shared 64 KiB slabs, as Node's Buffer pool does, because giving
 * every message its own ArrayBuffer costs more than parsing it. A slab stays allocated while any
 * view into it lives, so pieces that live alike share one: serialized messages (a UDP server
 * transaction keeps its response for Timer J, 32 s) come from one pool, and short-lived pieces
 * (bodies on their way into a message, frames read from a stream) from another, which would
 * otherwise keep a third more memory alive for those 32 s.
 */
class SlabPool {
  #slab = new Uint8Array(0);
  #offset = 0;

  /** Makes sure the current slab has `n` free bytes; false when `n` is too big for slabs. */
  room(n: number): boolean {
    if (n > SLAB_MAX_TAKE) return false;
    if (this.#offset + n > this.#slab.length) {
      this.#slab = new Uint8Array(SLAB_BYTES);
      this.#offset = 0;
    }
    return true;
  }

  /** The free bytes after a successful {@link room}`(n)`, to write into before {@link take}. */
  free(n: number): Uint8Array {
    return this.#slab.subarray(this.#offset, this.#offset + n);
  }

  /** Takes the next `n` bytes (after {@link room}). */
  take(n: number): Uint8Array {
    const view = this.#slab.subarray(this.#offset, this.#offset + n);
    this.#offset += n;
    return view;
  }
}

/** Serialized messages: they may stay for Timer J. */
const messages = new SlabPool();
/** Bodies on their way into a message and frames read from a stream: gone soon. */
const scratch = new SlabPool();

/**
 * `n` fresh bytes for a short-lived piece: a view into a shared 64 KiB slab for small sizes. The
 * view's `buffer` is the slab: use the view (or `byteOffset`/`byteLength`), never `.buffer` alone.
 *
 * @internal Shared with the stream framer.
 */
export function takeBytes(n: number): Uint8Array {
  return scratch.room(n) ? scratch.take(n) : new Uint8Array(n);
}

/** Header names written from typed fields, or computed: skipped in `headers` on output. */
const MANAGED = new Set(['via', 'from', 'to', 'call-id', 'cseq', 'max-forwards', 'content-length']);

/** Spellings that the word-capitalising rule gets wrong. */
const WIRE_NAMES: Readonly<Record<string, string>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, string>, {
    'call-id': 'Call-ID',
    cseq: 'CSeq',
    'www-authenticate': 'WWW-Authenticate',
    'mime-version': 'MIME-Version',
    rack: 'RAck',
    rseq: 'RSeq',
    'min-se': 'Min-SE',
    'sip-etag': 'SIP-ETag',
    'sip-if-match': 'SIP-If-Match',
  }),
);

/** Spellings made so far (header names are few; bounded all the same). */
const wireNames = new Map<string, string>();
const MAX_WIRE_NAMES = 256;

/** The wire spelling of a lower-case header name: `content-type` → `Content-Type`. */
function wireName(key: string): string {
  const known = WIRE_NAMES[key] ?? wireNames.get(key);
  if (known !== undefined) return known;
  const made = capitalise(key);
  if (wireNames.size < MAX_WIRE_NAMES) wireNames.set(key, made);
  return made;
}

function capitalise(key: string): string {
  let out = '';
  let up = true;
  for (let i = 0; i < key.length; i++) {
    const ch = key.charAt(i);
    out += up ? ch.toUpperCase() : ch;
    up = ch === '-';
  }
  return out;
}

function invalid(message: string): never {
  throw new UaCstaError('ERR_INVALID_ARG', message);
}

/** True when `s` holds no CR, LF or NUL: the characters that break a header line. */
function isLineSafe(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x0d || c === 0x0a || c === 0x00) return false;
  }
  return true;
}

function checkText(s: string, what: string): string {
  if (typeof s !== 'string') invalid(`${what} must be a string; got ${typeof s}`);
  if (!isLineSafe(s)) invalid(`${what} contains CR, LF or NUL: ${JSON.stringify(s.slice(0, 60))}`);
  return s;
}

function checkToken(s: string, what: string): string {
  if (typeof s !== 'string' || !isToken(s))
    invalid(`${what} must be a token (RFC 3261 §25.1); got ${JSON.stringify(s)}`);
  return s;
}

/** A URI written bare or inside `<>`: no whitespace, controls, `<`, `>` or `"`. */
function checkUri(s: string, what: string): string {
  if (typeof s !== 'string' || s.length === 0 || s.indexOf(':') <= 0) {
    invalid(`${what} must be a URI with a scheme; got ${JSON.stringify(s)}`);
  }
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x3c || c === 0x3e || c === 0x22) {
      invalid(`${what} holds a character not allowed in a URI: ${JSON.stringify(s.slice(0, 60))}`);
    }
  }
  return s;
}

function checkInt(n: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(n) || n < min || n > max)
    invalid(`${what} must be an integer ${min}-${max}; got ${String(n)}`);
  return n;
}

/** A parameter value: `''` (valueless), a quoted-string, or token/host characters. */
function isParamValue(v: string): boolean {
  if (v.length === 0) return true;
  if (v.charCodeAt(0) === 0x22) {
    if (v.length < 2 || v.charCodeAt(v.length - 1) !== 0x22 || !isLineSafe(v)) return false;
    let i = 1;
    while (i < v.length - 1) {
      const c = v.charCodeAt(i);
      if (c === 0x22) return false;
      i += c === 0x5c ? 2 : 1;
    }
    return i === v.length - 1; // the closing quote is not escaped
  }
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (!isTokenChar(c) && c !== 0x3a && c !== 0x5b && c !== 0x5d) return false;
  }
  return true;
}

function paramsText(
  params: Readonly<Record<string, string>>,
  skip: string | undefined,
  what: string,
): string {
  let s = '';
  for (const name in params) {
    if (name === skip) continue;
    const value = params[name]!;
    checkToken(name, `${what} parameter name`);
    if (typeof value !== 'string' || !isParamValue(value)) {
      invalid(
        `${what} parameter ${name} has a value that is neither a token nor a quoted-string: ${JSON.stringify(value)}`,
      );
    }
    s += value === '' ? `;${name}` : `;${name}=${value}`;
  }
  return s;
}

/** No whitespace, control character, `;`, `,` or `?`: what would break a Via sent-by. */
function isHostText(h: string): boolean {
  for (let i = 0; i < h.length; i++) {
    const c = h.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === 0x3b || c === 0x2c || c === 0x3f) return false;
    // the remaining Unicode white space that /\s/ matched (U+00A0, U+1680, U+2000–U+200A, …)
    if (c >= 0xa0 && /\s/.test(h.charAt(i))) return false;
  }
  return true;
}

function viaText(v: Via): string {
  checkToken(v.transport, 'Via transport');
  if (typeof v.host !== 'string' || v.host.length === 0 || !isHostText(v.host)) {
    invalid(`Via host must be a host name or address; got ${JSON.stringify(v.host)}`);
  }
  let s = `SIP/2.0/${v.transport.toUpperCase()} ${v.host}`;
  if (v.port !== undefined) s += `:${checkInt(v.port, 0, 65535, 'Via port')}`;
  const branch = v.branch ?? v.params['branch'];
  if (branch !== undefined) {
    checkToken(branch, 'Via branch');
    s += `;branch=${branch}`;
  }
  return s + paramsText(v.params, 'branch', 'Via');
}

function quote(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s.charAt(i);
    out += ch === '"' || ch === '\\' ? '\\' + ch : ch;
  }
  return out + '"';
}

function nameAddrText(a: NameAddr, what: string): string {
  let s = '';
  if (a.displayName !== undefined)
    s = quote(checkText(a.displayName, `${what} display name`)) + ' ';
  return `${s}<${checkUri(a.uri, `${what} URI`)}>${paramsText(a.params, undefined, what)}`;
}

function isCallId(s: string): boolean {
  if (typeof s !== 'string' || s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/**
 * Writes a SIP message as bytes.
 *
 * @remarks
 * Writes the start line (`SIP/2.0`), then Via (one line per value), From, To, Call-ID, CSeq and,
 * for a request, Max-Forwards from the typed fields; then every other entry of `headers` in
 * order under its usual spelling (`call-id` → `Call-ID`); then `Content-Length` computed from
 * `body.length` (bytes, RFC 3261 §20.14), the empty line and the body. Throws `ERR_INVALID_ARG`
 * when any text would break the message: CR, LF or NUL in a value, a method or header name that
 * is not a token, a status outside 100–699, a CSeq outside 0–2**31-1.
 *
 * The result may be a view into a shared slab (see {@link takeBytes}): send the view itself.
 *
 * @example
 * const bytes = serializeSipMessage(createResponse(request, 200, 'OK', { toTag, body: xml }));
 */
export function serializeSipMessage(msg: SipMessage): Uint8Array {
  let s: string;
  if (msg.kind === 'request') {
    s = `${checkToken(msg.method, 'method')} ${checkUri(msg.uri, 'Request-URI')} SIP/2.0\r\n`;
  } else {
    s = `SIP/2.0 ${checkInt(msg.status, 100, 699, 'status')} ${checkText(msg.reason, 'reason phrase')}\r\n`;
  }
  if (msg.via.length === 0) invalid('a SIP message needs at least one Via (RFC 3261 §8.1.1.7)');
  for (const v of msg.via) s += `Via: ${viaText(v)}\r\n`;
  s += `From: ${nameAddrText(msg.from, 'From')}\r\n`;
  s += `To: ${nameAddrText(msg.to, 'To')}\r\n`;
  if (!isCallId(msg.callId))
    invalid(
      `Call-ID must be printable ASCII without whitespace; got ${JSON.stringify(msg.callId)}`,
    );
  s += `Call-ID: ${msg.callId}\r\n`;
  s += `CSeq: ${checkInt(msg.cseq.seq, 0, MAX_CSEQ, 'CSeq number')} ${checkToken(msg.cseq.method, 'CSeq method')}\r\n`;
  if (msg.kind === 'request' && msg.maxForwards !== undefined) {
    s += `Max-Forwards: ${checkInt(msg.maxForwards, 0, 255, 'Max-Forwards')}\r\n`;
  }
  for (const key in msg.headers) {
    if (MANAGED.has(key)) continue;
    checkToken(key, 'header name');
    const name = wireName(key);
    for (const value of msg.headers[key]!) s += `${name}: ${checkText(value, `${name} value`)}\r\n`;
  }
  const body = msg.body;
  s += `Content-Length: ${body.length}\r\n\r\n`;
  // UTF-8 takes at most 3 bytes per UTF-16 unit: encode straight into the slab, keep what was used
  const most = s.length * 3 + body.length;
  if (messages.room(most)) {
    const free = messages.free(most);
    const { written } = utf8.encodeInto(s, free);
    free.set(body, written);
    return messages.take(written + body.length);
  }
  const head = utf8.encode(s);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/** Header fields a builder takes: names in the usual or compact form, one value or several. */
export type SipHeaderInit = Readonly<Record<string, string | readonly string[]>>;

/** A body: bytes as they are, or text written as UTF-8. */
export type SipBodyInit = Uint8Array | string;

/** A copy of the body (text as UTF-8), from the slab when it is small. */
function toBody(body: SipBodyInit | undefined): Uint8Array {
  if (body === undefined) return new Uint8Array(0);
  if (typeof body === 'string') {
    const most = body.length * 3;
    if (!scratch.room(most)) return utf8.encode(body);
    const { written } = utf8.encodeInto(body, scratch.free(most));
    return scratch.take(written);
  }
  if (body instanceof Uint8Array) {
    const copy = takeBytes(body.length);
    copy.set(body, 0);
    return copy;
  }
  return invalid('body must be a Uint8Array or a string');
}

function toHeaders(init: SipHeaderInit | undefined): Record<string, string[]> {
  const out = newRecord<string[]>();
  if (init === undefined) return out;
  for (const name of Object.keys(init)) {
    const key = headerKey(name);
    if (key === undefined) invalid(`header name must be a token; got ${JSON.stringify(name)}`);
    if (MANAGED.has(key)) invalid(`${name} is set through its own field, not through headers`);
    const raw = init[name]!;
    const values = typeof raw === 'string' ? [raw] : [...raw];
    for (const v of values) checkText(v, `${name} value`);
    const list = out[key];
    if (list === undefined) out[key] = values;
    else list.push(...values);
  }
  return out;
}

function copyParams(
  params: Readonly<Record<string, string>>,
  keep: (v: string) => boolean,
): Record<string, string> {
  const out = newRecord<string>();
  for (const name in params) {
    const v = params[name]!;
    if (keep(v)) out[name] = v;
  }
  return out;
}

const keepAll = (): boolean => true;

function copyVia(v: Via, keep: (s: string) => boolean = keepAll): Via {
  return {
    transport: v.transport,
    host: v.host,
    port: v.port,
    branch: v.branch,
    params: copyParams(v.params, keep),
  };
}

function copyNameAddr(a: NameAddr, keep: (s: string) => boolean = keepAll): NameAddr {
  const displayName =
    a.displayName !== undefined && keep(a.displayName) ? a.displayName : undefined;
  return { displayName, uri: a.uri, params: copyParams(a.params, keep) };
}

/** What {@link createRequest} builds a request from. */
export interface SipRequestInit {
  readonly method: string;
  readonly uri: string;
  /** Top first; the transaction layer puts its own Via, with a fresh branch, on top. */
  readonly via: readonly Via[];
  readonly from: NameAddr;
  readonly to: NameAddr;
  readonly callId: string;
  /** The CSeq number; the CSeq method is the request's method (RFC 3261 §8.1.1.5). */
  readonly cseq: number;
  /** @defaultValue 70 (RFC 3261 §8.1.1.6) */
  readonly maxForwards?: number;
  /** Further header fields; not Via, From, To, Call-ID, CSeq, Max-Forwards or Content-Length. */
  readonly headers?: SipHeaderInit;
  readonly body?: SipBodyInit;
}

/**
 * Builds a request (RFC 3261 §8.1.1) from plain values, checked now so that
 * {@link serializeSipMessage} cannot fail on it later.
 *
 * @remarks
 * Copies everything it is given: the result shares no object with `init`. Throws
 * `ERR_INVALID_ARG` for a method that is not a token, a URI without scheme or with whitespace,
 * a CSeq outside 0–2**31-1, Max-Forwards outside 0–255, a header value with CR, LF or NUL.
 *
 * @example
 * const info = createRequest({
 *   method: 'INFO', uri: 'sip:1001@pbx.example.com', via: [topVia],
 *   from: { displayName: undefined, uri: 'sip:cti@example.com', params: { tag: 'a1' } },
 *   to: { displayName: undefined, uri: 'sip:1001@pbx.example.com', params: { tag: 'b2' } },
 *   callId: 'c1@example.com', cseq: 2,
 *   headers: { 'Content-Type': 'application/csta+xml' }, body: xml,
 * });
 */
export function createRequest(init: SipRequestInit): SipRequest {
  const method = checkToken(init.method, 'method');
  const request: SipRequest = {
    kind: 'request',
    method,
    uri: checkUri(init.uri, 'Request-URI'),
    maxForwards: checkInt(init.maxForwards ?? 70, 0, 255, 'maxForwards'),
    via: init.via.map((v) => copyVia(v)),
    from: copyNameAddr(init.from),
    to: copyNameAddr(init.to),
    callId: init.callId,
    cseq: { seq: checkInt(init.cseq, 0, MAX_CSEQ, 'cseq'), method },
    headers: toHeaders(init.headers),
    body: toBody(init.body),
  };
  serializeHeadCheck(request);
  return request;
}

/** Runs the checks of {@link serializeSipMessage} on the typed fields, without output. */
function serializeHeadCheck(msg: SipMessage): void {
  if (msg.via.length === 0) invalid('a SIP message needs at least one Via (RFC 3261 §8.1.1.7)');
  for (const v of msg.via) viaText(v);
  nameAddrText(msg.from, 'From');
  nameAddrText(msg.to, 'To');
  if (!isCallId(msg.callId))
    invalid(
      `Call-ID must be printable ASCII without whitespace; got ${JSON.stringify(msg.callId)}`,
    );
}

/** Optional parts of a response built by {@link createResponse}. */
export interface SipResponseExtra {
  /**
   * The To tag to add when the request's To has none (RFC 3261 §8.2.6.2: every response but
   * 100 carries one). A request that already has a To tag keeps it.
   */
  readonly toTag?: string;
  /** Further header fields; not Via, From, To, Call-ID, CSeq, Max-Forwards or Content-Length. */
  readonly headers?: SipHeaderInit;
  readonly body?: SipBodyInit;
}

/**
 * Builds a response to `request` (RFC 3261 §8.2.6): Via, From, To, Call-ID and CSeq copied, a
 * To tag added when given and the request had none.
 *
 * @remarks
 * "The From field of the response MUST equal the From header field of the request. The Call-ID
 * header field of the response MUST equal the Call-ID header field of the request. The CSeq
 * header field of the response MUST equal the CSeq field of the request. The Via header field
 * values in the response MUST equal the Via header field values in the request and MUST
 * maintain the same ordering." (RFC 3261 §8.2.6.2)
 *
 * The copies are deep: setting a tag on the response never touches the request (npm `sip`'s
 * `makeResponse` aliases them). A display name or parameter value of the request that cannot be
 * sent (it holds NUL, legal only inside a quoted-pair, RFC 4475 §3.1.1.2) is left out of the
 * copy: display names and those parameters play no part in matching (RFC 3261 §12.2.1.2, §17.1.3).
 *
 * @example
 * const ok200 = createResponse(info, 200, 'OK', { toTag: 'b2', headers: { 'Content-Type': 'application/csta+xml' }, body: xml });
 */
export function createResponse(
  request: SipRequest,
  status: number,
  reason: string,
  extra: SipResponseExtra = {},
): SipResponse {
  checkInt(status, 100, 699, 'status');
  checkText(reason, 'reason phrase');
  let to = copyNameAddr(request.to, isLineSafe);
  if (extra.toTag !== undefined && to.params['tag'] === undefined) {
    checkToken(extra.toTag, 'toTag');
    const params = copyParams(to.params, keepAll);
    params['tag'] = extra.toTag;
    to = { displayName: to.displayName, uri: to.uri, params };
  }
  return {
    kind: 'response',
    status,
    reason,
    via: request.via.map((v) => copyVia(v, isLineSafe)),
    from: copyNameAddr(request.from, isLineSafe),
    to,
    callId: request.callId,
    cseq: { seq: request.cseq.seq, method: request.cseq.method } satisfies CSeq,
    headers: toHeaders(extra.headers),
    body: toBody(extra.body),
  };
}

/**
 * Writes the response due to a request that `parseSipMessage` refused as semantically wrong
 * (`error.status` set: 400, 416, 505), or returns `undefined` when none is due.
 *
 * @remarks
 * There is no typed request to copy from, so Via, From, To, Call-ID and CSeq are copied as they
 * were received (RFC 3261 §8.2.6.2), the first of each single-valued one; a missing one (RFC
 * 4475 `insuf`) stays missing and a value holding NUL is left out. The To tag is added when
 * given and the To value can be read and has none. No body.
 *
 * @example
 * const r = parseSipMessage(datagram);
 * if (!r.ok) { const reply = serializeErrorResponse(r.error, ids.tag()); if (reply) socket.send(reply, rinfo); }
 */
export function serializeErrorResponse(
  error: SipParseError,
  toTag?: string,
): Uint8Array | undefined {
  const { status, reasonPhrase, request } = error;
  if (status === undefined || request === undefined) return undefined;
  if (toTag !== undefined) checkToken(toTag, 'toTag');
  const h = request.headers;
  let s = `SIP/2.0 ${status} ${reasonPhrase !== undefined && isLineSafe(reasonPhrase) ? reasonPhrase : 'Bad Request'}\r\n`;
  for (const v of h['via'] ?? []) if (isLineSafe(v)) s += `Via: ${v}\r\n`;
  const from = h['from']?.[0];
  if (from !== undefined && isLineSafe(from)) s += `From: ${from}\r\n`;
  const to = h['to']?.[0];
  if (to !== undefined && isLineSafe(to)) {
    const parsed = toTag === undefined ? undefined : parseNameAddr(to);
    s +=
      parsed !== undefined && parsed.params['tag'] === undefined
        ? `To: ${to};tag=${toTag}\r\n`
        : `To: ${to}\r\n`;
  }
  const callId = h['call-id']?.[0];
  if (callId !== undefined && isLineSafe(callId)) s += `Call-ID: ${callId}\r\n`;
  const cseq = h['cseq']?.[0];
  if (cseq !== undefined && isLineSafe(cseq)) s += `CSeq: ${cseq}\r\n`;
  s += 'Content-Length: 0\r\n\r\n';
  return utf8.encode(s);
}
