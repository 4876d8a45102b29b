/**
 * Time as an injected dependency: the system clock for production, a manual clock for tests.
 *
 * @remarks
 * Nothing under `src/` reads the time or schedules work except through a {@link Clock}
 * (STYLE §8). {@link systemClock} is the only user of the global timers; tests pass
 * {@link manualClock} and move time with `tick(ms)`, so every RFC 3261 timer can be asserted to
 * the millisecond without waiting.
 */

import { UaCstaError } from '../errors.js';

declare const timerHandleBrand: unique symbol;

/** An opaque handle returned by {@link Clock.setTimeout}; only good for `clearTimeout`. */
export type TimerHandle = { readonly [timerHandleBrand]: true };

/** A source of time and one-shot timers. */
export interface Clock {
  /** Milliseconds on a monotonic scale. Only differences are meaningful. */
  now(): number;
  /** Runs `fn` once, `ms` milliseconds from now (at the earliest). */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer. Clearing a timer that already ran or was cleared does nothing. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The clock of the host: `performance.now()` and the global `setTimeout`.
 *
 * @remarks
 * `performance.now()` is monotonic, unlike `Date.now()`, which jumps when the wall clock is
 * adjusted; retransmission timers only need durations. Both globals exist in Node 20 and in
 * browsers.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms) as unknown as TimerHandle,
  clearTimeout: (handle) => {
    globalThis.clearTimeout(handle as unknown as ReturnType<typeof globalThis.setTimeout>);
  },
};

/** A {@link Clock} that moves only when told to; for tests. */
export interface ManualClock extends Clock {
  /**
   * Advances time by `ms`, running every timer that falls due, in time order (ties in the order
   * they were scheduled). Timers scheduled by a running timer run in the same call when they
   * fall due within it; `now()` reads the due time of the timer being run.
   */
  tick(ms: number): void;
  /** How many timers are scheduled and not yet run or cleared. */
  pending(): number;
}

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  /** Position in the heap; -1 once run or cleared. */
  index: number;
}

/**
 * Creates a {@link ManualClock} that starts at `startMs` (default 0).
 *
 * @example
 * const clock = manualClock();
 * clock.setTimeout(() => fired.push(clock.now()), 500);
 * clock.tick(1_000);      // fired: [500]
 */
export function manualClock(startMs = 0): ManualClock {
  let now = startMs;
  let seq = 0;
  const heap: ManualTimer[] = [];

  const before = (a: ManualTimer, b: ManualTimer): boolean =>
    a.at < b.at || (a.at === b.at && a.seq < b.seq);

  const place = (t: ManualTimer, i: number): void => {
    heap[i] = t;
    t.index = i;
  };

  const siftUp = (i: number): void => {
    const t = heap[i];
    if (t === undefined) return;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p];
      if (parent === undefined || !before(t, parent)) break;
      place(parent, i);
      i = p;
    }
    place(t, i);
  };

  const siftDown = (i: number): void => {
    const t = heap[i];
    if (t === undefined) return;
    for (;;) {
      const l = 2 * i + 1;
      const left = heap[l];
      if (left === undefined) break;
      const right = heap[l + 1];
      const [c, child] = right !== undefined && before(right, left) ? [l + 1, right] : [l, left];
      if (!before(child, t)) break;
      place(child, i);
      i = c;
    }
    place(t, i);
  };

  const remove = (t: ManualTimer): void => {
    const i = t.index;
    t.index = -1;
    const last = heap.pop();
    if (last === undefined || last === t) return;
    place(last, i);
    siftDown(i);
    siftUp(last.index);
  };

  return {
    now: () => now,
    setTimeout(fn, ms) {
      const t: ManualTimer = { at: now + Math.max(0, ms), seq: seq++, fn, index: heap.length };
      heap.push(t);
      siftUp(t.index);
      return t as unknown as TimerHandle;
    },
    clearTimeout(handle) {
      const t = handle as unknown as ManualTimer;
      if (t.index >= 0 && heap[t.index] === t) remove(t);
    },
    tick(ms) {
      if (!(ms >= 0)) throw new UaCstaError('ERR_INVALID_ARG', `tick(ms) needs ms >= 0; got ${ms}`);
      const until = now + ms;
      for (;;) {
        const first = heap[0];
        if (first === undefined || first.at > until) break;
        remove(first);
        now = first.at;
        first.fn();
      }
      now = until;
    },
    pending: () => heap.length,
  };
}
