/**
 * `uacsta responder --listen udp:HOST:PORT`: the switching-function side reduced to a minimal
 * positive answer to every CSTA request, for benchmarks driven by SIPp and for smoke tests.
 *
 * @remarks
 * Every session (INVITE with a CSTA body or none, digest §1.3) gets a `CstaServer` whose handlers
 * come from the schema ({@link MinimalResponder}). Kept lean because it is the benchmark subject:
 * the handler functions are shared by all sessions, no per-request logging unless `--trace`,
 * and per-session state only with `--events`.
 */

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { CstaMessage, CstaServiceMap, UniversalFailure } from '../../csta/model/types.js';
import { acceptSipCstaChannels, type SipCstaChannel } from '../../node/sip-csta-channel.js';
import type { CstaEvent } from '../../uacsta/client.js';
import { CstaServiceError } from '../../uacsta/errors.js';
import { CstaServer, type CstaServerTraceEvent } from '../../uacsta/server.js';
import { readListen, UsageError } from '../args.js';
import { EXIT, type CliIo } from '../io.js';
import { MinimalResponder, SERVICES } from '../minimal-response.js';
import { createCliUserAgent, type CliUserAgent } from '../target.js';

export const RESPONDER_HELP = `Usage: uacsta responder --listen TRANSPORT:HOST:PORT [options]

Accepts uaCSTA sessions and answers every CSTA request with a minimal positive response of the
right type (MakeCall → MakeCallResponse with a fresh callID, MonitorStart → MonitorStartResponse
with a fresh monitorCrossRefID, RequestSystemStatus → normal, …). Prints one line
"listening TRANSPORT:HOST:PORT" (the real port when 0 was given) once ready; stops on SIGINT or
SIGTERM (BYE to the open sessions).

Options:
  --listen T:HOST:PORT   udp, tcp, tls or ws, and the address to bind (port 0 picks a free one)
  --cert FILE --key FILE TLS: the listener's certificate and key (PEM); without them a
                         self-signed certificate for HOST is made (needs openssl)
  --events               after each MakeCall, send ServiceInitiated, Originated, Delivered and
                         Established events (digest Example 3) to every monitor, in any
                         session, of the calling or the called device
  --refuse SERVICE[=CATEGORY:VALUE]
                         answer SERVICE with a CSTAErrorCode instead (repeatable; default
                         operation:generic), e.g. --refuse MakeCall=operation:invalidCalledDevice
  --trace                one line per request and response on stderr
  -h, --help             this text

Exit codes: 0 stopped by a signal; 1 cannot listen; 2 usage error.

Examples:
  uacsta responder --listen udp:127.0.0.1:5070
  uacsta responder --listen tcp:127.0.0.1:0 --events --refuse SnapshotDevice
  uacsta responder --listen tls:127.0.0.1:5071 --cert cert.pem --key key.pem
`;

/** Reads `--refuse SERVICE[=CATEGORY:VALUE]`. */
export function readRefusal(spec: string): readonly [string, UniversalFailure] {
  const m = /^([A-Za-z]+)(?:=([A-Za-z]+):([A-Za-z]+))?$/.exec(spec);
  if (m === null || !(SERVICES as readonly string[]).includes(m[1]!))
    throw new UsageError(`--refuse expects SERVICE[=CATEGORY:VALUE] with a CSTA service (e.g. MakeCall=operation:invalidCalledDevice); found '${spec}'`);
  const failure = { [m[2] ?? 'operation']: m[3] ?? 'generic' } as unknown as UniversalFailure;
  return [m[1]!, failure];
}

/** A monitor started on the responder (any session), for `--events`. */
interface Monitor {
  readonly server: CstaServer;
  readonly crossRefId: string;
  readonly device: string;
}

/** The events of digest Example 3 for a call `callID` from `calling` to `called`. */
export function makeCallEvents(monitor: string, callID: string, calling: string, called: string): CstaEvent[] {
  const dev = (d: string): { deviceIdentifier: string } => ({ deviceIdentifier: d });
  return [
    {
      type: 'ServiceInitiatedEvent',
      monitorCrossRefID: monitor,
      initiatedConnection: { callID, deviceID: calling },
      initiatingDevice: dev(calling),
      localConnectionInfo: 'initiated',
      cause: 'makeCall',
    },
    {
      type: 'OriginatedEvent',
      monitorCrossRefID: monitor,
      originatedConnection: { callID, deviceID: calling },
      callingDevice: dev(calling),
      calledDevice: dev(called),
      localConnectionInfo: 'connected',
      cause: 'newCall',
    },
    {
      type: 'DeliveredEvent',
      monitorCrossRefID: monitor,
      connection: { callID, deviceID: called },
      alertingDevice: dev(called),
      callingDevice: dev(calling),
      calledDevice: dev(called),
      lastRedirectionDevice: { notRequired: true },
      localConnectionInfo: 'connected',
      cause: 'newCall',
    },
    {
      type: 'EstablishedEvent',
      monitorCrossRefID: monitor,
      establishedConnection: { callID, deviceID: called },
      answeringDevice: dev(called),
      callingDevice: dev(calling),
      calledDevice: dev(called),
      lastRedirectionDevice: { notRequired: true },
      localConnectionInfo: 'connected',
      cause: 'newCall',
    },
  ] as unknown as CstaEvent[];
}

function deviceText(d: unknown): string {
  if (typeof d === 'string') return d;
  const v = (d as { value?: unknown } | undefined)?.value;
  return typeof v === 'string' ? v : '';
}

/** Options of {@link startResponder}. */
export interface ResponderOptions {
  readonly listen: ReturnType<typeof readListen>;
  readonly tls?: { readonly key: Buffer; readonly cert: Buffer };
  readonly events?: boolean;
  readonly refuse?: ReadonlyMap<string, UniversalFailure>;
  readonly trace?: (line: string) => void;
}

/** A running responder. */
export interface Responder {
  readonly agent: CliUserAgent;
  /** Sessions accepted so far. */
  readonly sessions: () => number;
  close(): Promise<void>;
}

/** Starts the responder (usable in-process by tests and the bench). */
export async function startResponder(o: ResponderOptions): Promise<Responder> {
  const agent = await createCliUserAgent({
    transport: o.listen.transport,
    host: o.listen.host,
    port: o.listen.port,
    ...(o.tls === undefined ? {} : { tls: o.tls }),
    // a burst of 64 dialogs must not overflow the kernel's default datagram queue
    recvBufferSize: 4 * 1024 * 1024,
    user: 'responder',
  });
  const answers = new MinimalResponder();
  const refuse = o.refuse ?? new Map<string, UniversalFailure>();
  const trace = o.trace;
  const serverTrace =
    trace === undefined
      ? undefined
      : (e: CstaServerTraceEvent): void => {
          if (e.type === 'received' || e.type === 'sent') trace(`${e.type} ${e.body.replace(/\s*\n\s*/g, ' ')}`);
          else if (e.type === 'refused') trace(`refused ${e.reason}`);
          else trace(`handler-error ${e.service}: ${String(e.error)}`);
        };
  // shared by every session: one closure per service, made once
  const handlers = new Map<string, (req: CstaMessage) => CstaMessage>();
  for (const service of SERVICES) {
    const failure = refuse.get(service);
    handlers.set(
      service,
      failure !== undefined
        ? () => {
            throw new CstaServiceError(failure);
          }
        : (req) => answers.respond(req)!,
    );
  }
  let sessions = 0;
  const monitors = new Set<Monitor>();

  const serve = (channel: SipCstaChannel): void => {
    sessions++;
    const server = new CstaServer({ channel, ...(serverTrace === undefined ? {} : { trace: serverTrace }) });
    for (const [service, fn] of handlers) server.handle(service as keyof CstaServiceMap, fn as never);
    if (!o.events) return;
    server.handle('MonitorStart', (req) => {
      const res = answers.respond(req) as CstaServiceMap['MonitorStart']['response'];
      const object = req.monitorObject as { deviceObject?: unknown };
      monitors.add({ server, crossRefId: res.monitorCrossRefID, device: deviceText(object.deviceObject) });
      return res;
    });
    server.handle('MonitorStop', (req) => {
      for (const m of monitors) if (m.server === server && m.crossRefId === req.monitorCrossRefID) monitors.delete(m);
      return { type: 'MonitorStopResponse' };
    });
    channel.onClosed(() => {
      for (const m of monitors) if (m.server === server) monitors.delete(m);
    });
    if (refuse.has('MakeCall')) return;
    server.handle('MakeCall', (req) => {
      const res = answers.respond(req) as CstaServiceMap['MakeCall']['response'];
      const callID = res.callingDevice.callID ?? '0';
      const calling = deviceText(req.callingDevice);
      const called = deviceText(req.calledDirectoryNumber);
      // after the response has left: the events follow it (digest §1.5 ordering)
      setImmediate(() => {
        for (const m of monitors) {
          if (m.device !== calling && m.device !== called) continue;
          for (const ev of makeCallEvents(m.crossRefId, callID, calling, called)) m.server.emit(ev).catch(() => undefined);
        }
      });
      return res;
    });
  };
  const stop = acceptSipCstaChannels(agent.ua, serve);
  return {
    agent,
    sessions: () => sessions,
    close: async () => {
      stop();
      await agent.close();
    },
  };
}

/** Runs `uacsta responder`. */
export async function runResponder(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      listen: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      events: { type: 'boolean' },
      refuse: { type: 'string', multiple: true },
      trace: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
  if (values.help) {
    io.stdout(RESPONDER_HELP);
    return EXIT.ok;
  }
  let options: ResponderOptions;
  try {
    if (positionals.length > 0) throw new UsageError(`expected no arguments besides options; found '${positionals[0]}'`);
    const listen = readListen(values.listen);
    if ((values.cert === undefined) !== (values.key === undefined))
      throw new UsageError(`--cert and --key go together; found only ${values.cert === undefined ? '--key' : '--cert'}`);
    if (values.cert !== undefined && listen.transport !== 'tls')
      throw new UsageError(`--cert and --key need --listen tls:HOST:PORT; found ${listen.transport}`);
    let tls: ResponderOptions['tls'];
    if (values.cert !== undefined && values.key !== undefined) {
      try {
        tls = { cert: readFileSync(values.cert), key: readFileSync(values.key) };
      } catch (e) {
        throw new UsageError(`--cert/--key expect readable PEM files (${(e as Error).message})`);
      }
    }
    const refuse = new Map((values.refuse ?? []).map(readRefusal));
    options = {
      listen,
      ...(tls === undefined ? {} : { tls }),
      events: values.events ?? false,
      refuse,
      ...(values.trace ? { trace: (line: string) => io.stderr(line + '\n') } : {}),
    };
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`uacsta responder: ${e.message}\n`);
    return EXIT.usage;
  }
  const interrupted = io.interruption?.();
  let responder: Responder;
  try {
    responder = await startResponder(options);
  } catch (e) {
    io.stderr(`uacsta responder: cannot listen on ${values.listen}: ${(e as Error).message}\n`);
    return EXIT.failure;
  }
  io.stdout(`listening ${responder.agent.address}\n`);
  if (interrupted !== undefined) {
    await new Promise<void>((resolve) => {
      if (interrupted.aborted) resolve();
      else interrupted.addEventListener('abort', () => resolve(), { once: true });
    });
  }
  await responder.close();
  return EXIT.ok;
}
