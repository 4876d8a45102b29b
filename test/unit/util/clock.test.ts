import { describe, expect, it } from 'vitest';
import { manualClock } from '../../../src/util/clock.js';

describe('manualClock', () => {
  it('runs due timers in time order and leaves later ones pending', () => {
    const clock = manualClock();
    const fired: Array<[string, number]> = [];
    clock.setTimeout(() => fired.push(['b', clock.now()]), 300);
    clock.setTimeout(() => fired.push(['a', clock.now()]), 100);
    clock.setTimeout(() => fired.push(['c', clock.now()]), 900);
    clock.tick(500);
    expect(fired).toEqual([
      ['a', 100],
      ['b', 300],
    ]);
    expect(clock.now()).toBe(500);
    expect(clock.pending()).toBe(1);
  });

  it('runs timers due at the same instant in the order they were scheduled', () => {
    const clock = manualClock();
    const fired: string[] = [];
    for (const name of ['x', 'y', 'z']) clock.setTimeout(() => fired.push(name), 50);
    clock.tick(50);
    expect(fired).toEqual(['x', 'y', 'z']);
  });

  it('runs timers scheduled by a running timer within the same tick when they fall due', () => {
    const clock = manualClock();
    const fired: number[] = [];
    const again = (): void => {
      fired.push(clock.now());
      if (fired.length < 4) clock.setTimeout(again, 100);
    };
    clock.setTimeout(again, 100);
    clock.tick(350);
    expect(fired).toEqual([100, 200, 300]);
    clock.tick(50);
    expect(fired).toEqual([100, 200, 300, 400]);
    expect(clock.pending()).toBe(0);
  });

  it('never runs a cleared timer, and clearing twice does nothing', () => {
    const clock = manualClock(1_000);
    const fired: number[] = [];
    const h = clock.setTimeout(() => fired.push(1), 10);
    clock.setTimeout(() => fired.push(2), 20);
    clock.clearTimeout(h);
    clock.clearTimeout(h);
    expect(clock.pending()).toBe(1);
    clock.tick(100);
    expect(fired).toEqual([2]);
    expect(clock.now()).toBe(1_100);
  });

  it('keeps time order across many timers scheduled and cleared at random', () => {
    const clock = manualClock();
    const handles = [];
    const fired: number[] = [];
    let x = 12345;
    for (let i = 0; i < 500; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      const at = x % 10_000;
      handles.push(clock.setTimeout(() => fired.push(at), at));
    }
    for (let i = 0; i < handles.length; i += 3) {
      const h = handles[i];
      if (h !== undefined) clock.clearTimeout(h);
    }
    clock.tick(10_000);
    expect(fired.length).toBe(500 - Math.ceil(500 / 3));
    expect([...fired].sort((a, b) => a - b)).toEqual(fired);
  });

  it('rejects a negative tick with ERR_INVALID_ARG', () => {
    expect(() => manualClock().tick(-1)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
    );
  });
});
