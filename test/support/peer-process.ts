/**
 * A real peer (Kamailio, baresip) run as a child process for a test: its output kept (capped),
 * whether it has exited, and a stop that ends it by its PID (SIGTERM, then SIGKILL after `ms`) and
 * removes its working folder.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

export interface PeerProcess {
  readonly pid: number | undefined;
  /** What it wrote (stderr, and stdout when asked for), at most `maxOutput` characters. */
  readonly output: () => string;
  readonly exited: () => boolean;
  stop(ms?: number): Promise<void>;
}

/** Starts `command args` in `dir` (removed on stop). */
export function spawnPeer(
  command: string,
  args: readonly string[],
  dir: string,
  options: { readonly stdout?: boolean; readonly maxOutput?: number } = {},
): PeerProcess {
  const max = options.maxOutput ?? 1_000_000;
  const child = spawn(command, [...args], { cwd: dir, stdio: ['ignore', options.stdout ? 'pipe' : 'ignore', 'pipe'] });
  let output = '';
  const append = (chunk: string): void => {
    if (output.length < max) output += chunk;
  };
  child.stderr?.setEncoding('utf8').on('data', append);
  child.stdout?.setEncoding('utf8').on('data', append);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    const done = (): void => {
      exited = true;
      resolve();
    };
    child.once('exit', done);
    child.once('error', done);
  });
  return {
    pid: child.pid,
    output: () => output,
    exited: () => exited,
    async stop(ms = 3000) {
      if (!exited && child.pid !== undefined) {
        process.kill(child.pid, 'SIGTERM');
        const timer = setTimeout(() => {
          if (!exited && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
        }, ms);
        await exit;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
