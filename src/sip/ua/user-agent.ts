/**
 * The UA core (RFC 3261 §8, §12–§15): INVITE sessions with any body as UAC and UAS, the ACK for
 * a 2xx, 2xx retransmission until the ACK, in-dialog requests both ways, CANCEL, OPTIONS, and
 * the RFC 5057 rules for what ends a dialog.
 *
 * @remarks
 * Sits on a {@link SipEndpoint} as its transaction user. Bodies are opaque bytes with a content
 * type: no SDP, no offer/answer (uaCSTA sessions carry `application/csta+xml`). Time comes only
 * from the injected clock.
 *
 * RFC 5057 as applied here: a 481 to any in-dialog request, any final answer (or none) to our
 * BYE, a BYE from the peer, no ACK for our 2xx within 64*T1, and a 408 or timeout of a target
 * refresh (re-INVITE, UPDATE) end the dialog and tell its owner through `onTerminated`. Any other
 * failure (a 4xx/5xx, a timeout of an INFO) fails that transaction only.
 */

import { UaCstaError } from '../../errors.js';
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

/** Methods this UA implements. */
export const UA_ALLOW = ['INVITE', 'ACK', 'BYE', 'CANCEL', 'INFO', 'OPTIONS', 'UPDATE'] as const;

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
  200: 'OK',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  415: 'Unsupported Media Type',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
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
 * handler can register `dialog.onRequest` for requests that follow the 2xx at once.
 */
export type InviteHandler = (
  request: SipRequest,
  dialog: DialogHandle,
) => RequestAnswer | Promise<RequestAnswer>;

/** Answers a request inside a dialog (INFO, UPDATE, re-INVITE, OPTIONS). */
export type DialogRequestHandler = (
  request: SipRequest,
  dialog: DialogHandle,
) => RequestAnswer | Promise<RequestAnswer>;

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
}

/** Answers a request outside any dialog (see {@link UserAgentOptions.methods}). */
export type OutOfDialogHandler = (request: SipRequest) => RequestAnswer | Promise<RequestAnswer>;

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
}

/** What a client transaction ended with. */
type Outcome =
  | { readonly ok: true; readonly response: SipResponse; readonly request: SipRequest }
  | { readonly ok: false; readonly error: TransactionError };

/** The UA internals a dialog handle uses. */
interface UaCore {
  send(handle: DialogHandle, method: string, options: DialogRequestOptions): Promise<SipResponse>;
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
  readonly #core: UaCore;
  #handler: DialogRequestHandler | undefined;
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
        Allow: UA_ALLOW.join(', '),
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
      const hop = this.#resolve(target);
      let handle: DialogHandle | undefined;
      let aborted = false;
      const on2xx = (response: SipResponse, request: SipRequest): void => {
        if (handle === undefined) {
          const dialog = Dialog.fromUac(request, response, this.#contact);
          handle = new DialogHandle(dialog, this.#core, options.onRequest, this.#trace);
          handle.establishedBy = response;
          handle.session = this.#newSession(handle);
          this.#dialogs.set(dialogKey(dialog.id), handle);
        } else if (dialogKey(handle.dialog.id) !== dialogKey(dialogIdOfUac(response, handle))) {
          return; // a 2xx from another fork: not handled (no forking support)
        }
        this.#sendAck(handle, request.cseq.seq);
      };
      const onAbort = (): void => {
        aborted = true;
      };
      const send = (i: Omit<SipRequestInit, 'via'>): Promise<Outcome> =>
        this.#transact(this.#build(i, hop), hop, on2xx, options.signal, onAbort);
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
          if (!outcome.ok) return reject(outcome.error);
          const { response } = outcome;
          if (response.status >= 300) {
            if (aborted && response.status === 487) {
              const cause = options.signal?.reason;
              return reject(new UaCstaError('ERR_ABORTED', 'the INVITE was cancelled', { cause }));
            }
            return reject(new SipResponseError('INVITE', response));
          }
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
    await Promise.allSettled([...this.#dialogs.values()].map((h) => h.bye()));
    for (const h of this.#dialogs.values()) this.#end(h, { reason: 'closed' });
    this.#unregister();
  }

  // ---- client side -------------------------------------------------------------------------

  /** A request with a fresh top Via for `hop`. */
  #build(init: Omit<SipRequestInit, 'via'>, hop: TransportTarget): SipRequest {
    return createRequest({ ...init, via: [this.#endpoint.createVia(hop.protocol)] });
  }

  /**
   * Runs a client transaction and, once, a digest retry; resolves with the final response or
   * the transaction error. `on2xx` sees every 2xx to an INVITE (retransmissions too).
   */
  async #transact(
    request: SipRequest,
    hop: TransportTarget,
    on2xx?: (response: SipResponse, request: SipRequest) => void,
    signal?: AbortSignal,
    onAbort?: () => void,
    nextCSeq?: () => number,
  ): Promise<Outcome> {
    const first = await this.#once(request, hop, on2xx, signal, onAbort);
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
      cseq: nextCSeq?.() ?? request.cseq.seq + 1,
      branch: this.#ids.branch(),
    });
    return this.#once(retry, hop, on2xx, signal, onAbort);
  }

  #once(
    request: SipRequest,
    hop: TransportTarget,
    on2xx?: (response: SipResponse, request: SipRequest) => void,
    signal?: AbortSignal,
    onAbort?: () => void,
  ): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      let done = false;
      let provisional = false;
      let cancelWanted = false;
      const cancel = (): void => {
        if (done) return;
        cancelWanted = true;
        onAbort?.();
        if (provisional) this.#sendCancel(request, hop);
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
      const tx = layer.sendRequest(request, sipHop, transport.reliable, {
        onResponse: (response) => {
          const status = response.status;
          if (status < 200) {
            if (!provisional) {
              provisional = true;
              if (cancelWanted && request.method === 'INVITE') this.#sendCancel(request, hop);
            }
            return;
          }
          if (status < 300 && request.method === 'INVITE') {
            try {
              on2xx?.(response, request);
            } catch (error) {
              this.#trace({ type: 'user-error', error });
            }
          }
          finish({ ok: true, response, request });
        },
        onTimeout: (error) => finish({ ok: false, error }),
        onTransportError: (error) => finish({ ok: false, error }),
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

  async #sendInDialog(
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
    const outcome = await this.#transact(request, hop, on2xx, undefined, undefined, () =>
      dialog.nextCSeq(),
    );
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

  async #sendBye(
    handle: DialogHandle,
    reason: TerminationReason | DialogTermination = 'bye-sent',
  ): Promise<void> {
    const dialog = handle.dialog;
    if (dialog.state === 'Terminated') return;
    const hop = this.#resolve(dialog.nextHopUri());
    const request = this.#build(dialog.createRequest('BYE'), hop);
    this.#end(handle, typeof reason === 'string' ? { reason } : reason);
    await this.#transact(request, hop, undefined, undefined, undefined, () => dialog.nextCSeq());
  }

  // ---- server side -------------------------------------------------------------------------

  #onRequest(request: SipRequest, tx: ServerTransaction<SipHop>): void {
    const method = request.method;
    if (method === 'CANCEL') return this.#onCancel(request, tx);
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
    if (method === 'OPTIONS') return this.#answer(request, tx, this.#optionsAnswer());
    const custom = this.#methods.get(method);
    if (custom !== undefined) {
      void this.#outOfDialog(custom, request, tx);
      return;
    }
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

  /** 405 with Allow for a method SIP knows and we do not implement, 501 for any other. */
  #unsupported(method: string): RequestAnswer {
    return KNOWN_UNSUPPORTED.has(method)
      ? { status: 405, headers: { Allow: UA_ALLOW.join(', ') } }
      : { status: 501 };
  }

  #optionsAnswer(): RequestAnswer {
    const headers: Record<string, string> = {
      Allow: [...UA_ALLOW, ...this.#methods.keys()].join(', '),
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
    this.#pending.set(tx, { request, handle });
    let answer: RequestAnswer;
    try {
      answer = await handler(request, handle);
    } catch (error) {
      this.#trace({ type: 'user-error', error });
      answer = { status: 500 };
    }
    this.#pending.delete(tx);
    if (handle.state === 'Terminated' || tx.state !== 'Proceeding') return; // cancelled
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
      if (answer.status >= 300) handle.terminate({ reason: 'rejected', status: answer.status });
    }
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
      Allow: UA_ALLOW.join(', '),
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
    this.#pending.delete(invite);
    this.#answer(pending.request, invite, { status: 487 }, pending.handle.dialog.id.localTag);
    pending.handle.terminate({ reason: 'cancelled' });
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
      case 'BYE':
        this.#answer(request, tx, { status: 200 });
        this.#end(handle, { reason: 'bye-received' });
        return;
      case 'OPTIONS':
        return this.#answer(request, tx, this.#optionsAnswer());
      case 'INVITE':
        if (handle.ackWait !== undefined) {
          // RFC 3261 §14.2: a re-INVITE while our 2xx waits for its ACK
          return this.#answer(request, tx, { status: 500, headers: { 'Retry-After': '1' } });
        }
        break;
      case 'INFO':
      case 'UPDATE':
        break;
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
    const headers: Record<string, string> = {};
    if (method === 'UPDATE' && ok) headers['Contact'] = `<${this.#contact}>`;
    this.#answer(request, tx, { ...answer, headers: { ...headers, ...(answer.headers ?? {}) } });
  }

  /** Builds a response from an answer, or traces why it cannot. */
  #response(
    request: SipRequest,
    answer: RequestAnswer,
    toTag: string | undefined,
    extra: Record<string, string | readonly string[]> = {},
  ): SipResponse | undefined {
    try {
      const headers: Record<string, string | readonly string[]> = { ...extra };
      const body = answer.body;
      const hasBody = body !== undefined && body.length > 0;
      if (hasBody) {
        if (answer.contentType === undefined)
          throw new UaCstaError('ERR_INVALID_ARG', 'an answer with a body needs a contentType');
        headers['Content-Type'] = answer.contentType;
      }
      for (const [k, v] of Object.entries(answer.headers ?? {})) headers[k] = v;
      return createResponse(request, answer.status, answer.reason ?? reasonPhrase(answer.status), {
        ...(toTag === undefined ? {} : { toTag }),
        headers,
        ...(hasBody ? { body } : {}),
      });
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
    toTag: string = this.#ids.tag(),
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
    this.#dialogs.delete(dialogKey(handle.dialog.id));
    if (handle.terminate(termination)) {
      this.#trace({ type: 'terminated', callId: handle.callId, reason: termination.reason });
    }
  }
}

function dialogIdOfUac(response: SipResponse, handle: DialogHandle) {
  return {
    callId: response.callId,
    localTag: handle.dialog.id.localTag,
    remoteTag: response.to.params['tag'] ?? '',
  };
}
