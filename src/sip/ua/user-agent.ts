/**
 * The UA core (RFC 3261 §8, §12–§15): INVITE sessions with any body as UAC and UAS, the ACK for
 * a 2xx, 2xx retransmission until the ACK, in-dialog requests both ways, CANCEL, OPTIONS, and
 * the RFC 5057 rules for what ends a dialog.
 *
 * @remarks
 * Sits on a {@link SipEndpoint} as its transaction user. Bodies are opaque bytes with a content
 * type: no SDP, no offer/answer (uaCSTA sessions carry `application/csta+xml`). Time comes only
 * from the injected clock, randomness from the injected `random` or id generator.
 *
 * What it covers besides the basic session:
 * - out-of-dialog requests both ways: {@link UserAgent.request}, {@link UserAgent.onRequest};
 * - ringing: the INVITE handler's third argument ({@link IncomingInvite}) sends 1xx, sees the
 *   CANCEL, and reads Replaces (RFC 3891); answers may come late, 3xx with Contact too;
 * - early dialogs at the caller (`onProgress`), requests in them (RFC 3311, RFC 6086), forking
 *   (§13.2.2.4: further 2xx are ACKed and ended with BYE);
 * - REFER with its implicit subscription (RFC 3515, RFC 6665 minimal): {@link DialogHandle.refer},
 *   {@link DialogHandle.onRefer};
 * - glare (§14.1): 491 to a crossing re-INVITE/UPDATE, our 491 retried after the RFC's random
 *   wait, our own re-INVITEs and UPDATEs one at a time;
 * - an outbound proxy (§8.1.2) with a preloaded loose Route;
 * - the request checks of §8.2: 483 (Max-Forwards 0), 420 with Unsupported, 415 with
 *   Accept-Encoding, 405/501 with Allow, 481, 500 for an old CSeq.
 *
 * RFC 5057 as applied here: a 481 to any in-dialog request, any final answer (or none) to our
 * BYE, a BYE from the peer, no ACK for our 2xx within 64*T1, and a 408 or timeout of a target
 * refresh (re-INVITE, UPDATE) end the dialog and tell its owner through `onTerminated`. Any other
 * failure (a 4xx/5xx, a timeout of an INFO) fails that transaction only.
 */

import { UaCstaError } from '../../errors.js';
import { UA_LIMITS } from '../../limits.js';
import { systemClock, type Clock, type TimerHandle } from '../../util/clock.js';
import { createIdGenerator, type IdGenerator } from '../../util/ids.js';
import { withCredentials, type DigestClient } from '../auth/digest-client.js';
import { Dialog, type DialogRequestOptions, type DialogState } from '../dialog/dialog.js';
import { dialogIdOfRequest, dialogIdOfResponse, dialogKey } from '../dialog/dialog-id.js';
import type { SipEndpoint, SipEndpointUser, SipHop } from '../endpoint.js';
import {
  createRequest,
  createResponse,
  type SipBodyInit,
  type SipHeaderInit,
  type SipRequestInit,
} from '../message/serialize.js';
import { isToken } from '../message/headers.js';
import type { NameAddr, SipRequest, SipResponse } from '../message/types.js';
import { TIMER_DEFAULTS } from '../transaction/timers.js';
import type { ServerTransaction } from '../transaction/transaction-layer.js';
import type { TransactionError } from '../transaction/transaction.js';
import type { TransportTarget } from '../transport/transport.js';
import { SipResponseError } from './response-error.js';
import {
  answerSessionTimer,
  acceptSessionTimer,
  offerHeaders,
  readMinSe,
  resolveSessionTimer,
  SessionTimer,
  type PeriodicReinviteOptions,
  type ResolvedSessionTimer,
  type SessionTimerMode,
  type SessionTimerOptions,
} from './session-timer.js';
import { uriTarget } from './uri-target.js';
import type { IncomingInvite, ProgressOptions } from './incoming-invite.js';
import {
  parseReplaces,
  replacesFor,
  replacesMatches,
  uriWithReplaces,
  type Replaces,
} from '../dialog/replaces.js';
import {
  eventId,
  readRefer,
  readSipfrag,
  REFER_SUBSCRIPTION_EXPIRES_SEC,
  ReferWatch,
  sipfrag,
  SIPFRAG,
  type IncomingRefer,
  type ReferOptions,
  type ReferSubscription,
} from './refer.js';

/** Methods this UA implements. */
export const UA_ALLOW = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'INFO', 'OPTIONS', 'UPDATE'] as const;

/**
 * Option tags a request may Require without being listed in `supported`: what the UA core
 * handles anyway (RFC 3891 `replaces`: the INVITE handler gets the parsed header).
 */
const UA_UNDERSTOOD: ReadonlySet<string> = new Set(['replaces']);

/** The comma-separated tokens of a header (Require, Content-Encoding), lower-cased. */
function headerTokens(values: readonly string[] | undefined): string[] {
  const out: string[] = [];
  for (const v of values ?? [])
    for (const t of v.split(',')) {
      const token = t.trim().toLowerCase();
      if (token.length > 0) out.push(token);
    }
  return out;
}

/** Methods known to SIP that this UA does not implement: answered 405 with Allow. */
const KNOWN_UNSUPPORTED = new Set([
  'REGISTER',
  'SUBSCRIBE',
  'NOTIFY',
  'REFER',
  'MESSAGE',
  'PUBLISH',
  'PRACK',
]);

const REASONS: Readonly<Record<number, string>> = {
  100: 'Trying',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  182: 'Queued',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  305: 'Use Proxy',
  380: 'Alternative Service',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  415: 'Unsupported Media Type',
  420: 'Bad Extension',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  483: 'Too Many Hops',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  489: 'Bad Event',
  491: 'Request Pending',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  600: 'Busy Everywhere',
  603: 'Decline',
};

/** The reason phrase used when an answer gives none. */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? (status < 300 ? 'OK' : 'Error');
}

/** What a handler answers to a request: a status and, optionally, a body. */
export interface RequestAnswer {
  readonly status: number;
  readonly reason?: string;
  readonly body?: SipBodyInit;
  /** Content-Type of the body; required with a body. */
  readonly contentType?: string;
  readonly headers?: SipHeaderInit;
}

/**
 * Answers an incoming INVITE. `dialog` exists before the answer (state `Early`) so that the
 * handler can register `dialog.onRequest` for requests that follow the 2xx at once. `invite`
 * sends provisional responses, tells of a CANCEL and carries the Replaces header; the answer
 * may come much later (a ringing phone). A 3xx answer carries its Contact in `headers`.
 */
export type InviteHandler = (
  request: SipRequest,
  dialog: DialogHandle,
  invite: IncomingInvite,
) => RequestAnswer | Promise<RequestAnswer>;

/** Answers a request inside a dialog (INFO, UPDATE, re-INVITE, OPTIONS). */
export type DialogRequestHandler = (
  request: SipRequest,
  dialog: DialogHandle,
) => RequestAnswer | Promise<RequestAnswer>;

/**
 * Answers a REFER received in a dialog (RFC 3515). Returning nothing (or a 2xx) accepts it:
 * the UA answers 202 (or that 2xx) and sends the first NOTIFY (`SIP/2.0 100 Trying`); the
 * handler reports the outcome with `refer.notify(status)`. A 3xx–6xx answer refuses it, and
 * no NOTIFY is sent.
 */
export type ReferHandler = (
  refer: IncomingRefer,
  dialog: DialogHandle,
) => RequestAnswer | undefined | void | Promise<RequestAnswer | undefined | void>;

/** Why a dialog ended. */
export type TerminationReason =
  /** We sent BYE. */
  | 'bye-sent'
  /** The peer sent BYE. */
  | 'bye-received'
  /** The peer answered 481 to an in-dialog request (RFC 5057 §5.1). */
  | 'no-dialog'
  /** No ACK came for our 2xx within 64*T1 (RFC 3261 §13.3.1.4); a BYE was sent. */
  | 'ack-timeout'
  /** A re-INVITE or UPDATE timed out or got 408 (RFC 5057), or our session refresh failed. */
  | 'refresh-failed'
  /** We do not refresh the session and no refresh came in time (RFC 4028 §10); a BYE was sent. */
  | 'session-expired'
  /** The INVITE was cancelled before it was answered. */
  | 'cancelled'
  /**
   * Another fork of our INVITE won (RFC 3261 §13.2.2.4): this early dialog ended when the
   * session was set up, or this dialog of a further 2xx was ACKed and ended with BYE.
   */
  | 'forked'
  /** Our INVITE handler answered with a non-2xx. */
  | 'rejected'
  /** The user agent was closed. */
  | 'closed';

/** What `onTerminated` listeners get. */
export interface DialogTermination {
  readonly reason: TerminationReason;
  /** The status that ended it, when a response did (481, 408). */
  readonly status?: number;
}

/** Options of {@link UserAgent.invite}. */
export interface InviteOptions extends DialogRequestOptions {
  /** Handler of in-dialog requests, set before the dialog exists (an INFO may beat the ACK). */
  readonly onRequest?: DialogRequestHandler;
  /** Cancels the INVITE (CANCEL once a provisional came): the promise rejects `ERR_ABORTED`. */
  readonly signal?: AbortSignal;
  /**
   * Sees each provisional response (RFC 3261 §13.2.2.1). A 1xx with a To tag and a Contact
   * makes an early dialog (§12.1.2), passed as `dialog`: requests in it (INFO, UPDATE; RFC 3311)
   * go through `dialog.request`, and its state becomes `Confirmed` if that fork answers 2xx.
   * Several forks give several early dialogs; those that do not win end with reason `forked`
   * (or `rejected`/`cancelled` with the INVITE).
   */
  readonly onProgress?: (response: SipResponse, dialog: DialogHandle | undefined) => void;
}

/**
 * Answers a request outside any dialog (see {@link UserAgentOptions.methods} and
 * {@link UserAgent.onRequest}).
 */
export type OutOfDialogHandler = (request: SipRequest) => RequestAnswer | Promise<RequestAnswer>;

/** Options of {@link UserAgent.request}. */
export interface OutOfDialogRequestOptions {
  /** Further headers; not Via, From, To, Call-ID, CSeq, Max-Forwards or Content-Length. */
  readonly headers?: SipHeaderInit;
  readonly body?: SipBodyInit;
  /** Content-Type of the body; required with a body. */
  readonly contentType?: string;
  /** Stops waiting: the promise rejects `ERR_ABORTED` (the transaction runs to its end). */
  readonly signal?: AbortSignal;
}

/** Methods whose out-of-dialog requests carry our Contact (RFC 6665 §3.1.1, §3.2; RFC 3515 §2.4). */
const CONTACT_METHODS: ReadonlySet<string> = new Set(['SUBSCRIBE', 'NOTIFY', 'REFER', 'OPTIONS']);

/** What the UA reports to `trace`. */
export type UserAgentTraceEvent =
  | { readonly type: 'user-error'; readonly error: unknown }
  | { readonly type: 'dropped'; readonly reason: string }
  | { readonly type: 'terminated'; readonly callId: string; readonly reason: TerminationReason };

/** Options of {@link UserAgent}. */
export interface UserAgentOptions {
  /** The endpoint to sit on; the UA registers as its transaction user. */
  readonly endpoint: SipEndpoint;
  /** Our address of record: the From of our INVITEs. */
  readonly aor: string;
  readonly displayName?: string;
  /** Our Contact URI (the remote target the peer sends to). */
  readonly contact: string;
  /** @defaultValue `systemClock`; use the endpoint's clock. */
  readonly clock?: Clock;
  /** T1 and T2 for 2xx retransmission; use the endpoint's. @defaultValue 500, 4000 */
  readonly timers?: { readonly T1?: number; readonly T2?: number };
  /** @defaultValue `createIdGenerator()` */
  readonly ids?: IdGenerator;
  /** When set, a 401/407 to an INVITE or an in-dialog request is retried once with credentials. */
  readonly digest?: DigestClient;
  /** From a URI to a transport target. @defaultValue host:port and `;transport=` of the URI */
  readonly resolve?: (uri: string) => TransportTarget;
  /** The Accept of OPTIONS answers. @defaultValue `['application/csta+xml']` */
  readonly accept?: readonly string[];
  /** The Supported option tags. @defaultValue `[]` (`timer` is added with `sessionTimer`) */
  readonly supported?: readonly string[];
  /**
   * RFC 4028 session timers for every dialog: offered on our INVITEs, granted on incoming ones,
   * refreshed or watched. @defaultValue off
   */
  readonly sessionTimer?: SessionTimerOptions;
  /** A plain re-INVITE at this interval on dialogs where no session timer was negotiated. */
  readonly periodicReinvite?: PeriodicReinviteOptions;
  /**
   * Handlers of out-of-dialog requests by method (e.g. `REGISTER` for a registrar); such
   * methods are answered by the handler instead of 405/501.
   */
  readonly methods?: Readonly<Record<string, OutOfDialogHandler>>;
  /**
   * An outbound proxy URI (RFC 3261 §8.1.2): every out-of-dialog request and the initial INVITE
   * go to it with a preloaded loose Route (`<proxy;lr>`); in-dialog requests follow the route
   * set of the dialog (§12.2.1.1).
   */
  readonly outboundProxy?: string;
  /**
   * Uniform random numbers in [0, 1), for the glare back-off of RFC 3261 §14.1.
   * @defaultValue drawn from `ids` (the 32 first bits of a fresh tag)
   */
  readonly random?: () => number;
  /** Retries of a re-INVITE or UPDATE answered 491. @defaultValue `UA_LIMITS.maxGlareRetries` */
  readonly maxGlareRetries?: number;
  readonly trace?: (event: UserAgentTraceEvent) => void;
}

/**
 * State of a user agent.
 *
 * ```text
 *   Open ──close()──▶ Closed
 * ```
 */
export type UserAgentState = 'Open' | 'Closed';

/** A 2xx to INVITE we sent, waiting for its ACK (RFC 3261 §13.3.1.4). */
interface AckWait {
  readonly cseq: number;
  timer: TimerHandle | undefined;
}

/** An INVITE we received and have not answered finally. */
interface PendingInvite {
  readonly request: SipRequest;
  readonly handle: DialogHandle;
  readonly tx: ServerTransaction<SipHop>;
  readonly controller: AbortController;
}

/** What a client transaction ended with. */
type Outcome =
  | { readonly ok: true; readonly response: SipResponse; readonly request: SipRequest }
  | { readonly ok: false; readonly error: TransactionError };

/** What {@link UserAgent} `#transact` reports to and listens on. */
interface TransactHooks {
  readonly on1xx?: (response: SipResponse, request: SipRequest) => void;
  readonly on2xx?: (response: SipResponse, request: SipRequest) => void;
  readonly signal?: AbortSignal;
  readonly onAbort?: () => void;
  /** The CSeq number of a digest retry (in a dialog: the dialog's next). */
  readonly nextCSeq?: () => number;
  /** Called at once when a final response (or a timeout) ends a transaction attempt. */
  readonly onFinal?: (response: SipResponse | undefined) => void;
}

/** The UA internals a dialog handle uses. */
interface UaCore {
  send(handle: DialogHandle, method: string, options: DialogRequestOptions): Promise<SipResponse>;
  refer(handle: DialogHandle, referTo: string, options: ReferOptions): Promise<ReferSubscription>;
  bye(handle: DialogHandle): Promise<void>;
}

/** The session timer of a dialog as its owner sees it. */
export interface SessionTimerState {
  readonly mode: SessionTimerMode;
  /** The negotiated interval in seconds; 0 without a session timer. */
  readonly intervalSec: number;
}

/**
 * One dialog, as the application sees it.
 *
 * @example
 * const dialog = await ua.invite('sip:1001@pbx', { body: xml, contentType: CSTA });
 * dialog.onRequest((req) => ({ status: 200 }));
 * const res = await dialog.request('INFO', { body: makeCall, contentType: CSTA });
 * dialog.onTerminated(({ reason }) => reconnect(reason));
 * await dialog.bye();
 */
export class DialogHandle {
  /** @internal */
  readonly dialog: Dialog;
  /** @internal */
  ackWait: AckWait | undefined;
  /** @internal True when we made the dialog's Call-ID (we sent the INVITE; RFC 3261 §14.1). */
  ownsCallId = false;
  /** @internal Our re-INVITE or UPDATE in flight (a crossing one from the peer gets 491). */
  refreshInFlight = false;
  /** @internal Our re-INVITEs and UPDATEs, one after the other. */
  refreshQueue: Promise<unknown> = Promise.resolve();
  /** @internal The peer's re-INVITE being answered; settles once it has its final response. */
  incomingReinvite: Promise<void> | undefined;
  /** @internal Settles {@link DialogHandle.incomingReinvite}. */
  reinviteDone: (() => void) | undefined;
  /** @internal The INVITE that made this dialog (UAS), while it waits for the final answer. */
  uasInvite: PendingInvite | undefined;
  /** @internal The ACK sent for our INVITE's 2xx, resent on 2xx retransmissions. */
  lastAck: { readonly cseq: number; readonly request: SipRequest } | undefined;
  /** @internal RFC 4028 timer or periodic re-INVITE; `undefined` when neither is configured. */
  session: SessionTimer | undefined;
  /**
   * The 2xx that established the dialog, on the side that sent the INVITE (`undefined` on the
   * side that answered it). A uaCSTA session carries the answer to a CSTA request embedded in the
   * INVITE (a `RequestSystemStatusResponse`) in this response's body (ECMA TR/87 §7.1).
   */
  establishedBy: SipResponse | undefined;
  /** @internal The implicit subscriptions of our REFERs, by the REFER's CSeq number. */
  readonly referWatches = new Map<number, ReferWatch>();
  readonly #core: UaCore;
  #handler: DialogRequestHandler | undefined;
  #referHandler: ReferHandler | undefined;
  readonly #listeners = new Set<(t: DialogTermination) => void>();
  #termination: DialogTermination | undefined;
  #byeing: Promise<void> | undefined;
  readonly #onTrace: (e: UserAgentTraceEvent) => void;

  /** @internal */
  constructor(
    dialog: Dialog,
    core: UaCore,
    handler: DialogRequestHandler | undefined,
    trace: (e: UserAgentTraceEvent) => void,
  ) {
    this.dialog = dialog;
    this.#core = core;
    this.#handler = handler;
    this.#onTrace = trace;
  }

  /** `Early`, `Confirmed` or `Terminated`; see {@link DialogState}. */
  get state(): DialogState {
    return this.dialog.state;
  }

  get callId(): string {
    return this.dialog.id.callId;
  }

  /** The session timer: `off`, `refresher`, `refreshee` or `periodic`, and the interval. */
  get sessionTimer(): SessionTimerState {
    const s = this.session;
    return s === undefined ? { mode: 'off', intervalSec: 0 } : { mode: s.mode, intervalSec: s.intervalSec };
  }

  /** Why it ended, once it has. */
  get termination(): DialogTermination | undefined {
    return this.#termination;
  }

  /**
   * Sends an in-dialog request (INFO, UPDATE, re-INVITE, OPTIONS) and resolves with its 2xx.
   * Rejects `SIP_ERR_REJECTED` (a {@link SipResponseError}) for a non-2xx, `SIP_ERR_TIMEOUT`,
   * `SIP_ERR_TRANSPORT`, `SIP_ERR_DIALOG_TERMINATED` when the dialog has ended, and
   * `ERR_INVALID_ARG` for ACK, CANCEL and BYE (use {@link DialogHandle.bye}).
   */
  request(method: string, options: DialogRequestOptions = {}): Promise<SipResponse> {
    if (method === 'ACK' || method === 'CANCEL' || method === 'BYE') {
      return Promise.reject(
        new UaCstaError('ERR_INVALID_ARG', `${method} is sent by the UA, not through request()`),
      );
    }
    if (method === 'INVITE' && this.state === 'Early') {
      // RFC 3261 §14.1: no re-INVITE while the INVITE that makes the dialog is in progress
      return Promise.reject(
        new UaCstaError('ERR_INVALID_STATE', 'no re-INVITE in an early dialog; use UPDATE'),
      );
    }
    if (this.state === 'Terminated') {
      return Promise.reject(
        new UaCstaError(
          'SIP_ERR_DIALOG_TERMINATED',
          `the dialog has ended (${this.#termination?.reason ?? ''})`,
        ),
      );
    }
    return this.#core.send(this, method, options);
  }

  /** Sets the handler of requests from the peer; returns the function that removes it. */
  onRequest(handler: DialogRequestHandler): () => void {
    if (typeof handler !== 'function')
      throw new UaCstaError('ERR_INVALID_ARG', 'handler must be a function');
    this.#handler = handler;
    return () => {
      if (this.#handler === handler) this.#handler = undefined;
    };
  }

  /**
   * Sends REFER (RFC 3515) asking the peer to send a request to `referTo` (an INVITE for a
   * `sip:` URI), with `?Replaces=` for an attended transfer when `options.replaces` is given
   * (RFC 3891). Resolves once the REFER is accepted (202 or another 2xx) with the implicit
   * subscription: its NOTIFYs (`message/sipfrag`: `100 Trying`, `180 Ringing`, `200 OK` or the
   * failure) reach `options.onNotify`, the async iterator and `done`. Rejects like
   * {@link DialogHandle.request} (a {@link SipResponseError} for a non-2xx) and
   * `ERR_INVALID_ARG` for a `referTo` without a scheme.
   *
   * @example
   * const sub = await dialog.refer('sip:1002@pbx', { replaces: consultation });
   * let outcome = 0;
   * for await (const n of sub) if (n.final) outcome = n.status; // 200: transferred
   */
  refer(referTo: string, options: ReferOptions = {}): Promise<ReferSubscription> {
    if (typeof referTo !== 'string' || !/^[a-z][a-z0-9+.-]*:[^\s<>]+$/i.test(referTo))
      return Promise.reject(new UaCstaError('ERR_INVALID_ARG', 'referTo must be a URI'));
    if (this.state === 'Terminated') {
      return Promise.reject(
        new UaCstaError('SIP_ERR_DIALOG_TERMINATED', 'the dialog has ended'),
      );
    }
    return this.#core.refer(this, referTo, options);
  }

  /**
   * Sets the handler of REFERs from the peer (without one a REFER is answered 405); returns the
   * function that removes it.
   */
  onRefer(handler: ReferHandler): () => void {
    if (typeof handler !== 'function')
      throw new UaCstaError('ERR_INVALID_ARG', 'handler must be a function');
    this.#referHandler = handler;
    return () => {
      if (this.#referHandler === handler) this.#referHandler = undefined;
    };
  }

  /** @internal */
  get referHandler(): ReferHandler | undefined {
    return this.#referHandler;
  }

  /** Calls `listener` once when the dialog ends (at once if it has); returns the unsubscriber. */
  onTerminated(listener: (t: DialogTermination) => void): () => void {
    if (this.#termination !== undefined) {
      this.#safe(() => listener(this.#termination!));
      return () => {};
    }
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sends BYE and resolves when it is answered or timed out. Idempotent. */
  bye(): Promise<void> {
    if (this.#byeing !== undefined) return this.#byeing;
    this.#byeing = this.state === 'Terminated' ? Promise.resolve() : this.#core.bye(this);
    return this.#byeing;
  }

  /** Same as {@link DialogHandle.bye}. */
  close(): Promise<void> {
    return this.bye();
  }

  /** @internal */
  get handler(): DialogRequestHandler | undefined {
    return this.#handler;
  }

  /** @internal Ends the dialog once and tells the listeners. */
  terminate(termination: DialogTermination): boolean {
    if (this.dialog.state === 'Terminated') return false;
    this.dialog.transition('Terminated');
    this.#termination = termination;
    for (const w of this.referWatches.values()) w.end();
    this.referWatches.clear();
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const l of listeners) this.#safe(() => l(termination));
    return true;
  }

  #safe(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#onTrace({ type: 'user-error', error });
    }
  }
}

function nameAddr(uri: string, displayName?: string, tag?: string): NameAddr {
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  if (tag !== undefined) params['tag'] = tag;
  return { displayName, uri, params };
}

/**
 * A SIP user agent (UAC and UAS) on one endpoint.
 *
 * @example
 * const ua = new UserAgent({
 *   endpoint, clock, aor: 'sip:cti@example.com', contact: 'sip:cti@192.0.2.1:5060',
 * });
 * ua.onInvite((req, dialog) => ({ status: 200, body: reply, contentType: CSTA }));
 * const dialog = await ua.invite('sip:1001@192.0.2.10', { body: xml, contentType: CSTA });
 */
export class UserAgent {
  readonly #endpoint: SipEndpoint;
  readonly #aor: string;
  readonly #displayName: string | undefined;
  readonly #contact: string;
  readonly #clock: Clock;
  readonly #T1: number;
  readonly #T2: number;
  readonly #ids: IdGenerator;
  readonly #digest: DigestClient | undefined;
  readonly #resolve: (uri: string) => TransportTarget;
  readonly #accept: readonly string[];
  readonly #supported: readonly string[];
  readonly #trace: (event: UserAgentTraceEvent) => void;
  readonly #dialogs = new Map<string, DialogHandle>();
  readonly #pending = new Map<ServerTransaction<SipHop>, PendingInvite>();
  readonly #unregister: () => void;
  readonly #core: UaCore;
  readonly #timerSettings: ResolvedSessionTimer | undefined;
  readonly #periodic: PeriodicReinviteOptions | undefined;
  readonly #methods = new Map<string, OutOfDialogHandler>();
  /** The outbound proxy as a Route value with `lr`, or `undefined`. */
  readonly #proxyRoute: string | undefined;
  readonly #random: () => number;
  readonly #maxGlareRetries: number;
  #inviteHandler: InviteHandler | undefined;
  #state: UserAgentState = 'Open';

  /**
   * @throws `ERR_INVALID_ARG` for a bad option; `ERR_INVALID_STATE` when the endpoint already has
   * a transaction user.
   */
  constructor(options: UserAgentOptions) {
    if (typeof options?.aor !== 'string' || typeof options.contact !== 'string')
      throw new UaCstaError('ERR_INVALID_ARG', 'aor and contact must be SIP URIs');
    this.#endpoint = options.endpoint;
    this.#aor = options.aor;
    this.#displayName = options.displayName;
    this.#contact = options.contact;
    this.#clock = options.clock ?? systemClock;
    this.#T1 = options.timers?.T1 ?? TIMER_DEFAULTS.T1;
    this.#T2 = options.timers?.T2 ?? TIMER_DEFAULTS.T2;
    if (!(this.#T1 > 0) || !(this.#T2 >= this.#T1))
      throw new UaCstaError('ERR_INVALID_ARG', 'timers need 0 < T1 <= T2');
    this.#ids = options.ids ?? createIdGenerator();
    this.#digest = options.digest;
    const fallback = this.#endpoint.transports[0]?.protocol ?? 'udp';
    this.#resolve = options.resolve ?? ((uri) => uriTarget(uri, fallback));
    this.#accept = options.accept ?? ['application/csta+xml'];
    this.#timerSettings =
      options.sessionTimer === undefined ? undefined : resolveSessionTimer(options.sessionTimer);
    const periodic = options.periodicReinvite;
    if (periodic !== undefined && !(periodic.intervalSec > 0))
      throw new UaCstaError('ERR_INVALID_ARG', 'periodicReinvite.intervalSec must be > 0');
    this.#periodic = periodic;
    const supported = [...(options.supported ?? [])];
    if (this.#timerSettings !== undefined && !supported.includes('timer')) supported.push('timer');
    this.#supported = supported;
    for (const [method, handler] of Object.entries(options.methods ?? {})) {
      if (typeof handler !== 'function')
        throw new UaCstaError('ERR_INVALID_ARG', `the ${method} handler must be a function`);
      this.#methods.set(method.toUpperCase(), handler);
    }
    const ids = this.#ids;
    this.#random = options.random ?? (() => Number.parseInt(ids.tag().slice(0, 8), 16) / 2 ** 32);
    this.#maxGlareRetries = options.maxGlareRetries ?? UA_LIMITS.maxGlareRetries;
    if (!(this.#maxGlareRetries >= 0))
      throw new UaCstaError('ERR_INVALID_ARG', 'maxGlareRetries must be >= 0');
    const proxy = options.outboundProxy;
    if (proxy !== undefined) {
      if (typeof proxy !== 'string' || !/^sips?:/i.test(proxy))
        throw new UaCstaError('ERR_INVALID_ARG', 'outboundProxy must be a sip: or sips: URI');
      this.#resolve(proxy); // throws ERR_INVALID_ARG for a URI without a host
      this.#proxyRoute = /;lr(?:[;=?]|$)/i.test(proxy) ? `<${proxy}>` : `<${proxy};lr>`;
    }
    const trace = options.trace;
    this.#trace = (event) => {
      try {
        trace?.(event);
      } catch {
        // a failing trace hook must not break protocol flow
      }
    };
    this.#core = {
      send: (handle, method, opts) => this.#sendInDialog(handle, method, opts),
      refer: (handle, referTo, opts) => this.#sendRefer(handle, referTo, opts),
      bye: (handle) => this.#sendBye(handle),
    };
    const user: SipEndpointUser = {
      onRequest: (request, tx) => this.#onRequest(request, tx),
      onAck: (ack) => this.#onAck(ack),
      onStrayResponse: (response) => this.#onStray(response),
    };
    this.#unregister = this.#endpoint.onRequest(user);
  }

  get state(): UserAgentState {
    return this.#state;
  }

  /** The live dialogs. */
  get dialogs(): readonly DialogHandle[] {
    return [...this.#dialogs.values()];
  }

  /** Sets the handler of incoming INVITEs; without one they are answered 480. */
  onInvite(handler: InviteHandler): () => void {
    if (typeof handler !== 'function')
      throw new UaCstaError('ERR_INVALID_ARG', 'handler must be a function');
    this.#inviteHandler = handler;
    return () => {
      if (this.#inviteHandler === handler) this.#inviteHandler = undefined;
    };
  }

  /**
   * Sets the handler of out-of-dialog requests of `method` (e.g. NOTIFY, REFER, MESSAGE,
   * REGISTER), replacing any earlier one; returns the function that removes it. While a handler
   * is set the method is listed in Allow; without one it is answered 405 with Allow (RFC 3261
   * §8.2.1). Requests of that method inside a dialog are not affected.
   *
   * @throws `ERR_INVALID_ARG` for a method that is not a token, for INVITE (use
   * {@link UserAgent.onInvite}), ACK, CANCEL, or a handler that is not a function.
   */
  onRequest(method: string, handler: OutOfDialogHandler): () => void {
    if (typeof method !== 'string' || !isToken(method))
      throw new UaCstaError('ERR_INVALID_ARG', 'method must be a SIP method token');
    const key = method.toUpperCase();
    if (key === 'INVITE' || key === 'ACK' || key === 'CANCEL')
      throw new UaCstaError('ERR_INVALID_ARG', `${key} cannot have an out-of-dialog handler`);
    if (typeof handler !== 'function')
      throw new UaCstaError('ERR_INVALID_ARG', 'handler must be a function');
    this.#methods.set(key, handler);
    return () => {
      if (this.#methods.get(key) === handler) this.#methods.delete(key);
    };
  }

  /**
   * Sends a non-INVITE request outside any dialog (RFC 3261 §8.1: new Call-ID, From tag, CSeq
   * 1) to `target`, through the outbound proxy when one is set, and resolves with its final
   * response whatever its status. A 401/407 is retried once with credentials when a
   * DigestClient is set. Our Contact is added for SUBSCRIBE, NOTIFY, REFER and OPTIONS.
   *
   * Rejects `SIP_ERR_TIMEOUT` (Timer F), `SIP_ERR_TRANSPORT`, `ERR_ABORTED` (signal), and, as
   * misuse, `ERR_INVALID_ARG` (INVITE, ACK, CANCEL, a bad method, a body without contentType)
   * and `ERR_INVALID_STATE` (closed).
   *
   * @example
   * const res = await ua.request('NOTIFY', 'sip:cti@192.0.2.1', {
   *   headers: { Event: 'csta' }, body: xml, contentType: 'application/csta+xml',
   * });
   */
  request(
    method: string,
    target: string,
    options: OutOfDialogRequestOptions = {},
  ): Promise<SipResponse> {
    return new Promise<SipResponse>((resolve, reject) => {
      if (this.#state !== 'Open')
        throw new UaCstaError('ERR_INVALID_STATE', 'the user agent is closed');
      if (typeof method !== 'string' || !isToken(method))
        throw new UaCstaError('ERR_INVALID_ARG', 'method must be a SIP method token');
      if (method === 'INVITE' || method === 'ACK' || method === 'CANCEL')
        throw new UaCstaError('ERR_INVALID_ARG', `${method} is not sent through request()`);
      const signal = options.signal;
      if (signal?.aborted)
        throw new UaCstaError('ERR_ABORTED', 'aborted before sending', { cause: signal.reason });
      const headers: Record<string, string | readonly string[]> = {};
      if (CONTACT_METHODS.has(method)) headers['Contact'] = `<${this.#contact}>`;
      const body = options.body;
      const hasBody = body !== undefined && body.length > 0;
      if (hasBody) {
        if (options.contentType === undefined)
          throw new UaCstaError('ERR_INVALID_ARG', 'a body needs a contentType');
        headers['Content-Type'] = options.contentType;
      }
      for (const [k, v] of Object.entries(options.headers ?? {})) headers[k] = v;
      const { hop, route } = this.#firstHop(target);
      if (route !== undefined) headers['Route'] = route;
      const request = this.#build(
        {
          method,
          uri: target,
          from: nameAddr(this.#aor, this.#displayName, this.#ids.tag()),
          to: nameAddr(target),
          callId: this.#ids.callId(),
          cseq: 1,
          headers,
          ...(hasBody ? { body } : {}),
        },
        hop,
      );
      let settled = false;
      const onAbort = (): void => {
        if (settled) return;
        settled = true;
        reject(new UaCstaError('ERR_ABORTED', 'aborted while waiting for the final response', {
          cause: signal?.reason,
        }));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#transact(request, hop).then(
        (outcome) => {
          signal?.removeEventListener('abort', onAbort);
          if (settled) return;
          settled = true;
          if (outcome.ok) resolve(outcome.response);
          else reject(outcome.error);
        },
        (error: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          if (!settled) reject(error);
          settled = true;
        },
      );
    });
  }

  /**
   * Sends an INVITE to `target` and resolves with the dialog once a 2xx came (the ACK is sent
   * by then). Rejects `SIP_ERR_REJECTED` for a non-2xx (after one digest retry when a
   * DigestClient is set), `SIP_ERR_TIMEOUT` (Timer B), `SIP_ERR_TRANSPORT`, `ERR_ABORTED`.
   */
  invite(target: string, options: InviteOptions = {}): Promise<DialogHandle> {
    return new Promise<DialogHandle>((resolve, reject) => {
      if (this.#state !== 'Open')
        throw new UaCstaError('ERR_INVALID_STATE', 'the user agent is closed');
      if (options.signal?.aborted) {
        throw new UaCstaError('ERR_ABORTED', 'aborted before sending', {
          cause: options.signal.reason,
        });
      }
      const headers: Record<string, string | readonly string[]> = {
        Contact: `<${this.#contact}>`,
        Allow: this.#allow(),
      };
      if (this.#supported.length > 0) headers['Supported'] = this.#supported.join(', ');
      if (options.body !== undefined && options.body.length > 0) {
        if (options.contentType === undefined)
          throw new UaCstaError('ERR_INVALID_ARG', 'a body needs a contentType');
        headers['Content-Type'] = options.contentType;
      }
      const timer = this.#timerSettings;
      if (timer !== undefined) Object.assign(headers, offerHeaders(timer));
      for (const [k, v] of Object.entries(options.headers ?? {})) headers[k] = v;
      const from = nameAddr(this.#aor, this.#displayName, this.#ids.tag());
      const callId = this.#ids.callId();
      const init = (cseq: number, extra: Record<string, string> = {}): Omit<SipRequestInit, 'via'> => ({
        method: 'INVITE',
        uri: target,
        from,
        to: nameAddr(target),
        callId,
        cseq,
        headers: { ...headers, ...extra },
        ...(options.body === undefined ? {} : { body: options.body }),
      });
      const { hop, route } = this.#firstHop(target);
      if (route !== undefined) headers['Route'] = route;
      /** The dialog of the first 2xx: the session. */
      let handle: DialogHandle | undefined;
      /** Early dialogs by remote tag (§12.1.2: one per To tag of a 1xx). */
      const early = new Map<string, DialogHandle>();
      /** Dialogs of further 2xx from other forks, ACKed and ended with BYE (§13.2.2.4). */
      const forks = new Map<string, DialogHandle>();
      let aborted = false;
      const newHandle = (request: SipRequest, response: SipResponse): DialogHandle | undefined => {
        try {
          const dialog = Dialog.fromUac(request, response, this.#contact);
          const h = new DialogHandle(dialog, this.#core, options.onRequest, this.#trace);
          h.ownsCallId = true;
          this.#dialogs.set(dialogKey(dialog.id), h);
          return h;
        } catch {
          const reason = `${response.status} to INVITE without a usable To tag or Contact`;
          this.#trace({ type: 'dropped', reason });
          return undefined;
        }
      };
      const on1xx = (response: SipResponse, request: SipRequest): void => {
        const tag = response.to.params['tag'];
        let d: DialogHandle | undefined;
        if (response.status > 100 && tag !== undefined && tag !== '' && handle === undefined) {
          d = early.get(tag);
          if (d === undefined) {
            d = newHandle(request, response);
            if (d !== undefined) early.set(tag, d);
          }
        }
        options.onProgress?.(response, d);
      };
      const on2xx = (response: SipResponse, request: SipRequest): void => {
        const tag = response.to.params['tag'] ?? '';
        if (handle !== undefined && tag === handle.dialog.id.remoteTag) {
          this.#sendAck(handle, request.cseq.seq); // a retransmission of the 2xx
          return;
        }
        const fork = forks.get(tag);
        if (fork !== undefined) {
          this.#sendAck(fork, request.cseq.seq);
          return;
        }
        let d = early.get(tag);
        early.delete(tag);
        if (d !== undefined && d.state === 'Early') d.dialog.confirm(response);
        else d = newHandle(request, response);
        if (d === undefined) return;
        if (handle === undefined) {
          handle = d;
          d.establishedBy = response;
          d.session = this.#newSession(d);
          this.#sendAck(d, request.cseq.seq);
          return;
        }
        // §13.2.2.4: a 2xx from another fork makes another dialog; we keep one session
        forks.set(tag, d);
        this.#sendAck(d, request.cseq.seq);
        void this.#sendBye(d, { reason: 'forked' });
      };
      const endEarly = (termination: DialogTermination): void => {
        for (const d of early.values()) this.#end(d, termination);
        early.clear();
      };
      const onAbort = (): void => {
        aborted = true;
      };
      const send = (i: Omit<SipRequestInit, 'via'>): Promise<Outcome> =>
        this.#transact(this.#build(i, hop), hop, {
          on1xx,
          on2xx,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          onAbort,
        });
      const run = send(init(1)).then((outcome) => {
        // RFC 4028 §7.4: a 422 names the smallest interval the UAS accepts; retry once with it
        if (!outcome.ok || outcome.response.status !== 422 || timer === undefined || aborted)
          return outcome;
        const minSe = readMinSe(outcome.response);
        if (minSe === undefined) return outcome;
        const next = Math.max(minSe, timer.minSeSec);
        const retry = offerHeaders(timer, Math.max(next, timer.expiresSec), next);
        return send(init(outcome.request.cseq.seq + 1, retry));
      });
      run.then(
        (outcome) => {
          if (!outcome.ok) {
            endEarly({ reason: 'rejected', status: outcome.error.status ?? 408 });
            return reject(outcome.error);
          }
          const { response } = outcome;
          if (response.status >= 300) {
            if (aborted && response.status === 487) {
              endEarly({ reason: 'cancelled', status: 487 });
              const cause = options.signal?.reason;
              return reject(new UaCstaError('ERR_ABORTED', 'the INVITE was cancelled', { cause }));
            }
            endEarly({ reason: 'rejected', status: response.status });
            return reject(new SipResponseError('INVITE', response));
          }
          // the proxy cancels the other branches (§16.7.10); their early dialogs end here
          endEarly({ reason: 'forked' });
          if (handle === undefined) {
            const why = 'a 2xx to INVITE without a usable To tag or Contact';
            return reject(new UaCstaError('SIP_ERR_REJECTED', why));
          }
          if (aborted) {
            void handle.bye();
            const why = 'aborted; the 2xx that crossed the CANCEL was ended with BYE';
            return reject(new UaCstaError('ERR_ABORTED', why));
          }
          this.#startSession(handle, timer === undefined ? undefined : acceptSessionTimer(response));
          resolve(handle);
        },
        reject,
      );
    });
  }

  /** Ends every dialog with BYE and leaves the endpoint (which stays open). Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'Closed') return;
    this.#state = 'Closed';
    for (const pending of [...this.#pending.values()]) {
      this.#abortPending(pending, 480, 'the user agent was closed');
      this.#end(pending.handle, { reason: 'closed' });
    }
    await Promise.allSettled([...this.#dialogs.values()].map((h) => h.bye()));
    for (const h of this.#dialogs.values()) this.#end(h, { reason: 'closed' });
    this.#unregister();
  }

  // ---- client side -------------------------------------------------------------------------

  /**
   * Where a request outside a dialog goes first: the outbound proxy with its loose Route, or
   * the target itself (RFC 3261 §8.1.2).
   */
  #firstHop(target: string): { hop: TransportTarget; route: string | undefined } {
    const route = this.#proxyRoute;
    if (route === undefined) return { hop: this.#resolve(target), route: undefined };
    return { hop: this.#resolve(route.slice(1, route.indexOf('>'))), route };
  }

  /** The Allow header value: the methods we implement and those with a handler. */
  #allow(): string {
    const all: string[] = [...UA_ALLOW];
    for (const m of this.#methods.keys()) if (!all.includes(m)) all.push(m);
    return all.join(', ');
  }

  /** A request with a fresh top Via for `hop`. */
  #build(init: Omit<SipRequestInit, 'via'>, hop: TransportTarget): SipRequest {
    return createRequest({ ...init, via: [this.#endpoint.createVia(hop.protocol)] });
  }

  /**
   * Runs a client transaction and, once, a digest retry; resolves with the final response or
   * the transaction error. `on2xx` sees every 2xx to an INVITE (retransmissions and other
   * forks too), `on1xx` every provisional response.
   */
  async #transact(
    request: SipRequest,
    hop: TransportTarget,
    hooks: TransactHooks = {},
  ): Promise<Outcome> {
    const first = await this.#once(request, hop, hooks);
    if (!first.ok) return first;
    const status = first.response.status;
    const digest = this.#digest;
    if ((status !== 401 && status !== 407) || digest === undefined) return first;
    const answer = digest.answer(request, first.response);
    if (!answer.ok) {
      this.#trace({ type: 'dropped', reason: `digest retry not possible: ${answer.error.code}` });
      return first;
    }
    const retry = withCredentials(request, answer.value, {
      cseq: hooks.nextCSeq?.() ?? request.cseq.seq + 1,
      branch: this.#ids.branch(),
    });
    return this.#once(retry, hop, hooks);
  }

  #once(request: SipRequest, hop: TransportTarget, hooks: TransactHooks = {}): Promise<Outcome> {
    const { on1xx, on2xx, signal, onAbort, onFinal } = hooks;
    const isInvite = request.method === 'INVITE';
    return new Promise<Outcome>((resolve) => {
      let done = false;
      let provisional = false;
      let cancelWanted = false;
      const cancel = (): void => {
        if (done) return;
        cancelWanted = true;
        onAbort?.();
        if (provisional && isInvite) this.#sendCancel(request, hop);
      };
      const finish = (o: Outcome): void => {
        signal?.removeEventListener('abort', cancel);
        if (!done) {
          done = true;
          resolve(o);
        }
      };
      signal?.addEventListener('abort', cancel, { once: true });
      const layer = this.#endpoint.transactions;
      const transport = this.#endpoint.transports.find((t) => t.protocol === hop.protocol);
      if (transport === undefined) {
        throw new UaCstaError('ERR_INVALID_ARG', `the endpoint has no ${hop.protocol} transport`);
      }
      const sipHop: SipHop = { transport, target: hop, flow: undefined, onError: undefined };
      const user = (fn: () => void): void => {
        try {
          fn();
        } catch (error) {
          this.#trace({ type: 'user-error', error });
        }
      };
      const tx = layer.sendRequest(request, sipHop, transport.reliable, {
        onResponse: (response) => {
          const status = response.status;
          if (status < 200) {
            if (!provisional) {
              provisional = true;
              if (cancelWanted && isInvite) this.#sendCancel(request, hop);
            }
            if (on1xx !== undefined && !done) user(() => on1xx(response, request));
            return;
          }
          if (status < 300 && isInvite && on2xx !== undefined) user(() => on2xx(response, request));
          if (!done && onFinal !== undefined) user(() => onFinal(response));
          finish({ ok: true, response, request });
        },
        onTimeout: (error) => {
          if (!done && onFinal !== undefined) user(() => onFinal(undefined));
          finish({ ok: false, error });
        },
        onTransportError: (error) => {
          if (!done && onFinal !== undefined) user(() => onFinal(undefined));
          finish({ ok: false, error });
        },
      });
      sipHop.onError = (error) => tx.transportError(error);
    });
  }

  /** CANCEL for an INVITE we sent (RFC 3261 §9.1): same top Via, CSeq number, Request-URI. */
  #sendCancel(invite: SipRequest, hop: TransportTarget): void {
    const top = invite.via[0];
    if (top === undefined) return;
    const route = invite.headers['route'];
    const cancel = createRequest({
      method: 'CANCEL',
      uri: invite.uri,
      via: [top],
      from: invite.from,
      to: invite.to,
      callId: invite.callId,
      cseq: invite.cseq.seq,
      ...(route === undefined ? {} : { headers: { Route: route } }),
    });
    void this.#once(cancel, hop);
  }

  /** Builds and sends the ACK for a 2xx to the INVITE with CSeq `cseq` (RFC 3261 §13.2.2.4). */
  #sendAck(handle: DialogHandle, cseq: number): void {
    let ack = handle.lastAck?.cseq === cseq ? handle.lastAck.request : undefined;
    const hop = this.#resolve(handle.dialog.nextHopUri());
    if (ack === undefined) {
      ack = this.#build(handle.dialog.createRequest('ACK', {}, cseq), hop);
      handle.lastAck = { cseq, request: ack };
    }
    try {
      this.#endpoint.sendStateless(ack, hop);
    } catch (error) {
      this.#trace({ type: 'user-error', error });
    }
  }

  /**
   * Sends an in-dialog request. Re-INVITEs and UPDATEs of one dialog go one after the other,
   * never while the peer's re-INVITE is being answered (RFC 3261 §14.1), and one answered 491
   * is sent again after the RFC's random wait: 2.1–4 s when we made the Call-ID, 0–2 s when the
   * peer did, in steps of 10 ms (RFC 3311 §5.1 for UPDATE).
   */
  #sendInDialog(
    handle: DialogHandle,
    method: string,
    options: DialogRequestOptions,
  ): Promise<SipResponse> {
    if (method !== 'INVITE' && method !== 'UPDATE')
      return this.#sendInDialogOnce(handle, method, options);
    const ended = (): boolean => handle.state === 'Terminated';
    const run = async (): Promise<SipResponse> => {
      for (let attempt = 0; ; attempt++) {
        while (handle.incomingReinvite !== undefined) await handle.incomingReinvite;
        if (ended())
          throw new UaCstaError('SIP_ERR_DIALOG_TERMINATED', 'the dialog has ended');
        handle.refreshInFlight = true;
        try {
          return await this.#sendInDialogOnce(handle, method, options);
        } catch (error) {
          const glare = error instanceof SipResponseError && error.status === 491;
          if (!glare || attempt >= this.#maxGlareRetries || ended()) throw error;
        } finally {
          handle.refreshInFlight = false;
        }
        const ms = handle.ownsCallId
          ? 2100 + 10 * Math.floor(this.#random() * 191)
          : 10 * Math.floor(this.#random() * 201);
        await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, ms));
      }
    };
    const result = handle.refreshQueue.then(run, run);
    handle.refreshQueue = result.catch(() => undefined);
    return result;
  }

  async #sendInDialogOnce(
    handle: DialogHandle,
    method: string,
    options: DialogRequestOptions,
  ): Promise<SipResponse> {
    const dialog = handle.dialog;
    const hop = this.#resolve(dialog.nextHopUri());
    const refreshing = method === 'INVITE' || method === 'UPDATE';
    const session = handle.session;
    if (refreshing && session?.settings !== undefined) {
      options = { ...options, headers: { ...session.requestHeaders(), ...(options.headers ?? {}) } };
    }
    const request = this.#build(dialog.createRequest(method, options), hop);
    const on2xx =
      method === 'INVITE'
        ? (response: SipResponse, sent: SipRequest): void => {
            dialog.refreshTarget(response, 'INVITE');
            this.#sendAck(handle, sent.cseq.seq);
          }
        : undefined;
    const outcome = await this.#transact(request, hop, {
      ...(on2xx === undefined ? {} : { on2xx }),
      nextCSeq: () => dialog.nextCSeq(),
      ...(refreshing
        ? {
            // the peer may send its own re-INVITE as soon as ours has its final response
            onFinal: (r: SipResponse | undefined) => {
              if (r === undefined || (r.status !== 401 && r.status !== 407))
                handle.refreshInFlight = false;
            },
          }
        : {}),
    });
    const refresh = method === 'INVITE' || method === 'UPDATE';
    if (!outcome.ok) {
      if (refresh && outcome.error.status === 408)
        this.#end(handle, { reason: 'refresh-failed', status: 408 });
      throw outcome.error;
    }
    const { response } = outcome;
    if (response.status === 481) this.#end(handle, { reason: 'no-dialog', status: 481 });
    else if (refresh && response.status === 408)
      this.#end(handle, { reason: 'refresh-failed', status: 408 });
    if (response.status >= 300) throw new SipResponseError(method, response);
    if (method === 'UPDATE') dialog.refreshTarget(response, 'UPDATE');
    if (refreshing && handle.state !== 'Terminated') session?.onRefreshAnswered(response);
    return response;
  }

  async #sendRefer(
    handle: DialogHandle,
    referTo: string,
    options: ReferOptions,
  ): Promise<ReferSubscription> {
    const r = options.replaces;
    const replaces: Replaces | undefined =
      r === undefined ? undefined : 'dialog' in r ? replacesFor(r.dialog.id) : r;
    const uri = replaces === undefined ? referTo : uriWithReplaces(referTo, replaces);
    // NOTIFYs may beat the 2xx (RFC 6665 §4.1.2.4): watch before sending
    let id = (handle.dialog.localSeq ?? 0) + 1;
    const watch = new ReferWatch(id, options.onNotify, (error) =>
      this.#trace({ type: 'user-error', error }),
    );
    handle.referWatches.set(id, watch);
    try {
      const response = await this.#sendInDialog(handle, 'REFER', {
        headers: { 'Refer-To': `<${uri}>`, ...(options.headers ?? {}) },
      });
      if (response.cseq.seq !== id && handle.referWatches.get(id) === watch) {
        handle.referWatches.delete(id); // a digest retry took the next CSeq
        id = response.cseq.seq;
        if (!watch.ended) handle.referWatches.set(id, watch);
      }
      return { response, done: watch.done, [Symbol.asyncIterator]: () => watch.iterator() };
    } catch (error) {
      if (handle.referWatches.get(id) === watch) handle.referWatches.delete(id);
      watch.end();
      throw error;
    }
  }

  /** A NOTIFY in a dialog: the implicit subscription of one of our REFERs (RFC 3515 §2.4.5). */
  #onNotify(handle: DialogHandle, request: SipRequest, tx: ServerTransaction<SipHop>): void {
    const { event, id } = eventId(request.headers['event']?.[0]);
    if (event !== 'refer')
      return this.#answer(request, tx, { status: 489, headers: { 'Allow-Events': 'refer' } });
    const watches = handle.referWatches;
    let key = id === undefined ? undefined : Number(id);
    if (key === undefined || !watches.has(key)) {
      // no id: the first REFER's subscription; an unknown id while one REFER is out: its retry
      key = id === undefined || watches.size === 1 ? watches.keys().next().value : undefined;
    }
    const watch = key === undefined ? undefined : watches.get(key);
    if (watch === undefined) return this.#answer(request, tx, { status: 481 });
    const state = request.headers['subscription-state']?.[0];
    if (state === undefined)
      return this.#answer(request, tx, { status: 400, reason: 'Missing Subscription-State' });
    const frag = readSipfrag(request.body);
    if (frag === undefined) return this.#answer(request, tx, { status: 400, reason: 'Bad Sipfrag' });
    this.#answer(request, tx, { status: 200 });
    const value = state.split(';')[0]!.trim().toLowerCase();
    const final = value === 'terminated';
    if (final) watches.delete(key!);
    watch.push({ status: frag.status, reason: frag.reason, state: value, final, request });
  }

  /** A REFER in a dialog (RFC 3515 §2.4): 202, the first NOTIFY, then the handler's ones. */
  async #onRefer(
    handle: DialogHandle,
    request: SipRequest,
    tx: ServerTransaction<SipHop>,
  ): Promise<void> {
    const handler = handle.referHandler;
    if (handler === undefined) return this.#answer(request, tx, this.#unsupported('REFER'));
    const read = readRefer(request);
    if (!read.ok) return this.#answer(request, tx, { status: 400, reason: read.reason });
    const cseq = request.cseq.seq;
    let accepted!: (ok: boolean) => void;
    let chain: Promise<unknown> = new Promise<boolean>((resolve) => {
      accepted = resolve;
    }).then((ok) => {
      if (!ok) throw new UaCstaError('ERR_INVALID_STATE', 'the REFER was not accepted');
    });
    chain.catch(() => undefined); // rejected only for the notify() calls that wait on it
    let finalQueued = false;
    const send = (status: number, reason: string): Promise<SipResponse> => {
      const final = status >= 200;
      const headers = {
        Event: `refer;id=${cseq}`,
        'Subscription-State': final
          ? 'terminated;reason=noresource'
          : `active;expires=${REFER_SUBSCRIPTION_EXPIRES_SEC}`,
      };
      return handle.request('NOTIFY', { headers, body: sipfrag(status, reason), contentType: SIPFRAG });
    };
    const queue = (status: number, reason: string): Promise<SipResponse> => {
      const p = chain.then(() => send(status, reason));
      chain = p.catch(() => undefined);
      return p;
    };
    const incoming: IncomingRefer = {
      request,
      referTo: read.referTo,
      target: read.target,
      uriHeaders: read.uriHeaders,
      replaces: read.replaces,
      referredBy: request.headers['referred-by']?.[0],
      notify: (status, reason) => {
        if (!Number.isInteger(status) || status < 100 || status > 699)
          return Promise.reject(new UaCstaError('ERR_INVALID_ARG', 'status must be 100-699'));
        if (finalQueued)
          return Promise.reject(new UaCstaError('ERR_INVALID_STATE', 'the final NOTIFY was sent'));
        if (status >= 200) finalQueued = true;
        return queue(status, reason ?? reasonPhrase(status));
      },
    };
    let answer: RequestAnswer;
    try {
      answer = (await handler(incoming, handle)) ?? { status: 202 };
    } catch (error) {
      this.#trace({ type: 'user-error', error });
      answer = { status: 500 };
    }
    const ok = answer.status >= 200 && answer.status < 300;
    this.#answer(request, tx, answer);
    if (!ok) {
      finalQueued = true;
      accepted(false);
      return;
    }
    // RFC 3515 §2.4.4: the REFER-Recipient reports at once that the request is being tried
    const first = send(100, 'Trying');
    first.catch((error: unknown) =>
      this.#trace({ type: 'dropped', reason: `first NOTIFY failed: ${String(error)}` }),
    );
    void first.then(
      () => accepted(true),
      () => accepted(true),
    );
  }

  async #sendBye(
    handle: DialogHandle,
    reason: TerminationReason | DialogTermination = 'bye-sent',
  ): Promise<void> {
    const dialog = handle.dialog;
    if (dialog.state === 'Terminated') return;
    const hop = this.#resolve(dialog.nextHopUri());
    const request = this.#build(dialog.createRequest('BYE'), hop);
    this.#end(handle, typeof reason === 'string' ? { reason } : reason);
    await this.#transact(request, hop, { nextCSeq: () => dialog.nextCSeq() });
  }

  // ---- server side -------------------------------------------------------------------------

  #onRequest(request: SipRequest, tx: ServerTransaction<SipHop>): void {
    const method = request.method;
    if (method === 'CANCEL') return this.#onCancel(request, tx);
    const refused = this.#inspect(request);
    if (refused !== undefined) return this.#answer(request, tx, refused);
    const id = dialogIdOfRequest(request);
    if (id !== undefined) {
      const handle = this.#dialogs.get(dialogKey(id));
      if (handle === undefined || handle.state === 'Terminated') {
        return this.#answer(request, tx, { status: 481 });
      }
      void this.#inDialog(handle, request, tx);
      return;
    }
    if (method === 'INVITE') {
      void this.#onInvite(request, tx);
      return;
    }
    const custom = this.#methods.get(method);
    if (custom !== undefined) {
      void this.#outOfDialog(custom, request, tx);
      return;
    }
    if (method === 'OPTIONS') return this.#answer(request, tx, this.#optionsAnswer());
    if (method === 'BYE' || method === 'INFO' || method === 'UPDATE')
      return this.#answer(request, tx, { status: 481 });
    return this.#answer(request, tx, this.#unsupported(method));
  }

  async #outOfDialog(
    handler: OutOfDialogHandler,
    request: SipRequest,
    tx: ServerTransaction<SipHop>,
  ): Promise<void> {
    let answer: RequestAnswer;
    try {
      answer = await handler(request);
    } catch (error) {
      this.#trace({ type: 'user-error', error });
      answer = { status: 500 };
    }
    this.#answer(request, tx, answer);
  }

  /**
   * The checks of RFC 3261 §8.2 that come before any method handling; `undefined` when the
   * request passes them:
   *
   * - Max-Forwards 0 on anything but OPTIONS: 483 (§16.3 step 2, applied here as the lead
   *   asked: a UA reached with no hops left answers as a proxy would; §11 lets OPTIONS through);
   * - an option tag in Require that we do not support: 420 with Unsupported (§8.2.2.3);
   * - a Content-Encoding other than `identity`: 415 with Accept-Encoding (§8.2.3).
   */
  #inspect(request: SipRequest): RequestAnswer | undefined {
    if (request.maxForwards === 0 && request.method !== 'OPTIONS') return { status: 483 };
    const require = headerTokens(request.headers['require']);
    const unknown = require.filter((t) => !this.#supported.includes(t) && !UA_UNDERSTOOD.has(t));
    if (unknown.length > 0) return { status: 420, headers: { Unsupported: unknown.join(', ') } };
    const encodings = headerTokens(request.headers['content-encoding']);
    if (request.body.length > 0 && encodings.some((e) => e !== 'identity'))
      return { status: 415, headers: { 'Accept-Encoding': 'identity' } };
    return undefined;
  }

  /** 405 with Allow for a method SIP knows and we do not implement, 501 for any other. */
  #unsupported(method: string): RequestAnswer {
    return KNOWN_UNSUPPORTED.has(method)
      ? { status: 405, headers: { Allow: this.#allow() } }
      : { status: 501, headers: { Allow: this.#allow() } };
  }

  #optionsAnswer(): RequestAnswer {
    const headers: Record<string, string> = {
      Allow: this.#allow(),
      Accept: this.#accept.join(', '),
      Supported: this.#supported.join(', '),
    };
    return { status: 200, headers };
  }

  async #onInvite(request: SipRequest, tx: ServerTransaction<SipHop>): Promise<void> {
    const localTag = this.#ids.tag();
    let dialog: Dialog;
    try {
      dialog = Dialog.fromUas(request, localTag, this.#contact);
    } catch {
      return this.#answer(request, tx, { status: 400, reason: 'Missing Contact' }, localTag);
    }
    const handle = new DialogHandle(dialog, this.#core, undefined, this.#trace);
    const timer = this.#timerSettings;
    const decision = timer === undefined ? undefined : answerSessionTimer(request, timer);
    if (decision?.kind === 'too-small') {
      handle.terminate({ reason: 'rejected', status: 422 });
      const headers = { 'Min-SE': `${decision.minSeSec}` };
      return this.#answer(request, tx, { status: 422, headers }, localTag);
    }
    handle.session = this.#newSession(handle);
    const handler = this.#inviteHandler;
    if (handler === undefined) {
      handle.terminate({ reason: 'rejected', status: 480 });
      return this.#answer(request, tx, { status: 480 }, localTag);
    }
    const pending: PendingInvite = { request, handle, tx, controller: new AbortController() };
    this.#pending.set(tx, pending);
    handle.uasInvite = pending;
    let answer: RequestAnswer;
    try {
      answer = await handler(request, handle, this.#incoming(pending));
    } catch (error) {
      this.#trace({ type: 'user-error', error });
      answer = { status: 500 };
    }
    this.#pending.delete(tx);
    handle.uasInvite = undefined;
    if (pending.controller.signal.aborted || handle.state === 'Terminated') return; // cancelled
    if (tx.state !== 'Proceeding' && tx.state !== 'Trying') return;
    if (answer.status >= 200 && answer.status < 300) {
      dialog.transition('Confirmed');
      this.#dialogs.set(dialogKey(dialog.id), handle);
      if (decision?.kind === 'timer') {
        answer = { ...answer, headers: { ...decision.headers, ...(answer.headers ?? {}) } };
        this.#startSession(handle, decision);
      } else this.#startSession(handle, undefined);
      this.#answer2xx(handle, request, tx, answer);
    } else {
      this.#answer(request, tx, answer, localTag);
      if (answer.status >= 300) this.#end(handle, { reason: 'rejected', status: answer.status });
    }
  }

  /** The third argument of the INVITE handler for `pending`. */
  #incoming(pending: PendingInvite): IncomingInvite {
    const { request, handle, tx } = pending;
    const raw = request.headers['replaces']?.[0];
    const replaces: Replaces | undefined = raw === undefined ? undefined : parseReplaces(raw);
    let replacedDialog: DialogHandle | undefined;
    if (replaces !== undefined) {
      const matches = [...this.#dialogs.values()].filter((h) =>
        replacesMatches(replaces, h.dialog.id),
      );
      replacedDialog = matches.length === 1 ? matches[0] : undefined;
    }
    return {
      request,
      cancelled: pending.controller.signal,
      replaces,
      replacedDialog,
      progress: (status: number, options: ProgressOptions = {}): boolean => {
        if (!Number.isInteger(status) || status < 101 || status > 199)
          throw new UaCstaError('ERR_INVALID_ARG', 'a provisional status is 101-199');
        const hasBody = options.body !== undefined && options.body.length > 0;
        if (hasBody && options.contentType === undefined)
          throw new UaCstaError('ERR_INVALID_ARG', 'a body needs a contentType');
        if (pending.controller.signal.aborted || this.#pending.get(tx) !== pending) return false;
        if (tx.state !== 'Proceeding' && tx.state !== 'Trying') return false;
        // §12.1.1: a response that makes a dialog carries Contact and the Record-Route
        const extra: Record<string, string | readonly string[]> = {
          Contact: `<${this.#contact}>`,
        };
        const rr = request.headers['record-route'];
        if (rr !== undefined) extra['Record-Route'] = rr;
        const response = this.#response(
          request,
          { status, ...options },
          handle.dialog.id.localTag,
          extra,
        );
        if (response === undefined) return false;
        this.#dialogs.set(dialogKey(handle.dialog.id), handle); // early dialog (§12.1.1)
        try {
          tx.respond(response);
        } catch (error) {
          this.#trace({ type: 'user-error', error });
          return false;
        }
        return true;
      },
    };
  }

  /** Ends a pending INVITE without the handler: 487 and the abort signal (CANCEL, early BYE). */
  #abortPending(pending: PendingInvite, status: number, why: string): void {
    this.#pending.delete(pending.tx);
    pending.handle.uasInvite = undefined;
    if (pending.tx.state === 'Proceeding' || pending.tx.state === 'Trying')
      this.#answer(pending.request, pending.tx, { status }, pending.handle.dialog.id.localTag);
    pending.controller.abort(new UaCstaError('ERR_ABORTED', why));
  }

  /** Sends a 2xx to an INVITE and retransmits it until the ACK (RFC 3261 §13.3.1.4). */
  #answer2xx(
    handle: DialogHandle,
    request: SipRequest,
    tx: ServerTransaction<SipHop>,
    answer: RequestAnswer,
  ): void {
    const rr = request.headers['record-route'];
    const headers: Record<string, string | readonly string[]> = {
      Contact: `<${this.#contact}>`,
      Allow: this.#allow(),
    };
    if (rr !== undefined) headers['Record-Route'] = rr;
    const response = this.#response(request, answer, handle.dialog.id.localTag, headers);
    if (response === undefined) return;
    const cseq = request.cseq.seq;
    try {
      tx.respond(response);
    } catch (error) {
      this.#trace({ type: 'user-error', error });
      return;
    }
    const wait: AckWait = { cseq, timer: undefined };
    handle.ackWait = wait;
    const start = this.#clock.now();
    const limit = 64 * this.#T1;
    let interval = this.#T1;
    const fire = (): void => {
      wait.timer = undefined;
      if (handle.ackWait !== wait || handle.state === 'Terminated') return;
      const elapsed = this.#clock.now() - start;
      if (elapsed >= limit) {
        handle.ackWait = undefined;
        void this.#sendBye(handle, 'ack-timeout');
        return;
      }
      try {
        if (tx.state === 'Accepted') tx.respond(response);
        else {
          const flow = tx.target.flow;
          this.#endpoint.sendStateless(response, tx.target.target, flow === undefined ? {} : { flow });
        }
      } catch (error) {
        this.#trace({ type: 'user-error', error });
      }
      interval = Math.min(2 * interval, this.#T2);
      wait.timer = this.#clock.setTimeout(fire, Math.min(interval, limit - elapsed));
    };
    wait.timer = this.#clock.setTimeout(fire, tx.reliable ? limit : this.#T1);
  }

  #onAck(ack: SipRequest): void {
    const id = dialogIdOfRequest(ack);
    const handle = id === undefined ? undefined : this.#dialogs.get(dialogKey(id));
    const wait = handle?.ackWait;
    if (handle === undefined || wait === undefined || wait.cseq !== ack.cseq.seq) {
      this.#trace({ type: 'dropped', reason: 'ACK matches no 2xx waiting for one' });
      return;
    }
    if (wait.timer !== undefined) this.#clock.clearTimeout(wait.timer);
    handle.ackWait = undefined;
    handle.reinviteDone?.();
  }

  /** A 2xx to INVITE retransmitted after its transaction ended: ACK it again (§13.2.2.4). */
  #onStray(response: SipResponse): void {
    const { status } = response;
    if (response.cseq.method !== 'INVITE' || status < 200 || status >= 300) return;
    const id = dialogIdOfResponse(response);
    const handle = id === undefined ? undefined : this.#dialogs.get(dialogKey(id));
    if (handle !== undefined && handle.lastAck?.cseq === response.cseq.seq) {
      this.#sendAck(handle, response.cseq.seq);
    }
  }

  #onCancel(cancel: SipRequest, tx: ServerTransaction<SipHop>): void {
    const invite = this.#endpoint.transactions.findInviteForCancel(cancel);
    if (invite === undefined) return this.#answer(cancel, tx, { status: 481 });
    this.#answer(cancel, tx, { status: 200 }, this.#ids.tag());
    const pending = this.#pending.get(invite);
    if (pending === undefined || invite.state !== 'Proceeding') return;
    this.#abortPending(pending, 487, 'the INVITE was cancelled');
    this.#end(pending.handle, { reason: 'cancelled' });
  }

  async #inDialog(
    handle: DialogHandle,
    request: SipRequest,
    tx: ServerTransaction<SipHop>,
  ): Promise<void> {
    const dialog = handle.dialog;
    const method = request.method;
    if (dialog.checkRemoteCSeq(request) === 'out-of-order')
      return this.#answer(request, tx, { status: 500, reason: 'CSeq out of order' });
    switch (method) {
      case 'BYE': {
        this.#answer(request, tx, { status: 200 });
        // §15.1.2: a BYE in the early dialog of an INVITE we have not answered ends it with 487
        const pending = handle.uasInvite;
        if (pending !== undefined) this.#abortPending(pending, 487, 'the caller sent BYE');
        this.#end(handle, { reason: 'bye-received' });
        return;
      }
      case 'OPTIONS':
        return this.#answer(request, tx, this.#optionsAnswer());
      case 'INVITE':
        // RFC 3261 §14.2: a re-INVITE while ours is pending is glare (491); one while an INVITE
        // from the peer is still unanswered, or our 2xx waits for its ACK, gets 500 Retry-After
        if (handle.refreshInFlight) return this.#answer(request, tx, { status: 491 });
        if (
          handle.ackWait !== undefined ||
          handle.uasInvite !== undefined ||
          handle.incomingReinvite !== undefined
        ) {
          const retryAfter = `${Math.floor(this.#random() * 11)}`;
          return this.#answer(request, tx, { status: 500, headers: { 'Retry-After': retryAfter } });
        }
        break;
      case 'UPDATE':
        // RFC 3311 §5.2: an UPDATE crossing our re-INVITE or UPDATE (bodies are opaque here,
        // so every one counts as carrying an offer)
        if (handle.refreshInFlight) return this.#answer(request, tx, { status: 491 });
        break;
      case 'INFO':
        break;
      case 'NOTIFY':
        return this.#onNotify(handle, request, tx);
      case 'REFER':
        void this.#onRefer(handle, request, tx);
        return;
      default:
        return this.#answer(request, tx, this.#unsupported(method));
    }
    const refreshing = method === 'INVITE' || method === 'UPDATE';
    const session = handle.session;
    const settings = session?.settings;
    const current =
      session !== undefined && (session.mode === 'refresher' || session.mode === 'refreshee')
        ? { intervalSec: session.intervalSec, weRefresh: session.mode === 'refresher' }
        : undefined;
    const decision =
      refreshing && settings !== undefined ? answerSessionTimer(request, settings, current) : undefined;
    if (decision?.kind === 'too-small')
      return this.#answer(request, tx, { status: 422, headers: { 'Min-SE': `${decision.minSeSec}` } });
    const handler = handle.handler;
    let answer: RequestAnswer;
    if (method === 'INVITE') {
      // until its final response (and, for a 2xx, its ACK) our own re-INVITEs wait (§14.1)
      handle.incomingReinvite = new Promise<void>((resolve) => {
        handle.reinviteDone = () => {
          handle.incomingReinvite = undefined;
          handle.reinviteDone = undefined;
          resolve();
        };
      });
    }
    try {
      if (handler === undefined) {
        answer = method === 'INFO' ? { status: 500, reason: 'No Handler' } : { status: 200 };
      } else {
        try {
          answer = await handler(request, handle);
        } catch (error) {
          this.#trace({ type: 'user-error', error });
          answer = { status: 500 };
        }
      }
    } finally {
      // the final answer goes out below, synchronously; a 2xx that went out waits for its ACK
      const done = method === 'INVITE' ? handle.reinviteDone : undefined;
      if (done !== undefined) {
        queueMicrotask(() => {
          if (handle.ackWait === undefined && handle.reinviteDone === done) done();
        });
      }
    }
    const ok = answer.status >= 200 && answer.status < 300;
    if (ok) dialog.refreshTarget(request, method);
    if (ok && refreshing && handle.state !== 'Terminated') {
      if (decision?.kind === 'timer') {
        answer = { ...answer, headers: { ...decision.headers, ...(answer.headers ?? {}) } };
        session?.start(decision.intervalSec, decision.weRefresh);
      } else if (session?.mode === 'periodic') session.startWithoutTimer();
    }
    if (method === 'INVITE' && ok) {
      if (handle.state !== 'Terminated') this.#answer2xx(handle, request, tx, answer);
      return;
    }
    if (method === 'UPDATE' && ok)
      answer = { ...answer, headers: { Contact: `<${this.#contact}>`, ...(answer.headers ?? {}) } };
    this.#answer(request, tx, answer);
  }

  /**
   * Builds a response from an answer, or traces why it cannot. Written without spreads or
   * entry arrays: every INFO of a CSTA session passes here (the hot path of a responder).
   */
  #response(
    request: SipRequest,
    answer: RequestAnswer,
    toTag: string | undefined,
    extra?: Record<string, string | readonly string[]>,
  ): SipResponse | undefined {
    try {
      let headers: Record<string, string | readonly string[]> | undefined;
      if (extra !== undefined) {
        headers = {};
        for (const k in extra) headers[k] = extra[k]!;
      }
      const body = answer.body;
      const hasBody = body !== undefined && body.length > 0;
      if (hasBody) {
        if (answer.contentType === undefined)
          throw new UaCstaError('ERR_INVALID_ARG', 'an answer with a body needs a contentType');
        (headers ??= {})['Content-Type'] = answer.contentType;
      }
      const more = answer.headers;
      if (more !== undefined) for (const k in more) (headers ??= {})[k] = more[k]!;
      const init: { toTag?: string; headers?: SipHeaderInit; body?: SipBodyInit } = {};
      if (toTag !== undefined) init.toTag = toTag;
      if (headers !== undefined) init.headers = headers;
      if (hasBody) init.body = body;
      return createResponse(request, answer.status, answer.reason ?? reasonPhrase(answer.status), init);
    } catch (error) {
      this.#trace({ type: 'user-error', error });
      return undefined;
    }
  }

  /** Answers `request` once; never throws. A failed build is answered 500. */
  #answer(
    request: SipRequest,
    tx: ServerTransaction<SipHop>,
    answer: RequestAnswer,
    // a request inside a dialog already carries our tag: no fresh one to make
    toTag: string | undefined = request.to.params['tag'] === undefined ? this.#ids.tag() : undefined,
  ): void {
    if (tx.state !== 'Trying' && tx.state !== 'Proceeding') return;
    const response =
      this.#response(request, answer, toTag) ?? this.#response(request, { status: 500 }, toTag);
    if (response === undefined) return;
    try {
      tx.respond(response);
    } catch (error) {
      this.#trace({ type: 'user-error', error });
    }
  }

  /** A dialog's session timer, when session timers or a periodic re-INVITE are configured. */
  #newSession(handle: DialogHandle): SessionTimer | undefined {
    if (this.#timerSettings === undefined && this.#periodic === undefined) return undefined;
    return new SessionTimer(
      this.#clock,
      {
        refresh: (method, body, contentType) =>
          handle.request(method, {
            ...(body === undefined ? {} : { body }),
            ...(contentType === undefined ? {} : { contentType }),
          }),
        expired: () => void this.#sendBye(handle, { reason: 'session-expired' }),
        refreshFailed: (error) => {
          const status = (error as { status?: unknown } | undefined)?.status;
          if (handle.state === 'Terminated') return;
          void this.#sendBye(handle, {
            reason: 'refresh-failed',
            ...(typeof status === 'number' ? { status } : {}),
          });
        },
      },
      this.#timerSettings,
      this.#periodic,
    );
  }

  #startSession(
    handle: DialogHandle,
    timer: { readonly intervalSec: number; readonly weRefresh: boolean } | undefined,
  ): void {
    const session = handle.session;
    if (session === undefined || handle.state === 'Terminated') return;
    if (timer === undefined) session.startWithoutTimer();
    else session.start(timer.intervalSec, timer.weRefresh);
  }

  /** Ends a dialog: forgets it, stops its timers, tells its owner. */
  #end(handle: DialogHandle, termination: DialogTermination): void {
    handle.session?.stop();
    const wait = handle.ackWait;
    if (wait?.timer !== undefined) this.#clock.clearTimeout(wait.timer);
    handle.ackWait = undefined;
    handle.reinviteDone?.();
    this.#dialogs.delete(dialogKey(handle.dialog.id));
    if (handle.terminate(termination)) {
      this.#trace({ type: 'terminated', callId: handle.callId, reason: termination.reason });
    }
  }
}
