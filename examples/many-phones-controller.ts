/**
 * A controller for many phones: one uaCSTA session and one monitor per phone, calls between
 * pairs of them (1000 → 1001, 1002 → 1003, …), every event counted, then every call cleared.
 *
 *   npx tsx examples/many-phones-controller.ts               # 10 simulated phones
 *   npx tsx examples/many-phones-controller.ts --count 200   # 200 phones on one socket
 *
 * All phones share one UDP socket and the controller one more: each session is its own INVITE
 * dialog (ECMA TR/87 §7), each monitor its own monitorCrossRefID (digest §1.5), and the client
 * of each session sends one request at a time (digest §1.4), so the sessions run side by side.
 */

import { connectCsta, type CstaClient, type CstaEvent } from '../src/index.js';
import { controllerAgent, option, startLab, until, within } from './lab.js';

const STEP_MS = 10_000;

interface Controlled {
  readonly extension: string;
  readonly device: string;
  readonly client: CstaClient;
  readonly events: CstaEvent[];
}

async function main(): Promise<void> {
  const count = Number(option('count') ?? '10');
  if (!Number.isInteger(count) || count < 2 || count % 2 !== 0 || count > 2000) throw new Error(`--count expects an even number from 2 to 2000; found ${option('count')}`);
  const extensions = Array.from({ length: count }, (_, i) => String(1000 + i));
  // the called phone of each pair (odd ones) answers by itself
  const lab = await startLab(extensions, { autoAnswer: extensions.filter((_, i) => i % 2 === 1) });
  const controller = await controllerAgent();
  const started = performance.now();
  try {
    // sessions and monitors, a few at a time
    const controlled: Controlled[] = [];
    const queue = [...lab.phones];
    await Promise.all(
      Array.from({ length: Math.min(20, count) }, async () => {
        for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
          const client = await within(connectCsta(controller.ua, p.contact, { invokeTimeoutMs: STEP_MS }), STEP_MS, `the session to ${p.extension}`);
          const events: CstaEvent[] = [];
          client.on('event', (e) => events.push(e));
          await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: p.deviceId } });
          controlled.push({ extension: p.extension, device: p.deviceId, client, events });
        }
      }),
    );
    controlled.sort((a, b) => a.extension.localeCompare(b.extension));
    console.log(`${controlled.length} sessions, ${controlled.length} monitors`);

    // calls: every even phone calls the next one
    const calls = await Promise.all(
      controlled
        .filter((_, i) => i % 2 === 0)
        .map(async (c, i) => {
          const callee = controlled[2 * i + 1]!;
          const made = await c.client.request({ type: 'MakeCall', callingDevice: c.device, calledDirectoryNumber: callee.extension });
          return { caller: c, callee, callID: made.callingDevice.callID! };
        }),
    );
    const established = (c: Controlled): boolean => c.events.some((e) => e.type === 'EstablishedEvent');
    await until(() => controlled.every(established), STEP_MS, 'every call to be established');
    console.log(`${calls.length} calls established`);

    await Promise.all(calls.map((k) => k.caller.client.request({ type: 'ClearConnection', connectionToBeCleared: { callID: k.callID, deviceID: k.caller.device } })));
    const cleared = (c: Controlled): boolean => c.events.some((e) => e.type === 'ConnectionClearedEvent');
    await until(() => controlled.every(cleared), STEP_MS, 'every call to be cleared');
    console.log(`${calls.length} calls cleared`);

    const total = controlled.reduce((n, c) => n + c.events.length, 0);
    const byType = new Map<string, number>();
    for (const c of controlled) for (const e of c.events) byType.set(e.type, (byType.get(e.type) ?? 0) + 1);
    console.log(`${total} events: ${[...byType].map(([t, n]) => `${t} ${n}`).join(', ')}`);
    await Promise.all(controlled.map((c) => c.client.close()));
    console.log(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await controller.close();
    await lab.close();
  }
}

main().catch((e: unknown) => {
  console.error(`many-phones-controller: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
