import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { parseCsta, serializeCsta } from '../../src/csta/index.js';
import type { Edition } from '../../src/csta/index.js';
import { allMessageTypes, messageArbitrary } from '../support/csta-arbitrary.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 10);

describe('parseCsta(serializeCsta(m)) equals m for generated instances of every element', () => {
  const types = allMessageTypes();

  it('covers every root element of the model (ed3 and ed6)', () => {
    expect(types.length).toBeGreaterThan(380);
    expect(types.some((t) => t.type === 'MakeCall')).toBe(true);
    expect(types.some((t) => t.type === 'MakeConnection' && t.since === 6)).toBe(true);
  });

  for (const edition of ['ed3', 'ed6'] as Edition[]) {
    it(`round-trips every element in ${edition}`, () => {
      let checked = 0;
      for (const { type, since } of types) {
        if (since > Number(edition.slice(2))) continue;
        fc.assert(
          fc.property(messageArbitrary(type, edition), (m) => {
            const xml = serializeCsta(m);
            // generated capability structures can exceed the default body limit; the limit is not under test here
            const back = parseCsta(xml, { limits: { maxXmlBytes: Infinity, maxXmlElements: Infinity } });
            if (!back.ok) throw new Error(`${type}: ${back.error.code} ${back.error.message}\n${xml}`);
            expect(back.value).toEqual(m);
            expect(back.warnings).toEqual([]);
          }),
          { numRuns: RUNS, endOnFailure: true },
        );
        checked++;
      }
      expect(checked).toBeGreaterThan(edition === 'ed3' ? 300 : 380);
    }, 20_000 + RUNS * 500);
  }
});
