/**
 * Typed SIP messages: the headers the stack acts on are parsed into fields, every header is also
 * kept raw, the body is bytes.
 *
 * @remarks
 * RFC 3261 §7 (message structure), §20 (header fields). Header names in `headers` are the
 * lower-case long form; compact forms (`v`, `f`, `t`, `i`, `m`, `l`, `c`, `k`, `s`, `e`, `o`,
 * `u`, `r`, `b`, `x`, `y`) are expanded on parse (RFC 3261 §7.3.3, RFC 3265, RFC 3515, RFC 4028).
 */

/** One Via header value (RFC 3261 §20.42, RFC 3581 `rport`/`received`). */
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
  /** Every header as received (or as to be sent), lower-case long names, values in order. */
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
