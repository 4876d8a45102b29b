/**
 * What every UAS server script under `test/bench/servers/` shares: its command line, its CSTA
 * answers and how it says that it cannot run.
 *
 * The contract with the bench (`test/bench/sip.bench.ts`):
 *
 *     node --import tsx test/bench/servers/<name>.ts --transport udp|tcp --port N
 *
 * - listens on 127.0.0.1:N for the transport and answers the traffic of
 *   `test/sipp/uac-info.xml`: INVITE → 200 with a to-tag, a Contact and the
 *   RequestSystemStatusResponse body; INFO → 200 with the MakeCallResponse body; BYE → 200;
 *   ACK → nothing;
 * - the bench sees it is ready when the port is taken (it polls); it prints nothing on success;
 * - exits with {@link UNAVAILABLE} and a one-line reason on stderr when the stack it wraps is not
 *   there (the bench then prints that reason and skips the row);
 * - ends on SIGTERM.
 */
import { scenarioBodies } from '../../sipp/sipp.js';

/** Exit status of a server whose stack is not available (sysexits' EX_CONFIG). */
export const UNAVAILABLE = 78;

export interface ServerArgs {
  readonly transport: 'udp' | 'tcp';
  readonly port: number;
}

export function serverArgs(argv: readonly string[] = process.argv.slice(2)): ServerArgs {
  const get = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const transport = get('--transport') ?? 'udp';
  const port = Number(get('--port'));
  if ((transport !== 'udp' && transport !== 'tcp') || !Number.isInteger(port) || port <= 0) {
    process.stderr.write('usage: <server> --transport udp|tcp --port N\n');
    process.exit(2);
  }
  return { transport, port };
}

/** Exits with {@link UNAVAILABLE}, telling the bench why. */
export function unavailable(reason: string): never {
  process.stderr.write(reason.replace(/\s+/g, ' ').trim() + '\n');
  process.exit(UNAVAILABLE);
}

const bodies = scenarioBodies('uas-info.xml');

function body(root: string): string {
  const b = bodies.get(root);
  if (b === undefined) throw new Error(`test/sipp/uas-info.xml has no ${root} body`);
  return b;
}

/**
 * The answers of the SIPp anchor, byte for byte (CRLF line ends): the 200 to INVITE carries
 * `RequestSystemStatusResponse` (210 B), the 200 to INFO `MakeCallResponse` (307 B).
 */
export const ANSWERS = {
  invite: body('RequestSystemStatusResponse'),
  info: body('MakeCallResponse'),
  contentType: 'application/csta+xml',
  contentDisposition: 'signal;handling=required',
} as const;
