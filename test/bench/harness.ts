/**
 * Benchmark harness: interleaved rounds (A B A B …) so that every ratio is taken between
 * measurements of the same run, medians with their range (performance.md: absolute numbers
 * drift ±20 % between runs on these machines; ratios do not).
 */

/** Operations per second of `fn` over about `ms` milliseconds (after a short warm-up). */
export function opsPerSecond(fn: () => unknown, ms: number): number {
  let sink: unknown;
  const warm = performance.now() + Math.min(50, ms / 4);
  while (performance.now() < warm) sink = fn();
  let n = 0;
  const start = performance.now();
  const end = start + ms;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 64; i++) sink = fn();
    n += 64;
    now = performance.now();
  }
  if (sink === Symbol.for('never')) throw new Error('unreachable');
  return (n * 1000) / (now - start);
}

/** Median, minimum and maximum of a sample. */
export interface Stats {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function stats(xs: readonly number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median, min: s[0]!, max: s[s.length - 1]! };
}

/** One row of the printed table and of the JSON report. */
export interface BenchRow {
  readonly name: string;
  readonly unit: string;
  readonly value: Stats;
  readonly anchor: string;
  readonly anchorValue: Stats;
  /** Median of the per-round ratios value/anchor. */
  readonly ratio: Stats;
  readonly target?: string;
}

/**
 * Measures `subject` and `anchor` in alternating rounds and returns their stats and the
 * per-round ratios.
 */
export function paired(
  subject: () => unknown,
  anchor: () => unknown,
  rounds: number,
  ms: number,
): { subject: Stats; anchor: Stats; ratio: Stats } {
  const a: number[] = [];
  const b: number[] = [];
  const r: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const x = opsPerSecond(subject, ms);
    const y = opsPerSecond(anchor, ms);
    a.push(x);
    b.push(y);
    r.push(x / y);
  }
  return { subject: stats(a), anchor: stats(b), ratio: stats(r) };
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2);
}

/** Prints the table. */
export function printTable(rows: readonly BenchRow[], out: (s: string) => void): void {
  out('| benchmark | median (min–max) | anchor | anchor median | ratio median (min–max) | target |\n');
  out('| --- | --- | --- | --- | --- | --- |\n');
  for (const r of rows) {
    out(
      `| ${r.name} | ${fmt(r.value.median)} ${r.unit} (${fmt(r.value.min)}–${fmt(r.value.max)}) | ${r.anchor} | ` +
        `${fmt(r.anchorValue.median)} | ${r.ratio.median.toFixed(2)}× (${r.ratio.min.toFixed(2)}–${r.ratio.max.toFixed(2)}) | ${r.target ?? ''} |\n`,
    );
  }
}
