import { describe, expect, it } from 'vitest';
import { BRANCH_MAGIC_COOKIE, createIdGenerator, seededRandom } from '../../../src/util/ids.js';

describe('createIdGenerator', () => {
  it('generates 1e5 branches with the magic cookie and no duplicate', () => {
    const ids = createIdGenerator();
    const branches = Array.from({ length: 100_000 }, () => ids.branch());
    expect(branches.every((b) => b.startsWith(BRANCH_MAGIC_COOKIE))).toBe(true);
    expect(new Set(branches).size).toBe(100_000);
  });

  it('puts at least 64 random bits into every branch: each of the first 96 bits changes it', () => {
    // A source that is all zeros except one bit: if every such bit yields a different branch,
    // the branch is a one-to-one function of at least that many random bits.
    const branches = new Set<string>();
    for (let bit = 0; bit < 96; bit++) {
      const ids = createIdGenerator((bytes) => {
        bytes.fill(0);
        bytes[bit >> 3] = 1 << (bit & 7);
      });
      branches.add(ids.branch());
    }
    branches.add(createIdGenerator((bytes) => bytes.fill(0)).branch());
    expect(branches.size).toBe(97);
  });

  it('uses every hex digit in every position of the random part', () => {
    const ids = createIdGenerator();
    const positions = Array.from({ length: 24 }, () => new Set<string>());
    for (let i = 0; i < 2_000; i++) {
      const random = ids.branch().slice(BRANCH_MAGIC_COOKIE.length);
      expect(random).toMatch(/^[0-9a-f]{24}$/);
      [...random].forEach((c, p) => positions[p]?.add(c));
    }
    expect(positions.map((p) => p.size)).toEqual(Array(24).fill(16));
  });

  it('makes 64-bit tags and 128-bit Call-IDs of lower-case hex', () => {
    const ids = createIdGenerator();
    expect(ids.tag()).toMatch(/^[0-9a-f]{16}$/);
    expect(ids.callId()).toMatch(/^[0-9a-f]{32}$/);
    expect(ids.tag()).not.toBe(ids.tag());
  });

  it('repeats the same identifiers for the same seed and differs for another seed', () => {
    const a = createIdGenerator(seededRandom(42));
    const b = createIdGenerator(seededRandom(42));
    const c = createIdGenerator(seededRandom(43));
    const run = (g: typeof a): string[] => [g.branch(), g.tag(), g.callId(), g.branch()];
    const first = run(a);
    expect(run(b)).toEqual(first);
    expect(run(c)).not.toEqual(first);
    expect(new Set(first).size).toBe(4);
  });

  it('draws from the random source in blocks, not once per identifier', () => {
    let calls = 0;
    const ids = createIdGenerator((bytes) => {
      calls++;
      crypto.getRandomValues(bytes);
    });
    for (let i = 0; i < 1_000; i++) ids.branch();
    expect(calls).toBeLessThanOrEqual(3);
  });
});
