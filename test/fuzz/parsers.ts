/**
 * The hostile-input fuzz of the two parsers that read untrusted bytes: `parseSipMessage` (and the
 * stream framer) and `parseCsta`. Inputs are fast-check-generated: byte mutations of valid
 * messages, RFC 4475 torture messages and ECMA-323 flow bodies, generated CSTA messages of every
 * element, and random bytes. A run fails on the first exception thrown out of a parser, on a
 * parser failure that is not a value with a known code, on an accepted message that breaks the
 * limits it was parsed under, and on an accepted CSTA message that cannot be written back.
 *
 * Used twice: `npm run test:fuzz` (`run.ts`, a million inputs) and `npm test` (a few thousand,
 * `fuzz.test.ts`), so the long run cannot rot.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { Edition } from '../../src/csta/model/types.js';
import { parseCsta } from '../../src/csta/parse.js';
import { serializeCsta } from '../../src/csta/serialize.js';
import { SIP_LIMITS } from '../../src/limits.js';
import { SipStreamFramer } from '../../src/sip/message/framer.js';
import { parseSipMessage } from '../../src/sip/message/parse.js';
import { allMessageTypes, messageArbitrary } from '../support/csta-arbitrary.js';
import { mutate, mutationArb } from '../support/mutate.js';

const here = dirname(fileURLToPath(import.meta.url));
const enc = new TextEncoder();

function files(dir: string, ext: string): Uint8Array[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => new Uint8Array(readFileSync(join(dir, f))));
}

/** What one fuzz run saw. */
export interface FuzzCount {
  readonly inputs: number;
  readonly accepted: number;
  readonly rejected: number;
}

class Counter {
  inputs = 0;
  accepted = 0;
  rejected = 0;
  get value(): FuzzCount {
    return { inputs: this.inputs, accepted: this.accepted, rejected: this.rejected };
  }
}

function fail(what: string, input: Uint8Array | string): never {
  const text = typeof input === 'string' ? input : Buffer.from(input).toString('latin1');
  throw new Error(`${what}; input (${text.length} chars): ${JSON.stringify(text.slice(0, 600))}`);
}

const SIP_CODES = new Set(['SIP_ERR_PARSE', 'SIP_ERR_SEMANTIC', 'SIP_ERR_LIMIT']);

function checkSip(bytes: Uint8Array, count: Counter): void {
  count.inputs += 1;
  const r = parseSipMessage(bytes, SIP_LIMITS);
  if (!r.ok) {
    if (!SIP_CODES.has(r.error.code)) fail(`SIP parse failed with code ${r.error.code}`, bytes);
    count.rejected += 1;
  } else {
    const m = r.value;
    if (bytes.length > SIP_LIMITS.maxMessageBytes || m.body.length > SIP_LIMITS.maxBodyBytes)
      fail('SIP parse accepted a message over its limits', bytes);
    if (m.via.length === 0) fail('SIP parse accepted a message without Via', bytes);
    count.accepted += 1;
  }
  // the same bytes through the stream framer, in two chunks: events, never an exception
  const framer = new SipStreamFramer(SIP_LIMITS);
  const cut = bytes.length >> 1;
  framer.push(bytes.subarray(0, cut));
  if (framer.state !== 'Failed') framer.push(bytes.subarray(cut));
}

function checkCsta(input: Uint8Array, count: Counter): void {
  count.inputs += 1;
  const r = parseCsta(input);
  if (!r.ok) {
    // parseCsta turns a defect of its own into 'internal decoder failure': that is a failure here
    if (r.error.message === 'internal decoder failure' || !r.error.code.startsWith('CSTA_ERR_'))
      fail(`parseCsta failed inside (${r.error.code}: ${r.error.message})`, input);
    count.rejected += 1;
    return;
  }
  count.accepted += 1;
  if (r.value.type === 'Unknown') return;
  try {
    serializeCsta(r.value);
  } catch (error) {
    fail(`an accepted CSTA message cannot be written back: ${String(error)}`, input);
  }
}

const SIP_SEEDS: readonly Uint8Array[] = [
  ...files(join(here, '..', 'fixtures', 'rfc4475'), '.dat'),
  ...files(join(here, '..', 'fixtures', 'uacsta', 'flows'), '.sip'),
];

const CSTA_SEEDS: readonly Uint8Array[] = files(
  join(here, '..', 'fixtures', 'ecma323', 'flows'),
  '.xml',
);

const EDITIONS: readonly Edition[] = ['ed3', 'ed5', 'ed6'];
const TYPES = allMessageTypes();

/** Generated CSTA messages of every element, written in a random edition they exist in. */
const generatedCsta: fc.Arbitrary<Uint8Array> = fc
  .record({
    t: fc.nat({ max: TYPES.length - 1 }),
    e: fc.nat({ max: EDITIONS.length - 1 }),
  })
  .chain(({ t, e }) => {
    const type = TYPES[t]!;
    const edition = EDITIONS.find((ed, i) => i >= e && Number(ed.slice(2)) >= type.since) ?? 'ed6';
    return messageArbitrary(type.type, edition);
  })
  .map((m) => enc.encode(serializeCsta(m)));

/**
 * Runs `runs` SIP inputs: mutations of the torture and uaCSTA flow messages (most), random
 * bytes, and mutations with header and body floods.
 */
export function fuzzSip(runs: number, seed?: number): FuzzCount {
  const count = new Counter();
  const input = fc.oneof(
    { weight: 8, arbitrary: fc.tuple(fc.nat({ max: SIP_SEEDS.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 6 })).map(([s, m]) => mutate(SIP_SEEDS[s]!, m)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2_000 }) },
    { weight: 1, arbitrary: fc.nat({ max: SIP_SEEDS.length - 1 }).map((s) => SIP_SEEDS[s]!) },
  );
  fc.assert(
    fc.property(input, (bytes) => checkSip(bytes, count)),
    { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
  );
  return count.value;
}

/**
 * Runs `runs` CSTA inputs: mutations of the ECMA-323 flow bodies and of generated messages of
 * every element (most), the generated messages themselves, and random bytes.
 */
export function fuzzCsta(runs: number, seed?: number): FuzzCount {
  const count = new Counter();
  const input = fc.oneof(
    { weight: 4, arbitrary: fc.tuple(fc.nat({ max: CSTA_SEEDS.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: 6 })).map(([s, m]) => mutate(CSTA_SEEDS[s]!, m)) },
    { weight: 3, arbitrary: fc.tuple(generatedCsta, fc.array(mutationArb, { minLength: 1, maxLength: 4 })).map(([b, m]) => mutate(b, m)) },
    { weight: 2, arbitrary: generatedCsta },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 1_000 }) },
  );
  fc.assert(
    fc.property(input, (bytes) => checkCsta(bytes, count)),
    { numRuns: runs, ...(seed === undefined ? {} : { seed }) },
  );
  return count.value;
}
