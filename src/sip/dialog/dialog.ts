/**
 * One SIP dialog (RFC 3261 §12): its id, sequence numbers, remote target and route set, the
 * check of incoming CSeq numbers and the builder of in-dialog requests.
 *
 * @remarks
 * The dialog holds no timers and sends nothing; the UA core (`sip/ua`) owns the transactions and
 * asks the dialog what to put in them. Route sets are kept as the header values to send, in
 * sending order: for the UAC the Record-Route of the 2xx reversed (§12.1.2), for the UAS the
 * Record-Route of the INVITE as is (§12.1.1). Requests are built for loose routing (§12.2.1.1:
 * the Request-URI is the remote target, the route set goes into Route) and, when the first
 * route has no `lr` parameter, for a strict router (the Request-URI is that route, the remote
 * target goes last into Route).
 */

import { UaCstaError } from '../../errors.js';
import type { SipHeaderInit, SipRequestInit } from '../message/serialize.js';
import type { NameAddr, SipRequest, SipResponse } from '../message/types.js';
import { contactUri, readNameAddrs, type DialogId } from './dialog-id.js';

/**
 * State of a dialog (RFC 3261 §12).
 *
 * ```text
 *            1xx with To tag            2xx
 *   (none) ───────────────▶ Early ──────────────▶ Confirmed
 *      │ 2xx                  │ non-2xx final         │ BYE, 481, no ACK for the 2xx
 *      └──────────────────────┼───────────────────────┤
 *                             ▼                       ▼
 *                         Terminated ◀────────────────┘
 * ```
 *
 * A dialog created straight from a 2xx starts in Confirmed; Terminated is final.
 */
export type DialogState = 'Early' | 'Confirmed' | 'Terminated';

const TRANSITIONS: Readonly<Record<DialogState, readonly DialogState[]>> = {
  Early: ['Confirmed', 'Terminated'],
  Confirmed: ['Terminated'],
  Terminated: [],
};

/** How a remote CSeq number fits the dialog (§12.2.2). */
export type RemoteCSeqCheck = 'ok' | 'out-of-order';

/** What an in-dialog request carries besides what the dialog gives it. */
export interface DialogRequestOptions {
  readonly body?: Uint8Array | string;
  /** Content-Type of the body; required when there is a body. */
  readonly contentType?: string;
  /** Further headers; not Via, From, To, Call-ID, CSeq, Max-Forwards, Route or Content-Length. */
  readonly headers?: SipHeaderInit;
}

/** What a dialog is built from. */
export interface DialogInit {
  readonly state: 'Early' | 'Confirmed';
  readonly id: DialogId;
  /** Our URI and the peer's (From / To of our requests, without tags). */
  readonly localUri: NameAddr;
  readonly remoteUri: NameAddr;
  readonly remoteTarget: string;
  /** Route header values in sending order. */
  readonly routeSet: readonly string[];
  /** The last CSeq number we used; `undefined` when we have sent nothing (UAS). */
  readonly localSeq: number | undefined;
  /** The last CSeq number of the peer; `undefined` when it has sent nothing (UAC). */
  readonly remoteSeq: number | undefined;
  /** Our Contact, sent in target-refresh requests (re-INVITE, UPDATE). */
  readonly localContact: string;
}

/** Methods whose requests and 2xx responses refresh the remote target (RFC 3311, §12.2). */
const TARGET_REFRESH = new Set(['INVITE', 'UPDATE']);

/**
 * Methods whose requests carry our Contact: the target refreshes, and REFER and NOTIFY, which
 * make or serve a subscription usage (RFC 3515 §2.4, RFC 6665 §4.2).
 */
const WITH_CONTACT = new Set(['INVITE', 'UPDATE', 'REFER', 'NOTIFY', 'SUBSCRIBE']);

function withoutTag(a: NameAddr): NameAddr {
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const k in a.params) if (k !== 'tag') params[k] = a.params[k]!;
  return { displayName: a.displayName, uri: a.uri, params };
}

function withTag(a: NameAddr, tag: string): NameAddr {
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const k in a.params) params[k] = a.params[k]!;
  params['tag'] = tag;
  return { displayName: a.displayName, uri: a.uri, params };
}

function formatRoute(a: NameAddr): string {
  let s = `<${a.uri}>`;
  for (const k in a.params) {
    const v = a.params[k]!;
    s += v === '' ? `;${k}` : `;${k}=${v}`;
  }
  return s;
}

/** True when the route value's URI carries `lr` (RFC 3261 §19.1.1). */
function isLooseRoute(route: string): boolean {
  const a = readNameAddrs([route])[0];
  if (a === undefined) return true;
  return /;lr(?:[;=?]|$)/i.test(a.uri);
}

function routeUri(route: string): string | undefined {
  return readNameAddrs([route])[0]?.uri;
}

/**
 * A SIP dialog at one UA.
 *
 * @example
 * const dialog = Dialog.fromUac(invite, ok200, contact);
 * const info = dialog.createRequest('INFO', { body: xml, contentType: 'application/csta+xml' });
 * endpoint.createClientTransaction(info, resolve(dialog.nextHopUri()), user);
 */
export class Dialog {
  readonly id: DialogId;
  readonly localUri: NameAddr;
  readonly remoteUri: NameAddr;
  readonly localContact: string;
  #state: DialogState;
  #remoteTarget: string;
  #routeSet: readonly string[];
  #localSeq: number | undefined;
  #remoteSeq: number | undefined;

  constructor(init: DialogInit) {
    this.#state = init.state;
    this.id = init.id;
    this.localUri = withoutTag(init.localUri);
    this.remoteUri = withoutTag(init.remoteUri);
    this.#remoteTarget = init.remoteTarget;
    this.#routeSet = [...init.routeSet];
    this.#localSeq = init.localSeq;
    this.#remoteSeq = init.remoteSeq;
    this.localContact = init.localContact;
  }

  /**
   * The UAC's dialog from a 2xx (or a 1xx with a To tag: Early) to `invite` (§12.1.2): route
   * set = the response's Record-Route reversed, remote target = its Contact.
   *
   * @throws `ERR_INVALID_ARG` when the response has no To tag or no readable Contact.
   */
  static fromUac(invite: SipRequest, response: SipResponse, localContact: string): Dialog {
    const remoteTag = response.to.params['tag'];
    if (remoteTag === undefined || remoteTag === '')
      throw new UaCstaError('ERR_INVALID_ARG', 'the response to INVITE has no To tag');
    const target = contactUri(response);
    if (target === undefined)
      throw new UaCstaError('ERR_INVALID_ARG', 'the response to INVITE has no readable Contact');
    const routes = readNameAddrs(response.headers['record-route']).map(formatRoute).reverse();
    return new Dialog({
      state: response.status >= 200 ? 'Confirmed' : 'Early',
      id: { callId: invite.callId, localTag: invite.from.params['tag'] ?? '', remoteTag },
      localUri: invite.from,
      remoteUri: invite.to,
      remoteTarget: target,
      routeSet: routes,
      localSeq: invite.cseq.seq,
      remoteSeq: undefined,
      localContact,
    });
  }

  /**
   * The UAS's dialog for `invite`, answered with To tag `localTag` (§12.1.1): route set = the
   * request's Record-Route in order, remote target = its Contact, remote CSeq = its CSeq.
   *
   * @throws `ERR_INVALID_ARG` when the INVITE has no readable Contact.
   */
  static fromUas(invite: SipRequest, localTag: string, localContact: string): Dialog {
    const target = contactUri(invite);
    if (target === undefined)
      throw new UaCstaError('ERR_INVALID_ARG', 'the INVITE has no readable Contact');
    return new Dialog({
      state: 'Early',
      id: { callId: invite.callId, localTag, remoteTag: invite.from.params['tag'] ?? '' },
      localUri: invite.to,
      remoteUri: invite.from,
      remoteTarget: target,
      routeSet: readNameAddrs(invite.headers['record-route']).map(formatRoute),
      localSeq: undefined,
      remoteSeq: invite.cseq.seq,
      localContact,
    });
  }

  get state(): DialogState {
    return this.#state;
  }

  /** The peer's Contact: the Request-URI of our requests. */
  get remoteTarget(): string {
    return this.#remoteTarget;
  }

  /** Route header values of our requests, in sending order. */
  get routeSet(): readonly string[] {
    return this.#routeSet;
  }

  get localSeq(): number | undefined {
    return this.#localSeq;
  }

  get remoteSeq(): number | undefined {
    return this.#remoteSeq;
  }

  /** Moves to `to`; throws `ERR_INVALID_STATE` for a move the diagram does not have. */
  transition(to: DialogState): void {
    if (!TRANSITIONS[this.#state].includes(to)) {
      throw new UaCstaError('ERR_INVALID_STATE', `dialog cannot go from ${this.#state} to ${to}`);
    }
    this.#state = to;
  }

  /**
   * Confirms an early dialog with the 2xx of its fork (RFC 3261 §13.2.2.4: "the dialog MUST be
   * transitioned to the "confirmed" state, and the route set for the dialog MUST be recomputed
   * based on the 2xx response"); the 2xx's Contact becomes the remote target.
   *
   * @throws `ERR_INVALID_STATE` unless the dialog is early.
   */
  confirm(response: SipResponse): void {
    this.transition('Confirmed');
    this.#routeSet = readNameAddrs(response.headers['record-route']).map(formatRoute).reverse();
    const target = contactUri(response);
    if (target !== undefined) this.#remoteTarget = target;
  }

  /** The next local CSeq number (§12.2.1.1: one more than the last, 1 when there was none). */
  nextCSeq(): number {
    const next = this.#localSeq === undefined ? 1 : this.#localSeq + 1;
    if (next > 2 ** 31 - 1)
      throw new UaCstaError('ERR_INVALID_STATE', 'the local CSeq reached 2**31-1');
    this.#localSeq = next;
    return next;
  }

  /**
   * Checks the CSeq of a request from the peer and remembers it (§12.2.2): a number lower than
   * the last, or equal to it (retransmissions never get here, so an equal number is another
   * transaction), is out of order and is answered 500. ACK and CANCEL are not checked.
   */
  checkRemoteCSeq(request: SipRequest): RemoteCSeqCheck {
    if (request.method === 'ACK' || request.method === 'CANCEL') return 'ok';
    const seq = request.cseq.seq;
    if (this.#remoteSeq !== undefined && seq <= this.#remoteSeq) return 'out-of-order';
    this.#remoteSeq = seq;
    return 'ok';
  }

  /**
   * Applies a target refresh (§12.2: re-INVITE and UPDATE requests from the peer and their 2xx
   * responses): the Contact becomes the remote target. Other methods change nothing.
   */
  refreshTarget(message: SipRequest | SipResponse, method: string): void {
    if (!TARGET_REFRESH.has(method)) return;
    const target = contactUri(message);
    if (target !== undefined) this.#remoteTarget = target;
  }

  /** The URI the next hop is resolved from: the first route, or the remote target. */
  nextHopUri(): string {
    const first = this.#routeSet[0];
    return (first === undefined ? undefined : routeUri(first)) ?? this.#remoteTarget;
  }

  /**
   * Builds an in-dialog request (§12.2.1.1), without Via: From/To with both tags, the Call-ID,
   * the next CSeq (the `cseq` given for ACK and CANCEL), Route and Request-URI from the route
   * set and remote target, and a Contact for target-refresh requests.
   *
   * @throws `ERR_INVALID_STATE` when the dialog is terminated; `ERR_INVALID_ARG` for a body
   * without content type.
   */
  createRequest(
    method: string,
    options: DialogRequestOptions = {},
    cseq?: number,
  ): Omit<SipRequestInit, 'via'> {
    if (this.#state === 'Terminated' && method !== 'ACK')
      throw new UaCstaError('ERR_INVALID_STATE', `the dialog is terminated; cannot send ${method}`);
    const hasBody =
      options.body !== undefined &&
      (typeof options.body === 'string' ? options.body.length > 0 : options.body.length > 0);
    if (hasBody && options.contentType === undefined)
      throw new UaCstaError('ERR_INVALID_ARG', 'a body needs a contentType');
    const headers: Record<string, string | readonly string[]> = {};
    let uri = this.#remoteTarget;
    let routes = [...this.#routeSet];
    const first = routes[0];
    if (first !== undefined && !isLooseRoute(first)) {
      // §12.2.1.1 strict router: Request-URI = first route, the remote target goes last.
      uri = routeUri(first) ?? uri;
      routes = [...routes.slice(1), `<${this.#remoteTarget}>`];
    }
    if (routes.length > 0) headers['Route'] = routes;
    if (WITH_CONTACT.has(method)) headers['Contact'] = `<${this.localContact}>`;
    if (hasBody) headers['Content-Type'] = options.contentType!;
    for (const [name, value] of Object.entries(options.headers ?? {})) headers[name] = value;
    return {
      method,
      uri,
      from: withTag(this.localUri, this.id.localTag),
      to: withTag(this.remoteUri, this.id.remoteTag),
      callId: this.id.callId,
      cseq: cseq ?? this.nextCSeq(),
      headers,
      ...(hasBody ? { body: options.body! } : {}),
    };
  }
}
