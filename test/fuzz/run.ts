/**
 * `npm run test:fuzz`: a million fast-check-generated inputs through the parsers of untrusted
 * bytes (half SIP messages, half CSTA bodies), with zero exceptions allowed. Counts are
 * arguments: `tsx test/fuzz/run.ts [SIP_RUNS] [CSTA_RUNS] [SEED]`.
 */
import { fuzzCsta, fuzzSip, type FuzzCount } from './parsers.js';

const sipRuns = Number(process.argv[2] ?? 500_000);
const cstaRuns = Number(process.argv[3] ?? 500_000);
const seed = process.argv[4] === undefined ? Date.now() % 2 ** 31 : Number(process.argv[4]);

function line(what: string, c: FuzzCount, ms: number): string {
  return `${what}: ${c.inputs} inputs, ${c.accepted} accepted, ${c.rejected} rejected as values, 0 exceptions (${(ms / 1000).toFixed(1)} s)`;
}

process.stdout.write(`fuzz seed ${seed}\n`);
let t = performance.now();
const sip = fuzzSip(sipRuns, seed);
process.stdout.write(line('SIP messages', sip, performance.now() - t) + '\n');
t = performance.now();
const csta = fuzzCsta(cstaRuns, seed);
process.stdout.write(line('CSTA bodies', csta, performance.now() - t) + '\n');
