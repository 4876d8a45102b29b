/**
 * `uacsta monitor TARGET-URI`: opens a uaCSTA session, starts a device monitor and prints every
 * event as it comes, until a duration ends or SIGINT/SIGTERM; then MonitorStop and BYE
 * (digest §1.5, ECMA-269 §12.2).
 */

import { parseArgs } from 'node:util';
import { uriTarget } from '../../sip/ua/uri-target.js';
import type { CstaEvent } from '../../uacsta/client.js';
import { readSeconds, UsageError } from '../args.js';
import { EXIT, type CliIo } from '../io.js';
import { errorJson, openSession, readSession, SESSION_HELP, SESSION_OPTIONS } from '../session.js';

export const MONITOR_HELP = `Usage: uacsta monitor TARGET-URI [--device ID] [--duration S] [--json] [options]

Opens a uaCSTA session to TARGET-URI, starts a monitor on a device (MonitorStart), and prints
each event on its own line until --duration ends or SIGINT/SIGTERM; then stops the monitor
(MonitorStop) and ends the session (BYE).

Options:
  --device ID          the device to monitor (default: the user part of TARGET-URI)
  --duration S         seconds to run (default: until SIGINT or SIGTERM)
  --json               print each event as one JSON object per line (machine-readable);
                       without it: "EventType {json}" per line
${SESSION_HELP}

The first line is {"monitorStarted":{"monitorCrossRefID":…,"device":…}} (with --json) once the
monitor runs. Exit codes: 0 stopped by the duration or a signal; 1 the session or the monitor
could not be started, or the session ended from the far side (error JSON on stdout); 2 usage
error.

Examples:
  uacsta monitor 'sip:1001@192.0.2.10;transport=tcp' --json
  uacsta monitor sip:responder@127.0.0.1:5070 --device 1001 --duration 5 --json
`;

/** Runs `uacsta monitor`. */
export async function runMonitor(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { ...SESSION_OPTIONS, device: { type: 'string' }, duration: { type: 'string' }, json: { type: 'boolean' } },
    allowPositionals: true,
  });
  if (values.help) {
    io.stdout(MONITOR_HELP);
    return EXIT.ok;
  }
  let settings;
  let durationMs: number;
  let device: string;
  try {
    if (positionals.length !== 1) throw new UsageError(`expected exactly one TARGET-URI; found ${positionals.length} arguments`);
    settings = readSession(positionals[0], values, readSeconds(values.timeout, '--timeout', 10_000));
    durationMs = readSeconds(values.duration, '--duration', 0);
    const user = /^sips?:([^@;?]+)@/i.exec(settings.target)?.[1];
    device = values.device ?? user ?? uriTarget(settings.target, 'udp').host;
    if (device === '') throw new UsageError("--device expects a device id; found ''");
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.stderr(`uacsta monitor: ${e.message}\n`);
    return EXIT.usage;
  }
  const json = values.json ?? false;
  const print = (ev: CstaEvent): void => {
    io.stdout(json ? JSON.stringify(ev) + '\n' : `${ev.type} ${JSON.stringify(ev)}\n`);
  };
  const interrupted = io.interruption?.();
  let session;
  try {
    session = await openSession(settings);
  } catch (e) {
    io.stdout(JSON.stringify(errorJson(e)) + '\n');
    return EXIT.failure;
  }
  const { client } = session;
  let lost: string | undefined;
  const stopped = new AbortController();
  client.on('closed', ({ reason }) => {
    if (reason !== 'closed') {
      lost = reason;
      stopped.abort();
    }
  });
  try {
    let crossRef: string;
    // events may come before the response is read: listen to all, keep ours (digest §1.5)
    const early: CstaEvent[] = [];
    let ours: string | undefined;
    client.on('event', (ev) => {
      const ref = (ev as { monitorCrossRefID?: unknown }).monitorCrossRefID;
      if (ours === undefined) early.push(ev);
      else if (ref === ours) print(ev);
    });
    try {
      const res = await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: device } });
      crossRef = res.monitorCrossRefID;
    } catch (e) {
      io.stdout(JSON.stringify(errorJson(e)) + '\n');
      return EXIT.failure;
    }
    ours = crossRef;
    io.stdout(
      json
        ? JSON.stringify({ monitorStarted: { monitorCrossRefID: crossRef, device } }) + '\n'
        : `monitoring ${device} (monitorCrossRefID ${crossRef})\n`,
    );
    for (const ev of early.splice(0)) if ((ev as { monitorCrossRefID?: unknown }).monitorCrossRefID === crossRef) print(ev);
    await new Promise<void>((resolve) => {
      const signals = [stopped.signal, ...(interrupted === undefined ? [] : [interrupted])];
      if (signals.some((s) => s.aborted)) return resolve();
      const timer = durationMs > 0 ? setTimeout(resolve, durationMs) : undefined;
      for (const s of signals)
        s.addEventListener(
          'abort',
          () => {
            if (timer !== undefined) clearTimeout(timer);
            resolve();
          },
          { once: true },
        );
      if (timer === undefined && interrupted === undefined && durationMs === 0) resolve();
    });
    if (lost !== undefined) {
      io.stdout(JSON.stringify({ error: { code: 'UACSTA_ERR_CLOSED', message: `the session ended (${lost})` } }) + '\n');
      return EXIT.failure;
    }
    try {
      await client.request({ type: 'MonitorStop', monitorCrossRefID: crossRef });
    } catch {
      // the monitor ends with the session anyway (BYE follows)
    }
    return EXIT.ok;
  } finally {
    await session.close();
  }
}
