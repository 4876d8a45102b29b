import { describe, expect, it } from 'vitest';
import { manualClock } from '../../../src/util/clock.js';
import { createTimerQueue } from '../../../src/util/timer-queue.js';

describe('createTimerQueue', () => {
  it('runs every timer at its exact deadline on a manual clock', () => {
    const clock = manualClock();
    const q = createTimerQueue(clock);
    const fired: Array<[number, number]> = [];
    for (const ms of [32_000, 500, 5_000, 1_000, 500, 4_000])
      q.setTimeout(() => fired.push([ms, clock.now()]), ms);
    clock.tick(40_000);
    expect(fired).toEqual([
      [500, 500],
      [500, 500],
      [1_000, 1_000],
      [4_000, 4_000],
      [5_000, 5_000],
      [32_000, 32_000],
    ]);
    expect(q.size()).toBe(0);
  });

  it('holds one timer of the underlying clock however many timers it queues', () => {
    const clock = manualClock();
    const q = createTimerQueue(clock);
    for (let i = 0; i < 10_000; i++) {
      clock.tick(1);
      q.setTimeout(() => {}, i % 2 === 0 ? 32_000 : 20_000);
    }
    expect(q.size()).toBe(10_000);
    expect(clock.pending()).toBe(1);
    clock.tick(32_000);
    expect(q.size()).toBe(0);
    expect(clock.pending()).toBe(0);
  });

  it('runs timers set by a running timer in time order, including zero-delay ones', () => {
    const clock = manualClock();
    const q = createTimerQueue(clock);
    const fired: string[] = [];
    q.setTimeout(() => {
      fired.push(`E@${clock.now()}`);
      q.setTimeout(() => fired.push(`zero@${clock.now()}`), 0);
      q.setTimeout(() => fired.push(`E2@${clock.now()}`), 1_000);
    }, 500);
    q.setTimeout(() => fired.push(`F@${clock.now()}`), 1_200);
    clock.tick(2_000);
    expect(fired).toEqual(['E@500', 'zero@500', 'F@1200', 'E2@1500']);
  });

  it('rearms the underlying timer when an earlier deadline arrives', () => {
    const clock = manualClock();
    const q = createTimerQueue(clock);
    const fired: number[] = [];
    q.setTimeout(() => fired.push(clock.now()), 32_000);
    clock.tick(100);
    q.setTimeout(() => fired.push(clock.now()), 200);
    clock.tick(32_000);
    expect(fired).toEqual([300, 32_000]);
  });

  it('never runs a cancelled timer and skips over it without firing early work', () => {
    const clock = manualClock();
    const q = createTimerQueue(clock);
    const fired: number[] = [];
    const first = q.setTimeout(() => fired.push(1), 500);
    q.setTimeout(() => fired.push(clock.now()), 1_500);
    q.clearTimeout(first);
    q.clearTimeout(first);
    expect(q.size()).toBe(1);
    clock.tick(2_000);
    expect(fired).toEqual([1_500]);
  });

  it('clear() cancels everything and releases the underlying timer', () => {
    const clock = manualClock();
    const q = createTimerQueue(clock);
    const fired: number[] = [];
    for (let i = 0; i < 10; i++) q.setTimeout(() => fired.push(i), 100 * i);
    q.clear();
    expect(q.size()).toBe(0);
    expect(clock.pending()).toBe(0);
    clock.tick(10_000);
    expect(fired).toEqual([]);
  });

  it('keeps running the remaining timers when one of them throws', () => {
    const clock = manualClock();
    const q = createTimerQueue(clock);
    const fired: number[] = [];
    q.setTimeout(() => {
      throw new Error('listener bug');
    }, 100);
    q.setTimeout(() => fired.push(clock.now()), 100);
    q.setTimeout(() => fired.push(clock.now()), 200);
    expect(() => clock.tick(100)).toThrow('listener bug');
    clock.tick(1_000);
    expect(fired).toEqual([100, 200]);
  });
});
