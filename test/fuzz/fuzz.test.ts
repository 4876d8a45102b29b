/**
 * A short run of the hostile-input fuzz of `npm run test:fuzz` (see `parsers.ts`), so that the
 * long run keeps working: every input is either accepted within its limits or rejected as a
 * value with a known code; none throws.
 */
import { describe, expect, it } from 'vitest';
import { fuzzCsta, fuzzSip } from './parsers.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 2_000);

describe('parsers of untrusted bytes under fuzzing', () => {
  it('parseSipMessage and the stream framer never throw on mutated, torture and random messages', () => {
    const c = fuzzSip(RUNS);
    expect(c.inputs).toBe(RUNS);
    // the mix must exercise both verdicts, or the generator has gone wrong
    expect(c.accepted).toBeGreaterThan(0);
    expect(c.rejected).toBeGreaterThan(0);
  }, 60_000);

  it('parseCsta never throws, and every accepted message can be written back', () => {
    const c = fuzzCsta(RUNS);
    expect(c.inputs).toBe(RUNS);
    expect(c.accepted).toBeGreaterThan(0);
    expect(c.rejected).toBeGreaterThan(0);
  }, 60_000);
});
