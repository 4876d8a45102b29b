/**
 * SIP message semantics: the rules a readable message must also keep before the stack acts on
 * it, and the response a request that breaks one should get.
 *
 * @remarks
 * RFC 3261 §8.1.1 and §8.2 (mandatory header fields, CSeq, Max-Forwards, Request-URI scheme),
 * §7.3.1 (single-valued header fields), §18.3 (Content-Length on datagrams), §21.5.7 (505),
 * RFC 4475 (torture messages). Kept apart from the syntax pass (STYLE §7.6) because the boundary
 * reacts differently: unreadable input is dropped, a readable request that breaks a rule is
 * answered (400 with a reason phrase naming the rule, 505, 416), a response is dropped.
 */
import type { SipLimits } from '../../limits.js';
import { err, ok, type Result } from '../../util/result.js';
import { hasScheme, parseNameAddr, parseViaValue, scanToken, skipWs } from './headers.js';
import { SipParseError } from './parse-error.js';
import type { ScannedSipMessage } from './parse.js';
import type { CSeq, NameAddr, SipMessage, SipRequestHead, Via } from './types.js';

/** The magic cookie that starts every RFC 3261 branch parameter (RFC 3261 §8.1.1.7). */
export const RFC3261_BRANCH_PREFIX = 'z9hG4bK';

/**
 * True when `branch` was made by an RFC 3261 element: the magic cookie followed by at least one
 * more character. Otherwise the transaction layer falls back to RFC 2543 matching (RFC 3261
 * §17.2.3).
 *
 * @remarks
 * A Via without a branch (RFC 2543, RFC 4475 §3.4.1 `inv2543`) or with a branch that is only the
 * cookie (RFC 4475 §3.2.1 `badbranch`) is not rejected: {@link Via.branch} records what was sent
 * and this function tells which matching rule applies.
 */
export function isRfc3261Branch(branch: string | undefined): boolean {
  return (
    branch !== undefined &&
    branch.length > RFC3261_BRANCH_PREFIX.length &&
    branch.startsWith(RFC3261_BRANCH_PREFIX)
  );
}

/**
 * Largest CSeq number: "The sequence number value MUST be expressible as a 32-bit unsigned
 * integer and MUST be less than 2**31." (RFC 3261 §8.1.1.5)
 */
export const MAX_CSEQ = 2 ** 31 - 1;

/** Request-URI schemes a UAS of this stack serves; others get 416 (RFC 3261 §8.2.2.1). */
export const SUPPORTED_URI_SCHEMES: readonly string[] = ['sip', 'sips', 'tel'];

/** Header fields that may appear once only (RFC 3261 §7.3.1, §20). */
const SINGLE: readonly (readonly [string, string])[] = [
  ['call-id', 'Call-ID'],
  ['cseq', 'CSeq'],
  ['from', 'From'],
  ['to', 'To'],
  ['max-forwards', 'Max-Forwards'],
  ['content-length', 'Content-Length'],
];

/** Mandatory in every request and response (RFC 3261 §8.1.1); Via is checked before. */
const MANDATORY: readonly (readonly [string, string])[] = [
  ['call-id', 'Call-ID'],
  ['cseq', 'CSeq'],
  ['from', 'From'],
  ['to', 'To'],
];

/**
 * Reads `1*DIGIT` filling `s[i, end)` exactly. Returns -1 when it is not all digits, and
 * `cap + 1` when the value is above `cap` (no matter how many digits follow).
 */
function readNumber(s: string, i: number, end: number, cap: number): number {
  if (i >= end) return -1;
  let v = 0;
  for (let k = i; k < end; k++) {
    const c = s.charCodeAt(k);
    if (c < 0x30 || c > 0x39) return -1;
    if (v <= cap) v = v * 10 + (c - 0x30);
  }
  return v > cap ? cap + 1 : v;
}

type CSeqRead = CSeq | 'syntax' | 'range';

/** CSeq = 1*DIGIT LWS Method (RFC 3261 §20.16). */
function readCSeq(s: string): CSeqRead {
  let d = 0;
  while (d < s.length && s.charCodeAt(d) >= 0x30 && s.charCodeAt(d) <= 0x39) d++;
  const m = skipWs(s, d);
  if (d === 0 || m === d) return 'syntax';
  const e = scanToken(s, m);
  if (e === m || e !== s.length) return 'syntax';
  const seq = readNumber(s, 0, d, MAX_CSEQ);
  if (seq > MAX_CSEQ) return 'range';
  return { seq, method: s.slice(m) };
}

/** Call-ID = word [ "@" word ] (RFC 3261 §25.1): printable ASCII without whitespace. */
function isCallId(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/** Why a Request-URI is not a URI (RFC 3261 §25.1 `Request-URI`), or `undefined` when it is. */
function requestUriProblem(uri: string): string | undefined {
  for (let i = 0; i < uri.length; i++) {
    const c = uri.charCodeAt(i);
    // no LWS (RFC 4475 §3.1.2.8), no angle brackets (§3.1.2.7), ASCII only (RFC 3986 §2)
    if (c <= 0x20 || c >= 0x7f || c === 0x3c || c === 0x3e || c === 0x22)
      return 'holds a character not allowed in a URI';
  }
  if (!hasScheme(uri)) return 'has no scheme';
  const colon = uri.indexOf(':');
  const scheme = uri.slice(0, colon).toLowerCase();
  if (scheme === 'sip' || scheme === 'sips') {
    const at = uri.lastIndexOf('@');
    const hostPart = uri.slice(at < 0 ? colon + 1 : at + 1);
    const h0 = hostPart.charCodeAt(0);
    if (hostPart.length === 0 || h0 === 0x3b || h0 === 0x3a) return 'has no host';
    // escaped headers do not belong in a Request-URI (RFC 3261 §19.1.5, RFC 4475 §3.1.2.11)
    if (hostPart.includes('?')) return 'carries headers';
  }
  return undefined;
}

/** A broken rule: the reason phrase and status of the response, and a detail for traces. */
interface Problem {
  readonly reasonPhrase: string;
  readonly detail: string;
  readonly status: number;
}

function problem(reasonPhrase: string, detail: string, status = 400): Problem {
  return { reasonPhrase, detail, status };
}

/** Marks a {@link Problem} apart from a message (both are plain objects). */
function isProblem(x: SipMessage | Problem | SipParseError): x is Problem {
  return (x as Problem).detail !== undefined;
}

/**
 * The semantic pass: turns a scanned message into a typed {@link SipMessage}, or into the
 * {@link SipParseError} that says how to react.
 *
 * @remarks
 * Checks, in this order, each with its own reason phrase: Request-Line shape and Request-URI
 * (400), SIP version (505), status 100–699, header-line syntax, Via, mandatory From, To,
 * Call-ID, CSeq (RFC 3261 §8.1.1), single-valued header fields appearing once, From/To/Call-ID
 * syntax, CSeq number digits only and at most 2**31 - 1 (§8.1.1.5), CSeq method equal to the
 * request method (§8.1.1.5, RFC 4475 §3.1.2.17), Max-Forwards 0–255 digits only (§20.22),
 * Content-Length digits only and not above the bytes present (§18.3; a stream's framer has
 * already waited for them), body limits, and last the Request-URI scheme (416, §8.2.2.1).
 *
 * Max-Forwards is not required: RFC 2543 requests lack it and must still be served (RFC 4475
 * §3.4.1 `inv2543`); {@link SipRequest.maxForwards} is then `undefined`.
 *
 * The body is a view into `scanned.bytes` (no copy: allocating a backing store costs more than
 * the rest of the parse); the bytes must stay unchanged while the message is in use, which holds
 * for a datagram or a frame from `SipStreamFramer`.
 *
 * @internal Called by `parseSipMessage`; exported for tests.
 */
export function validateSipMessage(
  scanned: ScannedSipMessage,
  limits: SipLimits,
): Result<SipMessage, SipParseError> {
  const m = scanned.start;
  const h = scanned.headers;
  const viaRaw = h['via'];
  if (viaRaw === undefined) {
    return err(
      new SipParseError(
        'SIP_ERR_PARSE',
        `${describe(scanned)} without Via: no response can be routed`,
      ),
    );
  }
  const via: Via[] = [];
  let viaOk = true;
  for (let i = 0; i < viaRaw.length; i++) if (!parseViaValue(viaRaw[i]!, via)) viaOk = false;
  const out = check(scanned, limits, via, viaOk);
  if (!isProblem(out)) return out instanceof SipParseError ? err(out) : ok(out);
  if (m.kind !== 'request') {
    return err(
      new SipParseError(
        'SIP_ERR_SEMANTIC',
        `${describe(scanned)}: ${out.detail}; a response is dropped`,
      ),
    );
  }
  const request: SipRequestHead = { method: m.method, uri: m.uri, via, headers: h };
  return err(
    new SipParseError('SIP_ERR_SEMANTIC', `${describe(scanned)}: ${out.detail}`, {
      status: out.status,
      reasonPhrase: out.reasonPhrase,
      request,
    }),
  );
}

function describe(scanned: ScannedSipMessage): string {
  const m = scanned.start;
  return m.kind === 'request' ? `${m.method} request` : `${m.status} response`;
}

function bodyLimit(scanned: ScannedSipMessage, limits: SipLimits, what: string): SipParseError {
  return new SipParseError(
    'SIP_ERR_LIMIT',
    `${describe(scanned)}: ${what}; limit maxBodyBytes is ${limits.maxBodyBytes}`,
    { limit: { name: 'maxBodyBytes', value: limits.maxBodyBytes } },
  );
}

function check(
  scanned: ScannedSipMessage,
  limits: SipLimits,
  via: Via[],
  viaOk: boolean,
): SipMessage | Problem | SipParseError {
  const m = scanned.start;
  const h = scanned.headers;
  if (m.kind === 'request') {
    if (m.startLineProblem !== undefined) return problem('Bad Request-Line', m.startLineProblem);
    const uriProblem = requestUriProblem(m.uri);
    if (uriProblem !== undefined)
      return problem('Bad Request-URI', `the Request-URI ${uriProblem}`);
  }
  if (m.version !== 'SIP/2.0' && m.version.toUpperCase() !== 'SIP/2.0') {
    return problem('Version Not Supported', `SIP version ${m.version} is not SIP/2.0`, 505);
  }
  if (m.kind === 'response' && (m.status < 100 || m.status > 699)) {
    return problem('Bad Status-Code', `status ${m.status} is outside 100-699`);
  }
  if (scanned.badHeaderLine !== undefined) {
    const line = JSON.stringify(scanned.badHeaderLine.slice(0, 40));
    return problem('Malformed Header Line', `header line is not "name: value": ${line}`);
  }
  if (!viaOk) return problem('Bad Via Header', 'a Via value does not fit RFC 3261 §20.42');

  const callIdRaw = h['call-id'];
  const cseqRaw = h['cseq'];
  const fromRaw = h['from'];
  const toRaw = h['to'];
  if (
    callIdRaw === undefined ||
    cseqRaw === undefined ||
    fromRaw === undefined ||
    toRaw === undefined
  ) {
    const missing = MANDATORY.filter(([key]) => h[key] === undefined).map(([, name]) => name);
    const list = missing.join(', ');
    return problem(`Missing ${list} Header${missing.length > 1 ? 's' : ''}`, `missing ${list}`);
  }
  for (let i = 0; i < SINGLE.length; i++) {
    const list = h[SINGLE[i]![0]];
    if (list !== undefined && list.length > 1) {
      const name = SINGLE[i]![1];
      return problem(`Duplicate ${name} Header`, `${name} appears ${list.length} times`);
    }
  }

  const from: NameAddr | undefined = parseNameAddr(fromRaw[0]!);
  if (from === undefined) return problem('Bad From Header', 'From does not fit RFC 3261 §20.20');
  const to: NameAddr | undefined = parseNameAddr(toRaw[0]!);
  if (to === undefined) return problem('Bad To Header', 'To does not fit RFC 3261 §20.39');
  const callId = callIdRaw[0]!;
  if (!isCallId(callId))
    return problem(
      'Bad Call-ID Header',
      'Call-ID is empty or holds whitespace or control characters',
    );
  const cseq = readCSeq(cseqRaw[0]!);
  if (cseq === 'syntax') return problem('Bad CSeq Header', 'CSeq is not "1*DIGIT LWS Method"');
  if (cseq === 'range') return problem('CSeq Number Too Large', 'CSeq number is above 2**31 - 1');
  // "The method MUST match that of the request." (RFC 3261 §8.1.1.5)
  if (m.kind === 'request' && cseq.method !== m.method) {
    return problem(
      'CSeq Method Mismatch',
      `CSeq method ${cseq.method} differs from the request method`,
    );
  }

  let maxForwards: number | undefined;
  const mf = h['max-forwards'];
  if (m.kind === 'request' && mf !== undefined) {
    const s = mf[0]!;
    maxForwards = readNumber(s, 0, s.length, 255);
    if (maxForwards < 0 || maxForwards > 255)
      return problem('Bad Max-Forwards Header', 'Max-Forwards is not 0-255 in digits');
  }

  const bytes = scanned.bytes;
  const available = bytes.length - scanned.bodyStart;
  let bodyLength = available;
  const cl = h['content-length'];
  if (cl !== undefined) {
    const s = cl[0]!;
    const cap = Math.min(Number.MAX_SAFE_INTEGER / 10, Math.max(limits.maxBodyBytes, available));
    const n = readNumber(s, 0, s.length, cap);
    if (n < 0) return problem('Bad Content-Length Header', 'Content-Length is not 1*DIGIT');
    if (n > limits.maxBodyBytes) return bodyLimit(scanned, limits, `Content-Length is ${s}`);
    if (n > available) {
      return problem(
        'Body Shorter Than Content-Length',
        `Content-Length ${s} but ${available} body bytes present`,
      );
    }
    bodyLength = n;
  } else if (available > limits.maxBodyBytes) {
    return bodyLimit(scanned, limits, `body is ${available} bytes`);
  }
  const body = new Uint8Array(bytes.buffer, bytes.byteOffset + scanned.bodyStart, bodyLength);

  if (m.kind === 'response') {
    return {
      kind: 'response',
      status: m.status,
      reason: m.reason,
      via,
      from,
      to,
      callId,
      cseq,
      headers: h,
      body,
    };
  }
  const colon = m.uri.indexOf(':');
  const scheme = m.uri.slice(0, colon).toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips' && !SUPPORTED_URI_SCHEMES.includes(scheme)) {
    return problem(
      'Unsupported URI Scheme',
      `Request-URI scheme ${scheme} is not served here`,
      416,
    );
  }
  return {
    kind: 'request',
    method: m.method,
    uri: m.uri,
    maxForwards,
    via,
    from,
    to,
    callId,
    cseq,
    headers: h,
    body,
  };
}
