/**
 * Session timers (RFC 4028): the negotiation of `Session-Expires` / `Min-SE` / `refresher`, and
 * one dialog's refresh or expiry timer; plus a plain periodic re-INVITE for peers that do not
 * support timers.
 *
 * @remarks
 * The negotiation helpers are pure. {@link SessionTimer} holds one timer on the injected clock
 * and calls back into the UA core ({@link SessionTimerHost}) to send a refresh or a BYE; it sends
 * nothing itself. Roles, as RFC 4028 names them: the refresher sends a refresh (UPDATE or
 * re-INVITE) when half the interval has passed (§7.4, §9); the other side sends BYE when no
 * refresh came by the expiry minus the minimum of 32 seconds and a third of the interval (§10).
 */

import { UaCstaError } from '../../errors.js';
import type { Clock, TimerHandle } from '../../util/clock.js';
import type { SipBodyInit } from '../message/serialize.js';
import type { SipMessage, SipRequest, SipResponse } from '../message/types.js';

/** The `refresher` parameter: which side of the transaction refreshes. */
export type RefresherParam = 'uac' | 'uas';

/** Session timer settings of a user agent. */
export interface SessionTimerOptions {
  /** The interval we ask for (UAC) or grant at most (UAS), in seconds. @defaultValue 1800 */
  readonly expiresSec?: number;
  /** The smallest interval we accept; smaller ones are answered 422. @defaultValue 90 */
  readonly minSeSec?: number;
  /**
   * As UAC: the `refresher` put in the INVITE's Session-Expires (`undefined`: left to the UAS).
   * As UAS: the choice when the request leaves it open and the UAC supports timers.
   * @defaultValue undefined (UAC) / 'uac' (UAS)
   */
  readonly refresher?: RefresherParam;
  /** The refresh request. @defaultValue 'UPDATE' */
  readonly method?: 'UPDATE' | 'INVITE';
}

/** A re-INVITE sent at a fixed interval when no session timer was negotiated. */
export interface PeriodicReinviteOptions {
  readonly intervalSec: number;
  readonly body?: SipBodyInit;
  /** Required with a body. */
  readonly contentType?: string;
}

/** Defaults of {@link SessionTimerOptions}. */
export const SESSION_TIMER_DEFAULTS = {
  expiresSec: 1800,
  minSeSec: 90,
  method: 'UPDATE',
  uasRefresher: 'uac',
} as const;

/** The smallest interval accepted in settings (RFC 4028 recommends 90 s on the wire; tests use less). */
const ABSOLUTE_MIN_SE = 1;

/** A Session-Expires header value. */
export interface SessionExpires {
  readonly deltaSec: number;
  readonly refresher: RefresherParam | undefined;
}

function firstValue(message: SipMessage, name: string): string | undefined {
  return message.headers[name]?.[0];
}

function readDelta(s: string): number | undefined {
  const t = s.trim();
  if (!/^\d{1,10}$/.test(t)) return undefined;
  return Number(t);
}

/** The Session-Expires of a message (compact `x` included); `undefined` when absent or bad. */
export function readSessionExpires(message: SipMessage): SessionExpires | undefined {
  const v = firstValue(message, 'session-expires');
  if (v === undefined) return undefined;
  const [delta, ...params] = v.split(';');
  const deltaSec = readDelta(delta ?? '');
  if (deltaSec === undefined) return undefined;
  let refresher: RefresherParam | undefined;
  for (const p of params) {
    const m = /^\s*refresher\s*=\s*(uac|uas)\s*$/i.exec(p);
    if (m !== null) refresher = m[1]!.toLowerCase() as RefresherParam;
  }
  return { deltaSec, refresher };
}

/** The Min-SE of a message, in seconds; `undefined` when absent or bad. */
export function readMinSe(message: SipMessage): number | undefined {
  const v = firstValue(message, 'min-se');
  return v === undefined ? undefined : readDelta(v.split(';')[0] ?? '');
}

/** Whether `name` (Supported, Require) lists the option tag `tag`. */
export function hasOptionTag(message: SipMessage, name: string, tag: string): boolean {
  for (const v of message.headers[name] ?? []) {
    for (const t of v.split(',')) if (t.trim().toLowerCase() === tag) return true;
  }
  return false;
}

/** Whether the sender of `message` supports session timers (`Supported: timer` or `Require`). */
export function supportsTimer(message: SipMessage): boolean {
  return hasOptionTag(message, 'supported', 'timer') || hasOptionTag(message, 'require', 'timer');
}

/** How long before the expiry the side that does not refresh sends BYE: min(32 s, I/3) (§10). */
export function byeMarginMs(intervalSec: number): number {
  return Math.min(32, intervalSec / 3) * 1000;
}

/** Settings with defaults, checked. */
export interface ResolvedSessionTimer {
  readonly expiresSec: number;
  readonly minSeSec: number;
  readonly refresher: RefresherParam | undefined;
  readonly method: 'UPDATE' | 'INVITE';
}

/** @throws `ERR_INVALID_ARG` for a bad interval or method. */
export function resolveSessionTimer(o: SessionTimerOptions): ResolvedSessionTimer {
  const expiresSec = o.expiresSec ?? SESSION_TIMER_DEFAULTS.expiresSec;
  const minSeSec = o.minSeSec ?? SESSION_TIMER_DEFAULTS.minSeSec;
  const ok = (n: number): boolean => Number.isInteger(n) && n >= ABSOLUTE_MIN_SE && n < 2 ** 31;
  if (!ok(expiresSec) || !ok(minSeSec) || expiresSec < minSeSec) {
    throw new UaCstaError(
      'ERR_INVALID_ARG',
      `session timer: expiresSec (${String(expiresSec)}) and minSeSec (${String(minSeSec)}) must be positive integers, expiresSec >= minSeSec`,
    );
  }
  const method = o.method ?? SESSION_TIMER_DEFAULTS.method;
  if (method !== 'UPDATE' && method !== 'INVITE')
    throw new UaCstaError('ERR_INVALID_ARG', `session timer method must be UPDATE or INVITE`);
  return { expiresSec, minSeSec, refresher: o.refresher, method };
}

/** The headers a UAC puts on an initial INVITE to offer a session timer (§7.1). */
export function offerHeaders(
  o: ResolvedSessionTimer,
  expiresSec: number = o.expiresSec,
  minSeSec: number = o.minSeSec,
): Record<string, string> {
  const se = o.refresher === undefined ? `${expiresSec}` : `${expiresSec};refresher=${o.refresher}`;
  return { 'Session-Expires': se, 'Min-SE': `${minSeSec}` };
}

/** What a UAS does with a session timer request (§9). */
export type UasSessionDecision =
  /** Neither side's request nor support asks for a timer. */
  | { readonly kind: 'none' }
  /** The interval is below our Min-SE: answer 422 with this Min-SE. */
  | { readonly kind: 'too-small'; readonly minSeSec: number }
  | {
      readonly kind: 'timer';
      readonly intervalSec: number;
      /** Whether we (the UAS of this transaction) refresh. */
      readonly weRefresh: boolean;
      /** Headers of the 2xx: Session-Expires with refresher, and Require: timer when supported. */
      readonly headers: Record<string, string>;
    };

/**
 * The UAS side of the negotiation for an INVITE or UPDATE (§9). `current` is the role we have
 * in a running session (a refresh without a refresher parameter keeps it).
 */
export function answerSessionTimer(
  request: SipRequest,
  o: ResolvedSessionTimer,
  current?: { readonly intervalSec: number; readonly weRefresh: boolean },
): UasSessionDecision {
  const se = readSessionExpires(request);
  const supported = supportsTimer(request);
  if (se !== undefined && se.deltaSec < o.minSeSec)
    return { kind: 'too-small', minSeSec: o.minSeSec };
  if (se === undefined && !supported && current === undefined) return { kind: 'none' };
  const floor = Math.max(o.minSeSec, readMinSe(request) ?? 0);
  let interval: number;
  if (se !== undefined) interval = Math.min(se.deltaSec, Math.max(o.expiresSec, floor));
  else interval = current?.intervalSec ?? Math.max(o.expiresSec, floor);
  let refresher: RefresherParam;
  if (!supported) refresher = 'uas';
  else if (se?.refresher !== undefined) refresher = se.refresher;
  else if (current !== undefined) refresher = current.weRefresh ? 'uas' : 'uac';
  else refresher = o.refresher ?? SESSION_TIMER_DEFAULTS.uasRefresher;
  const headers: Record<string, string> = {
    'Session-Expires': `${interval};refresher=${refresher}`,
  };
  if (supported) headers['Require'] = 'timer';
  return { kind: 'timer', intervalSec: interval, weRefresh: refresher === 'uas', headers };
}

/** The UAC side of a 2xx (§7.2): the interval and whether we refresh; `undefined`: no timer. */
export function acceptSessionTimer(
  response: SipResponse,
): { readonly intervalSec: number; readonly weRefresh: boolean } | undefined {
  const se = readSessionExpires(response);
  if (se === undefined || se.deltaSec === 0) return undefined;
  return { intervalSec: se.deltaSec, weRefresh: se.refresher !== 'uas' };
}

/** What a {@link SessionTimer} asks of the UA core. */
export interface SessionTimerHost {
  /** Sends an in-dialog request (the UA adds the session timer headers) and resolves its 2xx. */
  refresh(method: 'UPDATE' | 'INVITE', body?: SipBodyInit, contentType?: string): Promise<unknown>;
  /** No refresh came in time: end the dialog with BYE. */
  expired(): void;
  /** Our refresh failed: end the dialog with BYE (when it has not ended already). */
  refreshFailed(error: unknown): void;
}

/** The state of a dialog's timer. */
export type SessionTimerMode = 'off' | 'refresher' | 'refreshee' | 'periodic';

/**
 * The session timer of one dialog.
 *
 * ```text
 *   off ──start(I, we)──▶ refresher (refresh at I/2) ─┐
 *    ▲                    refreshee (BYE at I − min(32, I/3))
 *    │                    periodic  (re-INVITE every interval)
 *    └────────stop()──────────────────────────────────┘
 * ```
 */
export class SessionTimer {
  readonly #clock: Clock;
  readonly #host: SessionTimerHost;
  readonly #settings: ResolvedSessionTimer | undefined;
  readonly #periodic: PeriodicReinviteOptions | undefined;
  #mode: SessionTimerMode = 'off';
  #intervalSec = 0;
  #timer: TimerHandle | undefined;
  #inFlight = false;

  constructor(
    clock: Clock,
    host: SessionTimerHost,
    settings: ResolvedSessionTimer | undefined,
    periodic: PeriodicReinviteOptions | undefined,
  ) {
    this.#clock = clock;
    this.#host = host;
    this.#settings = settings;
    this.#periodic = periodic;
  }

  get mode(): SessionTimerMode {
    return this.#mode;
  }

  /** The negotiated interval in seconds; 0 when off. */
  get intervalSec(): number {
    return this.#mode === 'refresher' || this.#mode === 'refreshee' ? this.#intervalSec : 0;
  }

  /** The settings, when session timers are on for this UA. */
  get settings(): ResolvedSessionTimer | undefined {
    return this.#settings;
  }

  /** (Re)starts as refresher or refreshee with interval `intervalSec`. */
  start(intervalSec: number, weRefresh: boolean): void {
    this.#clear();
    this.#intervalSec = intervalSec;
    this.#mode = weRefresh ? 'refresher' : 'refreshee';
    const ms = weRefresh
      ? (intervalSec * 1000) / 2
      : intervalSec * 1000 - byeMarginMs(intervalSec);
    this.#timer = this.#clock.setTimeout(() => this.#fire(), ms);
  }

  /** No timer negotiated: starts the periodic re-INVITE when one is configured, else off. */
  startWithoutTimer(): void {
    this.#clear();
    this.#mode = 'off';
    const p = this.#periodic;
    if (p === undefined) return;
    this.#mode = 'periodic';
    this.#intervalSec = p.intervalSec;
    this.#timer = this.#clock.setTimeout(() => this.#fire(), p.intervalSec * 1000);
  }

  /** Stops every timer (the dialog ended). */
  stop(): void {
    this.#clear();
    this.#mode = 'off';
  }

  /**
   * Headers for an UPDATE or re-INVITE we send while a timer runs (§7.4): the current interval
   * and who refreshes, as seen from this transaction (we are its UAC).
   */
  requestHeaders(): Record<string, string> {
    const s = this.#settings;
    if (s === undefined) return {};
    const headers: Record<string, string> = { Supported: 'timer', 'Min-SE': `${s.minSeSec}` };
    if (this.#mode === 'refresher' || this.#mode === 'refreshee') {
      const who = this.#mode === 'refresher' ? 'uac' : 'uas';
      headers['Session-Expires'] = `${this.#intervalSec};refresher=${who}`;
    } else headers['Session-Expires'] = `${s.expiresSec}`;
    return headers;
  }

  /** The 2xx to a refresh we sent: restart with what it says, or without a timer. */
  onRefreshAnswered(response: SipResponse): void {
    if (this.#settings === undefined) {
      if (this.#mode === 'periodic') this.startWithoutTimer();
      return;
    }
    const t = acceptSessionTimer(response);
    if (t === undefined) this.startWithoutTimer();
    else this.start(t.intervalSec, t.weRefresh);
  }

  #clear(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #fire(): void {
    this.#timer = undefined;
    switch (this.#mode) {
      case 'refreshee':
        this.#mode = 'off';
        this.#host.expired();
        return;
      case 'refresher':
        void this.#refresh(this.#settings?.method ?? 'UPDATE');
        return;
      case 'periodic':
        void this.#refresh('INVITE', this.#periodic?.body, this.#periodic?.contentType);
        return;
      case 'off':
        return;
    }
  }

  async #refresh(
    method: 'UPDATE' | 'INVITE',
    body?: SipBodyInit,
    contentType?: string,
  ): Promise<void> {
    if (this.#inFlight) return;
    this.#inFlight = true;
    try {
      try {
        await this.#host.refresh(method, body, contentType);
      } catch (error) {
        // §7.4 / §9: a 422 names the smallest interval the peer accepts; retry once with it
        const minSe = tooSmall(error);
        if (minSe === undefined || this.#mode !== 'refresher') throw error;
        this.#intervalSec = Math.max(this.#intervalSec, minSe);
        await this.#host.refresh(method, body, contentType);
      }
    } catch (error) {
      this.#clear();
      this.#mode = 'off';
      this.#host.refreshFailed(error);
    } finally {
      this.#inFlight = false;
    }
  }
}

/** The Min-SE of a 422 carried by a rejection, if it is one. */
function tooSmall(error: unknown): number | undefined {
  const response = (error as { response?: SipResponse } | undefined)?.response;
  if (response?.status !== 422) return undefined;
  return readMinSe(response);
}
