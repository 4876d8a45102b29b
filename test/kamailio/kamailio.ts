/**
 * Starts Kamailio (Debian package `kamailio`) with `kamailio.cfg` of this folder on 127.0.0.1 for
 * `test/integration/kamailio/`: in the foreground (`-DD -E`), on a free UDP port given with
 * `-l`, with a temporary runtime folder, and ended by its PID.
 *
 * @remarks
 * The auth module of Kamailio takes one digest algorithm per process (`modparam("auth",
 * "algorithm", …)`: "", "MD5" or "SHA-256" in 5.6), so each process is started for one
 * algorithm, chosen with the define `WITH_SHA256` or `WITH_MD5`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitListening } from '../sipp/sipp.js';
import { spawnPeer } from '../support/peer-process.js';

/** The configuration file the tests run. */
export const KAMAILIO_CFG = join(dirname(fileURLToPath(import.meta.url)), 'kamailio.cfg');

/** The digest realm of `kamailio.cfg`. */
export const KAMAILIO_REALM = 'uacsta.test';

/** The users of `kamailio.cfg` and their plaintext passwords. */
export const KAMAILIO_USERS = {
  alice: 'alice-pass',
  bob: 'bob-pass',
} as const;

export type KamailioAlgorithm = 'SHA-256' | 'MD5';

let present: boolean | undefined;

/** Whether a `kamailio` binary runs on this machine (looked up once). */
export function hasKamailio(): boolean {
  present ??= spawnSync('kamailio', ['-v'], { stdio: 'ignore', timeout: 5000 }).status === 0;
  return present;
}

/** The first line of `kamailio -v`, e.g. `version: kamailio 5.6.3 (x86_64/linux)`. */
export function kamailioVersion(): string {
  const r = spawnSync('kamailio', ['-v'], { encoding: 'utf8', timeout: 5000 });
  return (r.stdout ?? '').split('\n')[0]?.trim() ?? '';
}

/** A running Kamailio. */
export interface RunningKamailio {
  readonly pid: number;
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly algorithm: KamailioAlgorithm;
  /** Everything it wrote to stderr so far (its log, with `-E`). */
  log(): string;
  /** Ends it by its PID (SIGTERM, SIGKILL after `ms`) and removes the runtime folder. */
  stop(ms?: number): Promise<void>;
}

/** Starts Kamailio for `algorithm` and resolves once it listens on UDP. */
export async function startKamailio(
  algorithm: KamailioAlgorithm,
  options: { readonly startMs?: number } = {},
): Promise<RunningKamailio> {
  const port = await freePort();
  const runDir = mkdtempSync(join(tmpdir(), 'uacsta-kamailio-'));
  const args = [
    '-DD',
    '-E',
    '-f', KAMAILIO_CFG,
    '-A', algorithm === 'SHA-256' ? 'WITH_SHA256' : 'WITH_MD5',
    '-l', `udp:127.0.0.1:${port}`,
    '-Y', runDir,
    '-P', join(runDir, 'kamailio.pid'),
    '-m', '32',
    '-M', '8',
  ];
  const child = spawnPeer('kamailio', args, runDir);
  const stop = (ms?: number): Promise<void> => child.stop(ms);
  try {
    await waitListening(port, 'udp', options.startMs ?? 10_000, child.exited);
  } catch (error) {
    await stop();
    throw new Error(`kamailio did not start: ${String(error)}\n${child.output().slice(-4000)}`);
  }
  if (child.pid === undefined) throw new Error('kamailio has no pid');
  return { pid: child.pid, host: '127.0.0.1', port, algorithm, log: child.output, stop };
}

/** The WebSocket configuration (issue #9): registrar and proxy between WS and UDP, no auth. */
export const KAMAILIO_WS_CFG = join(dirname(fileURLToPath(import.meta.url)), 'kamailio-ws.cfg');

/** A running Kamailio of `kamailio-ws.cfg`. */
export interface RunningKamailioWs {
  readonly pid: number;
  readonly host: '127.0.0.1';
  /** The UDP listener (our Node user agents). */
  readonly udpPort: number;
  /** The TCP listener that upgrades to WebSocket (RFC 7118): `ws://127.0.0.1:<wsPort>`. */
  readonly wsPort: number;
  log(): string;
  /** Ends it by its PID (SIGTERM, SIGKILL after `ms`) and removes the runtime folder. */
  stop(ms?: number): Promise<void>;
}

let wsModules: boolean | undefined;

/** Whether `kamailio-ws.cfg` loads (kamailio with the websocket and xhttp modules), checked once. */
export function hasKamailioWs(): boolean {
  wsModules ??=
    hasKamailio() &&
    spawnSync('kamailio', ['-c', '-f', KAMAILIO_WS_CFG], { stdio: 'ignore', timeout: 10_000 }).status === 0;
  return wsModules;
}

/** Starts Kamailio with `kamailio-ws.cfg`; resolves once it listens on UDP and TCP. */
export async function startKamailioWs(options: { readonly startMs?: number } = {}): Promise<RunningKamailioWs> {
  const udpPort = await freePort();
  let wsPort = await freePort();
  while (wsPort === udpPort) wsPort = await freePort();
  const runDir = mkdtempSync(join(tmpdir(), 'uacsta-kamailio-ws-'));
  const args = [
    '-DD',
    '-E',
    '-f', KAMAILIO_WS_CFG,
    '-l', `udp:127.0.0.1:${udpPort}`,
    '-l', `tcp:127.0.0.1:${wsPort}`,
    '-Y', runDir,
    '-P', join(runDir, 'kamailio.pid'),
    '-m', '32',
    '-M', '8',
  ];
  const child = spawnPeer('kamailio', args, runDir);
  const stop = (ms?: number): Promise<void> => child.stop(ms);
  try {
    const startMs = options.startMs ?? 10_000;
    await waitListening(udpPort, 'udp', startMs, child.exited);
    await waitListening(wsPort, 'tcp', startMs, child.exited);
  } catch (error) {
    await stop();
    throw new Error(`kamailio (ws) did not start: ${String(error)}\n${child.output().slice(-4000)}`);
  }
  if (child.pid === undefined) throw new Error('kamailio has no pid');
  return { pid: child.pid, host: '127.0.0.1', udpPort, wsPort, log: child.output, stop };
}
