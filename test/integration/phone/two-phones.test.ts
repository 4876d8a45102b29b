/**
 * Two and three simulated phones on one UDP socket, each controlled by our CstaClient over its
 * own uaCSTA session, calling each other with real INVITE/SDP dialogs: MakeCall, AnswerCall,
 * HoldCall/RetrieveCall (re-INVITE), ClearConnection (BYE), SingleStepTransferCall (REFER) and
 * TransferCall after ConsultationCall (REFER with Replaces), with both controllers watching.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { controller, sipStation, take, udpHost, until, type SipStation } from './support.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function lab(n: number): Promise<SipStation[]> {
  const host = await udpHost({ media: 'silence' });
  cleanups.push(() => host.close());
  const ctl = await controller();
  cleanups.push(() => ctl.close());
  const out: SipStation[] = [];
  for (let i = 0; i < n; i++) out.push(await sipStation(host, ctl, String(1000 + i)));
  return out;
}

const seen = (s: SipStation, type: string, count = 1) => () => s.events.filter((e) => e.type === type).length >= count;

/** A calls B, B answers; resolves with the callIDs at A and at B. */
async function connect(a: SipStation, b: SipStation): Promise<{ ca: string; cb: string }> {
  const res = await a.client.request({ type: 'MakeCall', callingDevice: a.device, calledDirectoryNumber: b.sip.extension, autoOriginate: 'doNotPrompt' });
  await until(seen(b, 'DeliveredEvent'), 'Delivered at B');
  const cb = (b.events.find((e) => e.type === 'DeliveredEvent') as unknown as { connection: { callID: string } }).connection.callID;
  await b.client.request({ type: 'AnswerCall', callToBeAnswered: { callID: cb, deviceID: b.device } });
  await until(seen(a, 'EstablishedEvent'), 'Established at A');
  await until(seen(b, 'EstablishedEvent'), 'Established at B');
  return { ca: res.callingDevice.callID!, cb };
}

describe('simulated phones calling each other over SIP', () => {
  it('MakeCall, AnswerCall, HoldCall, RetrieveCall, ClearConnection: both controllers see their events', async () => {
    const [a, b] = await lab(2);
    const { ca, cb } = await connect(a!, b!);
    expect(take(a!)).toEqual([
      'ServiceInitiated 1@1000 initiated makeCall',
      'Originated 1@1000 connected newCall',
      'Delivered 1@1001 connected newCall',
      'Established 1@1001 connected normal',
    ]);
    expect(take(b!)).toEqual(['Delivered 1@1001 alerting newCall', 'Established 1@1001 connected normal']);

    await a!.client.request({ type: 'HoldCall', callToBeHeld: { callID: ca, deviceID: a!.device } });
    await until(seen(b!, 'HeldEvent'), 'Held at B (re-INVITE sendonly)');
    expect(take(a!)).toEqual(['Held 1@1000 hold normal']);
    expect(take(b!)).toEqual(['Held 1@1000 connected normal']);

    await a!.client.request({ type: 'RetrieveCall', callToBeRetrieved: { callID: ca, deviceID: a!.device } });
    await until(seen(b!, 'RetrievedEvent'), 'Retrieved at B (re-INVITE sendrecv)');
    expect(take(a!)).toEqual(['Retrieved 1@1000 connected normal']);
    expect(take(b!)).toEqual(['Retrieved 1@1000 connected normal']);

    await b!.client.request({ type: 'ClearConnection', connectionToBeCleared: { callID: cb, deviceID: b!.device } });
    await until(seen(a!, 'ConnectionClearedEvent'), 'ConnectionCleared at A (BYE)');
    await until(seen(b!, 'ConnectionClearedEvent'));
    expect(take(a!)).toEqual(['ConnectionCleared 1@1001 null normalClearing']);
    expect(take(b!)).toEqual(['ConnectionCleared 1@1001 null normalClearing']);
    expect(a!.sip.signalling.legs).toEqual([]);
    expect(b!.sip.signalling.legs).toEqual([]);
  }, 20_000);

  it('SingleStepTransferCall: B sends REFER to A; A calls C; once C answers, B is out and A talks to C', async () => {
    const [a, b, c] = await lab(3);
    const { cb } = await connect(a!, b!);
    take(a!), take(b!);
    await b!.client.request({ type: 'SingleStepTransferCall', activeCall: { callID: cb, deviceID: b!.device }, transferredTo: c!.sip.extension });
    await until(seen(c!, 'DeliveredEvent'), 'Delivered at C (INVITE from A)');
    const cc = (c!.events.find((e) => e.type === 'DeliveredEvent') as unknown as { connection: { callID: string } }).connection.callID;
    expect(c!.sip.signalling.legs).toHaveLength(1);
    await c!.client.request({ type: 'AnswerCall', callToBeAnswered: { callID: cc, deviceID: c!.device } });
    await until(seen(b!, 'TransferedEvent'), 'Transfered at B (final NOTIFY 200)');
    await until(() => a!.sip.signalling.legs.length === 1 && b!.sip.signalling.legs.length === 0, 'B released');
    expect(take(b!).at(-1)).toMatch(/^Transfered 1@1001 /);
    expect(a!.sip.signalling.legs[0]).toMatchObject({ state: 'connected' });
    expect(c!.sip.signalling.legs[0]).toMatchObject({ state: 'connected' });
  }, 20_000);

  it("ConsultationCall then TransferCall: REFER with Replaces; A's INVITE replaces B's call at C", async () => {
    const [a, b, c] = await lab(3);
    const { cb } = await connect(a!, b!);
    take(a!), take(b!);
    const consult = await b!.client.request({ type: 'ConsultationCall', existingCall: { callID: cb, deviceID: b!.device }, consultedDevice: c!.sip.extension });
    await until(seen(c!, 'DeliveredEvent'), 'Delivered at C');
    const cc = (c!.events.find((e) => e.type === 'DeliveredEvent') as unknown as { connection: { callID: string } }).connection.callID;
    await c!.client.request({ type: 'AnswerCall', callToBeAnswered: { callID: cc, deviceID: c!.device } });
    await until(seen(b!, 'EstablishedEvent'), 'consultation established');
    expect(take(a!)).toEqual(['Held 1@1001 connected normal']);
    expect(take(b!)).toEqual([
      'Held 1@1001 hold consultation',
      'ServiceInitiated 2@1001 initiated consultation',
      'Originated 2@1001 connected consultation',
      'Delivered 2@1002 connected newCall',
      'Established 2@1002 connected normal',
    ]);
    expect(take(c!)).toEqual(['Delivered 1@1002 alerting newCall', 'Established 1@1002 connected normal']);

    await b!.client.request({ type: 'TransferCall', heldCall: { callID: cb, deviceID: b!.device }, activeCall: consult.initiatedCall });
    await until(() => seen(a!, 'TransferedEvent')() && seen(b!, 'TransferedEvent')() && seen(c!, 'TransferedEvent')(), 'Transfered at A, B and C');
    expect(take(a!)).toEqual(['Transfered 1@1000 connected transfer']);
    expect(take(b!)).toEqual(['Transfered 1@1001 null transfer']);
    expect(take(c!)).toEqual(['Transfered 1@1002 connected transfer']);
    // A and C are connected on the new dialog; B has no call left
    await until(() => b!.sip.signalling.legs.length === 0, 'B released both legs');
    expect(a!.sip.signalling.legs.map((l) => l.state)).toEqual(['connected']);
    expect(c!.sip.signalling.legs.map((l) => l.state)).toEqual(['connected']);
  }, 20_000);
});
