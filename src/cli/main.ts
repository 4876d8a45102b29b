#!/usr/bin/env node
/**
 * The `uacsta` command: argument parsing, command dispatch, exit codes. The only module that
 * reads `process.argv` or calls `process.exit`.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { readFileSync, realpathSync } from 'node:fs';
import { runCall, CALL_HELP } from './commands/call.js';
import { runDecode, DECODE_HELP } from './commands/decode.js';
import { runDemo, DEMO_HELP } from './commands/demo.js';
import { runEncode, ENCODE_HELP } from './commands/encode.js';
import { runInvoke, INVOKE_HELP } from './commands/invoke.js';
import { runMonitor, MONITOR_HELP } from './commands/monitor.js';
import { runPhone, PHONE_HELP } from './commands/phone.js';
import { runResponder, RESPONDER_HELP } from './commands/responder.js';
import { EXIT, type CliIo } from './io.js';

const COMMANDS: Readonly<Record<string, { run: (a: readonly string[], io: CliIo) => Promise<number>; help: string; summary: string }>> = {
  demo: { run: runDemo, help: DEMO_HELP, summary: 'two simulated phones and a controller on loopback: a call, as a ladder' },
  call: { run: runCall, help: CALL_HELP, summary: 'MakeCall FROM → TO and follow the events until established or failed' },
  decode: { run: runDecode, help: DECODE_HELP, summary: 'CSTA XML → typed JSON' },
  encode: { run: runEncode, help: ENCODE_HELP, summary: 'typed JSON → CSTA XML (choose the edition)' },
  invoke: { run: runInvoke, help: INVOKE_HELP, summary: 'one CSTA request in its own session; the response as JSON' },
  monitor: { run: runMonitor, help: MONITOR_HELP, summary: 'start a monitor and print its events as JSON lines' },
  phone: { run: runPhone, help: PHONE_HELP, summary: 'simulated CSTA-controllable SIP phones on one socket' },
  responder: { run: runResponder, help: RESPONDER_HELP, summary: 'answer every CSTA request positively (bench/smoke peer)' },
};

function mainHelp(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return `Usage: uacsta COMMAND [options]

Control and observe SIP phones with CSTA (ECMA-269/ECMA-323 over SIP, ECMA TR/87 uaCSTA).

Commands:
${lines.join('\n')}

Options:
  -h, --help     this text (uacsta COMMAND --help for a command)
  -v, --version  the package version

Exit codes: 0 success; 1 protocol failure (bad input, the peer said no, timeout);
2 usage error.

Examples:
  uacsta demo                                     two phones and a controller; the ladder
  uacsta demo --ladder demo.html --pcap demo.pcap
  uacsta phone --listen udp:127.0.0.1:5070 --extension 1000 --count 2
  uacsta call sip:1000@127.0.0.1:5070 1000 1001   click-to-dial, follow the call
  uacsta monitor sip:1000@127.0.0.1:5070 --json   the phone's events as JSON lines
  uacsta invoke sip:1000@127.0.0.1:5070 '{"type":"SnapshotDevice","snapshotObject":"1000"}'
  uacsta decode examples/csta/make-call.xml

Docs: docs/cli.md (every command and flag), docs/tracing.md (--trace, --ladder, --pcap).
`;
}

/** The package version, read from the package's own package.json (not the working directory). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'uacsta' && pkg.version) return pkg.version;
    } catch {
      // not here; try the parent folder
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}

/** Runs the CLI with the given arguments; resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    io.stdout(mainHelp());
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === '-v' || first === '--version') {
    io.stdout(packageVersion() + '\n');
    return EXIT.ok;
  }
  const command = COMMANDS[first];
  if (command === undefined) {
    io.stderr(`uacsta: unknown command '${first}'; expected one of ${Object.keys(COMMANDS).join(', ')}\n`);
    return EXIT.usage;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    const err = e as { code?: unknown; message?: unknown };
    if (typeof err.code === 'string' && err.code.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`uacsta ${first}: ${String(err.message)}\n(see uacsta ${first} --help for what it expects)\n`);
      return EXIT.usage;
    }
    if (typeof err.code === 'string' && (err.code === 'ENOENT' || err.code === 'EISDIR' || err.code === 'EACCES')) {
      io.stderr(`uacsta ${first}: cannot read input: ${String(err.message)}\n`);
      return EXIT.usage;
    }
    throw e;
  }
}

async function readStdin(): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const c of process.stdin) chunks.push(c as Uint8Array);
  return Buffer.concat(chunks);
}

/** The process-facing I/O. */
export const processIo: CliIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  readInput: (path) => (path === '-' ? readStdin() : readFile(path)),
  interruption: () => {
    if (interrupted === undefined) {
      const c = new AbortController();
      interrupted = c;
      process.once('SIGINT', () => c.abort());
      process.once('SIGTERM', () => c.abort());
    }
    return interrupted.signal;
  },
};

let interrupted: AbortController | undefined;

function isMain(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMain()) {
  // a closed pipe (uacsta demo | head) ends the output, not the process with a stack trace
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  runCli(process.argv.slice(2), processIo).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`uacsta: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exit(70);
    },
  );
}
