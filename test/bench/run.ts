/**
 * `npm run bench`: prints a table of medians with ranges and ratios against anchors measured in
 * the same run, and writes the same figures as JSON (`bench-results.json`, or the path in
 * BENCH_OUT).
 */
import { writeFileSync } from 'node:fs';
import { codecBench } from './codec.bench.js';
import { printTable, type BenchRow } from './harness.js';

const rounds = Number(process.env['BENCH_ROUNDS'] ?? 7);
const ms = Number(process.env['BENCH_MS'] ?? 400);
const rows: BenchRow[] = [...codecBench(rounds, ms)];
printTable(rows, (s) => process.stdout.write(s));
const out = process.env['BENCH_OUT'] ?? 'bench-results.json';
writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, rounds, ms, rows }, null, 2));
process.stdout.write(`\nwrote ${out}\n`);
