/**
 * The RFC 3261 transaction timers, named with the RFC's letters.
 *
 * @remarks
 * RFC 3261 §17.1.1.1, §17.1.2.2, §17.2.1, §17.2.2 and Table 4 (Appendix A); Timers L and M from
 * RFC 6026 §8.11. T1, T2 and T4 are configurable; every other timer derives from them. The timers
 * that only wait for retransmissions from the network (D, I, J, K) are zero on a reliable
 * transport, and the retransmission timers (A, E, G) are not run there at all; both are decided
 * per transaction from the transport it uses, never globally.
 */

import { UaCstaError } from '../../errors.js';

/** The base values of the transaction timers, in milliseconds. */
export interface TimerOptions {
  /**
   * RTT estimate (RFC 3261 §17.1.1.1).
   * @defaultValue 500
   */
  readonly T1?: number;
  /**
   * Longest retransmission interval for non-INVITE requests and INVITE responses.
   * @defaultValue 4000
   */
  readonly T2?: number;
  /**
   * Longest time a message stays in the network.
   * @defaultValue 5000
   */
  readonly T4?: number;
  /**
   * How long an INVITE server transaction waits for the TU's first response before it sends a
   * 100 (Trying) itself (RFC 3261 §17.2.1: "unless it knows that the TU will generate a
   * provisional or final response within 200 ms"). `0` sends it at once; `Infinity` never.
   * @defaultValue 200
   */
  readonly trying100Ms?: number;
}

/** Defaults of {@link TimerOptions} (RFC 3261 Table 4). */
export const TIMER_DEFAULTS = { T1: 500, T2: 4_000, T4: 5_000, trying100Ms: 200 } as const;

/** The durations one transaction uses, for its transport, in milliseconds. */
export interface TransactionTimers {
  readonly reliable: boolean;
  readonly T1: number;
  readonly T2: number;
  readonly T4: number;
  /** INVITE request retransmit, initially T1, doubling without cap; unreliable only. */
  readonly timerA: number;
  /** INVITE transaction timeout, 64*T1. */
  readonly timerB: number;
  /** Wait for response retransmits: 32 s or more on unreliable transports, 0 on reliable. */
  readonly timerD: number;
  /** Non-INVITE request retransmit, initially T1, doubling up to T2; unreliable only. */
  readonly timerE: number;
  /** Non-INVITE transaction timeout, 64*T1. */
  readonly timerF: number;
  /** INVITE response retransmit, initially T1, doubling up to T2; unreliable only. */
  readonly timerG: number;
  /** Wait for ACK receipt, 64*T1. */
  readonly timerH: number;
  /** Wait for ACK retransmits: T4 on unreliable transports, 0 on reliable. */
  readonly timerI: number;
  /** Wait for non-INVITE request retransmits: 64*T1 on unreliable transports, 0 on reliable. */
  readonly timerJ: number;
  /** Wait for response retransmits: T4 on unreliable transports, 0 on reliable. */
  readonly timerK: number;
  /** Wait for accepted INVITE request retransmits (RFC 6026), 64*T1. */
  readonly timerL: number;
  /** Wait for retransmissions of 2xx to INVITE (RFC 6026), 64*T1. */
  readonly timerM: number;
  /** Delay before the automatic 100 (Trying) to an INVITE; see {@link TimerOptions.trying100Ms}. */
  readonly trying100Ms: number;
}

/** The timer sets for both kinds of transport, resolved once. */
export interface TimerSets {
  readonly unreliable: TransactionTimers;
  readonly reliable: TransactionTimers;
}

/**
 * Timer D's floor on unreliable transports.
 *
 * @remarks
 * RFC 3261 Table 4: "Timer D > 32s for UDP". The server's T1 is unknown, so the floor holds even
 * when a smaller local T1 is configured.
 */
const TIMER_D_MIN_MS = 32_000;

const positive = (v: number, name: string): number => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new UaCstaError(
      'ERR_INVALID_ARG',
      `${name} must be a finite number of ms above 0; got ${String(v)}`,
    );
  }
  return v;
};

/**
 * Validates {@link TimerOptions} and derives every timer for both kinds of transport.
 *
 * @throws `ERR_INVALID_ARG` when a value is not a positive finite number, or T2 < T1.
 *
 * @example
 * const { unreliable } = resolveTimers({});
 * unreliable.timerF;   // 32_000
 */
export function resolveTimers(options: TimerOptions = {}): TimerSets {
  const T1 = positive(options.T1 ?? TIMER_DEFAULTS.T1, 'T1');
  const T2 = positive(options.T2 ?? TIMER_DEFAULTS.T2, 'T2');
  const T4 = positive(options.T4 ?? TIMER_DEFAULTS.T4, 'T4');
  const trying100Ms = options.trying100Ms ?? TIMER_DEFAULTS.trying100Ms;
  if (typeof trying100Ms !== 'number' || Number.isNaN(trying100Ms) || trying100Ms < 0) {
    throw new UaCstaError(
      'ERR_INVALID_ARG',
      `trying100Ms must be 0, a positive number of ms or Infinity; got ${String(trying100Ms)}`,
    );
  }
  if (T2 < T1)
    throw new UaCstaError('ERR_INVALID_ARG', `T2 (${T2} ms) must not be below T1 (${T1} ms)`);
  const make = (reliable: boolean): TransactionTimers => ({
    reliable,
    T1,
    T2,
    T4,
    timerA: T1,
    timerB: 64 * T1,
    timerD: reliable ? 0 : Math.max(TIMER_D_MIN_MS, 64 * T1),
    timerE: T1,
    timerF: 64 * T1,
    timerG: T1,
    timerH: 64 * T1,
    timerI: reliable ? 0 : T4,
    timerJ: reliable ? 0 : 64 * T1,
    timerK: reliable ? 0 : T4,
    timerL: 64 * T1,
    timerM: 64 * T1,
    trying100Ms,
  });
  return { unreliable: make(false), reliable: make(true) };
}
