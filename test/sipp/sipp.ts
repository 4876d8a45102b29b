/**
 * Runs the SIPp scenarios of this folder (`uac-info.xml`, `uas-info.xml`) on 127.0.0.1 and reads
 * back what SIPp counted: used by `test/integration/sipp/` and by the SIP rows of `npm run bench`.
 *
 * @remarks
 * SIPp (Debian package `sip-tester`, binary `sipp`) writes its trace files next to the scenario
 * file, so every run copies the scenario into a fresh temporary folder and reads the files from
 * there: the statistics (`-trace_stat`, cumulative call counts), the per-message counts
 * (`-trace_counts`, one row every `-fd` seconds; the INFO rate comes from these rows), the final
 * screen and the error log. Every process started here is bounded in time and ended by its PID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding the scenario files. */
export const SCENARIO_DIR = dirname(fileURLToPath(import.meta.url));

/** Why SIPp-based tests and benchmarks are skipped on a machine without it. */
export const SIPP_MISSING =
  'sipp is not installed (apt-get install sip-tester; .ci/run installs it)';

/**
 * SIPp transport modes, as `-t` spells them: `u1` one UDP socket, `t1` one TCP connection for
 * all calls, `tn` one TCP connection per call.
 */
export type SippTransport = 'u1' | 't1' | 'tn';

let sippPresent: boolean | undefined;

/** Whether a `sipp` binary runs on this machine (looked up once). */
export function hasSipp(): boolean {
  sippPresent ??= !spawnSync('sipp', ['-v'], { stdio: 'ignore', timeout: 5000 }).error;
  return sippPresent;
}

/** A port on 127.0.0.1 that is free for both UDP and TCP at the time of the call. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createSocket('udp4');
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    if ((await tcpFree(port)) && (await udpFree(port))) return port;
  }
  throw new Error('no port free for both UDP and TCP on 127.0.0.1 after 20 attempts');
}

function tcpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * Whether a socket is bound (UDP) or listening (TCP) on `port`, from the kernel's tables, so
 * that asking never takes the port from the process that is about to bind it; `undefined`
 * where there is no `/proc/net`.
 */
function boundInProc(port: number, transport: 'udp' | 'tcp'): boolean | undefined {
  const hex = ':' + port.toString(16).toUpperCase().padStart(4, '0');
  let seen = false;
  for (const table of [transport, transport + '6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/net/${table}`, 'latin1');
    } catch {
      continue;
    }
    seen = true;
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[1] local address, f[3] state: 0A is LISTEN for TCP; any state for UDP
      if (f[1]?.endsWith(hex) && (transport === 'udp' || f[3] === '0A')) return true;
    }
  }
  return seen ? false : undefined;
}

/** Resolves once something listens on `port` for `transport`, polling every 20 ms. */
export async function waitListening(
  port: number,
  transport: 'udp' | 'tcp',
  ms: number,
  exited: () => boolean,
): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (exited()) throw new Error(`the server exited before listening on ${transport} ${port}`);
    const bound =
      boundInProc(port, transport) ?? !(transport === 'udp' ? await udpFree(port) : await tcpFree(port));
    if (bound) return;
    await sleep(20);
  }
  throw new Error(`nothing listened on ${transport} 127.0.0.1:${port} within ${ms} ms`);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One row of SIPp's `-trace_counts` file, reduced to the INFO transaction of `uac-info.xml`. */
export interface CountsRow {
  /** Seconds since the epoch, from the row's CurrentTime. */
  readonly time: number;
  readonly infoSent: number;
  readonly infoRetrans: number;
  readonly infoTimeout: number;
  /** 200 responses to INFO received (UAC side) or INFO requests received (UAS side). */
  readonly infoDone: number;
  readonly unexpected: number;
}

/** What one SIPp process did. */
export interface SippReport {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Successful and failed calls, cumulative, from the last row of the statistics file. */
  readonly successfulCalls: number;
  readonly failedCalls: number;
  readonly counts: readonly CountsRow[];
  readonly screen: string;
  readonly errors: string;
  readonly stderr: string;
}

/** A running server process listening on 127.0.0.1:`port`. */
export interface Running {
  readonly pid: number;
  readonly port: number;
  /** Ends the process and resolves once it has exited. */
  stop(): Promise<unknown>;
}

/** A running SIPp UAS. */
export interface SippUas extends Running {
  /** Sends SIGUSR1 (SIPp's graceful quit, which writes the final files) and reads them. */
  stop(): Promise<SippReport>;
}

interface SippRun {
  readonly child: ChildProcess;
  readonly dir: string;
  readonly scenario: string;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly exited: () => boolean;
  readonly stderr: () => string;
}

function startSipp(scenario: string, args: readonly string[]): SippRun {
  const dir = mkdtempSync(join(tmpdir(), 'uacsta-sipp-'));
  copyFileSync(join(SCENARIO_DIR, scenario), join(dir, scenario));
  const child = spawn(
    'sipp',
    [
      '-sf', scenario,
      '-nostdin',
      '-trace_stat', '-stf', 'stat.csv',
      '-trace_counts',
      '-fd', '1',
      '-trace_screen', '-screen_file', 'screen.log',
      '-trace_err', '-error_file', 'errors.log',
      ...args,
    ],
    { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let err = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    if (err.length < 8192) err += d;
  });
  let done = false;
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (e) => {
      done = true;
      err += String(e);
      resolve({ code: null, signal: null });
    });
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  track(child);
  return { child, dir, scenario, exit, exited: () => done, stderr: () => err };
}

/**
 * Waits for the process to exit; after `ms` sends SIGUSR1 (SIPp's "q": stop starting calls and
 * quit once the running ones end), and SIGKILL 3 s later, since a call stuck in retransmissions
 * keeps SIPp waiting for up to 32 s. Files already written (the counts, every second) survive.
 */
async function finish(run: SippRun, ms: number): Promise<SippReport> {
  const { child } = run;
  const t1 = setTimeout(() => child.kill('SIGUSR1'), ms);
  const t2 = setTimeout(() => child.kill('SIGKILL'), ms + 3000);
  const { code, signal } = await run.exit;
  clearTimeout(t1);
  clearTimeout(t2);
  const report = readReport(run.dir, run.scenario, code, signal, run.stderr());
  if (!process.env['KEEP_SIPP_FILES']) rmSync(run.dir, { recursive: true, force: true });
  else process.stderr.write(`sipp files kept in ${run.dir}\n`);
  return report;
}

function readReport(
  dir: string,
  scenario: string,
  exitCode: number | null,
  signal: NodeJS.Signals | null,
  stderr: string,
): SippReport {
  const read = (f: string): string => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'latin1') : '');
  const stat = parseCsv(read('stat.csv'));
  const last = stat.rows[stat.rows.length - 1];
  const col = (name: string): number => {
    const i = stat.header.indexOf(name);
    return last && i >= 0 ? Number(last[i]) : NaN;
  };
  const prefix = scenario.replace(/\.xml$/, '') + '_';
  const countsFile = readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith('_counts.csv'));
  return {
    exitCode,
    signal,
    successfulCalls: col('SuccessfulCall(C)'),
    failedCalls: col('FailedCall(C)'),
    counts: countsFile ? infoCounts(read(countsFile)) : [],
    screen: read('screen.log'),
    errors: read('errors.log'),
    stderr,
  };
}

function parseCsv(text: string): { header: string[]; rows: string[][] } {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = (lines[0] ?? '').split(';');
  return { header, rows: lines.slice(1).map((l) => l.split(';')) };
}

/**
 * Reduces a `-trace_counts` file to the INFO transaction. Its columns are named
 * `<index>_<message>_<counter>`; the INFO is the message called INFO, and its answer (200 on the
 * UAC side, the INFO itself on the UAS side) is read from the same or the next index.
 */
function infoCounts(text: string): CountsRow[] {
  const { header, rows } = parseCsv(text);
  const idx = (name: string): number => header.indexOf(name);
  const info = header.find((h) => /^\d+_INFO_(Sent|Recv)$/.test(h));
  if (!info) return [];
  const n = Number(info.split('_')[0]);
  const uac = info.endsWith('_Sent');
  const sent = idx(`${n}_INFO_Sent`);
  const retrans = idx(`${n}_INFO_Retrans`);
  const timeout = idx(`${n}_INFO_Timeout`);
  const done = uac ? idx(`${n + 1}_200_Recv`) : idx(`${n}_INFO_Recv`);
  const unexpectedCols = header.map((h, i) => (h.endsWith('_Unexp') ? i : -1)).filter((i) => i >= 0);
  const num = (r: string[], i: number): number => (i >= 0 ? Number(r[i] ?? 0) : 0);
  return rows.map((r) => ({
    time: Number((r[0] ?? '').split('\t')[2] ?? NaN),
    infoSent: num(r, sent),
    infoRetrans: num(r, retrans),
    infoTimeout: num(r, timeout),
    infoDone: num(r, done),
    unexpected: unexpectedCols.reduce((s, i) => s + num(r, i), 0),
  }));
}

/** Options of {@link startSippUas}. */
export interface SippUasOptions {
  /** The scenario file of this folder. @defaultValue 'uas-info.xml' */
  readonly scenario?: string;
  readonly transport: SippTransport;
  /** Defaults to a free port. */
  readonly port?: number;
  /** `-buff_size`: SO_SNDBUF and SO_RCVBUF of SIPp's sockets (capped by net.core.*mem_max). */
  readonly bufferBytes?: number;
}

/**
 * Starts `uas-info.xml` and resolves once it listens. A free port is picked when none is
 * given, and picked again (twice at most) when SIPp could not bind it: another process may take
 * a port between the check and SIPp's bind.
 */
export async function startSippUas(opts: SippUasOptions): Promise<SippUas> {
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort());
    const run = startSipp(opts.scenario ?? 'uas-info.xml', [
      '-t', opts.transport === 'tn' ? 't1' : opts.transport,
      '-i', '127.0.0.1',
      '-p', String(port),
      ...(opts.bufferBytes ? ['-buff_size', String(opts.bufferBytes)] : []),
    ]);
    try {
      await waitListening(port, opts.transport === 'u1' ? 'udp' : 'tcp', 5000, run.exited);
    } catch (e) {
      const exitedEarly = run.exited();
      run.child.kill('SIGKILL');
      const report = await finish(run, 0);
      if (exitedEarly && opts.port === undefined && attempt < 3) continue;
      throw new Error(`${(e as Error).message}: ${report.stderr.trim()}`);
    }
    return {
      pid: run.child.pid ?? -1,
      port,
      stop: () => {
        run.child.kill('SIGUSR1');
        return finish(run, 3000);
      },
    };
  }
}

/** Options of {@link runSippUac}. */
export interface SippUacOptions {
  /** The scenario file of this folder. @defaultValue 'uac-info.xml' */
  readonly scenario?: string;
  readonly transport: SippTransport;
  /** The UAS, on 127.0.0.1. */
  readonly port: number;
  /** INFO transactions per dialog (`-set infos`; only for scenarios that declare it). */
  readonly infos?: number;
  /** Dialogs in flight: SIPp's closed loop (`-users`), a new call as soon as one ends. */
  readonly inFlight: number;
  /** Stop after this many calls (`-m`). */
  readonly calls?: number;
  /** Stop starting calls after this many seconds (`-timeout`); running calls still finish. */
  readonly seconds?: number;
  readonly bufferBytes?: number;
  /** Hard bound on the whole run, in ms, after which SIPp is told to quit and then killed. */
  readonly deadlineMs: number;
  /** More SIPp options, e.g. `['-trace_msg']` with KEEP_SIPP_FILES=1 to look at the messages. */
  readonly extraArgs?: readonly string[];
}

/** Runs `uac-info.xml` against 127.0.0.1:`port` to its end (bounded by `deadlineMs`). */
export async function runSippUac(opts: SippUacOptions): Promise<SippReport> {
  const run = startSipp(opts.scenario ?? 'uac-info.xml', [
    '-t', opts.transport,
    '-i', '127.0.0.1',
    '-p', String(await freePort()),
    ...(opts.infos !== undefined ? ['-set', 'infos', String(opts.infos)] : []),
    '-users', String(opts.inFlight),
    ...(opts.calls !== undefined ? ['-m', String(opts.calls)] : []),
    ...(opts.seconds !== undefined ? ['-timeout', `${opts.seconds}s`] : []),
    ...(opts.transport === 'tn' ? ['-max_socket', String(Math.max(64, opts.inFlight * 2))] : []),
    ...(opts.bufferBytes ? ['-buff_size', String(opts.bufferBytes)] : []),
    ...(opts.extraArgs ?? []),
    `127.0.0.1:${opts.port}`,
  ]);
  return finish(run, opts.deadlineMs);
}

/**
 * Completed INFO transactions per second between the first counts row at or after `fromS`
 * seconds into the run and the last row at or before `toS` (rows come every second).
 */
export function infoRate(counts: readonly CountsRow[], fromS: number, toS: number): number {
  const t0 = counts[0]?.time;
  if (t0 === undefined) return NaN;
  const a = counts.find((r) => r.time - t0 >= fromS - 0.05);
  const b = [...counts].reverse().find((r) => r.time - t0 <= toS + 0.05);
  if (!a || !b || b.time <= a.time) return NaN;
  return (b.infoDone - a.infoDone) / (b.time - a.time);
}

/**
 * The CSTA bodies of a scenario file, keyed by their root element (`MakeCallResponse`, …), as
 * SIPp sends them: leading white space of each line removed, lines ending in CRLF.
 */
export function scenarioBodies(file: string): Map<string, string> {
  const text = readFileSync(join(SCENARIO_DIR, file), 'utf8');
  const out = new Map<string, string>();
  for (const m of text.matchAll(/^(<\?xml version="1\.0" encoding="UTF-8"\?>\n[\s\S]*?)\n\s*\]\]>/gm)) {
    const body = m[1]!
      .split('\n')
      .map((l) => l.trimStart() + '\r\n')
      .join('');
    const root = /<([A-Za-z]+)[\s>/]/.exec(body.slice(body.indexOf('?>') + 2))?.[1];
    if (root) out.set(root, body);
  }
  return out;
}

const children = new Set<ChildProcess>();
let hooked = false;

/** Remembers a child so that it is killed (by its PID) if this process exits first. */
export function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
  if (!hooked) {
    hooked = true;
    process.once('exit', killAll);
  }
}

function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
