/**
 * The error `parseSipMessage` and the stream framer return for bytes they refuse.
 *
 * @remarks
 * A subclass because it carries typed fields: the response to send (`status`, `reasonPhrase`)
 * and what to build it from (`request`), or the limit that was crossed. Callers branch on `code`
 * (STYLE §6):
 *
 * | code | meaning | what the receiver does |
 * | --- | --- | --- |
 * | `SIP_ERR_PARSE` | unreadable: no start line, no Via, broken stream framing | drop and trace; a stream closes the connection |
 * | `SIP_ERR_SEMANTIC` | readable, breaks a rule of RFC 3261 | a request: answer `status` (`serializeErrorResponse`); a response: drop |
 * | `SIP_ERR_LIMIT` | over a {@link SipLimits} limit | drop and trace; a stream closes the connection |
 */
import { UaCstaError } from '../../errors.js';
import type { SipLimits } from '../../limits.js';
import type { SipRequestHead } from './types.js';

/** The codes {@link SipParseError} can carry. */
export type SipParseErrorCode = 'SIP_ERR_PARSE' | 'SIP_ERR_SEMANTIC' | 'SIP_ERR_LIMIT';

/** Optional fields of a {@link SipParseError}. */
export interface SipParseErrorDetails {
  /** The status of the response to send (400, 416, 505); only for answerable requests. */
  readonly status?: number;
  /** The reason phrase for that response, naming the rule that was broken. */
  readonly reasonPhrase?: string;
  /** What the response is built from; present exactly when `status` is. */
  readonly request?: SipRequestHead;
  /** For `SIP_ERR_LIMIT`: the limit that was crossed and its value. */
  readonly limit?: { readonly name: keyof SipLimits; readonly value: number };
  readonly cause?: unknown;
}

/** Refused SIP bytes: unreadable, semantically wrong, or over a limit. */
export class SipParseError extends UaCstaError {
  override readonly name: string = 'SipParseError';
  declare readonly code: SipParseErrorCode;
  /**
   * The status of the response the receiver should send: 400, or 505 (SIP version), 416 (URI
   * scheme). `undefined` when no response is due: the message was a response, or unreadable, or
   * over a limit.
   */
  readonly status: number | undefined;
  /**
   * Names the broken rule in a few words (`CSeq Method Mismatch`, `Missing Content-Length`);
   * with {@link SipParseError.status}, it is the reason phrase of the response to send.
   */
  readonly reasonPhrase: string | undefined;
  /** What the response is built from, when {@link SipParseError.status} is set. */
  readonly request: SipRequestHead | undefined;
  /** For `SIP_ERR_LIMIT`: the name of the limit that was crossed; otherwise `undefined`. */
  readonly limit: keyof SipLimits | undefined;
  /** For `SIP_ERR_LIMIT`: the value of that limit; otherwise `undefined`. */
  readonly limitValue: number | undefined;

  constructor(code: SipParseErrorCode, message: string, details: SipParseErrorDetails = {}) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.status = details.status;
    this.reasonPhrase = details.reasonPhrase;
    this.request = details.request;
    this.limit = details.limit?.name;
    this.limitValue = details.limit?.value;
  }
}
