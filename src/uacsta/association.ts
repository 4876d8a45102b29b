/**
 * `CstaAssociation`: a CSTA application session that lives longer than its SIP dialog
 * (digest §1.3, §1.7, §1.8, §1.13 items 5–6; ARCHITECTURE §4).
 *
 * @remarks
 * Runtime-neutral, over a {@link CstaChannelFactory}. It opens the session (optionally with
 * `RequestSystemStatus`, which must answer `normal`), refreshes it with a re-INVITE carrying
 * `RequestSystemStatus` every `refreshIntervalMs` when the binding negotiated no session timer,
 * closes it with `MonitorStop` for every monitor and then BYE, and **recovers** when it is lost
 * (481, a failed refresh, a transport failure, or a BYE the application did not ask for):
 *
 * ```text
 *           open()                      loss (481, refresh failed, transport, peer BYE)
 *   (none) ───────▶ Open ─────────────────────────────────────────▶ Recovering
 *                    │  ▲                                               │   │
 *                    │  └──── re-opened, monitors restarted, re-synced ─┘   │ maxRecoveryAttempts
 *              close()                                                      ▼
 *                    └──────────────────────▶ Closed ◀──────────────── (failed)
 * ```
 *
 * While recovering, requests reject `UACSTA_ERR_RECOVERING`. Each monitor is a stable
 * {@link CstaMonitor} handle: after a recovery it carries the new `monitorCrossRefID` (the old one
 * is dead, digest §1.7) and its listeners keep receiving. The `recovered` notification tells the
 * application the gap in which events may have been missed, the monitors restarted, and the
 * re-sync results (`SnapshotDevice`, `GetForwarding`, `GetDoNotDisturb`, each optional: a peer
 * that answers `serviceNotSupported` gets `{ ok: false, notSupported: true }`).
 */

import type {
  CstaServiceMap,
  DeviceID,
  GetDoNotDisturbResponse,
  GetForwardingResponse,
  MonitorStart,
  SnapshotDeviceResponse,
} from '../csta/model/types.js';
import { isUaCstaError, UaCstaError } from '../errors.js';
import { UACSTA_LIMITS } from '../limits.js';
import { systemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { Emitter } from '../util/emitter.js';
import type { CstaChannel, CstaChannelFactory } from './channel.js';
import { CstaClient, positiveInt, type CstaClientOptions, type CstaEvent, type CstaRequestOptions } from './client.js';
import { createEventStream, type EventIterator } from './event-stream.js';
import { checkSystemStatus, requestSystemStatusBody } from './system-status.js';

/** Options of {@link CstaAssociation.open}. */
export interface CstaAssociationOptions extends Omit<CstaClientOptions, 'channel' | 'trace'> {
  /** Opens one session (for SIP: INVITE → 200 → ACK); called again to recover. */
  readonly open: CstaChannelFactory;
  /** Put `RequestSystemStatus` in the INVITE and require `normal` (digest §1.3). @defaultValue false */
  readonly requestSystemStatus?: boolean;
  /**
   * Interval of the re-INVITE with `RequestSystemStatus` when the binding does not refresh the
   * session itself (digest §1.7: Microsoft used 10 minutes). `Infinity` turns it off.
   * @defaultValue 600_000
   */
  readonly refreshIntervalMs?: number;
  /** Re-open the session when it is lost. @defaultValue true */
  readonly recover?: boolean;
  /** Treat a BYE from the peer as a loss to recover from (else it closes). @defaultValue true */
  readonly recoverOnPeerBye?: boolean;
  /** Re-open attempts before giving up with `UACSTA_ERR_RECOVERY_FAILED`. @defaultValue 5 */
  readonly maxRecoveryAttempts?: number;
  /** Wait before the second attempt; doubled for each further one. @defaultValue 1_000 */
  readonly recoveryInitialDelayMs?: number;
  /** Longest wait between attempts. @defaultValue 30_000 */
  readonly recoveryMaxDelayMs?: number;
  /** Which re-sync requests follow a recovery, per monitored device. @defaultValue all three */
  readonly resync?: { readonly snapshotDevice?: boolean; readonly getForwarding?: boolean; readonly getDoNotDisturb?: boolean };
  /** Most monitors on the association. @defaultValue 256 */
  readonly maxMonitors?: number;
  readonly signal?: AbortSignal;
  readonly trace?: (event: CstaAssociationTraceEvent) => void;
}

/** Defaults of {@link CstaAssociationOptions}. */
export const ASSOCIATION_DEFAULTS = {
  refreshIntervalMs: 600_000,
  maxRecoveryAttempts: 5,
  recoveryInitialDelayMs: 1_000,
  recoveryMaxDelayMs: 30_000,
  maxMonitors: UACSTA_LIMITS.maxMonitors,
} as const;

/** What the association reports through `trace`. */
export type CstaAssociationTraceEvent =
  | { readonly type: 'client'; readonly event: Parameters<NonNullable<CstaClientOptions['trace']>>[0] }
  | { readonly type: 'refreshed'; readonly status: number }
  | { readonly type: 'lost'; readonly reason: string }
  | { readonly type: 'attempt-failed'; readonly attempt: number; readonly error: unknown }
  | { readonly type: 'listener-error'; readonly error: unknown };

/** `Open`, `Recovering` while a lost session is re-opened, `Closed` at the end. */
export type CstaAssociationState = 'Open' | 'Recovering' | 'Closed';

/** The outcome of one re-sync request. */
export type ResyncResult<T> =
  | { readonly ok: true; readonly response: T }
  /** `notSupported`: the peer answered `serviceNotSupported` (or another CSTA "no"). */
  | { readonly ok: false; readonly notSupported: boolean; readonly error: unknown };

/** The re-sync of one monitored device after a recovery (digest §1.8). */
export interface DeviceResync {
  readonly device: DeviceID;
  readonly snapshotDevice?: ResyncResult<SnapshotDeviceResponse>;
  readonly getForwarding?: ResyncResult<GetForwardingResponse>;
  readonly getDoNotDisturb?: ResyncResult<GetDoNotDisturbResponse>;
}

/** One monitor as a recovery left it. */
export interface RestartedMonitor {
  readonly monitor: CstaMonitor;
  readonly previousCrossRefID: string;
  /** The new id; `undefined` when the peer refused the MonitorStart (`error` says why). */
  readonly monitorCrossRefID: string | undefined;
  readonly error?: unknown;
}

/** What the `recovered` notification carries. */
export interface CstaRecovery {
  /** Why the session was lost. */
  readonly reason: string;
  /**
   * Clock times (ms) between which events may have been missed: `from` is the last sign of life
   * of the old session (a response or an event), `to` is when the monitors were restarted.
   */
  readonly gap: { readonly from: number; readonly to: number };
  /** Attempts it took (1 = the first re-open worked). */
  readonly attempts: number;
  readonly monitors: readonly RestartedMonitor[];
  readonly resync: readonly DeviceResync[];
}

/** Notifications of a {@link CstaAssociation}. */
export interface CstaAssociationEvents {
  /** Every event the peer sent. */
  event: CstaEvent;
  /** The session was lost; recovery starts (when enabled). */
  lost: { readonly reason: string; readonly at: number };
  /** The session was re-opened; the application should reconcile its state. */
  recovered: CstaRecovery;
  /** Recovery gave up (`UACSTA_ERR_RECOVERY_FAILED`); the association is closed. */
  failed: { readonly error: UaCstaError; readonly attempts: number };
  /** The association ended. */
  closed: { readonly reason: string };
}

/** `Active`, `Restarting` during a recovery, `Stopped` once stopped or refused. */
export type CstaMonitorState = 'Active' | 'Restarting' | 'Stopped';

/**
 * A stable handle on one device monitor (digest §1.5). Its `monitorCrossRefID` changes when the
 * association recovers; its listeners and iterators do not.
 */
export class CstaMonitor {
  readonly id: string;
  readonly device: DeviceID;
  /** @internal */
  readonly request: MonitorStart;
  /** @internal */
  crossRefId: string;
  /** @internal */
  monitorState: CstaMonitorState = 'Active';
  readonly #listeners = new Set<(e: CstaEvent) => void>();
  readonly #ended = new Set<() => void>();
  readonly #owner: CstaAssociation;
  readonly #onError: (error: unknown) => void;

  /** @internal */
  constructor(id: string, request: MonitorStart, crossRefId: string, owner: CstaAssociation, onError: (error: unknown) => void) {
    this.id = id;
    this.request = request;
    this.device = 'deviceObject' in request.monitorObject ? request.monitorObject.deviceObject : '';
    this.crossRefId = crossRefId;
    this.#owner = owner;
    this.#onError = onError;
  }

  /** The peer's id of this monitor now (it changes after a recovery). */
  get monitorCrossRefID(): string {
    return this.crossRefId;
  }

  get state(): CstaMonitorState {
    return this.monitorState;
  }

  /** Adds a listener of this monitor's events; returns the function that removes it. */
  on(fn: (event: CstaEvent) => void): () => void {
    if (typeof fn !== 'function') throw new UaCstaError('ERR_INVALID_ARG', 'listener must be a function');
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** An async iterator over this monitor's events with a bounded buffer; ends when it stops. */
  events(options: { readonly maxBufferedEvents?: number; readonly signal?: AbortSignal } = {}): EventIterator<CstaEvent> {
    const max = positiveInt(options.maxBufferedEvents ?? UACSTA_LIMITS.maxBufferedEvents, 'maxBufferedEvents');
    const offs: (() => void)[] = [];
    const { sink, iterator } = createEventStream<CstaEvent>(max, () => offs.forEach((off) => off()), options.signal);
    if (this.monitorState === 'Stopped') {
      sink.end();
      return iterator;
    }
    offs.push(this.on((e) => sink.push(e)));
    const end = (): void => sink.end();
    this.#ended.add(end);
    offs.push(() => this.#ended.delete(end));
    return iterator;
  }

  /** Sends `MonitorStop` and forgets the monitor. Idempotent. */
  stop(): Promise<void> {
    return this.#owner.stopMonitor(this);
  }

  /** @internal */
  deliver(event: CstaEvent): void {
    for (const fn of [...this.#listeners]) {
      try {
        fn(event);
      } catch (error) {
        this.#onError(error);
      }
    }
  }

  /** @internal */
  end(): void {
    this.monitorState = 'Stopped';
    for (const fn of [...this.#ended]) fn();
    this.#ended.clear();
    this.#listeners.clear();
  }
}

type AnyRequest = { readonly type: keyof CstaServiceMap };

/** A channel that is already closed: the stand-in on which options are validated. */
const CLOSED_CHANNEL: CstaChannel = {
  state: 'Closed',
  send: () => Promise.reject(new UaCstaError('UACSTA_ERR_CLOSED', 'closed')),
  onRequest: () => () => {},
  onClosed: (listener) => {
    listener({ reason: 'closed' });
    return () => {};
  },
  close: () => Promise.resolve(),
};

/**
 * A long-lived CSTA association with refresh and recovery.
 *
 * @example
 * const assoc = await CstaAssociation.open({ open: (init) => openSipCstaChannel(ua, target, init), clock });
 * const line = await assoc.monitor('1001');
 * line.on((ev) => show(ev));
 * assoc.on('recovered', ({ gap, resync }) => reconcile(gap, resync));
 * await assoc.request({ type: 'MakeCall', callingDevice: '1001', calledDirectoryNumber: '1002' });
 * await assoc.close();                       // MonitorStop for each monitor, then BYE
 */
export class CstaAssociation {
  readonly #open: CstaChannelFactory;
  readonly #clientOptions: Omit<CstaClientOptions, 'channel'>;
  readonly #rss: boolean;
  readonly #refreshMs: number;
  readonly #recover: boolean;
  readonly #recoverOnPeerBye: boolean;
  readonly #maxAttempts: number;
  readonly #initialDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #resync: { snapshotDevice: boolean; getForwarding: boolean; getDoNotDisturb: boolean };
  readonly #maxMonitors: number;
  readonly #clock: Clock;
  readonly #trace: (event: CstaAssociationTraceEvent) => void;
  readonly #emitter: Emitter<CstaAssociationEvents>;
  readonly #monitors = new Map<string, CstaMonitor>();
  readonly #byRef = new Map<string, CstaMonitor>();
  #client: CstaClient;
  #offClient: (() => void)[] = [];
  #state: CstaAssociationState = 'Open';
  #lastAliveAt: number;
  #refreshTimer: TimerHandle | undefined;
  #backoffTimer: { handle: TimerHandle; wake: () => void } | undefined;
  #closing: Promise<void> | undefined;
  #nextMonitorId = 1;

  /** @internal Use {@link CstaAssociation.open}. */
  private constructor(options: CstaAssociationOptions, channel: CstaChannel) {
    const { open, requestSystemStatus, refreshIntervalMs, recover, recoverOnPeerBye, maxRecoveryAttempts,
      recoveryInitialDelayMs, recoveryMaxDelayMs, resync, maxMonitors, signal: _signal, trace, ...clientOptions } = options;
    this.#open = open;
    this.#clock = options.clock ?? systemClock;
    this.#trace = trace ?? (() => {});
    this.#clientOptions = { ...clientOptions, clock: this.#clock, trace: (event) => this.#safeTrace({ type: 'client', event }) };
    this.#rss = requestSystemStatus === true;
    this.#refreshMs = positiveInt(refreshIntervalMs ?? ASSOCIATION_DEFAULTS.refreshIntervalMs, 'refreshIntervalMs');
    this.#recover = recover ?? true;
    this.#recoverOnPeerBye = recoverOnPeerBye ?? true;
    this.#maxAttempts = positiveInt(maxRecoveryAttempts ?? ASSOCIATION_DEFAULTS.maxRecoveryAttempts, 'maxRecoveryAttempts', false);
    this.#initialDelayMs = positiveInt(recoveryInitialDelayMs ?? ASSOCIATION_DEFAULTS.recoveryInitialDelayMs, 'recoveryInitialDelayMs', false);
    this.#maxDelayMs = positiveInt(recoveryMaxDelayMs ?? ASSOCIATION_DEFAULTS.recoveryMaxDelayMs, 'recoveryMaxDelayMs', false);
    this.#resync = {
      snapshotDevice: resync?.snapshotDevice ?? true,
      getForwarding: resync?.getForwarding ?? true,
      getDoNotDisturb: resync?.getDoNotDisturb ?? true,
    };
    this.#maxMonitors = positiveInt(maxMonitors ?? ASSOCIATION_DEFAULTS.maxMonitors, 'maxMonitors');
    this.#emitter = new Emitter((error) => this.#safeTrace({ type: 'listener-error', error }));
    this.#lastAliveAt = this.#clock.now();
    // throws ERR_INVALID_ARG for a bad client option; open() builds one before any INVITE leaves
    this.#client = new CstaClient({ ...this.#clientOptions, channel });
    this.#bind(this.#client);
  }

  /**
   * Opens the association. Rejects as the factory does (a `SIP_ERR_REJECTED` for a non-2xx to
   * the INVITE, …) and `UACSTA_ERR_SYSTEM_STATUS` when `requestSystemStatus` is not answered
   * `normal`. No recovery happens for the first opening: the caller decides.
   */
  static async open(options: CstaAssociationOptions): Promise<CstaAssociation> {
    if (options === null || typeof options !== 'object' || typeof options.open !== 'function')
      throw new UaCstaError('ERR_INVALID_ARG', 'options.open must be a function that opens a CstaChannel');
    // every option is checked on a closed stand-in channel before the INVITE leaves
    new CstaAssociation({ ...options, refreshIntervalMs: Infinity }, CLOSED_CHANNEL).#finish('closed');
    const channel = await CstaAssociation.#connect(options.open, options.requestSystemStatus === true, options.edition, options.signal);
    try {
      return new CstaAssociation(options, channel);
    } catch (error) {
      await channel.close().catch(() => {});
      throw error;
    }
  }

  static async #connect(open: CstaChannelFactory, rss: boolean, edition: CstaClientOptions['edition'], signal?: AbortSignal): Promise<CstaChannel> {
    if (signal?.aborted) throw new UaCstaError('ERR_ABORTED', 'aborted before opening', { cause: signal.reason });
    const body = rss ? requestSystemStatusBody(edition) : undefined;
    const channel = await open({ ...(body === undefined ? {} : { body }), ...(signal === undefined ? {} : { signal }) });
    if (body !== undefined) {
      const problem = checkSystemStatus(channel.establishedBody);
      if (problem !== undefined) {
        await channel.close().catch(() => {});
        throw problem;
      }
    }
    return channel;
  }

  get state(): CstaAssociationState {
    return this.#state;
  }

  /** The client on the current session (a new one after each recovery). */
  get client(): CstaClient {
    return this.#client;
  }

  /** The monitors not stopped, in the order they were started. */
  get monitors(): readonly CstaMonitor[] {
    return [...this.#monitors.values()];
  }

  /**
   * Sends one CSTA request on the current session; see {@link CstaClient.request}. Rejects
   * `UACSTA_ERR_RECOVERING` while the session is being re-opened and `UACSTA_ERR_CLOSED` after.
   */
  request<K extends keyof CstaServiceMap>(
    req: CstaServiceMap[K]['request'] & { readonly type: K },
    options: CstaRequestOptions = {},
  ): Promise<CstaServiceMap[K]['response']> {
    if (this.#state === 'Recovering')
      return Promise.reject(new UaCstaError('UACSTA_ERR_RECOVERING', `<${String(req?.type)}> was not sent: the association is being re-opened`));
    if (this.#state === 'Closed') return Promise.reject(new UaCstaError('UACSTA_ERR_CLOSED', 'the CSTA association is closed'));
    return this.#send<K>(this.#client, req, options);
  }

  /**
   * Starts a device monitor (`MonitorStart`, digest §1.5) and returns its stable handle.
   * `extra` adds fields of the MonitorStart (`monitorType`, `requestedMonitorFilter`, …).
   */
  async monitor(device: DeviceID, extra: Omit<Partial<MonitorStart>, 'type' | 'monitorObject'> = {}): Promise<CstaMonitor> {
    if (device === undefined || device === null || device === '')
      throw new UaCstaError('ERR_INVALID_ARG', 'device must be a non-empty DeviceID');
    if (this.#monitors.size >= this.#maxMonitors)
      throw new UaCstaError('ERR_INVALID_STATE', `${this.#monitors.size} monitors are open; limit is ${this.#maxMonitors} (maxMonitors)`);
    const request: MonitorStart = { ...extra, type: 'MonitorStart', monitorObject: { deviceObject: device } };
    const res = await this.request(request);
    const monitor = new CstaMonitor(`m${this.#nextMonitorId++}`, request, res.monitorCrossRefID, this, (error) =>
      this.#safeTrace({ type: 'listener-error', error }),
    );
    this.#monitors.set(monitor.id, monitor);
    this.#byRef.set(monitor.crossRefId, monitor);
    return monitor;
  }

  /** @internal Used by {@link CstaMonitor.stop}. */
  async stopMonitor(monitor: CstaMonitor): Promise<void> {
    if (monitor.monitorState === 'Stopped' || !this.#monitors.has(monitor.id)) return;
    this.#monitors.delete(monitor.id);
    if (this.#byRef.get(monitor.crossRefId) === monitor) this.#byRef.delete(monitor.crossRefId);
    const ref = monitor.crossRefId;
    monitor.end();
    if (this.#state !== 'Open') return;
    await this.#send(this.#client, { type: 'MonitorStop', monitorCrossRefID: ref }).catch((error: unknown) => {
      this.#safeTrace({ type: 'attempt-failed', attempt: 0, error });
    });
  }

  /** Adds a listener of association notifications; returns the function that removes it. */
  on<K extends keyof CstaAssociationEvents & string>(type: K, fn: (value: CstaAssociationEvents[K]) => void): () => void {
    if (typeof fn !== 'function') throw new UaCstaError('ERR_INVALID_ARG', 'listener must be a function');
    return this.#emitter.on(type, fn);
  }

  /** All events, across recoveries, with a bounded buffer; ends when the association closes. */
  events(options: { readonly maxBufferedEvents?: number; readonly signal?: AbortSignal } = {}): EventIterator<CstaEvent> {
    const max = positiveInt(options.maxBufferedEvents ?? this.#clientOptions.maxBufferedEvents ?? UACSTA_LIMITS.maxBufferedEvents, 'maxBufferedEvents');
    const offs: (() => void)[] = [];
    const { sink, iterator } = createEventStream<CstaEvent>(max, () => offs.forEach((off) => off()), options.signal);
    if (this.#state === 'Closed') {
      sink.end();
      return iterator;
    }
    offs.push(this.#emitter.on('event', (e) => sink.push(e)));
    offs.push(this.#emitter.on('closed', () => sink.end()));
    return iterator;
  }

  /** `MonitorStop` for every monitor, then BYE (digest §1.8, Example 10). Idempotent. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closing = (async () => {
      const wasOpen = this.#state === 'Open';
      this.#state = 'Closed';
      this.#stopRefresh();
      this.#wakeBackoff();
      const client = this.#client;
      if (wasOpen) {
        for (const monitor of [...this.#monitors.values()]) {
          await this.#send(client, { type: 'MonitorStop', monitorCrossRefID: monitor.crossRefId }).catch(() => {});
        }
      }
      for (const off of this.#offClient.splice(0)) off();
      await client.close();
      this.#finish('closed');
    })();
    return this.#closing;
  }

  // ---- the current session -------------------------------------------------------------------

  #bind(client: CstaClient): void {
    for (const off of this.#offClient.splice(0)) off();
    this.#offClient.push(
      client.on('event', (event) => {
        this.#lastAliveAt = this.#clock.now();
        const ref = (event as { readonly monitorCrossRefID?: unknown }).monitorCrossRefID;
        if (typeof ref === 'string') this.#byRef.get(ref)?.deliver(event);
        this.#emitter.emit('event', event);
      }),
      client.on('closed', ({ reason }) => this.#lost(client, reason)),
    );
    this.#scheduleRefresh();
  }

  async #send<K extends keyof CstaServiceMap>(
    client: CstaClient,
    req: CstaServiceMap[K]['request'] & { readonly type: K },
    options: CstaRequestOptions = {},
  ): Promise<CstaServiceMap[K]['response']> {
    try {
      const res = (await client.request(req as never, options)) as CstaServiceMap[K]['response'];
      this.#lastAliveAt = this.#clock.now();
      return res;
    } catch (error) {
      if (isUaCstaError(error)) {
        const status = (error as { status?: unknown }).status;
        if (error.code === 'CSTA_ERR_SERVICE' || (error.code === 'SIP_ERR_REJECTED' && status !== 481)) this.#lastAliveAt = this.#clock.now();
        // the dialog is gone (RFC 5057 §5.1), or the transport under it
        if ((error.code === 'SIP_ERR_REJECTED' && status === 481) || error.code === 'SIP_ERR_TRANSPORT') {
          this.#lost(client, error.code === 'SIP_ERR_TRANSPORT' ? 'transport' : 'no-dialog');
        }
      }
      throw error;
    }
  }

  #scheduleRefresh(): void {
    this.#stopRefresh();
    const channel = this.#client.channel;
    if (this.#refreshMs === Infinity || channel.refresh === undefined || channel.refreshedByBinding === true) return;
    this.#refreshTimer = this.#clock.setTimeout(() => {
      this.#refreshTimer = undefined;
      void this.#refresh(this.#client);
    }, this.#refreshMs);
  }

  #stopRefresh(): void {
    if (this.#refreshTimer !== undefined) this.#clock.clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
  }

  /** A re-INVITE with RequestSystemStatus (digest §1.7, Example 10); a failure is a loss. */
  async #refresh(client: CstaClient): Promise<void> {
    if (this.#state !== 'Open' || client !== this.#client) return;
    const channel = client.channel;
    let failure: string | undefined;
    try {
      const res = await channel.refresh!(requestSystemStatusBody(this.#clientOptions.edition));
      this.#safeTrace({ type: 'refreshed', status: res.status });
      if (res.status === 491) {
        // glare (RFC 3261 §14.1): try again at the next interval
      } else if (res.status < 200 || res.status >= 300) failure = `refresh-failed (${res.status})`;
      else if (res.body.trim() !== '') {
        const problem = checkSystemStatus(res.body);
        if (problem !== undefined) failure = `refresh-failed (${problem.message})`;
      }
    } catch (error) {
      failure = `refresh-failed (${isUaCstaError(error) ? error.code : String(error)})`;
    }
    if (client !== this.#client || this.#state !== 'Open') return;
    if (failure !== undefined) this.#lost(client, failure);
    else {
      this.#lastAliveAt = this.#clock.now();
      this.#scheduleRefresh();
    }
  }

  // ---- loss and recovery ---------------------------------------------------------------------

  #lost(client: CstaClient, reason: string): void {
    if (client !== this.#client || this.#state !== 'Open') return;
    for (const off of this.#offClient.splice(0)) off();
    this.#stopRefresh();
    const at = this.#clock.now();
    this.#safeTrace({ type: 'lost', reason });
    // the old session may linger on our side (a 481 on a memory channel): end it quietly
    void client.close();
    const peerBye = reason === 'bye-received';
    if (reason === 'closed' || !this.#recover || (peerBye && !this.#recoverOnPeerBye)) {
      this.#state = 'Closed';
      this.#finish(reason);
      return;
    }
    this.#state = 'Recovering';
    for (const monitor of this.#monitors.values()) monitor.monitorState = 'Restarting';
    this.#emitter.emit('lost', { reason, at });
    void this.#recoverLoop(reason, this.#lastAliveAt);
  }

  async #recoverLoop(reason: string, gapFrom: number): Promise<void> {
    let lastError: unknown;
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      if (attempt > 1) await this.#sleep(Math.min(this.#initialDelayMs * 2 ** (attempt - 2), this.#maxDelayMs));
      if (this.#state !== 'Recovering') return;
      let client: CstaClient;
      try {
        const channel = await CstaAssociation.#connect(this.#open, this.#rss, this.#clientOptions.edition);
        client = new CstaClient({ ...this.#clientOptions, channel });
      } catch (error) {
        lastError = error;
        this.#safeTrace({ type: 'attempt-failed', attempt, error });
        continue;
      }
      if (this.#state !== 'Recovering') {
        await client.close();
        return;
      }
      try {
        const recovery = await this.#restart(client, reason, gapFrom, attempt);
        if (this.#state !== 'Recovering') {
          await client.close();
          return;
        }
        this.#client = client;
        this.#state = 'Open';
        this.#bind(client);
        this.#emitter.emit('recovered', recovery);
        return;
      } catch (error) {
        lastError = error;
        this.#safeTrace({ type: 'attempt-failed', attempt, error });
        await client.close();
      }
    }
    if (this.#state !== 'Recovering') return;
    const error = new UaCstaError(
      'UACSTA_ERR_RECOVERY_FAILED',
      `the CSTA association was lost (${reason}) and ${this.#maxAttempts} attempt${this.#maxAttempts === 1 ? '' : 's'} to re-open it failed`,
      { cause: lastError },
    );
    this.#state = 'Closed';
    this.#emitter.emit('failed', { error, attempts: this.#maxAttempts });
    this.#finish(reason);
  }

  /** Re-starts every monitor on the new session, then re-syncs their devices (digest §1.8). */
  async #restart(client: CstaClient, reason: string, gapFrom: number, attempts: number): Promise<CstaRecovery> {
    // events of the new session are routed while the restart runs, so none falls between
    const pending: CstaEvent[] = [];
    const offPending = client.on('event', (e) => pending.push(e));
    try {
      const monitors: RestartedMonitor[] = [];
      for (const monitor of [...this.#monitors.values()]) {
        const previousCrossRefID = monitor.crossRefId;
        try {
          const res = await client.request(monitor.request);
          this.#byRef.delete(previousCrossRefID);
          monitor.crossRefId = res.monitorCrossRefID;
          monitor.monitorState = 'Active';
          this.#byRef.set(res.monitorCrossRefID, monitor);
          monitors.push({ monitor, previousCrossRefID, monitorCrossRefID: res.monitorCrossRefID });
        } catch (error) {
          // a CSTA "no" for one device is reported, not retried; a lost session fails the attempt
          if (!isUaCstaError(error) || error.code !== 'CSTA_ERR_SERVICE') throw error;
          this.#byRef.delete(previousCrossRefID);
          this.#monitors.delete(monitor.id);
          monitor.end();
          monitors.push({ monitor, previousCrossRefID, monitorCrossRefID: undefined, error });
        }
      }
      const to = this.#clock.now();
      const resync: DeviceResync[] = [];
      for (const m of monitors) {
        if (m.monitorCrossRefID === undefined) continue;
        const device = m.monitor.device;
        const entry: { -readonly [K in keyof DeviceResync]: DeviceResync[K] } = { device };
        if (this.#resync.snapshotDevice) entry.snapshotDevice = await resyncOne(client, { type: 'SnapshotDevice', snapshotObject: device });
        if (this.#resync.getForwarding) entry.getForwarding = await resyncOne(client, { type: 'GetForwarding', device });
        if (this.#resync.getDoNotDisturb) entry.getDoNotDisturb = await resyncOne(client, { type: 'GetDoNotDisturb', device });
        resync.push(entry);
      }
      offPending();
      for (const event of pending) {
        const ref = (event as { readonly monitorCrossRefID?: unknown }).monitorCrossRefID;
        if (typeof ref === 'string') this.#byRef.get(ref)?.deliver(event);
        this.#emitter.emit('event', event);
      }
      this.#lastAliveAt = this.#clock.now();
      return { reason, gap: { from: gapFrom, to }, attempts, monitors, resync };
    } finally {
      offPending();
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        this.#backoffTimer = undefined;
        resolve();
      };
      this.#backoffTimer = { handle: this.#clock.setTimeout(wake, ms), wake };
    });
  }

  #wakeBackoff(): void {
    const t = this.#backoffTimer;
    if (t === undefined) return;
    this.#clock.clearTimeout(t.handle);
    t.wake();
  }

  #finish(reason: string): void {
    for (const monitor of this.#monitors.values()) monitor.end();
    this.#monitors.clear();
    this.#byRef.clear();
    this.#emitter.emit('closed', { reason });
    this.#emitter.clear();
  }

  #safeTrace(event: CstaAssociationTraceEvent): void {
    try {
      this.#trace(event);
    } catch {
      // a trace sink that throws must not break protocol flow
    }
  }
}

async function resyncOne<K extends 'SnapshotDevice' | 'GetForwarding' | 'GetDoNotDisturb'>(
  client: CstaClient,
  req: CstaServiceMap[K]['request'] & AnyRequest & { readonly type: K },
): Promise<ResyncResult<CstaServiceMap[K]['response']>> {
  try {
    return { ok: true, response: (await client.request(req as never)) as CstaServiceMap[K]['response'] };
  } catch (error) {
    const notSupported = isUaCstaError(error) && error.code === 'CSTA_ERR_SERVICE';
    if (!notSupported && isUaCstaError(error) && (error.code === 'UACSTA_ERR_CLOSED' || error.code === 'SIP_ERR_TRANSPORT')) throw error;
    return { ok: false, notSupported, error };
  }
}
