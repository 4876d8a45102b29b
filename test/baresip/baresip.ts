/**
 * Starts Debian's baresip (`/usr/bin/baresip`, package `baresip-core`) as a far-end phone for
 * `test/integration/phone/`: on 127.0.0.1 with the `config` of this folder in a temporary
 * folder, one local account (no registration) that answers by itself or not, SIP trace on
 * (`-s`, so tests can read what it received), and its `ctrl_tcp` module to drive it (`dial`,
 * `hangup`, `accept`) and to read its events (CALL_INCOMING, CALL_ESTABLISHED, CALL_CLOSED …).
 * Ended by its PID.
 *
 * @remarks
 * ctrl_tcp speaks netstrings (`LEN:JSON,`): commands `{"command","params","token"}`, answers
 * `{"response":true,"ok","data","token"}`, events `{"event":true,"type",…}`.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, sleep, waitListening } from '../sipp/sipp.js';
import { spawnPeer } from '../support/peer-process.js';

/** The configuration copied into each run's folder. */
export const BARESIP_CONFIG = join(dirname(fileURLToPath(import.meta.url)), 'config');

/** Why baresip tests are skipped on a machine without it. */
export const BARESIP_MISSING = 'baresip is not installed (apt-get install baresip-core; .ci/run installs it)';

let present: boolean | undefined;

/** Whether `/usr/bin/baresip` runs here with the modules the config loads (checked once). */
export function hasBaresip(): boolean {
  present ??=
    spawnSync('baresip', ['-h'], { stdio: 'ignore', timeout: 5000 }).error === undefined &&
    spawnSync('test', ['-f', '/usr/lib/baresip/modules/ctrl_tcp.so']).status === 0;
  return present;
}

/** An event of baresip's ctrl_tcp. */
export interface BaresipEvent {
  readonly type: string;
  readonly class?: string;
  readonly direction?: string;
  readonly peeruri?: string;
  readonly param?: string;
  readonly [key: string]: unknown;
}

/** Options of {@link startBaresip}. */
export interface BaresipOptions {
  /** User part of its account. @defaultValue `'bob'` */
  readonly user?: string;
  /** `auto` answers incoming calls at once. @defaultValue `'auto'` */
  readonly answerMode?: 'auto' | 'manual';
  readonly startMs?: number;
}

/** A running baresip. */
export interface RunningBaresip {
  readonly pid: number;
  readonly sipPort: number;
  /** Its account's address: `sip:bob@127.0.0.1:PORT`. */
  readonly uri: string;
  /** Every ctrl_tcp event so far. */
  readonly events: readonly BaresipEvent[];
  /** Sends a command (`dial`, `hangup`, `accept`, …) and resolves with its answer's `data`. */
  command(command: string, params?: string): Promise<{ ok: boolean; data: string }>;
  /** Resolves with the first event of `type` at or after index `from`. */
  waitEvent(type: string, ms?: number, from?: number): Promise<BaresipEvent>;
  /** Its stdout and stderr so far (with `-s`, every SIP message it sent and received). */
  output(): string;
  /** Ends it by its PID (SIGTERM, SIGKILL after `ms`) and removes its folder. */
  stop(ms?: number): Promise<void>;
}

/** 8 kHz mono 16-bit PCM WAV of `seconds` of silence (RIFF/WAVE, the format aufile reads). */
function silenceWav(seconds: number): Uint8Array {
  const samples = 8000 * seconds;
  const out = new Uint8Array(44 + samples * 2);
  const v = new DataView(out.buffer);
  const ascii = (at: number, s: string): void => {
    for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  };
  ascii(0, 'RIFF');
  v.setUint32(4, 36 + samples * 2, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, 8000, true);
  v.setUint32(28, 16000, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  ascii(36, 'data');
  v.setUint32(40, samples * 2, true);
  return out;
}

/** One SIP message of baresip's `-s` trace. */
export interface TracedMessage {
  /** `in` when baresip received it. */
  readonly dir: 'in' | 'out';
  /** The start line: `INVITE sip:… SIP/2.0` or `SIP/2.0 200 OK`. */
  readonly startLine: string;
  /** The whole message text as traced. */
  readonly text: string;
}

/**
 * The SIP messages in baresip's trace: blocks `#` / `UDP SRC -> DST` / message, coloured with
 * ANSI escapes that are stripped here.
 */
export function sipTrace(output: string, sipPort: number): TracedMessage[] {
  const clean = output.replace(/\x1b\[[0-9;]*m/g, '');
  const out: TracedMessage[] = [];
  const re = /^#\n(?:UDP|TCP) (\S+) -> (\S+)\n([\s\S]*?)(?=^#\n(?:UDP|TCP) |$(?![\s\S]))/gm;
  for (const m of clean.matchAll(re)) {
    const dst = m[2]!;
    const text = m[3]!;
    out.push({ dir: dst.endsWith(`:${sipPort}`) ? 'in' : 'out', startLine: text.split('\n')[0]!.trim(), text });
  }
  return out;
}

/** Starts baresip and resolves once its SIP and control ports listen. */
export async function startBaresip(options: BaresipOptions = {}): Promise<RunningBaresip> {
  const user = options.user ?? 'bob';
  const sipPort = await freePort();
  let ctrlPort = await freePort();
  while (ctrlPort === sipPort) ctrlPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'uacsta-baresip-'));
  copyFileSync(BARESIP_CONFIG, join(dir, 'config'));
  writeFileSync(
    join(dir, 'config'),
    `\nsip_listen\t\t127.0.0.1:${sipPort}\nctrl_tcp_listen\t\t127.0.0.1:${ctrlPort}\n`,
    { flag: 'a' },
  );
  const uri = `sip:${user}@127.0.0.1:${sipPort}`;
  writeFileSync(join(dir, 'accounts'), `<${uri}>;regint=0;answermode=${options.answerMode ?? 'auto'}\n`);
  writeFileSync(join(dir, 'contacts'), '');
  writeFileSync(join(dir, 'silence.wav'), silenceWav(30));
  const child = spawnPeer('baresip', ['-f', dir, '-s'], dir, { stdout: true, maxOutput: 2_000_000 });
  let socket: Socket | undefined;
  const stop = async (ms = 3000): Promise<void> => {
    socket?.destroy();
    await child.stop(ms);
  };
  try {
    const startMs = options.startMs ?? 10_000;
    await waitListening(sipPort, 'udp', startMs, child.exited);
    await waitListening(ctrlPort, 'tcp', startMs, child.exited);
  } catch (error) {
    await stop();
    throw new Error(`baresip did not start: ${String(error)}\n${child.output().slice(-4000)}`);
  }
  if (child.pid === undefined) throw new Error('baresip has no pid');

  const events: BaresipEvent[] = [];
  const waiting = new Map<string, (r: { ok: boolean; data: string }) => void>();
  socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect(ctrlPort, '127.0.0.1', () => resolve(s));
    s.once('error', reject);
  });
  socket.on('error', () => undefined);
  let buffer = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    for (;;) {
      const colon = buffer.indexOf(':');
      if (colon < 0) return;
      const len = Number(buffer.slice(0, colon));
      if (!Number.isInteger(len) || buffer.length < colon + 1 + len + 1) return;
      const json = buffer.slice(colon + 1, colon + 1 + len);
      buffer = buffer.slice(colon + 2 + len);
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(json) as Record<string, unknown>;
      } catch {
        continue;
      }
      if (msg['event'] === true) events.push(msg as BaresipEvent);
      else if (msg['response'] === true && typeof msg['token'] === 'string') {
        waiting.get(msg['token'])?.({ ok: msg['ok'] === true, data: String(msg['data'] ?? '') });
        waiting.delete(msg['token']);
      }
    }
  });
  let token = 0;
  const command = (cmd: string, params?: string): Promise<{ ok: boolean; data: string }> =>
    new Promise((resolve, reject) => {
      const t = String(++token);
      const json = JSON.stringify({ command: cmd, ...(params === undefined ? {} : { params }), token: t });
      const timer = setTimeout(() => {
        waiting.delete(t);
        reject(new Error(`baresip did not answer ${cmd}`));
      }, 5000);
      waiting.set(t, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      socket!.write(`${Buffer.byteLength(json)}:${json},`);
    });
  const waitEvent = async (type: string, ms = 5000, from = 0): Promise<BaresipEvent> => {
    const end = Date.now() + ms;
    for (;;) {
      const e = events.slice(from).find((x) => x.type === type);
      if (e !== undefined) return e;
      if (Date.now() > end || child.exited()) throw new Error(`no baresip ${type} within ${ms} ms; events: ${events.map((x) => x.type).join(', ')}\n${child.output().slice(-3000)}`);
      await sleep(10);
    }
  };
  return { pid: child.pid, sipPort, uri, events, command, waitEvent, output: child.output, stop };
}
