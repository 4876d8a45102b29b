import { describe, expect, it } from 'vitest';
import { TIMER_DEFAULTS, resolveTimers } from '../../../../src/sip/transaction/timers.js';

describe('resolveTimers', () => {
  it('derives the RFC 3261 Table 4 values from T1 = 500, T2 = 4000, T4 = 5000 on UDP', () => {
    const { unreliable: t } = resolveTimers();
    expect(TIMER_DEFAULTS).toEqual({ T1: 500, T2: 4_000, T4: 5_000, trying100Ms: 200 });
    expect(t).toEqual({
      reliable: false,
      T1: 500,
      T2: 4_000,
      T4: 5_000,
      timerA: 500,
      timerB: 32_000,
      timerD: 32_000,
      timerE: 500,
      timerF: 32_000,
      timerG: 500,
      timerH: 32_000,
      timerI: 5_000,
      timerJ: 32_000,
      timerK: 5_000,
      timerL: 32_000,
      timerM: 32_000,
      trying100Ms: 200,
    });
  });

  it('sets Timers D, I, J and K to zero on a reliable transport and keeps the others', () => {
    const { reliable: t } = resolveTimers();
    expect([t.timerD, t.timerI, t.timerJ, t.timerK]).toEqual([0, 0, 0, 0]);
    expect([t.timerB, t.timerF, t.timerH, t.timerL, t.timerM]).toEqual([
      32_000, 32_000, 32_000, 32_000, 32_000,
    ]);
  });

  it('keeps Timer D at 32 s or more on UDP even with a small T1', () => {
    const { unreliable } = resolveTimers({ T1: 100, T2: 400 });
    expect(unreliable.timerD).toBe(32_000);
    expect(unreliable.timerF).toBe(6_400);
    expect(resolveTimers({ T1: 1_000, T2: 4_000 }).unreliable.timerD).toBe(64_000);
  });

  it('rejects non-positive, non-finite or inverted values with ERR_INVALID_ARG', () => {
    for (const bad of [
      { T1: 0 },
      { T2: -1 },
      { T4: Number.NaN },
      { T1: Infinity },
      { T1: 5_000, T2: 4_000 },
      { trying100Ms: -1 },
    ]) {
      expect(() => resolveTimers(bad), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
      );
    }
  });
});
