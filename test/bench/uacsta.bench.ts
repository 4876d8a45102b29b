/**
 * uaCSTA session-layer benchmarks (issue #6, issue #10 §1), each against an anchor measured in
 * the same round (interleaved rounds, medians with ranges, per-round ratios):
 *
 * - `uacsta responder` (a child process, `--listen udp:127.0.0.1:0`) answering the MakeCall INFOs
 *   of `test/sipp/uac-info.xml` (64 dialogs in flight, closed loop) next to the SIPp UAS
 *   (`uas-info.xml`) answering the same traffic: INFO transactions per second; UDP, and TCP
 *   (one connection, SIPp `-t t1`).
 * - Controller side: our `CstaClient` (this process, 64 associations on one UDP socket, each
 *   with the next request queued behind the one in flight) driving the responder process:
 *   invokes per second, with the SIPp UAC's rate against the same responder as anchor.
 * - Latency: a lean raw-SIP client (`paced-info-client.ts`, 64 dialogs on one UDP socket)
 *   offering MakeCall INFOs at half the responder's sustained UDP rate (the median of the first
 *   row), timing each from its send to its 200; p50 and p99 of the responder, with the same
 *   client at the same offered load against the SIPp UAS as anchor. (Our CstaClient cannot
 *   measure this: at half the responder's rate it is near its own limit, and its queueing showed
 *   as milliseconds for SIPp's UAS too.)
 *
 * @remarks
 * The responder runs as shipped (`node --import tsx src/cli/main.ts responder`); no row asserts
 * anything (benchmarks only). Skipped, with the reason printed, when `sipp` is missing.
 */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCliUserAgent, type CliUserAgent } from '../../src/cli/target.js';
import { openSipCstaChannel } from '../../src/node/sip-csta-channel.js';
import { CstaClient } from '../../src/uacsta/client.js';
import {
  SIPP_MISSING,
  hasSipp,
  infoRate,
  runSippUac,
  startSippUas,
  track,
  type Running,
  type SippTransport,
} from '../sipp/sipp.js';
import { stats, type BenchRow } from './harness.js';
import { pacedInfoRun, type PacedRun } from './paced-info-client.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUFFER = 4 * 1024 * 1024;

/** Options of {@link uacstaBench}; every field has a default. */
export interface UacstaBenchOptions {
  /** Seconds of measurement per run, after `warmupSeconds`. */
  readonly seconds?: number;
  readonly warmupSeconds?: number;
  /** Dialogs (associations) in flight. */
  readonly inFlight?: number;
  /** INFO transactions per SIPp dialog. */
  readonly infosPerDialog?: number;
  readonly log?: (line: string) => void;
}

/** Starts `uacsta responder` as a child process; resolves once it printed `listening …`. */
export function startResponderProcess(transport: 'udp' | 'tcp'): Promise<Running> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'responder', '--listen', `${transport}:127.0.0.1:0`],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  track(child);
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    if (stderr.length < 4096) stderr += d;
  });
  return new Promise((resolveStart, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`uacsta responder did not listen within 30 s: ${stderr}`));
    }, 30_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      out += d;
      const m = /^listening \w+:[\d.]+:(\d+)$/m.exec(out);
      if (!m) return;
      clearTimeout(timer);
      resolveStart({
        pid: child.pid ?? -1,
        port: Number(m[1]),
        stop: async () => {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exit;
          clearTimeout(t);
        },
      });
    });
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`uacsta responder exited ${code}: ${stderr.trim()}`));
    });
  });
}

/** INFO/s of the SIPp UAC against a server started by `start`. */
async function sippRate(
  start: () => Promise<Running>,
  transport: SippTransport,
  o: Required<Omit<UacstaBenchOptions, 'log'>>,
): Promise<{ rate: number; note: string }> {
  const server = await start();
  try {
    const seconds = o.warmupSeconds + o.seconds + 1;
    const report = await runSippUac({
      transport,
      port: server.port,
      infos: o.infosPerDialog,
      inFlight: o.inFlight,
      seconds,
      bufferBytes: BUFFER,
      deadlineMs: (seconds + 5) * 1000,
    });
    const last = report.counts[report.counts.length - 1];
    const rate = infoRate(report.counts, o.warmupSeconds, o.warmupSeconds + o.seconds);
    const note = `retransmitted ${last?.infoRetrans ?? '?'}, timed out ${last?.infoTimeout ?? '?'}, failed calls ${report.failedCalls}`;
    return { rate, note };
  } finally {
    await server.stop();
  }
}

/** What one client run measured. */
interface ClientRun {
  readonly rate: number;
  /** Invoke latencies in ms within the measurement window. */
  readonly latencies: number[];
  readonly errors: number;
}

/**
 * Our CstaClient: `associations` sessions to 127.0.0.1:`port` over UDP, each keeping `depth`
 * MakeCall requests in its queue (closed loop).
 */
async function clientRun(
  port: number,
  o: { associations: number; warmupSeconds: number; seconds: number },
): Promise<ClientRun> {
  let agent: CliUserAgent | undefined;
  try {
    agent = await createCliUserAgent({ transport: 'udp', host: '127.0.0.1', port: 0, recvBufferSize: BUFFER });
    const ua = agent.ua;
    const clients = await Promise.all(
      Array.from({ length: o.associations }, async () => {
        const channel = await openSipCstaChannel(ua, `sip:1001@127.0.0.1:${port}`);
        return new CstaClient({ channel, invokeTimeoutMs: 10_000 });
      }),
    );
    const req = { type: 'MakeCall', callingDevice: '1001', calledDirectoryNumber: '2002' } as const;
    const t0 = performance.now();
    const from = t0 + o.warmupSeconds * 1000;
    const to = from + o.seconds * 1000;
    let done = 0;
    let errors = 0;
    const latencies: number[] = [];
    const one = async (c: CstaClient): Promise<void> => {
      const start = performance.now();
      try {
        await c.request(req);
      } catch {
        errors++;
        return;
      }
      const end = performance.now();
      if (start >= from && end <= to) {
        done++;
        latencies.push(end - start);
      }
    };
    const depth = 2;
    await Promise.all(
      clients.flatMap((c) =>
        Array.from({ length: depth }, async () => {
          while (performance.now() < to) await one(c);
        }),
      ),
    );
    await Promise.all(clients.map((c) => c.close()));
    return { rate: done / o.seconds, latencies, errors };
  } finally {
    await agent?.close();
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function row(name: string, unit: string, pairs: readonly (readonly [number, number])[], anchor: string, target: string): BenchRow {
  return {
    name,
    unit,
    value: stats(pairs.map((p) => p[0])),
    anchor,
    anchorValue: stats(pairs.map((p) => p[1])),
    ratio: stats(pairs.map((p) => p[0] / p[1])),
    target,
  };
}

/**
 * The uaCSTA rows. Takes about `rounds × 5 × (warm-up + seconds + 3)` seconds plus the latency
 * runs (`2 × (warm-up + seconds)` per round).
 */
export async function uacstaBench(rounds: number, options: UacstaBenchOptions = {}): Promise<BenchRow[]> {
  const log = options.log ?? ((line: string) => process.stdout.write(line + '\n'));
  const o = {
    seconds: options.seconds ?? 5,
    warmupSeconds: options.warmupSeconds ?? 1,
    inFlight: options.inFlight ?? 64,
    infosPerDialog: options.infosPerDialog ?? 100,
  };
  if (!hasSipp()) {
    log(`uaCSTA rows skipped: ${SIPP_MISSING}`);
    return [];
  }
  const fmt = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a');
  const udp: [number, number][] = [];
  const tcp: [number, number][] = [];
  const client: [number, number][] = [];
  for (let r = 1; r <= rounds; r++) {
    const tag = `round ${r}/${rounds}`;
    const a = await sippRate(() => startSippUas({ transport: 'u1', bufferBytes: BUFFER }), 'u1', o);
    log(`${tag}: SIPp UAS, UDP: ${fmt(a.rate)} INFO/s (${a.note})`);
    const b = await sippRate(() => startResponderProcess('udp'), 'u1', o);
    log(`${tag}: uacsta responder, UDP: ${fmt(b.rate)} INFO/s (${b.note})`);
    if (a.rate > 0 && b.rate > 0) udp.push([b.rate, a.rate]);
    const server = await startResponderProcess('udp');
    let c: ClientRun;
    try {
      c = await clientRun(server.port, { associations: o.inFlight, warmupSeconds: o.warmupSeconds, seconds: o.seconds });
    } finally {
      await server.stop();
    }
    log(`${tag}: CstaClient → uacsta responder, UDP: ${fmt(c.rate)} invokes/s (errors ${c.errors})`);
    if (c.rate > 0 && b.rate > 0) client.push([c.rate, b.rate]);
    const ta = await sippRate(() => startSippUas({ transport: 't1', bufferBytes: BUFFER }), 't1', o);
    log(`${tag}: SIPp UAS, TCP: ${fmt(ta.rate)} INFO/s (${ta.note})`);
    const tb = await sippRate(() => startResponderProcess('tcp'), 't1', o);
    log(`${tag}: uacsta responder, TCP: ${fmt(tb.rate)} INFO/s (${tb.note})`);
    if (ta.rate > 0 && tb.rate > 0) tcp.push([tb.rate, ta.rate]);
  }
  const shape = `${o.inFlight} dialogs in flight`;
  const rows: BenchRow[] = [];
  if (udp.length > 0)
    rows.push(row(`uacsta responder INFO/s vs SIPp UAS (UDP, ${shape})`, 'INFO/s', udp, 'SIPp UAS (uas-info.xml), same SIPp UAC', '≥ 0.35×'));
  if (tcp.length > 0)
    rows.push(row(`uacsta responder INFO/s vs SIPp UAS (TCP, one connection, ${shape})`, 'INFO/s', tcp, 'SIPp UAS (uas-info.xml), same SIPp UAC', '≥ 0.35×'));
  if (client.length > 0)
    rows.push(row(`CstaClient invokes/s → uacsta responder (UDP, ${o.inFlight} associations)`, 'invokes/s', client, 'SIPp UAC → the same responder', ''));

  // latency at half of the responder's sustained UDP rate, ours and the SIPp UAS's
  const sustained = udp.length > 0 ? stats(udp.map((p) => p[0])).median : NaN;
  if (!Number.isFinite(sustained)) {
    log('latency rows skipped: no sustained rate');
    return rows;
  }
  const half = sustained / 2;
  const p50: [number, number][] = [];
  const p99: [number, number][] = [];
  const ms = (r: PacedRun, p: number): string => percentile([...r.latencies].sort((x, y) => x - y), p).toFixed(3);
  for (let r = 1; r <= rounds; r++) {
    // 3 s of warm-up: until the JIT has compiled the path, the first second runs several times
    // slower and its backlog would be counted as latency
    const paced = { dialogs: o.inFlight, warmupSeconds: Math.max(3, o.warmupSeconds), seconds: o.seconds, ratePerSecond: half };
    const anchor = await startSippUas({ transport: 'u1', bufferBytes: BUFFER });
    let a: PacedRun;
    try {
      a = await pacedInfoRun({ port: anchor.port, ...paced });
    } finally {
      await anchor.stop();
    }
    const ours = await startResponderProcess('udp');
    let b: PacedRun;
    try {
      b = await pacedInfoRun({ port: ours.port, ...paced });
    } finally {
      await ours.stop();
    }
    log(
      `latency ${r}/${rounds} at ${fmt(half)} INFO/s offered: uacsta responder p50 ${ms(b, 50)} ms, p99 ${ms(b, 99)} ms, ` +
        `p99.9 ${ms(b, 99.9)} ms (${fmt(b.rate)}/s answered, lost ${b.lost}, not offered ${b.skipped}); SIPp UAS p50 ` +
        `${ms(a, 50)} ms, p99 ${ms(a, 99)} ms, p99.9 ${ms(a, 99.9)} ms (${fmt(a.rate)}/s answered, lost ${a.lost}, not offered ${a.skipped})`,
    );
    if (a.latencies.length > 0 && b.latencies.length > 0) {
      p50.push([Number(ms(b, 50)), Number(ms(a, 50))]);
      p99.push([Number(ms(b, 99)), Number(ms(a, 99))]);
    }
  }
  const at = `UDP, raw client paced at ½ sustained ≈ ${fmt(half)} INFO/s, ${o.inFlight} dialogs`;
  if (p50.length > 0) {
    rows.push(row(`uacsta responder p50 latency (${at})`, 'ms', p50, 'SIPp UAS, same client and load', ''));
    rows.push(row(`uacsta responder p99 latency (${at})`, 'ms', p99, 'SIPp UAS, same client and load', 'p99 < 2 ms'));
  }
  return rows;
}
