/**
 * The {@link CstaChannel} over a sip.js core session: one uaCSTA application session is one
 * INVITE dialog (ECMA TR/87 §6; digest §1.3), each CSTA document one in-dialog INFO (§1.4–1.5).
 *
 * @remarks
 * Built on `Core.Session` (the dialog under `ua.userAgentCore`), never on the api layer's
 * `Inviter`/`Invitation`: those end any INVITE session without SDP (BYE with 400 on the UAC side,
 * 488 on the UAS side; research/libfit §2.5). The session delegate is set before the dialog can
 * receive anything, so every INFO reaches this channel: the core would answer 469 without a
 * delegate, and the api `Session` would accept it unseen with a bodiless 200.
 */

import type { Core } from 'sip.js';
import { UaCstaError } from '../../errors.js';
import {
  CSTA_CONTENT_DISPOSITION,
  CSTA_CONTENT_TYPE,
  isCstaContentType,
  type CstaChannel,
  type CstaChannelAnswer,
  type CstaChannelClosed,
  type CstaChannelHandler,
  type CstaChannelRequest,
  type CstaChannelResponse,
  type CstaChannelState,
} from '../../uacsta/channel.js';
import { ChannelCore } from '../../uacsta/channel-core.js';

/** Requests held while no handler is set; past this they are answered 503 (RFC 3261 §21.5.4). */
export const SIPJS_MAX_HELD_REQUESTS = 64;

/**
 * The Content-Disposition header for extra headers: sip.js serialises `Body.contentDisposition`
 * nowhere (research/libfit §2.2), so it travels as an extra header.
 */
export const CSTA_DISPOSITION_HEADER = `Content-Disposition: ${CSTA_CONTENT_DISPOSITION}`;

/** A sip.js body holding a CSTA document. */
export function cstaBody(xml: string): Core.Body {
  return { contentDisposition: 'signal', contentType: CSTA_CONTENT_TYPE, content: xml };
}

/** The response options of a {@link CstaChannelAnswer}. */
export function answerOptions(a: CstaChannelAnswer): Core.ResponseOptions {
  const extraHeaders = Object.entries(a.headers ?? {}).map(([k, v]) => `${k}: ${v}`);
  const hasBody = a.body !== undefined && a.body.length > 0;
  if (hasBody) extraHeaders.push(CSTA_DISPOSITION_HEADER);
  return {
    statusCode: a.status,
    ...(a.reason === undefined ? {} : { reasonPhrase: a.reason }),
    extraHeaders,
    ...(hasBody ? { body: cstaBody(a.body!) } : {}),
  };
}

/** The CSTA view of an incoming request. */
export function requestOf(message: Core.IncomingRequestMessage): CstaChannelRequest {
  return { body: message.body ?? '', contentType: message.getHeader('content-type') };
}

function responseOf(response: Core.IncomingResponse): CstaChannelResponse {
  const m = response.message;
  return {
    status: m.statusCode ?? 0,
    reason: m.reasonPhrase ?? '',
    body: m.body ?? '',
    contentType: m.getHeader('content-type'),
  };
}

/** What a channel reports through `trace`. */
export type SipJsChannelTraceEvent =
  | { readonly type: 'request'; readonly method: string; readonly status: number }
  | { readonly type: 'handler-error'; readonly error: unknown };

/** A {@link CstaChannel} bound to one sip.js core session (either SIP role). */
export class SipJsCstaChannel implements CstaChannel {
  #session: Core.Session | undefined;
  readonly #core = new ChannelCore({
    maxHeld: SIPJS_MAX_HELD_REQUESTS,
    onHandlerError: (error) => this.#safeTrace({ type: 'handler-error', error }),
  });
  #remote = '';
  readonly #trace: (event: SipJsChannelTraceEvent) => void;
  /** Every request the peer sent in this dialog, answered by this channel (for tests and traces). */
  readonly seen: { readonly method: string; readonly status: number }[] = [];

  /** @internal Use {@link openSipJsCstaChannel} or {@link SipJsCstaSessions}. */
  constructor(trace?: (event: SipJsChannelTraceEvent) => void) {
    this.#trace = trace ?? (() => {});
  }

  get state(): CstaChannelState {
    return this.#core.closed === undefined ? 'Open' : 'Closed';
  }

  /** The peer's address of record (From of the INVITE we took, or To of the one we sent). */
  get remoteIdentity(): string {
    return this.#remote;
  }

  /** The dialog under the channel, once it exists. */
  get session(): Core.Session | undefined {
    return this.#session;
  }

  /**
   * @internal Binds the session and sets its delegate. Call it in the same task as the
   * `accept()` that created the session (or the 2xx that confirmed it), before the event loop can
   * deliver an in-dialog request.
   */
  attach(session: Core.Session, remoteIdentity: string): void {
    this.#session = session;
    this.#remote = remoteIdentity;
    session.delegate = {
      onInfo: (request) => {
        const req = requestOf(request.message);
        // an INFO without body or Content-Type is a keep-alive (as in the Node binding): 200 here
        if (req.body === '' && req.contentType === undefined) return this.#answer('INFO', request, { status: 200 });
        void this.dispatch(req).then((answer) => this.#answer('INFO', request, answer));
      },
      // a re-INVITE (refresh, or periodic with RequestSystemStatus): CSTA body to the handler
      onInvite: (request) => {
        const req = requestOf(request.message);
        const answered = isCstaContentType(req.contentType) ? this.dispatch(req) : Promise.resolve({ status: 200 });
        void answered.then((answer) => {
          // sip.js requires a body in a 2xx to INVITE while no offer/answer happened
          const options = answerOptions(answer);
          this.#answer('INVITE', request, answer.status < 300 && options.body === undefined ? { ...options, body: cstaBody('') } : options);
        });
      },
      onBye: (request) => {
        this.#record('BYE', 200);
        request.accept();
        this.#end('bye-received');
      },
      onAckTimeout: () => {
        // the 2xx was never acknowledged (RFC 3261 §13.3.1.4): end the dialog
        this.#end('ack-timeout');
        try {
          session.bye();
        } catch {
          // the dialog is already gone
        }
      },
      onRefer: (request) => {
        this.#record('REFER', 405);
        request.reject({ statusCode: 405 });
      },
      onNotify: (request) => {
        this.#record('NOTIFY', 405);
        request.reject({ statusCode: 405 });
      },
      onMessage: (request) => {
        this.#record('MESSAGE', 405);
        request.reject({ statusCode: 405 });
      },
    };
  }

  /** @internal Ends a channel whose session never came to be (INVITE refused or cancelled). */
  abandon(reason: string): void {
    this.#end(reason);
  }

  send(body: string): Promise<CstaChannelResponse> {
    const session = this.#session;
    if (session === undefined || this.#core.closed !== undefined)
      return Promise.reject(new UaCstaError('UACSTA_ERR_CLOSED', `the CSTA channel is closed (${this.#core.closed?.reason ?? 'not open'})`));
    return new Promise((resolve, reject) => {
      const done = (response: Core.IncomingResponse): void => {
        const r = responseOf(response);
        // RFC 5057 §5.1: 481 ends the dialog; anything else is an answer for this request only
        if (r.status === 481) this.#end('no-dialog');
        resolve(r);
      };
      try {
        session.info({ onAccept: done, onReject: done }, { body: cstaBody(body), extraHeaders: [CSTA_DISPOSITION_HEADER] });
      } catch (error) {
        reject(new UaCstaError('UACSTA_ERR_CLOSED', `the dialog cannot send INFO: ${String(error)}`));
      }
    });
  }

  onRequest(handler: CstaChannelHandler): () => void {
    return this.#core.onRequest(handler);
  }

  onClosed(listener: (closed: CstaChannelClosed) => void): () => void {
    return this.#core.onClosed(listener);
  }

  close(): Promise<void> {
    const session = this.#session;
    const open = this.#core.closed === undefined;
    this.#end('closed');
    if (session === undefined || !open) return Promise.resolve();
    return new Promise((resolve) => {
      try {
        session.bye({ onAccept: () => resolve(), onReject: () => resolve() });
      } catch {
        // not confirmed yet or already gone: nothing to end on the wire
        resolve();
      }
    });
  }

  /** @internal The request to the handler, held until one is set. */
  dispatch(request: CstaChannelRequest): Promise<CstaChannelAnswer> {
    return this.#core.dispatch(request);
  }

  #answer(method: string, request: Core.IncomingRequest, answer: CstaChannelAnswer | Core.ResponseOptions): void {
    const options = 'statusCode' in answer ? answer : answerOptions(answer);
    this.#record(method, options.statusCode);
    try {
      if (options.statusCode >= 200 && options.statusCode < 300) request.accept(options);
      else request.reject(options);
    } catch (error) {
      this.#safeTrace({ type: 'handler-error', error });
    }
  }

  #record(method: string, status: number): void {
    if (this.seen.length < 1000) this.seen.push({ method, status });
    this.#safeTrace({ type: 'request', method, status });
  }

  #end(reason: string): void {
    this.#core.end(reason);
  }

  #safeTrace(event: SipJsChannelTraceEvent): void {
    try {
      this.#trace(event);
    } catch {
      // a trace sink that throws must not break protocol flow
    }
  }
}
