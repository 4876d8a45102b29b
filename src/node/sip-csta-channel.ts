/**
 * The {@link CstaChannel} over our SIP user agent: one uaCSTA application session is one INVITE
 * dialog (digest §1.3), each CSTA document one in-dialog INFO (§1.4–1.5).
 *
 * @remarks
 * Node-side glue: imports `sip/` and `uacsta/`, so neither has to know the other. The controller
 * side opens the session with {@link openSipCstaChannel}; the controlled side takes sessions with
 * {@link acceptSipCstaChannels}, which refuses INVITEs that are not CSTA (an SDP offer gets 488,
 * any other body 415 with `Accept: application/csta+xml`). A CSTA body in the INVITE (Microsoft's
 * `RequestSystemStatus`) is handed to the channel's handler like any request, and its answer is
 * the body of the 200.
 */

import { UaCstaError } from '../errors.js';
import type { SipRequest, SipResponse } from '../sip/message/types.js';
import type { DialogHandle, InviteHandler, RequestAnswer, UserAgent } from '../sip/ua/user-agent.js';
import {
  CSTA_CONTENT_DISPOSITION,
  CSTA_CONTENT_TYPE,
  isCstaContentType,
  mediaType,
  type CstaChannel,
  type CstaChannelAnswer,
  type CstaChannelClosed,
  type CstaChannelHandler,
  type CstaChannelRequest,
  type CstaChannelResponse,
  type CstaChannelState,
} from '../uacsta/channel.js';
import { ChannelCore } from '../uacsta/channel-core.js';

const decoder = new TextDecoder();

/** Requests held while no handler is set; past this they are answered 503. */
export const MAX_HELD_REQUESTS = 64;

const contentTypeOf = (m: SipRequest | SipResponse): string | undefined => m.headers['content-type']?.[0];

function toResponse(res: SipResponse): CstaChannelResponse {
  return { status: res.status, reason: res.reason, body: decoder.decode(res.body), contentType: contentTypeOf(res) };
}

function toAnswer(a: CstaChannelAnswer): RequestAnswer {
  const headers: Record<string, string> = { ...(a.headers ?? {}) };
  const hasBody = a.body !== undefined && a.body.length > 0;
  if (hasBody) headers['Content-Disposition'] = CSTA_CONTENT_DISPOSITION;
  return {
    status: a.status,
    ...(a.reason === undefined ? {} : { reason: a.reason }),
    ...(hasBody ? { body: a.body, contentType: CSTA_CONTENT_TYPE } : {}),
    headers,
  };
}

/** A {@link CstaChannel} bound to one {@link DialogHandle}. */
export class SipCstaChannel implements CstaChannel {
  #dialog: DialogHandle | undefined;
  readonly #core = new ChannelCore({ maxHeld: MAX_HELD_REQUESTS });

  /** @internal Use {@link openSipCstaChannel} or {@link acceptSipCstaChannels}. */
  constructor() {}

  /** The dialog under the channel, once it exists. */
  get dialog(): DialogHandle | undefined {
    return this.#dialog;
  }

  /**
   * The CSTA body of the 2xx that opened the session (the response to a request embedded in the
   * INVITE, e.g. `RequestSystemStatusResponse`), as UTF-8 text; `undefined` when there was none
   * or on the answering side.
   */
  get establishedBody(): string | undefined {
    const r = this.#dialog?.establishedBy;
    return r === undefined || r.body.length === 0 ? undefined : new TextDecoder().decode(r.body);
  }

  get state(): CstaChannelState {
    return this.#core.state;
  }

  /** True when the dialog has an RFC 4028 session timer or a periodic re-INVITE of the UA. */
  get refreshedByBinding(): boolean {
    return (this.#dialog?.sessionTimer.mode ?? 'off') !== 'off';
  }

  /**
   * Re-INVITEs the dialog (digest §1.7, Example 10) with `body` (a `RequestSystemStatus`) when
   * given, and resolves with the final response, whatever its status. A 481 or 408 ends the
   * dialog (RFC 5057), which closes the channel.
   */
  async refresh(body?: string): Promise<CstaChannelResponse> {
    const dialog = this.#dialog;
    if (dialog === undefined || this.#core.closed !== undefined)
      throw new UaCstaError('UACSTA_ERR_CLOSED', `the CSTA channel is closed (${this.#core.closed?.reason ?? 'not open'})`);
    const hasBody = body !== undefined && body.length > 0;
    try {
      const res = await dialog.request('INVITE', {
        ...(hasBody ? { body, contentType: CSTA_CONTENT_TYPE, headers: { 'Content-Disposition': CSTA_CONTENT_DISPOSITION } } : {}),
      });
      return toResponse(res);
    } catch (error) {
      const response = (error as { response?: unknown }).response;
      if ((error as { code?: unknown }).code === 'SIP_ERR_REJECTED' && response !== undefined)
        return toResponse(response as SipResponse);
      throw error;
    }
  }

  /** @internal Binds the dialog (called once). */
  attach(dialog: DialogHandle): void {
    this.#dialog = dialog;
    dialog.onRequest((req) => this.receive(req));
    dialog.onTerminated((t) => this.#end(t.reason));
  }

  async send(body: string): Promise<CstaChannelResponse> {
    const dialog = this.#dialog;
    if (dialog === undefined || this.#core.closed !== undefined)
      throw new UaCstaError('UACSTA_ERR_CLOSED', `the CSTA channel is closed (${this.#core.closed?.reason ?? 'not open'})`);
    try {
      const res = await dialog.request('INFO', {
        body,
        contentType: CSTA_CONTENT_TYPE,
        headers: { 'Content-Disposition': CSTA_CONTENT_DISPOSITION },
      });
      return toResponse(res);
    } catch (error) {
      // a non-2xx is an answer, not a failure of the channel
      const response = (error as { response?: unknown }).response;
      if ((error as { code?: unknown }).code === 'SIP_ERR_REJECTED' && response !== undefined)
        return toResponse(response as SipResponse);
      throw error;
    }
  }

  onRequest(handler: CstaChannelHandler): () => void {
    return this.#core.onRequest(handler);
  }

  onClosed(listener: (closed: CstaChannelClosed) => void): () => void {
    return this.#core.onClosed(listener);
  }

  async close(): Promise<void> {
    const dialog = this.#dialog;
    this.#end('closed');
    if (dialog !== undefined) await dialog.bye();
  }

  /** @internal Answers one request from the peer (INFO, or a CSTA re-INVITE). */
  async receive(req: SipRequest): Promise<RequestAnswer> {
    const contentType = contentTypeOf(req);
    const body = decoder.decode(req.body);
    // keep-alive, UPDATE, a re-INVITE without CSTA: the UA's business, not CSTA's
    if (req.method !== 'INFO' && !isCstaContentType(contentType)) return { status: 200 };
    if (req.method === 'INFO' && body === '' && contentType === undefined) return { status: 200 };
    return toAnswer(await this.dispatch({ body, contentType }));
  }

  /** @internal The request to the handler, held until one is set. */
  dispatch(request: CstaChannelRequest): Promise<CstaChannelAnswer> {
    return this.#core.dispatch(request);
  }

  #end(reason: string): void {
    this.#core.end(reason);
  }
}

/** Options of {@link openSipCstaChannel}. */
export interface OpenSipCstaChannelOptions {
  /** A CSTA document for the INVITE (Microsoft sends `RequestSystemStatus`); none by default. */
  readonly body?: string;
  readonly signal?: AbortSignal;
  /** Further INVITE headers. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Opens a CSTA application session: INVITE (CSTA body or none) → 200 → ACK (digest §1.3).
 * Rejects as `UserAgent.invite` does (`SIP_ERR_REJECTED` with the status for a non-2xx, …).
 *
 * @remarks
 * The body of the 200 (the answer to a CSTA body in the INVITE) is not available yet:
 * `UserAgent.invite` resolves the dialog, not the 2xx.
 *
 * @example
 * const channel = await openSipCstaChannel(ua, 'sip:1001@192.0.2.10');
 * const client = new CstaClient({ channel });
 */
export async function openSipCstaChannel(
  ua: UserAgent,
  target: string,
  options: OpenSipCstaChannelOptions = {},
): Promise<SipCstaChannel> {
  const channel = new SipCstaChannel();
  const hasBody = options.body !== undefined && options.body.length > 0;
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (hasBody) headers['Content-Disposition'] = CSTA_CONTENT_DISPOSITION;
  // a request may follow the 2xx before invite() resolves (digest §1.5): the channel holds it
  const dialog = await ua.invite(target, {
    ...(hasBody ? { body: options.body, contentType: CSTA_CONTENT_TYPE } : {}),
    headers,
    onRequest: (req) => channel.receive(req),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  channel.attach(dialog);
  return channel;
}

/**
 * Takes incoming CSTA sessions on `ua`: calls `onChannel` for each INVITE that is CSTA or has no
 * body, before the answer, so the caller sets its handler (a `CstaServer`) at once. Returns the
 * function that stops taking them.
 *
 * @example
 * acceptSipCstaChannels(ua, (channel) => new CstaServer({ channel }).handle('MakeCall', makeCall));
 */
export function acceptSipCstaChannels(ua: UserAgent, onChannel: (channel: SipCstaChannel) => void): () => void {
  return ua.onInvite(cstaInviteHandler(onChannel));
}

/**
 * The INVITE handler of {@link acceptSipCstaChannels}, for a UA that also takes other INVITEs
 * (a simulated phone takes calls with SDP and CSTA sessions on the same address) and hands it
 * the ones that are not calls.
 */
export function cstaInviteHandler(onChannel: (channel: SipCstaChannel) => void): InviteHandler {
  return async (request, dialog) => {
    const contentType = contentTypeOf(request);
    const hasBody = request.body.length > 0;
    if (hasBody && !isCstaContentType(contentType)) {
      // an SBC or phone expecting a call: not a CSTA session (digest §1.3)
      if (mediaType(contentType) === 'application/sdp') return { status: 488 };
      return { status: 415, headers: { Accept: CSTA_CONTENT_TYPE } };
    }
    const channel = new SipCstaChannel();
    channel.attach(dialog);
    onChannel(channel);
    if (!hasBody) return { status: 200 };
    return toAnswer(await channel.dispatch({ body: decoder.decode(request.body), contentType }));
  };
}
