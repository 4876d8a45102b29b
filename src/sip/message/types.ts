/**
 * Typed SIP messages: the headers the stack acts on are parsed into fields, every header is also
 * kept raw, the body is bytes.
 *
 * @remarks
 * RFC 3261 §7 (message structure), §20 (header fields). Header names in `headers` are the
 * lower-case long form; compact forms (`v`, `f`, `t`, `i`, `m`, `l`, `c`, `k`, `s`, `e`, `o`,
 * `u`, `r`, `b`, `x`, `y`, `a`, `j`, `d`) are expanded on parse (RFC 3261 §7.3.3, RFC 6665,
 * RFC 3515, RFC 3892, RFC 4028, RFC 8224, RFC 3841).
 *
 * Text is UTF-8 (RFC 3261 §7.3.1: `TEXT-UTF8`, `UTF8-NONASCII` in quoted strings): the header
 * section is decoded as UTF-8 after the byte-exact boundary has been found on bytes, and the body
 * stays bytes.
 */

/**
 * One Via header value (RFC 3261 §20.42, RFC 3581 `rport`/`received`).
 *
 * @remarks
 * Parameter values are kept as written: a quoted-string value keeps its quotes. The protocol
 * name and version (`SIP/2.0`) are not kept; the stack only speaks SIP/2.0.
 */
export interface Via {
  /** `SIP/2.0/UDP` → `'UDP'` (upper case). */
  readonly transport: string;
  readonly host: string;
  readonly port: number | undefined;
  /** The `branch` parameter, `undefined` when absent (RFC 2543 peers). */
  readonly branch: string | undefined;
  /** Every parameter, names lower-cased; a parameter without a value maps to `''`. */
  readonly params: Readonly<Record<string, string>>;
}

/** A name-addr or addr-spec header value: From, To, Contact, Route, Record-Route (RFC 3261 §20.10). */
export interface NameAddr {
  /**
   * The display name: a quoted-string without its quotes and with its quoted-pairs resolved
   * (`"J \\"R\\""` → `J "R"`), or unquoted tokens as written; `undefined` when absent.
   */
  readonly displayName: string | undefined;
  /** The URI as written, without angle brackets. */
  readonly uri: string;
  /** Header parameters (outside the angle brackets), names lower-cased; valueless → `''`. */
  readonly params: Readonly<Record<string, string>>;
}

/** The CSeq header (RFC 3261 §20.16): a number below 2**31 and a method. */
export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

/** Header fields common to requests and responses. */
export interface SipHeaderFields {
  readonly via: readonly Via[];
  readonly from: NameAddr;
  readonly to: NameAddr;
  readonly callId: string;
  readonly cseq: CSeq;
  /**
   * Every header as received (or as to be sent), lower-case long names, values in order.
   *
   * @remarks
   * Parsed messages hold every header line here, unfolded (each line folding replaced by one
   * SP) and trimmed, one entry per header line: `Via: a, b` is one value. `serializeSipMessage`
   * writes Via, From, To, Call-ID, CSeq and Max-Forwards from the typed fields and
   * Content-Length from the body, so it skips those names here and writes every other entry.
   */
  readonly headers: Readonly<Record<string, readonly string[]>>;
  /** The body as bytes; `Content-Length` counts these bytes. Empty when there is none. */
  readonly body: Uint8Array;
}

/** A SIP request (RFC 3261 §7.1). */
export interface SipRequest extends SipHeaderFields {
  readonly kind: 'request';
  readonly method: string;
  readonly uri: string;
  readonly maxForwards: number | undefined;
}

/** A SIP response (RFC 3261 §7.2). */
export interface SipResponse extends SipHeaderFields {
  readonly kind: 'response';
  /** 100–699. */
  readonly status: number;
  readonly reason: string;
}

/** A SIP request or response. */
export type SipMessage = SipRequest | SipResponse;

/**
 * What is known of a request that failed validation but can still be answered.
 *
 * @remarks
 * RFC 3261 §8.2.6.2: a response copies Via, From, To, Call-ID and CSeq from the request. A
 * request that breaks a rule of RFC 3261 (RFC 4475 `insuf`, `mismatch01`, `scalar02`) has no
 * {@link SipRequest}, so `serializeErrorResponse` builds the answer from these raw values.
 */
export interface SipRequestHead {
  /** The method as written in the Request-Line. */
  readonly method: string;
  /** The Request-URI as written (trimmed). */
  readonly uri: string;
  /** The Via values that could be read, top first; empty when none could. */
  readonly via: readonly Via[];
  /** Every header as received, as in {@link SipHeaderFields.headers}. */
  readonly headers: Readonly<Record<string, readonly string[]>>;
}
