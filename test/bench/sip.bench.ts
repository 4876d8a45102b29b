/**
 * SIP UAS benchmarks (issue #4, performance.md G2): one SIPp UAC (`test/sipp/uac-info.xml`)
 * keeps 64 uaCSTA dialogs in flight over UDP on 127.0.0.1 (closed loop, 100 INFO MakeCall per
 * dialog) against each UAS in turn, in interleaved rounds (A B [C] A B [C] …):
 *
 * - A, the anchor: SIPp answering with `test/sipp/uas-info.xml`;
 * - B: npm `sip` 0.0.6's own stack (`servers/npm-sip-uas.ts`);
 * - C: this project's stack (`servers/uacsta-uas.ts`), when that server can run.
 *
 * The rate is completed INFO transactions per second, read from SIPp's per-message counts (one
 * row per second) over a fixed window after a warm-up. Every ratio is taken within one round.
 *
 * @remarks
 * The UAC and the SIPp anchor get 4 MiB socket buffers (`-buff_size`, capped by
 * net.core.rmem_max), so that neither drops datagrams; the Node servers run as their stacks
 * ship (npm `sip`: the kernel's default receive buffer). Rows are skipped, with the reason
 * printed, when `sipp` is not installed or a server reports that it cannot run.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  SIPP_MISSING,
  freePort,
  hasSipp,
  infoRate,
  runSippUac,
  startSippUas,
  track,
  waitListening,
  type Running,
  type SippReport,
} from '../sipp/sipp.js';
import { stats, type BenchRow } from './harness.js';
import { UNAVAILABLE } from './servers/common.js';

const here = dirname(fileURLToPath(import.meta.url));
const BUFFER = 4 * 1024 * 1024;

/** Options of {@link sipBench}; every field has a default. */
export interface SipBenchOptions {
  /** Seconds of measurement per run, after `warmupSeconds`. */
  readonly seconds?: number;
  readonly warmupSeconds?: number;
  /** Dialogs in flight. */
  readonly inFlight?: number;
  /** INFO transactions per dialog. */
  readonly infosPerDialog?: number;
  /** Where progress and skip reasons go. */
  readonly log?: (line: string) => void;
}

/** A UAS under test: started fresh for every run. */
interface Subject {
  readonly key: string;
  readonly rowName: string;
  readonly target: string;
  start(): Promise<Running>;
}

class Unavailable extends Error {}

/**
 * Starts a server script of `servers/` under tsx, and resolves once its port is taken.
 * Rejects with {@link Unavailable} when it exits with status {@link UNAVAILABLE}.
 */
export async function startServerScript(script: string, transport: 'udp' | 'tcp'): Promise<Running> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(here, 'servers', script), '--transport', transport, '--port', String(port)],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  track(child);
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  let exited = false;
  const exit = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      exited = true;
      resolve(code);
    });
  });
  try {
    await waitListening(port, transport, 15_000, () => exited);
  } catch (e) {
    if (!exited) child.kill('SIGKILL');
    const code = await exit;
    if (code === UNAVAILABLE) throw new Unavailable(stderr.trim());
    throw new Error(`${script}: ${(e as Error).message} (exit ${code}): ${stderr.trim()}`);
  }
  return {
    pid: child.pid ?? -1,
    port,
    stop: async () => {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(t);
    },
  };
}

interface Run {
  readonly rate: number;
  readonly report: SippReport;
}

async function measure(subject: Subject, o: Required<Omit<SipBenchOptions, 'log'>>): Promise<Run> {
  const server = await subject.start();
  try {
    const seconds = o.warmupSeconds + o.seconds + 1;
    const report = await runSippUac({
      transport: 'u1',
      port: server.port,
      infos: o.infosPerDialog,
      inFlight: o.inFlight,
      seconds,
      bufferBytes: BUFFER,
      deadlineMs: (seconds + 5) * 1000,
    });
    return { rate: infoRate(report.counts, o.warmupSeconds, o.warmupSeconds + o.seconds), report };
  } finally {
    await server.stop();
  }
}

function summary(run: Run): string {
  const last = run.report.counts[run.report.counts.length - 1];
  const rate = Number.isFinite(run.rate) ? Math.round(run.rate).toLocaleString('en-US') : 'n/a';
  return (
    `${rate} INFO/s (retransmitted ${last?.infoRetrans ?? '?'}, timed out ${last?.infoTimeout ?? '?'}, ` +
    `failed calls ${run.report.failedCalls})`
  );
}

/**
 * The SIP rows: for each subject, its INFO rate with the SIPp anchor's rate of the same rounds
 * and the per-round ratio. Takes about `rounds × subjects × (warm-up + seconds + 2)` seconds.
 */
export async function sipBench(rounds: number, options: SipBenchOptions = {}): Promise<BenchRow[]> {
  const log = options.log ?? ((line: string) => process.stdout.write(line + '\n'));
  const o = {
    seconds: options.seconds ?? 5,
    warmupSeconds: options.warmupSeconds ?? 1,
    inFlight: options.inFlight ?? 64,
    infosPerDialog: options.infosPerDialog ?? 100,
  };
  if (!hasSipp()) {
    log(`SIP rows skipped: ${SIPP_MISSING}`);
    return [];
  }
  const shape = `UDP, ${o.inFlight} dialogs in flight`;
  const anchor: Subject = {
    key: 'sipp',
    rowName: 'SIPp UAS',
    target: '',
    start: () => startSippUas({ transport: 'u1', bufferBytes: BUFFER }),
  };
  const candidates: Subject[] = [
    {
      key: 'npm-sip',
      rowName: `npm sip UAS INFO/s vs SIPp UAS (${shape})`,
      target: 'reference: ≈ 0.2× (performance.md)',
      start: () => startServerScript('npm-sip-uas.ts', 'udp'),
    },
    {
      key: 'uacsta',
      rowName: `uacsta UAS INFO/s vs SIPp UAS (${shape})`,
      target: 'G2: ≥ 0.35× (goal ≥ 0.5×)',
      start: () => startServerScript('uacsta-uas.ts', 'udp'),
    },
  ];
  const subjects: Subject[] = [];
  for (const s of candidates) {
    try {
      await (await s.start()).stop();
      subjects.push(s);
    } catch (e) {
      if (!(e instanceof Unavailable)) throw e;
      log(`SIP row "${s.rowName}" skipped: ${e.message}`);
    }
  }
  if (subjects.length === 0) {
    log('SIP rows skipped: no UAS to compare with the SIPp anchor');
    return [];
  }
  // one map per complete round: subject key → INFO/s, the anchor under 'sipp'
  const perRound: Map<string, number>[] = [];
  for (let r = 0; r < rounds; r++) {
    const a = await measure(anchor, o);
    log(`round ${r + 1}/${rounds}: SIPp UAS ${summary(a)}`);
    if (!Number.isFinite(a.rate) || a.rate <= 0) {
      log(`round ${r + 1}: no anchor rate, round dropped (UAC exit ${a.report.exitCode}: ${a.report.stderr.trim()})`);
      continue;
    }
    const round = new Map<string, number>([[anchor.key, a.rate]]);
    for (const s of subjects) {
      const b = await measure(s, o);
      log(`round ${r + 1}/${rounds}: ${s.key} UAS ${summary(b)}`);
      if (Number.isFinite(b.rate)) round.set(s.key, b.rate);
    }
    perRound.push(round);
  }
  const rows: BenchRow[] = [];
  const pairRow = (s: Subject, base: string, name: string, anchorName: string, target: string): void => {
    const pairs = perRound.filter((m) => m.has(s.key) && m.has(base)).map((m) => [m.get(s.key)!, m.get(base)!] as const);
    if (pairs.length === 0) {
      log(`SIP row "${name}" skipped: no complete round`);
      return;
    }
    rows.push({
      name,
      unit: 'INFO/s',
      value: stats(pairs.map((p) => p[0])),
      anchor: anchorName,
      anchorValue: stats(pairs.map((p) => p[1])),
      ratio: stats(pairs.map((p) => p[0] / p[1])),
      target,
    });
  };
  for (const s of subjects) {
    pairRow(s, anchor.key, s.rowName, 'SIPp UAS (test/sipp/uas-info.xml), same SIPp UAC', s.target);
  }
  const ours = subjects.find((s) => s.key === 'uacsta');
  if (ours && subjects.some((s) => s.key === 'npm-sip')) {
    pairRow(ours, 'npm-sip', `uacsta UAS INFO/s vs npm sip UAS (${shape})`, 'npm sip UAS, same rounds', 'issue #4: ≥ 2×');
  }
  return rows;
}
