/**
 * `CstaClient`: the computing-function side of a uaCSTA association (digest §1.4–1.5, §2.2).
 *
 * @remarks
 * Sends CSTA service requests over a {@link CstaChannel} one at a time (many phones process INFO
 * serially, ARCHITECTURE §4), with a bounded FIFO queue behind the one in flight. The response
 * comes in the body of the final response of the same transaction; a `<CSTAErrorCode>` there is a
 * {@link CstaServiceError}. Events come as requests from the peer: each is answered 200 without
 * a body at once, parsed, and delivered to `on('event')` and to the listeners of its
 * `monitorCrossRefID` in a later task, once that 200 has gone out (see {@link nextTask}). A
 * failed or timed-out request never ends the association (RFC 5057).
 */

import { parseCsta, serializeCsta } from '../csta/index.js';
import type { CstaMessage, CstaServiceMap, Edition } from '../csta/model/types.js';
import { UaCstaError } from '../errors.js';
import { UACSTA_LIMITS } from '../limits.js';
import { Emitter } from '../util/emitter.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import {
  CSTA_CONTENT_TYPE,
  isCstaContentType,
  type CstaChannel,
  type CstaChannelAnswer,
  type CstaChannelFactory,
  type CstaChannelRequest,
} from './channel.js';
import { CstaRejectedError, CstaServiceError } from './errors.js';
import { createEventStream, type EventIterator } from './event-stream.js';
import { checkSystemStatus, requestSystemStatusBody } from './system-status.js';

/**
 * Runs `fn` in a later task of the event loop (not a microtask): after every microtask queued so
 * far has run.
 *
 * @remarks
 * A channel hands the answer of a request to its transport within the microtasks that follow the
 * handler's return (`CstaChannelHandler`; our SIP binding answers the INFO in a promise chain
 * and the server transaction writes the 200 synchronously, RFC 3261 §17.2.2). Events are given to
 * listeners here, so that a request a listener sends leaves after the 200 of the event's INFO; a
 * strict peer (a SIPp scenario) expects that order. Ordering, not time: no {@link Clock} is
 * involved, so a manual clock in tests does not hold events back.
 */
function nextTask(fn: () => void): void {
  const g = globalThis as { setImmediate?: (fn: () => void) => unknown; MessageChannel?: typeof MessageChannel };
  if (typeof g.setImmediate === 'function') {
    g.setImmediate(fn);
  } else if (typeof g.MessageChannel === 'function') {
    // browsers: a message is a task, without the 4 ms clamp of nested setTimeout(0)
    const ch = new g.MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      fn();
    };
    ch.port2.postMessage(undefined);
  } else {
    globalThis.setTimeout(fn, 0);
  }
}

/** Every CSTA event (root element named `…Event`). */
export type CstaEvent = Extract<CstaMessage, { readonly type: `${string}Event` }>;

/** What the client reports through `trace`. */
export type CstaClientTraceEvent =
  | { readonly type: 'sent'; readonly body: string }
  | { readonly type: 'received'; readonly body: string }
  /** An incoming request that was answered but not delivered (unreadable, not an event). */
  | { readonly type: 'dropped'; readonly reason: string; readonly error?: unknown }
  | { readonly type: 'listener-error'; readonly error: unknown };

/** Options of {@link CstaClient}. */
export interface CstaClientOptions {
  /** The open CSTA application session. */
  readonly channel: CstaChannel;
  /**
   * Longest wait for one request, from sending it to its final response.
   * @defaultValue 32_000, i.e. SIP Timer F (RFC 3261 §17.1.2.2)
   */
  readonly invokeTimeoutMs?: number;
  /** Requests that may wait behind the one in flight. @defaultValue 64 */
  readonly maxQueuedInvokes?: number;
  /**
   * Requests sent at once (pipelining). RFC 3261 allows parallel INFO transactions, but many
   * phones process them serially (digest §1.4). @defaultValue 1
   */
  readonly maxInFlightInvokes?: number;
  /** Default buffer of each `events()` iterator. @defaultValue 1024 (`UACSTA_LIMITS`) */
  readonly maxBufferedEvents?: number;
  /**
   * Events held while a request is in flight, released right after its response reached the
   * caller (digest §1.5 item 6). Past this, the oldest are released at once. @defaultValue 256
   */
  readonly maxHeldEvents?: number;
  /**
   * Edition to write requests in when the request names none.
   * @defaultValue the edition of the last document the peer sent, else ed3 (ECMA TR/87)
   */
  readonly edition?: Edition;
  /** Time source of the invoke timeout. @defaultValue `systemClock` */
  readonly clock?: Clock;
  readonly trace?: (event: CstaClientTraceEvent) => void;
}

/** Defaults of {@link CstaClientOptions}. */
export const CLIENT_DEFAULTS = {
  invokeTimeoutMs: 32_000,
  maxQueuedInvokes: UACSTA_LIMITS.maxQueuedInvokes,
  maxInFlightInvokes: UACSTA_LIMITS.maxInFlightInvokes,
  maxBufferedEvents: UACSTA_LIMITS.maxBufferedEvents,
  maxHeldEvents: UACSTA_LIMITS.maxHeldEvents,
} as const;

/** Options of {@link CstaClient.connect}: the client's options, with a channel factory. */
export interface CstaConnectOptions extends Omit<CstaClientOptions, 'channel'> {
  /** Opens the session (for SIP: INVITE → 200 → ACK), given the INVITE's CSTA body. */
  readonly open: CstaChannelFactory;
  /**
   * Put a `RequestSystemStatus` in the opening request and require `normal` in its answer
   * (Microsoft's and sipe's behaviour, digest §1.3). @defaultValue false
   */
  readonly requestSystemStatus?: boolean;
  readonly signal?: AbortSignal;
}

/** Options of {@link CstaClient.events}. */
export interface CstaEventsOptions {
  /** Only the events of this monitor (`monitorCrossRefID`, compared exactly). */
  readonly monitor?: string;
  /** Buffer of this iterator. @defaultValue the client's `maxBufferedEvents` */
  readonly maxBufferedEvents?: number;
  /** Ends the iterator with `ERR_ABORTED`. */
  readonly signal?: AbortSignal;
}

/** Options of one {@link CstaClient.request}. */
export interface CstaRequestOptions {
  /** Aborts the wait (`ERR_ABORTED`); a request already sent still holds its slot until answered. */
  readonly signal?: AbortSignal;
}

/** `Open` until `close()` or the channel ends. */
export type CstaClientState = 'Open' | 'Closed';

/** Notifications of a {@link CstaClient}. */
export interface CstaClientEvents {
  /** Every event the peer sent. */
  event: CstaEvent;
  /** The association ended; the reason as the channel gives it. */
  closed: { readonly reason: string };
}

interface Invoke {
  readonly body: string;
  readonly expect: string;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (m: CstaMessage) => void;
  readonly reject: (e: unknown) => void;
  settled: boolean;
  cleanup: () => void;
}

/** @internal A positive integer option; `Infinity` lifts a limit explicitly (STYLE §5). */
export function positiveInt(value: number, name: string, infinityAllowed = name !== 'invokeTimeoutMs'): number {
  if (!Number.isInteger(value) || value <= 0) {
    if (value !== Infinity || !infinityAllowed)
      throw new UaCstaError('ERR_INVALID_ARG', `${name} must be a positive integer; found ${String(value)}`);
  }
  return value;
}

/**
 * Sends CSTA requests and receives events over one channel.
 *
 * @example
 * const client = new CstaClient({ channel });
 * const res = await client.request({ type: 'MakeCall', callingDevice: '1001', calledDirectoryNumber: '1002' });
 * const off = client.on('event', (ev) => log(ev.type));
 * await client.close();
 */
export class CstaClient {
  readonly #channel: CstaChannel;
  readonly #invokeTimeoutMs: number;
  readonly #maxQueued: number;
  readonly #edition: Edition | undefined;
  readonly #clock: Clock;
  readonly #trace: (event: CstaClientTraceEvent) => void;
  readonly #emitter: Emitter<CstaClientEvents>;
  readonly #monitors = new Map<string, Set<(ev: CstaEvent) => void>>();
  readonly #maxInFlight: number;
  readonly #maxBufferedEvents: number;
  readonly #maxHeld: number;
  readonly #queue: Invoke[] = [];
  readonly #inFlight = new Set<Invoke>();
  /** Events that arrived while a request was in flight (digest §1.5 item 6). */
  readonly #held: CstaEvent[] = [];
  /** Releases scheduled after a response and not yet run. */
  #releasing = 0;
  /** Events due to listeners in the next task, in arrival order (see {@link nextTask}). */
  readonly #ready: CstaEvent[] = [];
  #peerEdition: Edition | undefined;
  #state: CstaClientState = 'Open';
  #closing: Promise<void> | undefined;
  readonly #unsubscribe: (() => void)[] = [];

  constructor(options: CstaClientOptions) {
    if (options === null || typeof options !== 'object' || options.channel === undefined)
      throw new UaCstaError('ERR_INVALID_ARG', 'options.channel is required');
    this.#channel = options.channel;
    this.#invokeTimeoutMs = positiveInt(options.invokeTimeoutMs ?? CLIENT_DEFAULTS.invokeTimeoutMs, 'invokeTimeoutMs');
    this.#maxQueued = positiveInt(options.maxQueuedInvokes ?? CLIENT_DEFAULTS.maxQueuedInvokes, 'maxQueuedInvokes');
    this.#maxInFlight = positiveInt(options.maxInFlightInvokes ?? CLIENT_DEFAULTS.maxInFlightInvokes, 'maxInFlightInvokes', false);
    this.#maxBufferedEvents = positiveInt(options.maxBufferedEvents ?? CLIENT_DEFAULTS.maxBufferedEvents, 'maxBufferedEvents');
    this.#maxHeld = positiveInt(options.maxHeldEvents ?? CLIENT_DEFAULTS.maxHeldEvents, 'maxHeldEvents');
    this.#edition = options.edition;
    this.#clock = options.clock ?? systemClock;
    this.#trace = options.trace ?? (() => {});
    this.#emitter = new Emitter((error) => this.#safeTrace({ type: 'listener-error', error }));
    this.#unsubscribe.push(this.#channel.onRequest((req) => this.#onRequest(req)));
    this.#unsubscribe.push(this.#channel.onClosed(({ reason }) => this.#ended(reason)));
  }

  /**
   * Opens a session through `options.open` and returns a client on it. With
   * `requestSystemStatus`, the INVITE carries `<RequestSystemStatus>` and its answer must say
   * `normal`; otherwise the session is closed again and the promise rejects
   * `UACSTA_ERR_SYSTEM_STATUS` (digest §1.3, §1.13 item 1).
   *
   * @example
   * const client = await CstaClient.connect({ open: (init) => openSipCstaChannel(ua, target, init), requestSystemStatus: true });
   */
  static async connect(options: CstaConnectOptions): Promise<CstaClient> {
    if (options === null || typeof options !== 'object' || typeof options.open !== 'function')
      throw new UaCstaError('ERR_INVALID_ARG', 'options.open must be a function that opens a CstaChannel');
    const { open, requestSystemStatus, signal, ...rest } = options;
    if (signal?.aborted) throw new UaCstaError('ERR_ABORTED', 'aborted before opening', { cause: signal.reason });
    const body = requestSystemStatus === true ? requestSystemStatusBody(options.edition) : undefined;
    const channel = await open({ ...(body === undefined ? {} : { body }), ...(signal === undefined ? {} : { signal }) });
    if (body !== undefined) {
      const problem = checkSystemStatus(channel.establishedBody);
      if (problem !== undefined) {
        await channel.close().catch(() => {});
        throw problem;
      }
    }
    return new CstaClient({ ...rest, channel });
  }

  get state(): CstaClientState {
    return this.#state;
  }

  /** The channel under the client. */
  get channel(): CstaChannel {
    return this.#channel;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Requests waiting behind the one in flight. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * Sends one CSTA service request and resolves with its positive response.
   *
   * Rejects `CSTA_ERR_SERVICE` ({@link CstaServiceError}) for a `<CSTAErrorCode>`,
   * `SIP_ERR_REJECTED` ({@link CstaRejectedError}) for a non-2xx, `UACSTA_ERR_NO_RESPONSE` for a
   * 2xx without body, `UACSTA_ERR_TIMEOUT`, `UACSTA_ERR_QUEUE_FULL`, `UACSTA_ERR_CLOSED`,
   * `ERR_ABORTED`, a `CSTA_ERR_*` code for an unreadable response or an unwritable request, and
   * `UACSTA_ERR_UNEXPECTED_RESPONSE` for another document.
   */
  request<K extends keyof CstaServiceMap>(
    req: CstaServiceMap[K]['request'] & { readonly type: K },
    options: CstaRequestOptions = {},
  ): Promise<CstaServiceMap[K]['response']> {
    return new Promise<CstaMessage>((resolve, reject) => {
      if (this.#state !== 'Open') throw new UaCstaError('UACSTA_ERR_CLOSED', 'the CSTA client is closed');
      const signal = options.signal;
      if (signal?.aborted) throw new UaCstaError('ERR_ABORTED', 'aborted before sending', { cause: signal.reason });
      const message = req as CstaMessage;
      const edition = message.edition ?? this.#edition ?? this.#peerEdition;
      const body = serializeCsta(message, edition === undefined ? {} : { edition });
      if (this.#inFlight.size >= this.#maxInFlight && this.#queue.length >= this.#maxQueued) {
        throw new UaCstaError(
          'UACSTA_ERR_QUEUE_FULL',
          `${this.#queue.length} requests wait behind the one in flight; limit is ${this.#maxQueued}`,
        );
      }
      const invoke: Invoke = {
        body,
        expect: `${message.type}Response`,
        signal,
        resolve,
        reject,
        settled: false,
        cleanup: () => {},
      };
      if (signal !== undefined) {
        const onAbort = (): void => {
          const i = this.#queue.indexOf(invoke);
          if (i >= 0) this.#queue.splice(i, 1);
          this.#settle(invoke, new UaCstaError('ERR_ABORTED', 'the request was aborted', { cause: signal.reason }));
        };
        signal.addEventListener('abort', onAbort, { once: true });
        invoke.cleanup = () => signal.removeEventListener('abort', onAbort);
      }
      this.#queue.push(invoke);
      this.#pump();
    }) as Promise<CstaServiceMap[K]['response']>;
  }

  /** Adds a listener of client notifications; returns the function that removes it. */
  on<K extends keyof CstaClientEvents & string>(type: K, fn: (value: CstaClientEvents[K]) => void): () => void {
    if (typeof fn !== 'function') throw new UaCstaError('ERR_INVALID_ARG', 'listener must be a function');
    return this.#emitter.on(type, fn);
  }

  /**
   * Adds a listener of the events of one monitor (its `monitorCrossRefID`, compared exactly;
   * digest §1.5); returns the function that removes it.
   */
  onMonitor(monitorCrossRefID: string, fn: (event: CstaEvent) => void): () => void {
    if (typeof monitorCrossRefID !== 'string' || monitorCrossRefID === '')
      throw new UaCstaError('ERR_INVALID_ARG', 'monitorCrossRefID must be a non-empty string');
    if (typeof fn !== 'function') throw new UaCstaError('ERR_INVALID_ARG', 'listener must be a function');
    let set = this.#monitors.get(monitorCrossRefID);
    if (set === undefined) {
      set = new Set();
      this.#monitors.set(monitorCrossRefID, set);
    }
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0 && this.#monitors.get(monitorCrossRefID) === set) this.#monitors.delete(monitorCrossRefID);
    };
  }

  /**
   * An async iterator over the events of this client (or of one monitor), in arrival order, with
   * a bounded buffer: a consumer `maxBufferedEvents` behind ends with `UACSTA_ERR_EVENT_OVERFLOW`
   * saying how many were lost. It ends when the client closes.
   *
   * @example
   * for await (const ev of client.events({ monitor: ref, signal })) log(ev.type);
   */
  events(options: CstaEventsOptions = {}): EventIterator<CstaEvent> {
    const max = positiveInt(options.maxBufferedEvents ?? this.#maxBufferedEvents, 'maxBufferedEvents');
    const monitor = options.monitor;
    if (monitor !== undefined && (typeof monitor !== 'string' || monitor === ''))
      throw new UaCstaError('ERR_INVALID_ARG', 'monitor must be a non-empty monitorCrossRefID');
    const offs: (() => void)[] = [];
    const { sink, iterator } = createEventStream<CstaEvent>(max, () => offs.forEach((off) => off()), options.signal);
    if (this.#state !== 'Open') {
      sink.end();
      return iterator;
    }
    offs.push(monitor === undefined ? this.#emitter.on('event', (e) => sink.push(e)) : this.onMonitor(monitor, (e) => sink.push(e)));
    offs.push(this.#emitter.on('closed', () => sink.end()));
    return iterator;
  }

  /** Ends the association (the channel's BYE) and rejects what is pending. Idempotent. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#ended('closed');
    this.#closing = this.#channel.close().catch((error: unknown) => {
      this.#safeTrace({ type: 'dropped', reason: 'channel close failed', error });
    });
    return this.#closing;
  }

  // ---- requests ----------------------------------------------------------------------------

  #pump(): void {
    while (this.#inFlight.size < this.#maxInFlight && this.#state === 'Open') {
      let next = this.#queue.shift();
      while (next !== undefined && next.settled) next = this.#queue.shift();
      if (next === undefined) return;
      this.#send(next);
    }
  }

  #send(invoke: Invoke): void {
    this.#inFlight.add(invoke);
    let timer: TimerHandle | undefined = this.#clock.setTimeout(() => {
      timer = undefined;
      this.#settle(
        invoke,
        new UaCstaError('UACSTA_ERR_TIMEOUT', `no final response to <${invoke.expect.slice(0, -8)}> within ${this.#invokeTimeoutMs} ms`),
      );
    }, this.#invokeTimeoutMs);
    this.#safeTrace({ type: 'sent', body: invoke.body });
    let sent: Promise<CstaMessage>;
    try {
      sent = this.#channel.send(invoke.body).then((res) => this.#readResponse(invoke, res));
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent
      .then(
        (m) => this.#settle(invoke, undefined, m),
        (e: unknown) => this.#settle(invoke, e),
      )
      .finally(() => {
        if (timer !== undefined) this.#clock.clearTimeout(timer);
        // the slot stays taken until the transaction ends, even when the caller gave up
        this.#inFlight.delete(invoke);
        this.#responded();
        this.#pump();
      });
  }

  #readResponse(
    invoke: Invoke,
    res: { status: number; reason: string; body: string; contentType: string | undefined },
  ): CstaMessage {
    const what = `<${invoke.expect.slice(0, -'Response'.length)}>`;
    if (res.status < 200 || res.status >= 300) throw new CstaRejectedError(what, res.status, res.reason, res.body);
    if (res.body.trim() === '') throw new UaCstaError('UACSTA_ERR_NO_RESPONSE', `${what} was answered ${res.status} without a CSTA body`);
    this.#safeTrace({ type: 'received', body: res.body });
    const parsed = parseCsta(res.body);
    if (!parsed.ok) throw parsed.error;
    const m = parsed.value;
    if (m.edition !== undefined) this.#peerEdition = m.edition;
    if (m.type === 'CSTAErrorCode') {
      const { type: _t, edition: _e, ...failure } = m;
      throw new CstaServiceError(failure as CstaServiceError['errorValue']);
    }
    if (m.type !== invoke.expect) {
      const root = m.type === 'Unknown' ? m.root : m.type;
      throw new UaCstaError('UACSTA_ERR_UNEXPECTED_RESPONSE', `${what} was answered <${root}>; expected <${invoke.expect}> or <CSTAErrorCode>`);
    }
    return m;
  }

  #settle(invoke: Invoke, error: unknown, value?: CstaMessage): void {
    if (invoke.settled) return;
    invoke.settled = true;
    invoke.cleanup();
    if (error === undefined && value !== undefined) invoke.resolve(value);
    else invoke.reject(error);
  }

  // ---- events ------------------------------------------------------------------------------

  #onRequest(req: CstaChannelRequest): CstaChannelAnswer {
    if (!isCstaContentType(req.contentType)) {
      this.#safeTrace({ type: 'dropped', reason: `Content-Type '${req.contentType ?? ''}' is not ${CSTA_CONTENT_TYPE}` });
      return { status: 415, headers: { Accept: CSTA_CONTENT_TYPE } };
    }
    this.#safeTrace({ type: 'received', body: req.body });
    const parsed = parseCsta(req.body);
    if (!parsed.ok) {
      // the transaction succeeded; the event is lost (STYLE §6 table)
      this.#safeTrace({ type: 'dropped', reason: 'unreadable event', error: parsed.error });
      return { status: 200 };
    }
    const m = parsed.value;
    if (m.edition !== undefined) this.#peerEdition = m.edition;
    if (m.type === 'Unknown' || !m.type.endsWith('Event')) {
      const root = m.type === 'Unknown' ? m.root : m.type;
      this.#safeTrace({ type: 'dropped', reason: `<${root}> is not an event; the client serves no requests` });
      if (m.type !== 'Unknown' && !m.type.endsWith('Response')) {
        const body = serializeCsta(
          { type: 'CSTAErrorCode', operation: 'serviceNotSupported' },
          m.edition === undefined ? {} : { edition: m.edition },
        );
        return { status: 200, body };
      }
      return { status: 200 };
    }
    const event = m as CstaEvent;
    if (this.#inFlight.size > 0 || this.#releasing > 0) {
      // it may be caused by the request in flight: hold it until that response has been delivered
      if (this.#held.length >= this.#maxHeld) {
        const early = this.#held.shift()!;
        this.#safeTrace({ type: 'dropped', reason: `released <${early.type}> early: ${this.#maxHeld} events held (maxHeldEvents)` });
        // it came maxHeldEvents INFOs ago, so its 200 has normally gone out long since: deliver it
        // at once, unless events wait before it
        if (this.#ready.length > 0) this.#enqueue([early]);
        else queueMicrotask(() => this.#deliver(early));
      }
      this.#held.push(event);
      return { status: 200 };
    }
    // deliver after the 200 has gone out: a listener's request must not overtake it
    this.#enqueue([event]);
    return { status: 200 };
  }

  /**
   * A response has been settled: the events held so far are released a few microtasks later, once
   * the caller's continuation of `request()` has run (so it sees the response, then the events).
   */
  #responded(): void {
    if (this.#held.length === 0 && this.#releasing === 0) return;
    const count = this.#held.length;
    this.#releasing++;
    void Promise.resolve()
      .then(() => undefined)
      .then(() => undefined)
      .then(() => {
        this.#releasing--;
        // with another request in flight, later events may be its own: release only the earlier
        const n = this.#inFlight.size > 0 ? Math.min(count, this.#held.length) : this.#held.length;
        this.#enqueue(this.#held.splice(0, n));
      });
  }

  /**
   * Queues events for listeners: each is delivered in a task of its own, in order, so what a
   * listener starts (an `await`, a request) runs before the next event as it did when each event
   * came in its own datagram.
   */
  #enqueue(events: readonly CstaEvent[]): void {
    for (const event of events) {
      this.#ready.push(event);
      nextTask(() => {
        const next = this.#ready.shift();
        if (next !== undefined) this.#deliver(next);
      });
    }
  }

  #deliver(event: CstaEvent): void {
    if (this.#state !== 'Open') return;
    const ref = (event as { readonly monitorCrossRefID?: unknown }).monitorCrossRefID;
    if (typeof ref === 'string') {
      for (const fn of [...(this.#monitors.get(ref) ?? [])]) {
        try {
          fn(event);
        } catch (error) {
          this.#safeTrace({ type: 'listener-error', error });
        }
      }
    }
    this.#emitter.emit('event', event);
  }

  // ---- life-cycle --------------------------------------------------------------------------

  #ended(reason: string): void {
    if (this.#state === 'Closed') return;
    // events received before the end are delivered, not lost
    for (const event of this.#ready.splice(0)) this.#deliver(event);
    for (const event of this.#held.splice(0)) this.#deliver(event);
    this.#state = 'Closed';
    for (const off of this.#unsubscribe.splice(0)) off();
    const closed = new UaCstaError('UACSTA_ERR_CLOSED', `the CSTA association ended (${reason})`);
    for (const invoke of this.#queue.splice(0)) this.#settle(invoke, closed);
    // a request in flight usually gets its own final response as the channel ends (a 481 ends the
    // dialog while it answers the INFO): let that response win, then reject what is left
    const inFlight = [...this.#inFlight];
    let hops: Promise<void> = Promise.resolve();
    for (let i = 0; i < 8; i++) hops = hops.then(() => undefined);
    void hops.then(() => {
      for (const invoke of inFlight) this.#settle(invoke, closed);
    });
    this.#emitter.emit('closed', { reason });
    this.#emitter.clear();
    this.#monitors.clear();
  }

  #safeTrace(event: CstaClientTraceEvent): void {
    try {
      this.#trace(event);
    } catch {
      // a trace sink that throws must not break protocol flow; nothing else to report to
    }
  }
}
