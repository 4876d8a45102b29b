/**
 * The out-of-dialog {@link CstaChannel} (style B, digest §1.1 and §1.10): each CSTA document is a
 * stand-alone `NOTIFY` with `Event: uaCSTA`, its response (ShoreTel) in the body of the 200, or
 * nothing (OpenStage: fire-and-forget). There is no dialog, so there is nothing to refresh and
 * `close()` sends nothing.
 *
 * @remarks
 * Node-side glue over {@link UserAgent.request} and {@link UserAgent.onRequest}. A user agent has
 * one NOTIFY handler, so one router per user agent takes every NOTIFY and hands it to a channel:
 * the controller's channel whose target matches the sender (From URI, without parameters, scheme
 * `sip:`/`sips:` alike), else the accepting side's channel of that sender, created on its first
 * NOTIFY. A NOTIFY with another Event package gets 489 Bad Event (RFC 6665 §8.2.1), a body that
 * is not CSTA 415 with Accept, a sender no channel knows 481.
 */

import { UaCstaError } from '../errors.js';
import { UACSTA_LIMITS } from '../limits.js';
import { contactUri } from '../sip/dialog/dialog-id.js';
import type { SipRequest, SipResponse } from '../sip/message/types.js';
import type { RequestAnswer, UserAgent } from '../sip/ua/user-agent.js';
import {
  CSTA_CONTENT_DISPOSITION,
  CSTA_CONTENT_TYPE,
  isCstaContentType,
  type CstaChannel,
  type CstaChannelAnswer,
  type CstaChannelClosed,
  type CstaChannelHandler,
  type CstaChannelInit,
  type CstaChannelRequest,
  type CstaChannelResponse,
  type CstaChannelState,
} from '../uacsta/channel.js';
import { ChannelCore } from '../uacsta/channel-core.js';

/** The Event package of out-of-dialog CSTA (digest §1.10). */
export const UACSTA_EVENT_PACKAGE = 'uaCSTA';

const decoder = new TextDecoder();

/** Options of {@link openNotifyCstaChannel} and {@link acceptNotifyCstaChannels}. */
export interface NotifyCstaOptions {
  /** Add `Subscription-State: active` (the ShoreTel harness does; opencsp does not). @defaultValue false */
  readonly subscriptionState?: boolean;
  /** Further NOTIFY headers. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Options of {@link acceptNotifyCstaChannels}. */
export interface AcceptNotifyCstaOptions extends NotifyCstaOptions {
  /** Senders served at once; a new one past this gets 503. @defaultValue 256 (`maxMonitors`) */
  readonly maxPeers?: number;
}

/** `user@host:port` of a URI, lower-cased, without scheme or parameters: how senders are matched. */
function peerKey(uri: string): string {
  let u = uri.trim();
  const lt = u.indexOf('<');
  if (lt >= 0) u = u.slice(lt + 1, u.indexOf('>', lt) < 0 ? undefined : u.indexOf('>', lt));
  u = u.replace(/^sips?:/i, '');
  const end = u.search(/[;?]/);
  return (end < 0 ? u : u.slice(0, end)).toLowerCase();
}

function toResponse(res: SipResponse): CstaChannelResponse {
  return { status: res.status, reason: res.reason, body: decoder.decode(res.body), contentType: res.headers['content-type']?.[0] };
}

/** A {@link CstaChannel} of stand-alone NOTIFY requests to one peer. */
export class NotifyCstaChannel implements CstaChannel {
  readonly #ua: UserAgent;
  readonly #options: NotifyCstaOptions;
  readonly #core = new ChannelCore({ maxHeld: UACSTA_LIMITS.maxHeldEvents });
  readonly #onEnd: () => void;
  #target: string;
  #establishedBody: string | undefined;

  /** @internal Use {@link openNotifyCstaChannel} or {@link acceptNotifyCstaChannels}. */
  constructor(ua: UserAgent, target: string, options: NotifyCstaOptions, onEnd: () => void) {
    this.#ua = ua;
    this.#target = target;
    this.#options = options;
    this.#onEnd = onEnd;
  }

  /** Where this channel's NOTIFYs go. */
  get target(): string {
    return this.#target;
  }

  get state(): CstaChannelState {
    return this.#core.closed === undefined ? 'Open' : 'Closed';
  }

  /** The CSTA body of the answer to the first NOTIFY, when `open` was given one. */
  get establishedBody(): string | undefined {
    return this.#establishedBody;
  }

  /** @internal */
  set establishedBody(body: string | undefined) {
    this.#establishedBody = body;
  }

  /** @internal The accepting side answers to the sender's Contact once it knows it. */
  retarget(target: string): void {
    this.#target = target;
  }

  async send(body: string): Promise<CstaChannelResponse> {
    if (this.#core.closed !== undefined) throw new UaCstaError('UACSTA_ERR_CLOSED', `the CSTA channel is closed (${this.#core.closed.reason})`);
    const headers: Record<string, string> = {
      Event: UACSTA_EVENT_PACKAGE,
      'Content-Disposition': CSTA_CONTENT_DISPOSITION,
      ...(this.#options.subscriptionState === true ? { 'Subscription-State': 'active' } : {}),
      ...(this.#options.headers ?? {}),
    };
    const res = await this.#ua.request('NOTIFY', this.#target, { headers, body, contentType: CSTA_CONTENT_TYPE });
    return toResponse(res);
  }

  onRequest(handler: CstaChannelHandler): () => void {
    return this.#core.onRequest(handler);
  }

  onClosed(listener: (closed: CstaChannelClosed) => void): () => void {
    return this.#core.onClosed(listener);
  }

  /** Forgets the peer; nothing is sent (there is no dialog). Idempotent. */
  close(): Promise<void> {
    this.#end('closed');
    return Promise.resolve();
  }

  /** @internal The request to the handler, held (bounded) until one is set. */
  dispatch(request: CstaChannelRequest): Promise<CstaChannelAnswer> {
    return this.#core.dispatch(request);
  }

  #end(reason: string): void {
    if (this.#core.closed !== undefined) return;
    this.#onEnd();
    this.#core.end(reason);
  }
}

/** The NOTIFY router of one user agent. */
interface Router {
  readonly controllers: Map<string, NotifyCstaChannel>;
  readonly accepted: Map<string, NotifyCstaChannel>;
  accept: { readonly onChannel: (c: NotifyCstaChannel) => void; readonly options: AcceptNotifyCstaOptions } | undefined;
  off: (() => void) | undefined;
}

const routers = new WeakMap<UserAgent, Router>();

function routerOf(ua: UserAgent): Router {
  let r = routers.get(ua);
  if (r === undefined) {
    const router: Router = { controllers: new Map(), accepted: new Map(), accept: undefined, off: undefined };
    router.off = ua.onRequest('NOTIFY', (req) => route(ua, router, req));
    routers.set(ua, router);
    r = router;
  }
  return r;
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

async function route(ua: UserAgent, router: Router, req: SipRequest): Promise<RequestAnswer> {
  const event = (req.headers['event']?.[0] ?? '').split(';')[0]!.trim();
  if (event.toLowerCase() !== UACSTA_EVENT_PACKAGE.toLowerCase())
    return { status: 489, headers: { 'Allow-Events': UACSTA_EVENT_PACKAGE } };
  const contentType = req.headers['content-type']?.[0];
  if (req.body.length > 0 && !isCstaContentType(contentType)) return { status: 415, headers: { Accept: CSTA_CONTENT_TYPE } };
  const key = peerKey(req.from.uri);
  let channel = router.controllers.get(key) ?? router.accepted.get(key);
  if (channel === undefined) {
    const accept = router.accept;
    if (accept === undefined) return { status: 481 };
    if (router.accepted.size >= (accept.options.maxPeers ?? UACSTA_LIMITS.maxMonitors)) return { status: 503 };
    const created = new NotifyCstaChannel(ua, contactUri(req) ?? req.from.uri, accept.options, () => {
      if (router.accepted.get(key) === created) router.accepted.delete(key);
    });
    router.accepted.set(key, created);
    channel = created;
    accept.onChannel(created);
  }
  return toAnswer(await channel.dispatch({ body: decoder.decode(req.body), contentType }));
}

/**
 * Opens an out-of-dialog CSTA channel to `target` (nothing is sent until the first request; with
 * `init.body`, e.g. `RequestSystemStatus`, that body is sent at once and its answer becomes
 * `establishedBody`). NOTIFYs from `target` (events, if the peer sends any) reach the channel.
 *
 * @example
 * const client = await CstaClient.connect({ open: (init) => openNotifyCstaChannel(ua, 'sip:1001@192.0.2.10', init) });
 */
export async function openNotifyCstaChannel(
  ua: UserAgent,
  target: string,
  init: CstaChannelInit & NotifyCstaOptions = {},
): Promise<NotifyCstaChannel> {
  if (typeof target !== 'string' || target === '') throw new UaCstaError('ERR_INVALID_ARG', 'target must be a SIP URI');
  const router = routerOf(ua);
  const key = peerKey(target);
  const { body, signal: _signal, ...options } = init;
  const channel: NotifyCstaChannel = new NotifyCstaChannel(ua, target, options, () => {
    if (router.controllers.get(key) === channel) router.controllers.delete(key);
  });
  router.controllers.set(key, channel);
  if (body !== undefined && body.length > 0) {
    try {
      const res = await channel.send(body);
      if (res.status < 200 || res.status >= 300) {
        await channel.close();
        throw Object.assign(new UaCstaError('SIP_ERR_REJECTED', `the opening NOTIFY was answered ${res.status} ${res.reason}; expected 2xx`), {
          status: res.status,
          reasonPhrase: res.reason,
        });
      }
      channel.establishedBody = res.body === '' ? undefined : res.body;
    } catch (error) {
      await channel.close();
      throw error;
    }
  }
  return channel;
}

/**
 * Takes out-of-dialog CSTA on `ua`: the first NOTIFY `Event: uaCSTA` from a sender creates its
 * channel and calls `onChannel` (set a `CstaServer` on it there); its answer is the body of the
 * 200. Returns the function that stops taking new senders.
 *
 * @example
 * acceptNotifyCstaChannels(ua, (channel) => new CstaServer({ channel }).handle('MakeCall', makeCall));
 */
export function acceptNotifyCstaChannels(
  ua: UserAgent,
  onChannel: (channel: NotifyCstaChannel) => void,
  options: AcceptNotifyCstaOptions = {},
): () => void {
  if (typeof onChannel !== 'function') throw new UaCstaError('ERR_INVALID_ARG', 'onChannel must be a function');
  const router = routerOf(ua);
  const accept = { onChannel, options };
  router.accept = accept;
  return () => {
    if (router.accept === accept) router.accept = undefined;
  };
}
