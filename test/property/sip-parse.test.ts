/**
 * parseSipMessage and the stream framer on random and mutated bytes: they never throw, never
 * return more than the limits allow, and what they accept keeps the model's invariants.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SIP_LIMITS, type SipLimits } from '../../src/limits.js';
import { SipStreamFramer } from '../../src/sip/message/framer.js';
import { parseSipMessage } from '../../src/sip/message/parse.js';
import { createRequest, serializeSipMessage } from '../../src/sip/message/serialize.js';
import type { SipMessage } from '../../src/sip/message/types.js';
import { mutate, mutationArb } from '../support/mutate.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);
/** Long fuzz runs (`npm run test:fuzz`) need more than vitest's default 5 s per test. */
const TIMEOUT_MS = 10_000 + RUNS * 10;
const enc = new TextEncoder();
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'rfc4475');

const INFO = enc.encode(
  'INFO sip:1001@pbx.example.com;transport=tcp SIP/2.0\r\n' +
    'Via: SIP/2.0/TCP 198.51.100.20:5060;branch=z9hG4bK74bf9004;rport\r\n' +
    'Max-Forwards: 70\r\nFrom: "CTI Müller" <sip:cti@cti.example.com>;tag=1928301774\r\n' +
    'To: <sip:1001@pbx.example.com>;tag=a6c85cf\r\nCall-ID: a84b4c76e66710@cti.example.com\r\n' +
    'CSeq: 3 INFO\r\nContent-Type: application/csta+xml\r\nContent-Disposition: signal;handling=required\r\n' +
    'Content-Length: 77\r\n\r\n' +
    '<MakeCall><callingDevice>1001</callingDevice><calledDirectoryNumber>€2002',
);

/** Valid and torture messages to mutate. */
const SEEDS: readonly Uint8Array[] = [
  INFO,
  ...readdirSync(fixtures)
    .filter((f) => f.endsWith('.dat'))
    .sort()
    .map((f) => new Uint8Array(readFileSync(join(fixtures, f)))),
];

const limitsArb: fc.Arbitrary<SipLimits> = fc.oneof(
  fc.constant(SIP_LIMITS),
  fc.record({
    maxMessageBytes: fc.integer({ min: 0, max: 4_000 }),
    maxHeaderSectionBytes: fc.integer({ min: 0, max: 2_000 }),
    maxHeaderCount: fc.integer({ min: 0, max: 40 }),
    maxBodyBytes: fc.integer({ min: 0, max: 1_000 }),
  }),
);

/** The invariants of an accepted message, and the limits it was accepted under. */
function checkAccepted(bytes: Uint8Array, m: SipMessage, limits: SipLimits): void {
  expect(bytes.length).toBeLessThanOrEqual(limits.maxMessageBytes);
  expect(m.body.length).toBeLessThanOrEqual(limits.maxBodyBytes);
  expect(m.body.length).toBeLessThanOrEqual(bytes.length);
  let lines = 0;
  for (const key in m.headers) lines += m.headers[key]!.length;
  expect(lines).toBeLessThanOrEqual(limits.maxHeaderCount);
  expect(m.via.length).toBeGreaterThan(0);
  expect(Number.isInteger(m.cseq.seq) && m.cseq.seq >= 0 && m.cseq.seq <= 2 ** 31 - 1).toBe(true);
  const cl = m.headers['content-length'];
  if (cl !== undefined) expect(m.body.length).toBe(Number(cl[0]));
  if (m.kind === 'response') {
    expect(m.status >= 100 && m.status <= 699).toBe(true);
  } else {
    expect(m.cseq.method).toBe(m.method);
    if (m.maxForwards !== undefined) expect(m.maxForwards >= 0 && m.maxForwards <= 255).toBe(true);
  }
}

function checkResult(bytes: Uint8Array, limits: SipLimits): void {
  const r = parseSipMessage(bytes, limits);
  if (r.ok) {
    checkAccepted(bytes, r.value, limits);
  } else {
    expect(['SIP_ERR_PARSE', 'SIP_ERR_SEMANTIC', 'SIP_ERR_LIMIT']).toContain(r.error.code);
    if (r.error.status !== undefined) {
      expect([400, 416, 505]).toContain(r.error.status);
      expect(r.error.request).toBeDefined();
    }
  }
}

describe('parseSipMessage on untrusted bytes', () => {
  it(
    'never throws and never exceeds its limits on random bytes',
    () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 2_000 }), limitsArb, (bytes, limits) =>
          checkResult(bytes, limits),
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    'never throws on large random inputs, up to past maxMessageBytes',
    () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 60_000, maxLength: 70_000 }), (bytes) =>
          checkResult(bytes, SIP_LIMITS),
        ),
        { numRuns: Math.max(3, Math.ceil(RUNS / 30)) },
      );
    },
    TIMEOUT_MS,
  );

  it(
    'never throws and never exceeds its limits on mutations of valid and torture messages',
    () => {
      fc.assert(
        fc.property(
          fc.nat({ max: SEEDS.length - 1 }),
          fc.array(mutationArb, { minLength: 1, maxLength: 6 }),
          limitsArb,
          (seed, mutations, limits) => checkResult(mutate(SEEDS[seed]!, mutations), limits),
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    'never throws on header lines built from the characters of the grammar',
    () => {
      const text = fc.string({
        unit: fc.constantFrom(...' \t:;,="<>\\@/.-!%*_+`\'~aZ09\r\n'.split('')),
        maxLength: 60,
      });
      fc.assert(
        fc.property(
          fc.array(
            fc.tuple(
              fc.constantFrom('Via', 'From', 'To', 'Call-ID', 'CSeq', 'Max-Forwards', 'l', 'X'),
              text,
            ),
            { maxLength: 12 },
          ),
          (lines) => {
            const head =
              ['OPTIONS sip:a@h SIP/2.0', ...lines.map(([n, v]) => `${n}:${v}`)].join('\r\n') +
              '\r\n\r\n';
            checkResult(enc.encode(head), SIP_LIMITS);
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );
});

describe('serialize and parse agree', () => {
  const token = fc.string({
    unit: fc.constantFrom(..."abcXYZ019-.!%*_+`'~".split('')),
    minLength: 1,
    maxLength: 12,
  });
  const text = fc.string({
    unit: fc.constantFrom(...'ab Z"\\<>;,:=é€\t'.split('')),
    maxLength: 20,
  });

  it(
    'parses back what createRequest and serializeSipMessage write',
    () => {
      fc.assert(
        fc.property(
          token,
          token,
          fc.option(text, { nil: undefined }),
          fc.nat({ max: 2 ** 31 - 1 }),
          fc.nat({ max: 255 }),
          fc.uint8Array({ maxLength: 300 }),
          (method, tag, displayName, cseq, maxForwards, body) => {
            const req = createRequest({
              method,
              uri: 'sip:1001@pbx.example.com',
              via: [
                {
                  transport: 'TCP',
                  host: 'h.example.com',
                  port: 5060,
                  branch: `z9hG4bK${tag}`,
                  params: {},
                },
              ],
              from: { displayName, uri: 'sip:cti@example.com', params: { tag } },
              to: { displayName: undefined, uri: 'sip:1001@pbx.example.com', params: {} },
              callId: `${tag}@example.com`,
              cseq,
              maxForwards,
              headers: {
                'X-Note': displayName === undefined ? 'none' : displayName.trim() || 'blank',
              },
              body,
            });
            const r = parseSipMessage(serializeSipMessage(req));
            if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
            expect(r.value).toMatchObject({
              kind: 'request',
              method,
              maxForwards,
              cseq: { seq: cseq, method },
              callId: req.callId,
            });
            expect(r.value.from.displayName).toBe(displayName);
            expect(r.value.via[0]?.branch).toBe(`z9hG4bK${tag}`);
            expect([...r.value.body]).toEqual([...body]);
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );
});

describe('SipStreamFramer on any chunking', () => {
  it(
    'frames the same messages however the stream is cut',
    () => {
      const msgs = SEEDS.filter((s) => {
        const r = parseSipMessage(s);
        return (
          r.ok &&
          r.value.headers['content-length'] !== undefined &&
          r.value.body.length === s.length - (indexOfBody(s) ?? 0)
        );
      }).slice(0, 12);
      expect(msgs.length).toBeGreaterThan(5);
      const stream = Uint8Array.from(msgs.flatMap((m) => [...m]));
      fc.assert(
        fc.property(fc.array(fc.nat({ max: stream.length }), { maxLength: 40 }), (cuts) => {
          const points = [...new Set(cuts)].sort((a, b) => a - b);
          const framer = new SipStreamFramer();
          const out: number[][] = [];
          let from = 0;
          for (const p of [...points, stream.length]) {
            for (const ev of framer.push(stream.subarray(from, p))) {
              if (ev.type === 'message') out.push([...ev.bytes]);
              else throw new Error(`unexpected ${ev.type}`);
            }
            from = p;
          }
          expect(out).toEqual(msgs.map((m) => [...m]));
        }),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );

  it(
    'never throws and never buffers past its limits on random and mutated streams',
    () => {
      fc.assert(
        fc.property(
          fc.nat({ max: SEEDS.length - 1 }),
          fc.array(mutationArb, { maxLength: 6 }),
          fc.array(fc.nat({ max: 4_000 }), { maxLength: 10 }),
          limitsArb,
          (seed, mutations, cuts, limits) => {
            const stream = mutate(SEEDS[seed]!, mutations);
            const framer = new SipStreamFramer(limits);
            let from = 0;
            for (const p of [
              ...[...new Set(cuts)].filter((c) => c < stream.length).sort((a, b) => a - b),
              stream.length,
            ]) {
              for (const ev of framer.push(stream.subarray(from, p))) {
                if (ev.type === 'message') {
                  expect(ev.bytes.length).toBeLessThanOrEqual(limits.maxMessageBytes);
                }
              }
              expect(framer.bufferedBytes).toBeLessThanOrEqual(
                Math.max(limits.maxHeaderSectionBytes, limits.maxMessageBytes),
              );
              from = p;
            }
          },
        ),
        { numRuns: RUNS },
      );
    },
    TIMEOUT_MS,
  );
});

function indexOfBody(b: Uint8Array): number | undefined {
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] === 0x0d && b[i + 1] === 0x0a && b[i + 2] === 0x0d && b[i + 3] === 0x0a) return i + 4;
  }
  return undefined;
}
