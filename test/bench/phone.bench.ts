/**
 * Simulated-phone scale benchmark (issue #7, issue #10 §1 "simulator scale"): memory per idle
 * phone with a uaCSTA session and a device monitor, at 1,000 and 10,000 phones in one process,
 * and calls per second across them.
 *
 * - **Memory.** The phones run in a child process (`phone-fleet.child.ts`: one UDP socket,
 *   `media: 'none'`, auto-answer, each registered with digest to our `Registrar`, which runs
 *   here in the parent so that its bindings do not count as the phones'). This process is the controller: one `UserAgent` on its own socket opens a session
 *   and a monitor on every phone. After `settleMs` (default 33 s, past Timer J/L = 64·T1, so
 *   completed transactions no longer count) the child collects garbage twice and reports RSS
 *   and heap. Per phone = (fleet − baseline) ÷ N, where the baseline is the same child started
 *   with 0 phones in the same run. **Anchor**: that baseline process's RSS (heap); the ratio is
 *   the fleet's growth over the empty process (how many empty phone processes N phones cost).
 * - **Calls per second.** On the same fleet, `inFlight` calls at a time (closed loop), pairs
 *   taken in turn across all phones: MakeCall → Established at both monitors → ClearConnection
 *   → ConnectionCleared at both (8 events per call). **Anchor**: CSTA round trips per second
 *   (GetDoNotDisturb) on the same sessions at the same concurrency, measured in alternation with
 *   the calls; the ratio is calls per invoke, i.e. the inverse of what one call costs in
 *   request round trips.
 *
 * Each row: the median of `runs` runs, with its range. Nothing asserts (benchmarks only).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFleetController, startRegistrar, type FleetController } from '../integration/phone/fleet.js';
import { stats, type BenchRow } from './harness.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Options of {@link phoneBench}; every field has a default. */
export interface PhoneBenchOptions {
  /** Fleet sizes. @defaultValue [1000, 10000] */
  readonly sizes?: readonly number[];
  /** Runs per size (each a fresh fleet and baseline). @defaultValue 3 */
  readonly runs?: number;
  /** Wait before measuring memory. @defaultValue 33000 */
  readonly settleMs?: number;
  /** Seconds of calls, and of invokes, per run. @defaultValue 5 */
  readonly seconds?: number;
  /** Calls (and invokes) in flight. @defaultValue 100 */
  readonly inFlight?: number;
  /** Register the phones (digest, our Registrar). @defaultValue true */
  readonly register?: boolean;
  readonly log?: (line: string) => void;
}

interface FleetProcess {
  readonly port: number;
  readonly extensions: string[];
  mem(settleMs: number): Promise<{ rss: number; heapUsed: number; sessions: number }>;
  stop(): Promise<void>;
}

/** Starts the fleet child with `count` phones. */
function startFleetProcess(count: number, registrar: string | undefined): Promise<FleetProcess> {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', join(root, 'test/bench/phone-fleet.child.ts'), String(count), registrar ?? 'no-register'],
    { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  let out = '';
  const lines: Array<(line: string) => boolean> = [];
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      const i = lines.findIndex((f) => f(line));
      if (i >= 0) lines.splice(i, 1);
    }
  });
  const next = (prefix: string, ms: number): Promise<string> =>
    new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`fleet child: no '${prefix}' within ${ms} ms: ${stderr}`)), ms);
      void exit.then((code) => rej(new Error(`fleet child exited ${code}: ${stderr.trim()}`)));
      lines.push((line) => {
        if (!line.startsWith(prefix)) return false;
        clearTimeout(timer);
        res(line.slice(prefix.length));
        return true;
      });
    });
  return next('ready ', 300_000).then((rest) => {
    const [port, range] = rest.split(' ');
    const [first, last] = range!.split('-').map(Number);
    const extensions = count === 0 ? [] : Array.from({ length: last! - first! + 1 }, (_, i) => String(first! + i));
    return {
      port: Number(port),
      extensions,
      async mem(settleMs) {
        child.stdin.write(`mem ${settleMs}\n`);
        return JSON.parse(await next('mem ', settleMs + 60_000)) as { rss: number; heapUsed: number; sessions: number };
      },
      async stop() {
        child.stdin.write('quit\n');
        const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exit;
        clearTimeout(t);
      },
    };
  });
}

/** Completed operations per second of `op`, `inFlight` at a time, over `seconds`. */
async function closedLoop(seconds: number, inFlight: number, op: (i: number) => Promise<void>): Promise<number> {
  let next = 0;
  let done = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      await op(next++);
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return (done * 1000) / (performance.now() - start);
}

/** Calls/s and invokes/s on `ctl`, pairs `(2k, 2k+1)` taken in turn across every phone. */
async function rates(ctl: FleetController, seconds: number, inFlight: number): Promise<{ calls: number; invokes: number }> {
  const s = ctl.stations;
  const pairs = Math.floor(s.length / 2);
  const width = Math.min(inFlight, pairs);
  // each worker owns the pairs w, w+width, w+2·width, …, so no phone is in two calls at once
  const cursor = new Array<number>(width).fill(0);
  const callOf = (w: number): Promise<void> => {
    const round = cursor[w]!++;
    const perWorker = Math.ceil((pairs - w) / width);
    const p = w + (round % perWorker) * width;
    const flip = Math.floor(round / perWorker) % 2 === 1;
    const [a, b] = [s[2 * p]!, s[2 * p + 1]!];
    return (flip ? ctl.call(b, a) : ctl.call(a, b)).then(() => undefined);
  };
  let worker = 0;
  const calls = await closedLoop(seconds, width, () => callOf(worker++ % width));
  const invokes = await closedLoop(seconds, width, (i) => ctl.invoke(s[i % s.length]!));
  return { calls, invokes };
}

/**
 * Runs the phone bench and returns its rows (RSS and heap per idle phone at each size, calls
 * per second at each size).
 */
export async function phoneBench(options: PhoneBenchOptions = {}): Promise<BenchRow[]> {
  const sizes = options.sizes ?? [1_000, 10_000];
  const runs = options.runs ?? 3;
  const settleMs = options.settleMs ?? 33_000;
  const seconds = options.seconds ?? 5;
  const inFlight = options.inFlight ?? 100;
  const register = options.register ?? true;
  const log = options.log ?? (() => {});
  const rows: BenchRow[] = [];
  // the registrar lives here, with the controller: its bindings are not the phones' memory
  const registrar = register ? await startRegistrar() : undefined;
  try {
  for (const n of sizes) {
    const rss: number[] = [];
    const heap: number[] = [];
    const baseRss: number[] = [];
    const baseHeap: number[] = [];
    const rssRatio: number[] = [];
    const heapRatio: number[] = [];
    const calls: number[] = [];
    const invokes: number[] = [];
    const callRatio: number[] = [];
    for (let run = 0; run < runs; run++) {
      const base = await startFleetProcess(0, registrar?.uri);
      const b = await base.mem(500);
      await base.stop();
      const fleet = await startFleetProcess(n, registrar?.uri);
      let ctl: FleetController | undefined;
      try {
        const t0 = performance.now();
        ctl = await startFleetController(fleet.port, fleet.extensions);
        const opened = performance.now() - t0;
        const m = await fleet.mem(settleMs);
        if (m.sessions !== n) throw new Error(`${m.sessions} sessions open; expected ${n}`);
        rss.push((m.rss - b.rss) / n / 1024);
        heap.push((m.heapUsed - b.heapUsed) / n / 1024);
        baseRss.push(b.rss / 1024);
        baseHeap.push(b.heapUsed / 1024);
        rssRatio.push((m.rss - b.rss) / b.rss);
        heapRatio.push((m.heapUsed - b.heapUsed) / b.heapUsed);
        const r = await rates(ctl, seconds, inFlight);
        calls.push(r.calls);
        invokes.push(r.invokes);
        callRatio.push(r.calls / r.invokes);
        log(
          `phones ${n} run ${run + 1}: ${n} sessions+monitors in ${(opened / 1000).toFixed(1)} s; RSS ${(m.rss / 2 ** 20).toFixed(0)} MB (baseline ${(b.rss / 2 ** 20).toFixed(0)} MB), heap ${(m.heapUsed / 2 ** 20).toFixed(0)} MB (baseline ${(b.heapUsed / 2 ** 20).toFixed(0)} MB); ${r.calls.toFixed(0)} calls/s, ${r.invokes.toFixed(0)} invokes/s`,
        );
      } finally {
        await ctl?.close().catch(() => undefined);
        await fleet.stop();
      }
    }
    const size = n.toLocaleString('en-US');
    rows.push({
      name: `phone: RSS per idle phone (session + monitor), ${size} phones`,
      unit: 'KB',
      value: stats(rss),
      anchor: 'RSS of the same process with 0 phones (KB); ratio = growth ÷ baseline',
      anchorValue: stats(baseRss),
      ratio: stats(rssRatio),
      target: '< 100 KB per phone',
    });
    rows.push({
      name: `phone: heap per idle phone (session + monitor), ${size} phones`,
      unit: 'KB',
      value: stats(heap),
      anchor: 'heap of the same process with 0 phones (KB); ratio = growth ÷ baseline',
      anchorValue: stats(baseHeap),
      ratio: stats(heapRatio),
    });
    rows.push({
      name: `phone: calls/s across ${size} phones (MakeCall→Established→ClearConnection, 8 events), ${Math.min(inFlight, n >> 1)} in flight`,
      unit: 'calls/s',
      value: stats(calls),
      anchor: 'CSTA invokes/s (GetDoNotDisturb) on the same sessions, same concurrency',
      anchorValue: stats(invokes),
      ratio: stats(callRatio),
    });
  }
  } finally {
    await registrar?.close();
  }
  return rows;
}

// `npx tsx test/bench/phone.bench.ts [sizes] [runs] [settleMs]` runs it alone and prints the table
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { printTable } = await import('./harness.js');
  const sizes = process.argv[2]?.split(',').map(Number);
  const rows = await phoneBench({
    ...(sizes === undefined ? {} : { sizes }),
    ...(process.argv[3] === undefined ? {} : { runs: Number(process.argv[3]) }),
    ...(process.argv[4] === undefined ? {} : { settleMs: Number(process.argv[4]) }),
    log: (l) => process.stderr.write(l + '\n'),
  });
  printTable(rows, (s) => process.stdout.write(s));
}
