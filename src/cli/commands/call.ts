/**
 * `uacsta call TARGET-URI FROM TO`: click-to-dial from the command line. Opens a uaCSTA session,
 * starts a monitor on FROM, sends MakeCall (the ECMA-269 service) and follows the events of the
 * new call until it is established or fails (digest §1.5 and Example 3; CSTA errors as in Example 6).
 */

import { parseArgs } from 'node:util';
import type { CstaEvent } from '../../uacsta/client.js';
import { readSeconds, UsageError } from '../args.js';
import { EXIT, type CliIo } from '../io.js';
import { errorJson, openSession, readSession, SESSION_HELP, SESSION_OPTIONS, type SessionSettings } from '../session.js';
import { createTraceSink, splitTraceArgs, TRACE_HELP, type TraceOptions, type TraceSink } from '../trace-options.js';

export const CALL_HELP = `Usage: uacsta call TARGET-URI FROM TO [options]

Click-to-dial: opens a uaCSTA session to TARGET-URI (the phone, or the PBX/gateway that controls
it), starts a monitor on FROM (MonitorStart), asks FROM to call TO (MakeCall), and prints the
events of the new call (Originated, Delivered, Established …) until the call is established,
fails or is cleared. Then stops the monitor and ends the session (BYE); the call itself stays up.

FROM and TO are device identifiers as the phone knows them: an extension (1000), tel:+49301234
or a SIP URI (sip:1000@192.0.2.10).

Options:
  --json               one JSON object per line: {"response":…}, {"event":…}, then
                       {"result":"established"|"failed"|"cleared", "callID":…}
  --wait S             seconds to wait for the call to be established (default 60)
${SESSION_HELP}

${TRACE_HELP}
Exit codes: 0 the call was established; 1 the call failed or was cleared first, a CSTA error
(e.g. invalidCallingDevice), a SIP failure or a timeout (error JSON on stdout); 2 usage error.

Examples:
  uacsta call sip:1000@127.0.0.1:5070 1000 1001
  uacsta call 'sip:1000@192.0.2.10;transport=tcp' 1000 +4930123456 --json
  uacsta call sip:cti@pbx.example.com sip:1000@pbx.example.com 2002 --user cti --password secret
  uacsta call sip:1000@127.0.0.1:5070 1000 1001 --trace --ladder call.html
`;

/** The callID of the connection an event reports on (its first field holding a callID). */
export function eventCallId(event: CstaEvent): string | undefined {
  for (const value of Object.values(event)) {
    if (value !== null && typeof value === 'object' && typeof (value as { callID?: unknown }).callID === 'string')
      return (value as { callID: string }).callID;
  }
  return undefined;
}

/** How following the call ends: `established` (exit 0), `failed` or `cleared` (exit 1). */
export type CallOutcome = 'established' | 'failed' | 'cleared';

/** The outcome an event of the call decides, or `undefined` while the call is on its way. */
export function callOutcome(event: CstaEvent): CallOutcome | undefined {
  switch (event.type) {
    case 'EstablishedEvent':
      return 'established';
    case 'FailedEvent':
      return 'failed';
    case 'ConnectionClearedEvent':
    case 'CallClearedEvent':
      return 'cleared';
    default:
      return undefined;
  }
}

/** Runs `uacsta call`. */
export async function runCall(args: readonly string[], io: CliIo): Promise<number> {
  let settings;
  let from: string;
  let to: string;
  let json: boolean;
  let waitMs: number;
  let traceOptions: TraceOptions;
  try {
    const split = splitTraceArgs(args);
    traceOptions = split.trace;
    const { values, positionals } = parseArgs({
      args: split.args,
      options: { ...SESSION_OPTIONS, json: { type: 'boolean' }, wait: { type: 'string' } },
      allowPositionals: true,
    });
    if (values.help) {
      io.stdout(CALL_HELP);
      return EXIT.ok;
    }
    if (positionals.length !== 3)
      throw new UsageError(`expected TARGET-URI FROM TO (e.g. sip:1000@127.0.0.1:5070 1000 1001); found ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`);
    settings = readSession(positionals[0], values, readSeconds(values.timeout, '--timeout', 10_000));
    from = positionals[1]!;
    to = positionals[2]!;
    if (from.trim() === '') throw new UsageError("FROM expects a device identifier (e.g. 1000); found ''");
    if (to.trim() === '') throw new UsageError("TO expects a device identifier or number (e.g. 1001); found ''");
    json = values.json ?? false;
    waitMs = readSeconds(values.wait, '--wait', 60_000);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (!(e instanceof UsageError) && !(typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) throw e;
    io.stderr(`uacsta call: ${(e as Error).message}\n(see uacsta call --help)\n`);
    return EXIT.usage;
  }

  const print = (human: string, value: unknown): void => io.stdout((json ? JSON.stringify(value) : human) + '\n');
  const trace = createTraceSink(traceOptions, io, { title: `uacsta call ${from} → ${to}` });
  const code = await follow(settings, from, to, json, waitMs, trace, io);
  // a --ladder or --pcap that could not be written fails the command (the reason is on stderr)
  const written = await trace.finish();
  return code === EXIT.ok && !written ? EXIT.failure : code;
}

/** Opens the session, makes the call and follows it; resolves with the exit code. */
async function follow(settings: SessionSettings, from: string, to: string, json: boolean, waitMs: number, trace: TraceSink, io: CliIo): Promise<number> {
  let session;
  try {
    session = await openSession(settings, { endpoint: (t) => trace.endpointOptions([t], 'uacsta') });
  } catch (e) {
    io.stdout(JSON.stringify(errorJson(e)) + '\n');
    return EXIT.failure;
  }
  const print = (human: string, value: unknown): void => io.stdout((json ? JSON.stringify(value) : human) + '\n');
  const client = session.client;
  try {
    // events of the call may come before MakeCall's response (digest §1.5 item 6): keep them
    const early: CstaEvent[] = [];
    let callId: string | undefined;
    let lastCause: string | undefined;
    let decide: ((o: CallOutcome) => void) | undefined;
    const decided = new Promise<CallOutcome>((resolve) => (decide = resolve));
    let decidedOutcome: CallOutcome | undefined;
    const onEvent = (event: CstaEvent): void => {
      // the first deciding event ends the following: what comes after it (a ConnectionCleared
      // that clears a failed call) is not part of the answer of this command
      if (decidedOutcome !== undefined) return;
      if (callId === undefined) {
        early.push(event);
        return;
      }
      if (eventCallId(event) !== callId) return;
      const cause = (event as { cause?: unknown }).cause;
      print(`${event.type}${typeof cause === 'string' ? ` cause=${cause}` : ''}`, { event });
      const outcome = callOutcome(event);
      if (outcome !== undefined) {
        decidedOutcome = outcome;
        lastCause = typeof cause === 'string' ? cause : undefined;
        decide?.(outcome);
      }
    };
    client.on('event', onEvent);

    const monitor = await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: from } });
    print(`MonitorStart ${from}: monitorCrossRefID=${monitor.monitorCrossRefID}`, { response: monitor });
    const made = await client.request({ type: 'MakeCall', callingDevice: from, calledDirectoryNumber: to, autoOriginate: 'doNotPrompt' });
    callId = made.callingDevice.callID;
    print(`MakeCall ${from} → ${to}: callID=${callId ?? '?'}`, { response: made });
    for (const e of early.splice(0)) onEvent(e);

    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), waitMs)));
    const ended = new Promise<'ended'>((resolve) => client.on('closed', () => resolve('ended')));
    const outcome = await Promise.race([decided, timedOut, ended]);
    clearTimeout(timer);
    await client.request({ type: 'MonitorStop', monitorCrossRefID: monitor.monitorCrossRefID }).catch(() => undefined);
    if (outcome === 'timeout') {
      print(`not established within ${waitMs / 1000} s`, { result: 'timeout', callID: callId, error: { code: 'UACSTA_ERR_TIMEOUT', message: `not established within ${waitMs} ms` } });
      return EXIT.failure;
    }
    if (outcome === 'ended') {
      print('the session ended before the call was established', { result: 'ended', callID: callId, error: { code: 'UACSTA_ERR_CLOSED', message: 'the session ended' } });
      return EXIT.failure;
    }
    print(`${outcome}${lastCause === undefined ? '' : ` (${lastCause})`}`, { result: outcome, callID: callId, ...(lastCause === undefined ? {} : { cause: lastCause }) });
    return outcome === 'established' ? EXIT.ok : EXIT.failure;
  } catch (e) {
    io.stdout(JSON.stringify(errorJson(e)) + '\n');
    return EXIT.failure;
  } finally {
    await session.close();
  }
}
