/**
 * Errors of the whole stack: one base class, a stable `code` per failure, one line of
 * documentation per code.
 *
 * @remarks
 * Callers branch on `error.code`, never on `instanceof` (two copies of the package, say a browser
 * bundle and Node, break `instanceof`) and never on the message text.
 */

/** Every error code the stack produces, with one sentence of documentation each. */
export const ERROR_DOCS = {
  ERR_INVALID_ARG: 'An argument or option has the wrong type or an out-of-range value (programmer misuse).',
  ERR_INVALID_STATE: 'The object is not in a state that allows this call (programmer misuse).',
  ERR_ABORTED: 'The operation was aborted through its AbortSignal.',
  CSTA_ERR_PARSE: 'The CSTA body is not well-formed XML (truncated, mismatched tags, several roots, bad characters).',
  CSTA_ERR_ENCODING: 'The CSTA body is not valid UTF-8, or declares an encoding the codec does not read.',
  CSTA_ERR_DOCTYPE: 'The CSTA body carries a DOCTYPE or an entity declaration; both are refused (entity expansion, external entities).',
  CSTA_ERR_LIMIT: 'The CSTA body exceeds a documented limit (bytes, depth, elements, attributes, text length).',
  CSTA_ERR_INVALID: 'The CSTA body is well-formed XML but does not fit the ECMA-323 model (missing mandatory element, bad value).',
  CSTA_ERR_SERIALIZE: 'A CSTA message given to serializeCsta does not fit the ECMA-323 model (unknown type, missing field, bad value).',
  SIP_ERR_PARSE: 'A SIP message cannot be read (no start line, no usable Via, broken framing); no response can be built, so it is dropped and traced.',
  SIP_ERR_SEMANTIC: 'A SIP message is readable but breaks RFC 3261 rules (missing or duplicate header, CSeq, Max-Forwards, Content-Length, version); for a request, `status` and `reasonPhrase` give the response to send, a response is dropped.',
  SIP_ERR_LIMIT: 'A SIP message exceeds a documented limit (message, header section or body bytes, header count); `limit` names it; a stream transport closes the connection.',
  SIP_ERR_TIMEOUT: 'A SIP transaction timed out (Timer B or F with no final response, Timer H with no ACK); `status` is 408, `timer` names the RFC 3261 timer.',
  SIP_ERR_TRANSPORT: 'The transport could not send a SIP message (RFC 3261 §17.1.4, §17.2.4); `status` is 503 and `cause` keeps the transport error.',
  SIP_ERR_AUTH_HEADER: 'A WWW-Authenticate, Proxy-Authenticate, Authorization or Proxy-Authorization value cannot be read (RFC 7235 §2.1, RFC 7616 §3.3–3.4) or exceeds a limit (bytes, parameters, challenges).',
  SIP_ERR_AUTH_UNSUPPORTED: 'A 401 or 407 carries no Digest challenge this client can answer (an algorithm other than MD5, MD5-sess, SHA-256, SHA-256-sess, or a qop other than auth and auth-int).',
  SIP_ERR_AUTH_NO_CREDENTIALS: 'The credentials supplier has no username and password for any realm the 401 or 407 challenges.',
  SIP_ERR_AUTH_REFUSED: 'The server challenged again the credentials it was just given (wrong username or password), or kept answering stale=true past the retry limit; the request is not retried.',
  SIP_ERR_REJECTED: 'The peer answered a SIP request with a non-2xx final response; `status` and `reasonPhrase` carry it, `response` the whole message.',
  SIP_ERR_DIALOG_TERMINATED: 'The SIP dialog ended (BYE, 481, no ACK for a 2xx, CANCEL) before or while the request was pending.',
  SIP_ERR_CLOSED: 'The SIP endpoint or transport was closed while the operation was pending, or before it was called.',
  CSTA_ERR_SERVICE: 'The peer answered a CSTA request with a negative response (`<CSTAErrorCode>` in a 2xx); `category` and `value` carry it, `errorValue` the whole choice.',
  UACSTA_ERR_QUEUE_FULL: 'A CSTA request found the invoke queue full (`maxQueuedInvokes` waiting behind the one in flight); it was not sent.',
  UACSTA_ERR_NO_RESPONSE: 'The peer answered a CSTA request 2xx without a CSTA body; the outcome is unknown (resolve it through events or a snapshot).',
  UACSTA_ERR_TIMEOUT: 'A CSTA request got no final response within `invokeTimeoutMs`; the outcome is unknown and the association stays up.',
  UACSTA_ERR_CLOSED: 'The CSTA client, server or its channel was closed while the operation was pending, or before it was called.',
  UACSTA_ERR_UNEXPECTED_RESPONSE: 'The peer answered a CSTA request with a document that is neither the matching response nor `<CSTAErrorCode>`.',
  UACSTA_ERR_EVENT_OVERFLOW: 'An events() iterator fell `maxBufferedEvents` behind; it ended with this error, which says how many events were lost.',
  UACSTA_ERR_SYSTEM_STATUS: 'The association was not opened: the answer to the RequestSystemStatus in the INVITE was missing or not `normal` (digest §1.3).',
  UACSTA_ERR_RECOVERY_FAILED: 'The association was lost and could not be re-opened within `maxRecoveryAttempts`; it is closed.',
  UACSTA_ERR_RECOVERING: 'The association is being re-opened after a loss; the request was not sent (retry after the `recovered` notification).',
} as const;

/** A stable error code; see {@link ERROR_DOCS}. */
export type ErrorCode = keyof typeof ERROR_DOCS;

/** Base class of every error the stack throws, rejects with or returns. */
export class UaCstaError extends Error {
  override readonly name: string = 'UaCstaError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** True when `e` is an error of this stack (checks `code`, so it works across package copies). */
export function isUaCstaError(e: unknown): e is UaCstaError {
  return (
    e instanceof Error &&
    typeof (e as { code?: unknown }).code === 'string' &&
    (e as unknown as { code: string }).code in ERROR_DOCS
  );
}
