/**
 * `npm run bench`: prints a table of medians with ranges and ratios against anchors measured in
 * the same run, and writes the same figures as JSON (`bench-results.json`, or the path in
 * BENCH_OUT).
 *
 * Environment: BENCH_ROUNDS, BENCH_MS (codec rows); BENCH_SIP_ROUNDS (default 3),
 * BENCH_SIP_SECONDS (default 5) for the SIP and uaCSTA rows, which need `sipp`; BENCH_ONLY=codec,
 * BENCH_ONLY=sip or BENCH_ONLY=uacsta (the `uacsta responder` and CstaClient rows) runs one group;
 * BENCH_ONLY=path (the answer path in process, no sockets: BENCH_PATH_INFOS per run, 40000);
 * BENCH_ONLY=phone (the simulator's memory per phone and calls/s, about 8 minutes at the default
 * sizes; BENCH_PHONE_SIZES=1000,10000 and BENCH_PHONE_RUNS=3 change it).
 */
import { writeFileSync } from 'node:fs';
import { codecBench } from './codec.bench.js';
import { printTable, type BenchRow } from './harness.js';
import { pathBench } from './path.bench.js';
import { phoneBench } from './phone.bench.js';
import { sipBench } from './sip.bench.js';
import { uacstaBench } from './uacsta.bench.js';

const rounds = Number(process.env['BENCH_ROUNDS'] ?? 7);
const ms = Number(process.env['BENCH_MS'] ?? 400);
const sipRounds = Number(process.env['BENCH_SIP_ROUNDS'] ?? 3);
const sipSeconds = Number(process.env['BENCH_SIP_SECONDS'] ?? 5);
const only = process.env['BENCH_ONLY'];

const rows: BenchRow[] = [];
if (only === undefined || only === 'codec') rows.push(...codecBench(rounds, ms));
if (only === undefined || only === 'path')
  rows.push(...(await pathBench(Number(process.env['BENCH_PATH_ROUNDS'] ?? 5), Number(process.env['BENCH_PATH_INFOS'] ?? 40_000))));
if (only === undefined || only === 'sip') rows.push(...(await sipBench(sipRounds, { seconds: sipSeconds })));
if (only === undefined || only === 'uacsta') rows.push(...(await uacstaBench(sipRounds, { seconds: sipSeconds })));
if (only === undefined || only === 'phone') {
  const sizes = (process.env['BENCH_PHONE_SIZES'] ?? '1000,10000').split(',').map(Number);
  const runs = Number(process.env['BENCH_PHONE_RUNS'] ?? 3);
  rows.push(...(await phoneBench({ sizes, runs, log: (line) => process.stderr.write(line + '\n') })));
}
printTable(rows, (s) => process.stdout.write(s));
const out = process.env['BENCH_OUT'] ?? 'bench-results.json';
writeFileSync(
  out,
  JSON.stringify({ date: new Date().toISOString(), node: process.version, rounds, ms, sipRounds, sipSeconds, rows }, null, 2),
);
process.stdout.write(`\nwrote ${out}\n`);
