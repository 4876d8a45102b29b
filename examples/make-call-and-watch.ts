/**
 * Make a call and watch it: open a uaCSTA session to a phone, monitor it, ask it to call
 * another number (MakeCall), print every event of the call until it is established, then hang
 * up (ClearConnection) and end the session.
 *
 *   npx tsx examples/make-call-and-watch.ts                 # against two simulated phones
 *   npx tsx examples/make-call-and-watch.ts --target sip:1000@192.0.2.10 --from 1000 --to 1001
 *
 * ECMA TR/87 §7 (session INVITE, requests in INFO), the ECMA-269 MakeCall and
 * MonitorStart services; the events a monitor sees are those of digest Example 3.
 */

import { connectCsta, type CstaEvent } from '../src/index.js';
import { controllerAgent, option, startLab, within, type Lab } from './lab.js';

const STEP_MS = 5000;

/** `DeliveredEvent callID=1 cause=newCall`: what a person watching the call wants to read. */
function describe(e: CstaEvent): string {
  const connection = Object.values(e).find((v): v is { callID: string; deviceID?: string } => typeof v === 'object' && v !== null && 'callID' in v);
  const cause = (e as { cause?: string }).cause;
  return `${e.type} callID=${connection?.callID ?? '-'} device=${connection?.deviceID ?? '-'}${cause === undefined ? '' : ` cause=${cause}`}`;
}

async function main(): Promise<void> {
  let lab: Lab | undefined;
  let target = option('target');
  let from = option('from') ?? '1000';
  const to = option('to') ?? '1001';
  if (target === undefined) {
    // no phone given: two simulated phones, 1001 answers by itself
    lab = await startLab(['1000', '1001'], { autoAnswer: ['1001'] });
    target = lab.phone('1000').contact;
    from = lab.phone('1000').deviceId;
    console.log(`simulated phones 1000 and 1001; session to ${target}`);
  }
  const controller = await controllerAgent(option('target'));
  try {
    const client = await within(connectCsta(controller.ua, target, { invokeTimeoutMs: STEP_MS }), STEP_MS, 'the session');
    const monitor = await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: from } });
    console.log(`monitoring ${from} (monitorCrossRefID ${monitor.monitorCrossRefID})`);

    // watch the monitor's events in the background; the loop ends when the client closes
    const events = client.events({ monitor: monitor.monitorCrossRefID });
    let callId: string | undefined;
    const established = (async () => {
      for await (const e of events) {
        console.log(`  event ${describe(e)}`);
        if (e.type === 'EstablishedEvent') return true;
        if (e.type === 'FailedEvent' || e.type === 'ConnectionClearedEvent') return false;
      }
      return false;
    })();

    const made = await client.request({ type: 'MakeCall', callingDevice: from, calledDirectoryNumber: to });
    callId = made.callingDevice.callID;
    console.log(`MakeCall accepted: callID ${callId}`);
    const ok = await within(established, STEP_MS, 'the call to be established');
    console.log(ok ? 'call established' : 'call failed');

    if (ok && callId !== undefined) {
      const cleared = client.events({ monitor: monitor.monitorCrossRefID });
      await client.request({ type: 'ClearConnection', connectionToBeCleared: { callID: callId, deviceID: made.callingDevice.deviceID ?? from } });
      for await (const e of cleared) {
        console.log(`  event ${describe(e)}`);
        if (e.type === 'ConnectionClearedEvent') break;
      }
      console.log('call cleared');
    }
    await client.request({ type: 'MonitorStop', monitorCrossRefID: monitor.monitorCrossRefID });
    await client.close();
    console.log('session closed');
    process.exitCode = ok ? 0 : 1;
  } finally {
    await controller.close();
    await lab?.close();
  }
}

main().catch((e: unknown) => {
  console.error(`make-call-and-watch: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
