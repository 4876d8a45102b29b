/**
 * SIP message syntax: bytes in, a typed {@link SipMessage} or a {@link SipParseError} out.
 *
 * @remarks
 * RFC 3261 §7 (message structure), §7.3.1 (header folding), §7.5 (leading CRLF), §18.3
 * (framing on datagrams), §25 (ABNF). The header section is delimited on bytes (an empty line:
 * CRLF CRLF, or bare LF LF), decoded as UTF-8 (header text is `TEXT-UTF8`), and read with an
 * index scanner; the body is copied out as bytes, so `Content-Length` counts bytes and a UTF-8
 * body such as `Müller €` survives exactly. Semantic rules (mandatory headers, numbers, version)
 * are checked by `validate.ts`.
 *
 * Why not npm `sip`'s `parse`: measured on the uaCSTA INFO it is slower than this scanner, and
 * it is wrong for the torture tests (it unescapes methods and header names, so RFC 4475
 * `RE%47IST%45R` becomes REGISTER and `C%6Fntact` becomes Contact; it swallows malformed
 * headers; it drops instead of answering 400; it reads bodies as latin1 strings).
 */
import { UaCstaError } from '../../errors.js';
import { SIP_LIMITS, type SipLimits } from '../../limits.js';
import { err, ok, type Result } from '../../util/result.js';
import { headerKeyAt, newRecord, scanToken } from './headers.js';
import { SipParseError } from './parse-error.js';
import type { SipMessage } from './types.js';
import { validateSipMessage } from './validate.js';

const LF = 0x0a;
const CR = 0x0d;

/** Options of {@link parseSipMessage}: some of the {@link SIP_LIMITS}, the rest default. */
export type SipParseOptions = Partial<SipLimits>;

/**
 * A request as read by the syntax pass, before semantic validation.
 *
 * @internal Shared between `parse.ts` and `validate.ts`.
 */
export interface ScannedRequest {
  readonly kind: 'request';
  readonly method: string;
  /** The Request-URI, trimmed. */
  readonly uri: string;
  /** The SIP-Version as written (`SIP/2.0`). */
  readonly version: string;
  /** Why the Request-Line breaks RFC 3261 §7.1 (LWS where one SP belongs), or `undefined`. */
  readonly startLineProblem: string | undefined;
}

/**
 * A response as read by the syntax pass, before semantic validation.
 *
 * @internal Shared between `parse.ts` and `validate.ts`.
 */
export interface ScannedResponse {
  readonly kind: 'response';
  readonly version: string;
  /** The three-digit Status-Code. */
  readonly status: number;
  readonly reason: string;
}

/**
 * A message as read by the syntax pass: start line, raw headers, where the body starts.
 *
 * @internal Shared between `parse.ts` and `validate.ts`.
 */
export interface ScannedSipMessage {
  /** The start line. */
  readonly start: ScannedRequest | ScannedResponse;
  /** Every header line, unfolded and trimmed, under its lower-case long name. */
  readonly headers: Record<string, string[]>;
  /** The first header line that is not `header-name HCOLON value`, or `undefined`. */
  readonly badHeaderLine: string | undefined;
  /** The whole datagram or frame. */
  readonly bytes: Uint8Array;
  /** Offset of the first body byte (after the empty line); `bytes.length` when there is none. */
  readonly bodyStart: number;
}

/** Limit objects made by {@link resolveSipLimits} (frozen, so they stay valid). */
const RESOLVED = new WeakSet<object>([SIP_LIMITS]);

/**
 * Checks limit overrides and fills in the defaults of {@link SIP_LIMITS}.
 *
 * @remarks
 * A limit is a non-negative integer or `Infinity` (STYLE §5: only `Infinity` lifts a limit).
 * Throws `ERR_INVALID_ARG` for anything else.
 */
export function resolveSipLimits(options?: SipParseOptions): SipLimits {
  if (options === undefined) return SIP_LIMITS;
  // an endpoint passes the same resolved object with every message: check it once
  if (RESOLVED.has(options)) return options as SipLimits;
  const pick = (name: keyof SipLimits): number => {
    const v = options[name] ?? SIP_LIMITS[name];
    if (typeof v !== 'number' || !(v === Infinity || (Number.isInteger(v) && v >= 0))) {
      throw new UaCstaError(
        'ERR_INVALID_ARG',
        `${name} must be a non-negative integer or Infinity; got ${String(v)}`,
      );
    }
    return v;
  };
  const limits: SipLimits = Object.freeze({
    maxMessageBytes: pick('maxMessageBytes'),
    maxHeaderSectionBytes: pick('maxHeaderSectionBytes'),
    maxHeaderCount: pick('maxHeaderCount'),
    maxBodyBytes: pick('maxBodyBytes'),
  });
  RESOLVED.add(limits);
  return limits;
}

/**
 * Finds the empty line that ends a header section, scanning `bytes[from, end)`.
 *
 * @returns The offset of the first body byte (just after the empty line) when found. Otherwise
 * `-1 - resume`, where `resume` is the offset to scan from once more bytes have arrived.
 *
 * @remarks
 * Accepts CRLF CRLF and also bare LF LF and the mixtures (`LF CRLF`, `CRLF LF`): every empty
 * line is an LF followed by LF or CR LF. Linear: each call looks at each byte once, and the
 * resume offset lets a stream framer go on without rescanning (STYLE §8).
 */
export function findHeaderEnd(bytes: Uint8Array, from: number, end: number): number {
  const view = end === bytes.length ? bytes : bytes.subarray(0, end);
  let i = from;
  for (;;) {
    const lf = view.indexOf(LF, i);
    if (lf < 0) return -1 - end;
    if (lf + 1 >= end) return -1 - lf;
    const b = view[lf + 1];
    if (b === LF) return lf + 2;
    if (b === CR) {
      if (lf + 2 >= end) return -1 - lf;
      if (view[lf + 2] === LF) return lf + 3;
    }
    i = lf + 1;
  }
}

/** UTF-8 for header text (RFC 3261 §7.3.1); malformed sequences become U+FFFD, never a throw. */
const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

function limitError(name: keyof SipLimits, value: number, what: string): SipParseError {
  return new SipParseError('SIP_ERR_LIMIT', `${what}; limit ${name} is ${value}`, {
    limit: { name, value },
  });
}

/** True when `line[i..]` is `SIP/` 1*DIGIT `.` 1*DIGIT, ending at `end`; `SIP` in any case. */
function isSipVersion(line: string, i: number, end: number): boolean {
  if (end - i < 7) return false;
  if ((line.charCodeAt(i) | 0x20) !== 0x73) return false;
  if ((line.charCodeAt(i + 1) | 0x20) !== 0x69) return false;
  if ((line.charCodeAt(i + 2) | 0x20) !== 0x70) return false;
  if (line.charCodeAt(i + 3) !== 0x2f) return false;
  let j = i + 4;
  const d1 = j;
  while (j < end && line.charCodeAt(j) >= 0x30 && line.charCodeAt(j) <= 0x39) j++;
  if (j === d1 || j >= end || line.charCodeAt(j) !== 0x2e) return false;
  j++;
  const d2 = j;
  while (j < end && line.charCodeAt(j) >= 0x30 && line.charCodeAt(j) <= 0x39) j++;
  return j > d2 && j === end;
}

/** Length of the version prefix `SIP/d.d` at the start of `line`, or 0. */
function versionPrefix(line: string): number {
  let e = 0;
  while (e < line.length && !isWs(line.charCodeAt(e))) e++;
  return isSipVersion(line, 0, e) ? e : 0;
}

type StartLine = ScannedRequest | ScannedResponse;

/**
 * Reads the start line. `undefined` when it is neither a Request-Line nor a Status-Line that
 * can be made out (then no response can be built).
 */
function readStartLine(line: string): StartLine | undefined {
  const vlen = versionPrefix(line);
  if (vlen > 0) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2)
    let i = vlen;
    const ws = i;
    while (i < line.length && isWs(line.charCodeAt(i))) i++;
    if (i === ws || i + 3 > line.length) return undefined;
    let status = 0;
    for (let k = i; k < i + 3; k++) {
      const c = line.charCodeAt(k);
      if (c < 0x30 || c > 0x39) return undefined;
      status = status * 10 + (c - 0x30);
    }
    i += 3;
    if (i < line.length && !isWs(line.charCodeAt(i))) return undefined;
    let e = line.length;
    while (e > i && isWs(line.charCodeAt(e - 1))) e--;
    while (i < e && isWs(line.charCodeAt(i))) i++;
    const reason = line.slice(i, e);
    return { kind: 'response', version: line.slice(0, vlen), status, reason };
  }
  // Request-Line = Method SP Request-URI SP SIP-Version (RFC 3261 §7.1), read leniently first
  // so that a line with extra LWS can still be answered with 400 (RFC 4475 §3.1.2.8, .9, .10).
  const m = scanToken(line, 0);
  if (m === 0 || m >= line.length || !isWs(line.charCodeAt(m))) return undefined;
  let e = line.length;
  while (e > m && isWs(line.charCodeAt(e - 1))) e--;
  let v = e;
  while (v > m && !isWs(line.charCodeAt(v - 1))) v--;
  if (v <= m + 1 || !isSipVersion(line, v, e)) return undefined;
  let ua = m;
  while (ua < v && isWs(line.charCodeAt(ua))) ua++;
  let ub = v;
  while (ub > ua && isWs(line.charCodeAt(ub - 1))) ub--;
  if (ua === ub) return undefined;
  const uri = line.slice(ua, ub);
  let problem: string | undefined;
  if (e !== line.length) problem = 'whitespace after the SIP-Version';
  else if (
    ua !== m + 1 ||
    ub !== v - 1 ||
    line.charCodeAt(m) !== 0x20 ||
    line.charCodeAt(ub) !== 0x20
  ) {
    problem = 'LWS other than one SP between the Request-Line elements';
  }
  return {
    kind: 'request',
    method: line.slice(0, m),
    uri,
    version: line.slice(v, e),
    startLineProblem: problem,
  };
}

/**
 * The syntax pass: limits, the header-section boundary, the start line and the header lines.
 *
 * @internal Exported for `validate.ts` tests; use {@link parseSipMessage}.
 */
export function scanSipMessage(
  bytes: Uint8Array,
  limits: SipLimits,
): Result<ScannedSipMessage, SipParseError> {
  const total = bytes.length;
  if (total > limits.maxMessageBytes) {
    return err(limitError('maxMessageBytes', limits.maxMessageBytes, `message is ${total} bytes`));
  }
  // RFC 3261 §7.5: CRLF before the start line is ignored.
  let start = 0;
  while (start < total && (bytes[start] === CR || bytes[start] === LF)) start++;
  if (start === total)
    return err(new SipParseError('SIP_ERR_PARSE', 'no start line (only CR/LF, or nothing)'));

  const found = findHeaderEnd(bytes, start, total);
  // A datagram without the empty line (RFC 4475 §3.1.2.15 `baddn`): the header section runs to its end.
  const bodyStart = found >= 0 ? found : total;
  if (bodyStart - start > limits.maxHeaderSectionBytes) {
    return err(
      limitError(
        'maxHeaderSectionBytes',
        limits.maxHeaderSectionBytes,
        `header section is ${bodyStart - start} bytes`,
      ),
    );
  }
  const text = utf8.decode(bytes.subarray(start, bodyStart));
  const n = text.length;

  let nl = text.indexOf('\n');
  if (nl < 0) nl = n;
  let lineEnd = nl > 0 && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
  const startLine = readStartLine(text.slice(0, lineEnd));
  if (startLine === undefined) {
    return err(
      new SipParseError(
        'SIP_ERR_PARSE',
        'the start line is neither a Request-Line nor a Status-Line',
      ),
    );
  }

  const headers = newRecord<string[]>();
  let badHeaderLine: string | undefined;
  // CR only ends a line (RFC 3261 §7): a bare CR could hide a line break from other parsers
  for (let cr = text.indexOf('\r'); cr >= 0 && cr + 1 < n; cr = text.indexOf('\r', cr + 1)) {
    if (text.charCodeAt(cr + 1) !== LF) {
      badHeaderLine = 'CR not followed by LF';
      break;
    }
  }
  let count = 0;
  let pos = nl + 1;
  while (pos < n) {
    nl = text.indexOf('\n', pos);
    if (nl < 0) nl = n;
    lineEnd = nl > pos && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
    if (lineEnd === pos) {
      pos = nl + 1; // the empty line that ends the section
      continue;
    }
    if (++count > limits.maxHeaderCount) {
      return err(
        limitError(
          'maxHeaderCount',
          limits.maxHeaderCount,
          `more than ${limits.maxHeaderCount} header lines`,
        ),
      );
    }
    // header-name HCOLON: token *(SP / HTAB) ":" (RFC 3261 §7.3.1, §25.1)
    const nameEnd = scanToken(text, pos);
    let colon = nameEnd;
    while (colon < lineEnd && isWs(text.charCodeAt(colon))) colon++;
    const key =
      nameEnd === pos || colon >= lineEnd || text.charCodeAt(colon) !== 0x3a
        ? undefined
        : headerKeyAt(text, pos, nameEnd);
    // value: rest of this line, then any continuation lines (RFC 3261 §7.3.1)
    let vs = colon + 1;
    while (vs < lineEnd && isWs(text.charCodeAt(vs))) vs++;
    let ve = lineEnd;
    while (ve > vs && isWs(text.charCodeAt(ve - 1))) ve--;
    let next = nl + 1;
    let value: string | undefined;
    while (next < n && isWs(text.charCodeAt(next))) {
      // a continuation line: LWS = [*WSP CRLF] 1*WSP, replaced by one SP
      value ??= key === undefined ? '' : text.slice(vs, ve);
      let cnl = text.indexOf('\n', next);
      if (cnl < 0) cnl = n;
      let a = next;
      let b = cnl > next && text.charCodeAt(cnl - 1) === CR ? cnl - 1 : cnl;
      while (a < b && isWs(text.charCodeAt(a))) a++;
      while (b > a && isWs(text.charCodeAt(b - 1))) b--;
      if (a < b && key !== undefined)
        value = value === '' ? text.slice(a, b) : value + ' ' + text.slice(a, b);
      next = cnl + 1;
    }
    if (key === undefined) {
      badHeaderLine ??= text.slice(pos, lineEnd);
    } else {
      value ??= text.slice(vs, ve);
      const list = headers[key];
      if (list === undefined) headers[key] = [value];
      else list.push(value);
    }
    pos = next;
  }

  return ok({ start: startLine, headers, badHeaderLine, bytes, bodyStart });
}

/**
 * Parses one SIP message (a datagram, or a frame from {@link SipStreamFramer}) into a typed
 * {@link SipMessage}, or says why not.
 *
 * @param bytes - The whole message: start line, headers, empty line, body.
 * @param options - Limits; each defaults to {@link SIP_LIMITS}.
 * @returns `ok(message)`, or `err(SipParseError)` with code `SIP_ERR_PARSE` (unreadable: drop),
 * `SIP_ERR_SEMANTIC` (a request gets `error.status`; a response is dropped) or `SIP_ERR_LIMIT`.
 *
 * @remarks
 * Never throws on any input (it throws only `ERR_INVALID_ARG` for bad `options`). Follows RFC
 * 3261 §18.3 for datagrams: bytes after `Content-Length` are discarded, fewer bytes than
 * `Content-Length` is a 400, and without `Content-Length` the body runs to the end.
 *
 * @example
 * const r = parseSipMessage(datagram);
 * if (!r.ok) {
 *   if (r.error.status !== undefined) send(serializeErrorResponse(r.error, tag));
 *   return trace(r.error);
 * }
 */
export function parseSipMessage(
  bytes: Uint8Array,
  options?: SipParseOptions,
): Result<SipMessage, SipParseError> {
  const limits = resolveSipLimits(options);
  const scanned = scanSipMessage(bytes, limits);
  if (!scanned.ok) return scanned;
  return validateSipMessage(scanned.value, limits);
}
