/**
 * Call-control flows of the simulated phone (digest §5 Examples 3–5, 8, 9; §4.6 typical
 * sequences): each controller monitors its phone and sees the CSTA response, then the events,
 * in order.
 */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLab, monitor, take, type Lab, type Station } from './harness.js';

let lab: Lab;
let a: Station;
let b: Station;
let c: Station;

beforeEach(async () => {
  lab = createLab();
  a = await lab.station('1001');
  b = await lab.station('1002');
  c = await lab.station('1003');
  await monitor(a);
  await monitor(b);
  await monitor(c);
});

afterEach(async () => {
  await lab.close();
});

const A = 'sip:1001@example.test';
const B = 'sip:1002@example.test';
const C = 'sip:1003@example.test';

/** A calls B with MakeCall and B answers with AnswerCall; returns the two callIDs. */
async function connectAB(): Promise<{ ca: string; cb: string }> {
  const res = await a.client.request({ type: 'MakeCall', callingDevice: A, calledDirectoryNumber: '1002', autoOriginate: 'doNotPrompt' });
  await lab.settle();
  const cb = b.phone.device.calls()[0]!.callID;
  await b.client.request({ type: 'AnswerCall', callToBeAnswered: { callID: cb, deviceID: B } });
  await lab.settle();
  take(a);
  take(b);
  return { ca: res.callingDevice.callID!, cb };
}

describe('MakeCall (digest Example 3) and AnswerCall (Example 4)', () => {
  it('reports ServiceInitiated, Originated, Delivered, Established to the caller with the digest contents', async () => {
    const res = await a.client.request({ type: 'MakeCall', callingDevice: A, calledDirectoryNumber: '1002', autoOriginate: 'doNotPrompt' });
    expect(res).toMatchObject({ type: 'MakeCallResponse', callingDevice: { callID: '1', deviceID: A } });
    await lab.settle();
    const ref = a.monitorId;
    expect(a.events.map((e) => ({ ...e, edition: undefined }))).toEqual([
      {
        type: 'ServiceInitiatedEvent',
        edition: undefined,
        monitorCrossRefID: ref,
        initiatedConnection: { callID: '1', deviceID: A },
        initiatingDevice: { deviceIdentifier: A },
        localConnectionInfo: 'initiated',
        cause: 'makeCall',
      },
      {
        type: 'OriginatedEvent',
        edition: undefined,
        monitorCrossRefID: ref,
        originatedConnection: { callID: '1', deviceID: A },
        callingDevice: { deviceIdentifier: A },
        calledDevice: { deviceIdentifier: B },
        localConnectionInfo: 'connected',
        cause: 'newCall',
      },
      {
        type: 'DeliveredEvent',
        edition: undefined,
        monitorCrossRefID: ref,
        connection: { callID: '1', deviceID: B },
        alertingDevice: { deviceIdentifier: B },
        callingDevice: { deviceIdentifier: A },
        calledDevice: { deviceIdentifier: B },
        lastRedirectionDevice: { notRequired: true },
        localConnectionInfo: 'connected',
        cause: 'newCall',
      },
    ]);
    a.events.length = 0;
    // the called phone rings (Example 4)
    expect(b.events.map((e) => ({ ...e, edition: undefined }))).toEqual([
      {
        type: 'DeliveredEvent',
        edition: undefined,
        monitorCrossRefID: b.monitorId,
        connection: { callID: '1', deviceID: B },
        alertingDevice: { deviceIdentifier: B },
        callingDevice: { deviceIdentifier: A },
        calledDevice: { deviceIdentifier: B },
        lastRedirectionDevice: { notKnown: true },
        localConnectionInfo: 'alerting',
        cause: 'newCall',
      },
    ]);
    b.events.length = 0;
    const answered = await b.client.request({ type: 'AnswerCall', callToBeAnswered: { callID: '1', deviceID: B } });
    expect(answered.type).toBe('AnswerCallResponse');
    await lab.settle();
    expect(b.events.map((e) => ({ ...e, edition: undefined }))).toEqual([
      {
        type: 'EstablishedEvent',
        edition: undefined,
        monitorCrossRefID: b.monitorId,
        establishedConnection: { callID: '1', deviceID: B },
        answeringDevice: { deviceIdentifier: B },
        callingDevice: { deviceIdentifier: A },
        calledDevice: { deviceIdentifier: B },
        lastRedirectionDevice: { notKnown: true },
        localConnectionInfo: 'connected',
        cause: 'normal',
      },
    ]);
    expect(take(a)).toEqual(['Established 1@1002 connected normal']);
  });

  it('sends the MakeCall response before the first event, one event INFO at a time', async () => {
    a.pair.lines.length = 0;
    await a.client.request({ type: 'MakeCall', callingDevice: A, calledDirectoryNumber: '1002', autoOriginate: 'doNotPrompt' });
    await lab.settle();
    expect(a.pair.lines).toEqual([
      'A → B MakeCall',
      'B → A 200 MakeCallResponse',
      'B → A ServiceInitiatedEvent',
      'A → B 200',
      'B → A OriginatedEvent',
      'A → B 200',
      'B → A DeliveredEvent',
      'A → B 200',
    ]);
  });

  it('answers an unknown callID with invalidCallID and a connected call with noCallToAnswer (Example 6)', async () => {
    const { cb } = await connectAB();
    await expect(b.client.request({ type: 'AnswerCall', callToBeAnswered: { callID: '99', deviceID: B } })).rejects.toMatchObject({
      code: 'CSTA_ERR_SERVICE',
      errorValue: { operation: 'invalidCallID' },
    });
    await expect(b.client.request({ type: 'AnswerCall', callToBeAnswered: { callID: cb, deviceID: B } })).rejects.toMatchObject({
      errorValue: { stateIncompatibility: 'noCallToAnswer' },
    });
    await expect(b.client.request({ type: 'AnswerCall', callToBeAnswered: { callID: cb, deviceID: 'sip:4711@example.test' } })).rejects.toMatchObject({
      errorValue: { operation: 'invalidConnectionID' },
    });
    await expect(a.client.request({ type: 'MakeCall', callingDevice: 'sip:4711@example.test', calledDirectoryNumber: '1002' })).rejects.toMatchObject({
      errorValue: { operation: 'invalidCallingDeviceID' },
    });
    await lab.settle();
    expect(take(a)).toEqual([]);
    expect(take(b)).toEqual([]);
  });

  it('reports Failed then ConnectionCleared to the caller when the number does not exist', async () => {
    await a.client.request({ type: 'MakeCall', callingDevice: A, calledDirectoryNumber: '4711', autoOriginate: 'doNotPrompt' });
    await lab.settle();
    expect(take(a)).toEqual([
      'ServiceInitiated 1@1001 initiated makeCall',
      'Originated 1@1001 connected newCall',
      'Failed 1@4711 fail destNotObtainable',
      'ConnectionCleared 1@1001 null destNotObtainable',
    ]);
    expect(a.phone.device.calls()).toEqual([]);
  });
});

describe('ClearConnection (Example 8) and ClearCall', () => {
  it('clears the caller while the far end rings: the callee sees its call abandoned', async () => {
    const res = await a.client.request({ type: 'MakeCall', callingDevice: A, calledDirectoryNumber: '1002', autoOriginate: 'doNotPrompt' });
    await lab.settle();
    take(a);
    take(b);
    await a.client.request({ type: 'ClearConnection', connectionToBeCleared: res.callingDevice });
    await lab.settle();
    expect(take(a)).toEqual(['ConnectionCleared 1@1001 null normalClearing']);
    expect(take(b)).toEqual(['ConnectionCleared 1@1001 null normalClearing']);
    expect(lab.exchange.activeLegs).toBe(0);
  });

  it('hangs up a connected call: the far end sees the caller release', async () => {
    const { ca } = await connectAB();
    await a.client.request({ type: 'ClearConnection', connectionToBeCleared: { callID: ca, deviceID: A } });
    await lab.settle();
    expect(take(a)).toEqual(['ConnectionCleared 1@1001 null normalClearing']);
    expect(take(b)).toEqual(['ConnectionCleared 1@1001 null normalClearing']);
  });

  it('ClearCall releases the call at the phone', async () => {
    const { cb } = await connectAB();
    const res = await b.client.request({ type: 'ClearCall', callToBeCleared: { callID: cb, deviceID: B } });
    expect(res.type).toBe('ClearCallResponse');
    await lab.settle();
    expect(take(b)).toEqual(['ConnectionCleared 1@1002 null normalClearing']);
    expect(take(a)).toEqual(['ConnectionCleared 1@1002 null normalClearing']);
  });
});

describe('HoldCall / RetrieveCall (Example 5)', () => {
  it('holds and retrieves; the far end sees Held and Retrieved on the holder connection', async () => {
    const { ca } = await connectAB();
    const held = await a.client.request({ type: 'HoldCall', callToBeHeld: { callID: ca, deviceID: A } });
    expect(held.type).toBe('HoldCallResponse');
    await lab.settle();
    expect(take(a)).toEqual(['Held 1@1001 hold normal']);
    expect(take(b)).toEqual(['Held 1@1001 connected normal']);
    await expect(a.client.request({ type: 'HoldCall', callToBeHeld: { callID: ca, deviceID: A } })).rejects.toMatchObject({
      errorValue: { stateIncompatibility: 'invalidConnectionState' },
    });
    await a.client.request({ type: 'RetrieveCall', callToBeRetrieved: { callID: ca, deviceID: A } });
    await lab.settle();
    expect(take(a)).toEqual(['Retrieved 1@1001 connected normal']);
    expect(take(b)).toEqual(['Retrieved 1@1001 connected normal']);
    await expect(a.client.request({ type: 'RetrieveCall', callToBeRetrieved: { callID: ca, deviceID: A } })).rejects.toMatchObject({
      errorValue: { stateIncompatibility: 'invalidConnectionState' },
    });
  });
});

describe('ConsultationCall, TransferCall (Example 9), AlternateCall, ReconnectCall, ConferenceCall', () => {
  async function consultC(ca: string): Promise<string> {
    const res = await a.client.request({ type: 'ConsultationCall', existingCall: { callID: ca, deviceID: A }, consultedDevice: '1003' });
    await lab.settle();
    c.phone.control.answer();
    await lab.settle();
    return res.initiatedCall.callID!;
  }

  it('consults C while B is held, then transfers B to C', async () => {
    const { ca, cb } = await connectAB();
    const res = await a.client.request({ type: 'ConsultationCall', existingCall: { callID: ca, deviceID: A }, consultedDevice: '1003' });
    expect(res).toMatchObject({ type: 'ConsultationCallResponse', initiatedCall: { callID: '2', deviceID: A } });
    await lab.settle();
    c.phone.control.answer();
    await lab.settle();
    expect(take(a)).toEqual([
      'Held 1@1001 hold consultation',
      'ServiceInitiated 2@1001 initiated consultation',
      'Originated 2@1001 connected consultation',
      'Delivered 2@1003 connected newCall',
      'Established 2@1003 connected normal',
    ]);
    expect(take(b)).toEqual(['Held 1@1001 connected normal']);
    expect(take(c)).toEqual(['Delivered 1@1003 alerting newCall', 'Established 1@1003 connected normal']);

    const t = await a.client.request({ type: 'TransferCall', heldCall: { callID: ca, deviceID: A }, activeCall: { callID: '2', deviceID: A } });
    expect(t).toMatchObject({ type: 'TransferCallResponse', transferredCall: { callID: ca, deviceID: C } });
    await lab.settle();
    const [transfered] = a.events;
    expect(take(a)).toEqual(['Transfered 1@1001 null transfer']);
    expect(transfered).toMatchObject({
      secondaryOldCall: { callID: '2', deviceID: A },
      transferringDevice: { deviceIdentifier: A },
      transferredToDevice: { deviceIdentifier: C },
      transferredConnections: [{ newConnection: { callID: '1', deviceID: C }, oldConnection: { callID: '2', deviceID: C } }],
    });
    expect(take(b)).toEqual([`Transfered ${cb}@1002 connected transfer`]);
    expect(take(c)).toEqual(['Transfered 1@1003 connected transfer']);
    expect(a.phone.device.calls()).toEqual([]);
    expect(b.phone.device.calls()).toEqual([{ callID: cb, line: 0, state: 'connected', remotes: [C] }]);
    expect(c.phone.device.calls()).toEqual([{ callID: '1', line: 0, state: 'connected', remotes: [B] }]);
    expect(lab.exchange.activeLegs).toBe(2);
  });

  it('alternates between the held and the consultation call', async () => {
    const { ca } = await connectAB();
    const cc = await consultC(ca);
    take(a);
    await a.client.request({ type: 'AlternateCall', heldCall: { callID: ca, deviceID: A }, activeCall: { callID: cc, deviceID: A } });
    await lab.settle();
    expect(take(a)).toEqual(['Held 2@1001 hold alternate', 'Retrieved 1@1001 connected alternate']);
    await expect(
      a.client.request({ type: 'AlternateCall', heldCall: { callID: ca, deviceID: A }, activeCall: { callID: cc, deviceID: A } }),
    ).rejects.toMatchObject({ errorValue: { stateIncompatibility: 'invalidHeldConnectionState' } });
  });

  it('reconnects: clears the consultation call and retrieves the held one', async () => {
    const { ca } = await connectAB();
    const cc = await consultC(ca);
    take(a);
    take(c);
    await a.client.request({ type: 'ReconnectCall', activeCall: { callID: cc, deviceID: A }, heldCall: { callID: ca, deviceID: A } });
    await lab.settle();
    expect(take(a)).toEqual(['ConnectionCleared 2@1001 null normalClearing', 'Retrieved 1@1001 connected normal']);
    expect(take(c)).toEqual(['ConnectionCleared 1@1001 null normalClearing']);
  });

  it('conferences the held and the active call; a party leaving keeps the conference connected', async () => {
    const { ca } = await connectAB();
    const cc = await consultC(ca);
    take(a);
    take(b);
    const res = await a.client.request({ type: 'ConferenceCall', heldCall: { callID: ca, deviceID: A }, activeCall: { callID: cc, deviceID: A } });
    expect(res).toMatchObject({
      type: 'ConferenceCallResponse',
      conferenceCall: { callID: ca, deviceID: A },
      connections: [
        { newConnection: { callID: ca, deviceID: B }, oldConnection: { callID: ca, deviceID: B } },
        { newConnection: { callID: ca, deviceID: C }, oldConnection: { callID: cc, deviceID: C } },
      ],
    });
    await lab.settle();
    expect(take(a)).toEqual(['Conferenced 1@1001 connected conference']);
    expect(take(b)).toEqual(['Retrieved 1@1001 connected normal']);
    expect(a.phone.device.calls()).toEqual([{ callID: ca, line: 0, state: 'connected', remotes: [B, C] }]);
    b.phone.control.hangUp();
    await lab.settle();
    expect(take(a)).toEqual(['ConnectionCleared 1@1002 connected normalClearing']);
    c.phone.control.hangUp();
    await lab.settle();
    expect(take(a)).toEqual(['ConnectionCleared 1@1003 null normalClearing']);
  });

  it('refuses TransferCall when the held call is not held', async () => {
    const { ca } = await connectAB();
    await expect(
      a.client.request({ type: 'TransferCall', heldCall: { callID: ca, deviceID: A }, activeCall: { callID: '7', deviceID: A } }),
    ).rejects.toMatchObject({ errorValue: { operation: 'invalidActiveCallID' } });
  });
});

describe('SingleStepTransferCall and DeflectCall', () => {
  it('blind-transfers B to C; both sides report Transfered with cause singleStepTransfer', async () => {
    const { ca, cb } = await connectAB();
    const res = await a.client.request({ type: 'SingleStepTransferCall', activeCall: { callID: ca, deviceID: A }, transferredTo: '1003' });
    expect(res).toMatchObject({ type: 'SingleStepTransferCallResponse', transferredCall: { callID: ca, deviceID: C } });
    await lab.settle();
    expect(take(c)).toEqual(['Delivered 1@1003 alerting newCall']);
    expect(take(a)).toEqual([]);
    c.phone.control.answer();
    await lab.settle();
    expect(take(a)).toEqual(['Transfered 1@1001 null singleStepTransfer']);
    expect(take(b)).toEqual([`Transfered ${cb}@1002 connected singleStepTransfer`]);
    expect(take(c)).toEqual(['Established 1@1003 connected normal']);
    expect(b.phone.device.calls()).toEqual([{ callID: cb, line: 0, state: 'connected', remotes: [C] }]);
  });

  it('deflects a ringing call; the caller sees Diverted then Delivered at the new destination', async () => {
    await a.client.request({ type: 'MakeCall', callingDevice: A, calledDirectoryNumber: '1002', autoOriginate: 'doNotPrompt' });
    await lab.settle();
    take(a);
    take(b);
    const res = await b.client.request({ type: 'DeflectCall', callToBeDiverted: { callID: '1', deviceID: B }, newDestination: '1003' });
    expect(res.type).toBe('DeflectCallResponse');
    await lab.settle();
    expect(take(b)).toEqual(['Diverted 1@1002 null redirected']);
    expect(take(a)).toEqual(['Diverted 1@1002 connected redirected', 'Delivered 1@1003 connected redirected']);
    expect(c.events[0]).toMatchObject({ lastRedirectionDevice: { numberDialed: B }, calledDevice: { deviceIdentifier: B } });
    expect(take(c)).toEqual(['Delivered 1@1003 alerting redirected']);
  });

  it('refuses to deflect a connected call', async () => {
    const { cb } = await connectAB();
    await expect(b.client.request({ type: 'DeflectCall', callToBeDiverted: { callID: cb, deviceID: B }, newDestination: '1003' })).rejects.toMatchObject({
      errorValue: { stateIncompatibility: 'invalidConnectionState' },
    });
  });
});

describe('GenerateDigits', () => {
  it('sends DTMF on a connected call and reports DigitsGenerated', async () => {
    const { ca } = await connectAB();
    const res = await a.client.request({ type: 'GenerateDigits', connectionToSendDigits: { callID: ca, deviceID: A }, charactersToSend: '123#' });
    expect(res.type).toBe('GenerateDigitsResponse');
    await lab.settle();
    expect(a.events[0]).toMatchObject({ type: 'DigitsGeneratedEvent', connection: { callID: ca, deviceID: A }, digitGeneratedList: '123#' });
    expect(b.phone.device.digitsReceived.map((d) => d.digits)).toEqual(['123#']);
    await expect(
      a.client.request({ type: 'GenerateDigits', connectionToSendDigits: { callID: ca, deviceID: A }, charactersToSend: '12x' }),
    ).rejects.toMatchObject({ errorValue: { operation: 'invalidParameterValue' } });
  });
});
