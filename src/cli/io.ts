/**
 * What a CLI command may touch: its output streams and its input. Commands never reach for
 * `process` themselves, so tests run them in-process.
 */
export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Reads a file, or standard input for `-`, as bytes. */
  readonly readInput: (path: string) => Promise<Uint8Array>;
  /**
   * A signal aborted on SIGINT or SIGTERM, for commands that run until interrupted (`monitor`,
   * `responder`); the handlers are installed on the first call only. Absent in tests that run
   * commands in-process without signals.
   */
  readonly interruption?: () => AbortSignal;
}

/** Exit codes, documented in `uacsta --help`. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
