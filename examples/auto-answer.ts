/**
 * Answer incoming calls automatically: monitor a phone and, whenever it starts ringing
 * (a DeliveredEvent whose local connection is `alerting`), send AnswerCall for that call.
 *
 *   npx tsx examples/auto-answer.ts                  # simulated phones; 1000 calls 1001 twice
 *   npx tsx examples/auto-answer.ts --target sip:1001@192.0.2.10 --device 1001   # until Ctrl-C
 *
 * ECMA-269 AnswerCall and DeliveredEvent (localConnectionInfo `alerting` at the
 * called device); digest §1.5: the event INFO is answered before the AnswerCall is sent.
 */

import { connectCsta, type CstaClient, type CstaEvent } from '../src/index.js';
import { controllerAgent, option, startLab, until, within, type Lab } from './lab.js';

const STEP_MS = 5000;

/** Answers each call that rings at `device`; resolves with a function that stops. */
async function autoAnswer(client: CstaClient, device: string, onAnswered: (callID: string, from: string) => void): Promise<() => Promise<void>> {
  const monitor = await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: device } });
  const off = client.onMonitor(monitor.monitorCrossRefID, (e: CstaEvent) => {
    if (e.type !== 'DeliveredEvent' || e.localConnectionInfo !== 'alerting') return;
    const callID = e.connection.callID!;
    const caller = 'deviceIdentifier' in e.callingDevice ? e.callingDevice.deviceIdentifier : undefined;
    // a device ID is text, or text with attributes (digest §4.1.1)
    const from = caller === undefined ? 'unknown' : typeof caller === 'string' ? caller : caller.value;
    client
      .request({ type: 'AnswerCall', callToBeAnswered: { callID, deviceID: e.connection.deviceID ?? device } })
      .then(() => onAnswered(callID, from))
      .catch((err: unknown) => console.error(`AnswerCall ${callID} failed: ${(err as Error).message}`));
  });
  return async () => {
    off();
    await client.request({ type: 'MonitorStop', monitorCrossRefID: monitor.monitorCrossRefID });
  };
}

async function main(): Promise<void> {
  let lab: Lab | undefined;
  let target = option('target');
  let device = option('device') ?? '1001';
  if (target === undefined) {
    lab = await startLab(['1000', '1001']);
    target = lab.phone('1001').contact;
    device = lab.phone('1001').deviceId;
    console.log(`simulated phones 1000 and 1001; answering calls at 1001 through ${target}`);
  }
  const controller = await controllerAgent(option('target'));
  try {
    const client = await within(connectCsta(controller.ua, target, { invokeTimeoutMs: STEP_MS }), STEP_MS, 'the session');
    let answered = 0;
    let onAnswer: (() => void) | undefined;
    const stop = await autoAnswer(client, device, (callID, from) => {
      answered++;
      console.log(`answered call ${callID} from ${from}`);
      onAnswer?.();
    });

    if (lab === undefined) {
      // a real phone: run until interrupted
      console.log(`auto-answering at ${device}; Ctrl-C to stop`);
      await new Promise<void>((resolve) => process.once('SIGINT', resolve));
    } else {
      // the lab's caller: 1000 goes off-hook and dials 1001 (the phone's own keys, no CSTA),
      // twice; each call is answered by the monitor above, then 1000 hangs up
      const caller = lab.phone('1000').phone;
      for (let i = 0; i < 2; i++) {
        const wait = new Promise<void>((resolve) => (onAnswer = resolve));
        const callID = caller.control.dial('1001');
        await within(wait, STEP_MS, 'the call to be answered');
        // the caller's side is connected once the phones' 200 OK/ACK went through
        await until(() => caller.device.calls().some((c) => c.callID === callID && c.state === 'connected'), STEP_MS, 'the caller to be connected');
        caller.control.hangUp(callID);
      }
    }
    await stop();
    await client.close();
    console.log(`auto-answer: ${answered} call${answered === 1 ? '' : 's'} answered`);
  } finally {
    await controller.close();
    await lab?.close();
  }
}

main().catch((e: unknown) => {
  console.error(`auto-answer: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
});
