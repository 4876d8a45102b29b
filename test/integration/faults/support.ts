/**
 * Helpers of the fault, hostile-input and soak tests: child processes run with tsx (ended by
 * PID), their output watched line by line, and waiting for a condition with a bound.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
// node with tsx's loader, not the tsx wrapper: the wrapper runs node as a child of its own, so
// killing the wrapper's PID (SIGKILL) would leave the real process running
const TSX_LOADER = ['--require', join(ROOT, 'node_modules/tsx/dist/preflight.cjs'), '--import', pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href];

/** A node child process running a TypeScript file with tsx. */
export interface Child {
  readonly process: ChildProcess;
  readonly pid: number;
  /** Everything it printed on stdout so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout (waiting for it, at most `ms`). */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
  /** Resolves with the exit code or signal once the process has ended. */
  readonly exited: Promise<number | NodeJS.Signals | null>;
  /** SIGKILL by PID, unless it has already ended; resolves once it has. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Runs `file` (relative to the repository) with node, tsx's loader, `nodeArgs` and `args`. */
export function runTs(file: string, args: readonly string[], options: { readonly nodeArgs?: readonly string[]; readonly env?: NodeJS.ProcessEnv } = {}): Child {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...TSX_LOADER, join(ROOT, file), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env },
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  let ended = false;
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) =>
    child.once('exit', (code, signal) => {
      ended = true;
      resolve(code ?? signal);
    }),
  );
  if (child.pid === undefined) throw new Error(`could not start ${file}`);
  const pid = child.pid;
  return {
    process: child,
    pid,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(pattern, ms = 30_000) {
      const end = Date.now() + ms;
      for (;;) {
        const m = pattern.exec(out);
        if (m !== null) return m;
        if (ended) throw new Error(`${file} ended before printing ${pattern} (stderr: ${err.slice(-2000)})`);
        if (Date.now() > end) throw new Error(`timed out waiting for ${pattern} from ${file} (stderr: ${err.slice(-2000)})`);
        await sleep(20);
      }
    },
    async kill(signal = 'SIGKILL') {
      if (!ended) {
        try {
          process.kill(pid, signal);
        } catch {
          // already gone
        }
      }
      await exited;
    },
  };
}

/** `uacsta phone` (the CLI from source) on `udp:127.0.0.1:PORT` with extension 1000. */
export function runPhoneCli(port: number, extra: readonly string[] = []): Child {
  return runTs('src/cli/main.ts', ['phone', '--listen', `udp:127.0.0.1:${port}`, '--extension', '1000', '--media', 'none', ...extra]);
}

/** Resolves after `ms` of real time. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it holds; rejects after `ms` naming `what`. */
export async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** `test/integration/hostile/phone-process.ts` (phones 1000 and 1001) with `--expose-gc`. */
export function runPhoneProcess(listen: string): Child {
  return runTs('test/integration/hostile/phone-process.ts', [listen], { nodeArgs: ['--expose-gc'] });
}

/** Asks a {@link runPhoneProcess} child for its heap after GC and its session count. */
export async function phoneStats(child: Child): Promise<{ heapUsed: number; rss: number; sessions: number }> {
  const seen = child.stdout().length;
  process.kill(child.pid, 'SIGUSR2');
  const end = Date.now() + 10_000;
  for (;;) {
    const m = /heap (\d+) (\d+)\nsessions (\d+)\n/.exec(child.stdout().slice(seen));
    if (m !== null) return { heapUsed: Number(m[1]), rss: Number(m[2]), sessions: Number(m[3]) };
    if (Date.now() > end) throw new Error('no heap line from the phone process');
    await sleep(20);
  }
}
