/**
 * `CstaChannel`: the one seam between uaCSTA and a SIP stack (ARCHITECTURE §2).
 *
 * @remarks
 * ECMA TR/87 §6 as summarised in the uaCSTA digest §1.3–1.5: one CSTA document per request
 * (in-dialog INFO), the CSTA response in the body of the final response of the same transaction,
 * `Content-Type: application/csta+xml`, `Content-Disposition: signal;handling=required`. A SIP
 * binding implements this interface (our Node `UserAgent` in `node/sip-csta-channel.ts`, sip.js
 * in the browser); `CstaClient` and `CstaServer` only see this interface.
 */

/** The media type of CSTA bodies (IANA; UTF-8 XML). */
export const CSTA_CONTENT_TYPE = 'application/csta+xml';

/** The Content-Disposition every CSTA body is sent with (RFC 3261 §20.11). */
export const CSTA_CONTENT_DISPOSITION = 'signal;handling=required';

/** The final response to a CSTA request the channel sent. */
export interface CstaChannelResponse {
  /** SIP status, 200–699. */
  readonly status: number;
  readonly reason: string;
  /** The body as text; `''` when there is none. */
  readonly body: string;
  /** The Content-Type of the body as received, when there is one. */
  readonly contentType: string | undefined;
}

/** A CSTA request (or event) the peer sent over the channel. */
export interface CstaChannelRequest {
  /** The body as text; `''` when there is none. */
  readonly body: string;
  /** The Content-Type as received; `undefined` when absent. */
  readonly contentType: string | undefined;
}

/** What the receiver answers to a {@link CstaChannelRequest}. */
export interface CstaChannelAnswer {
  readonly status: number;
  readonly reason?: string;
  /** A CSTA document; sent with the CSTA Content-Type and Content-Disposition. */
  readonly body?: string;
  /** Further headers (`Accept` on a 415). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Answers requests from the peer. */
export type CstaChannelHandler = (
  request: CstaChannelRequest,
) => CstaChannelAnswer | Promise<CstaChannelAnswer>;

/** Why a channel ended, as the binding names it (`bye-received`, `no-dialog`, `closed`, …). */
export interface CstaChannelClosed {
  readonly reason: string;
}

/** `Open` until the channel ends (BYE either way, 481, failed refresh, `close()`). */
export type CstaChannelState = 'Open' | 'Closed';

/** One CSTA application session (an INVITE dialog in uaCSTA) seen as a request/answer pipe. */
export interface CstaChannel {
  readonly state: CstaChannelState;
  /**
   * Sends one CSTA document in one request and resolves with the final response, whatever its
   * status. Rejects only when no final response came (timeout, transport, channel ended).
   */
  send(body: string): Promise<CstaChannelResponse>;
  /**
   * Sets the handler of the peer's requests (one handler; a new one replaces the old). Returns
   * the function that removes it. Requests that arrive before a handler is set are held by the
   * binding until one is.
   */
  onRequest(handler: CstaChannelHandler): () => void;
  /** Calls `listener` once when the channel ends (at once if it has); returns the unsubscriber. */
  onClosed(listener: (closed: CstaChannelClosed) => void): () => void;
  /** Ends the session (BYE). Idempotent. */
  close(): Promise<void>;
  /**
   * The CSTA body of the answer that opened the session (the response to a request embedded in
   * the INVITE, digest §1.3), when the binding knows it; `undefined` when there was none.
   */
  readonly establishedBody?: string | undefined;
  /**
   * True when the binding refreshes the session itself (RFC 4028 session timer negotiated), so the
   * association need not re-INVITE (digest §1.7). Absent means no.
   */
  readonly refreshedByBinding?: boolean;
  /**
   * Refreshes the session (a re-INVITE, digest §1.7 and Example 10), with `body` (a CSTA
   * `RequestSystemStatus`) when given, and resolves with the final response, whatever its status.
   * Optional: bindings without a session to refresh (out-of-dialog NOTIFY) leave it out.
   */
  refresh?(body?: string): Promise<CstaChannelResponse>;
}

/** What a channel factory is asked for: the CSTA body of the opening request, if any. */
export interface CstaChannelInit {
  /** A CSTA document for the INVITE (Microsoft's `RequestSystemStatus`). */
  readonly body?: string;
  readonly signal?: AbortSignal;
}

/** Opens one CSTA application session (an INVITE in session mode); used again to recover. */
export type CstaChannelFactory = (init: CstaChannelInit) => Promise<CstaChannel>;

/** The media type of a Content-Type value, lower-cased and without parameters. */
export function mediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** True for `application/csta+xml` in any case, with or without parameters (digest §1.12). */
export function isCstaContentType(contentType: string | undefined): boolean {
  return mediaType(contentType) === CSTA_CONTENT_TYPE;
}
