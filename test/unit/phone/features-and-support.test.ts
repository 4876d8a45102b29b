/**
 * Device features (digest §4.7, Example 7) applied to incoming calls, snapshots (§4.4),
 * monitoring (§4.3), system services (§4.2, Example 11), profiles and lab controls.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { createLab, monitor, take, type Lab } from './harness.js';

let lab: Lab;
afterEach(async () => {
  await lab.close();
});

const A = 'sip:1001@example.test';
const B = 'sip:1002@example.test';
const C = 'sip:1003@example.test';

async function trio(options: Parameters<Lab['station']>[1] = {}) {
  lab = createLab();
  const a = await lab.station('1001');
  const b = await lab.station('1002', options);
  const c = await lab.station('1003');
  await monitor(a);
  await monitor(b);
  await monitor(c);
  return { a, b, c };
}

describe('DoNotDisturb', () => {
  it('sets DND, reports it, and refuses incoming calls with cause doNotDisturb', async () => {
    const { a, b } = await trio();
    const res = await b.client.request({ type: 'SetDoNotDisturb', device: B, doNotDisturbOn: true });
    expect(res.type).toBe('SetDoNotDisturbResponse');
    await lab.settle();
    expect(b.events).toMatchObject([{ type: 'DoNotDisturbEvent', device: { deviceIdentifier: B }, doNotDisturbOn: true }]);
    b.events.length = 0;
    expect(await b.client.request({ type: 'GetDoNotDisturb', device: '1002' })).toMatchObject({ doNotDisturbOn: true });
    await a.client.request({ type: 'MakeCall', callingDevice: A, calledDirectoryNumber: '1002', autoOriginate: 'doNotPrompt' });
    await lab.settle();
    expect(take(a)).toEqual([
      'ServiceInitiated 1@1001 initiated makeCall',
      'Originated 1@1001 connected newCall',
      'Failed 1@1002 fail doNotDisturb',
      'ConnectionCleared 1@1001 null doNotDisturb',
    ]);
    expect(take(b)).toEqual([]);
    await expect(b.client.request({ type: 'SetDoNotDisturb', device: 'sip:9@example.test', doNotDisturbOn: true })).rejects.toMatchObject({
      errorValue: { operation: 'invalidDeviceID' },
    });
  });

  it('the DND key on the phone reports DoNotDisturbEvent (feature synchronisation)', async () => {
    const { b } = await trio();
    b.phone.control.setDoNotDisturb(true);
    await lab.settle();
    expect(take(b)).toEqual(['DoNotDisturb 1002 doNotDisturbOn=true']);
  });
});

describe('Forwarding', () => {
  it('sets immediate forwarding (ForwardingEvent with forwardTo), lists it, and diverts incoming calls', async () => {
    const { a, b, c } = await trio();
    await b.client.request({ type: 'SetForwarding', device: B, forwardingType: 'forwardImmediate', activateForward: true, forwardDN: '1003' });
    await lab.settle();
    expect(b.events).toMatchObject([{ type: 'ForwardingEvent', forwardingType: 'forwardImmediate', forwardStatus: true, forwardTo: '1003' }]);
    b.events.length = 0;
    const list = await b.client.request({ type: 'GetForwarding', device: B });
    expect(list.forwardingList).toEqual([
      { forwardingType: 'forwardImmediate', forwardStatus: true, forwardDN: '1003' },
      { forwardingType: 'forwardBusy', forwardStatus: false },
      { forwardingType: 'forwardNoAns', forwardStatus: false },
      { forwardingType: 'forwardDND', forwardStatus: false },
    ]);
    await a.client.request({ type: 'MakeCall', callingDevice: A, calledDirectoryNumber: '1002', autoOriginate: 'doNotPrompt' });
    await lab.settle();
    expect(take(b)).toEqual(['Diverted 1@1002 null callForwardImmediate']);
    expect(take(a)).toEqual([
      'ServiceInitiated 1@1001 initiated makeCall',
      'Originated 1@1001 connected newCall',
      'Diverted 1@1002 connected redirected',
      'Delivered 1@1003 connected redirected',
    ]);
    expect(take(c)).toEqual(['Delivered 1@1003 alerting redirected']);
    await b.client.request({ type: 'SetForwarding', device: B, forwardingType: 'forwardImmediate', activateForward: false });
    await lab.settle();
    expect(take(b)).toEqual(['Forwarding 1002 forwardingType=forwardImmediate forwardStatus=false']);
    await expect(b.client.request({ type: 'SetForwarding', device: B, forwardingType: 'forwardBusy', activateForward: true })).rejects.toMatchObject({
      errorValue: { operation: 'invalidForwardingDestination' },
    });
  });

  it('forwards on no answer after ringCount rings (Example 7), on the injected clock', async () => {
    const { a, b, c } = await trio({ ringIntervalMs: 6_000 });
    await b.client.request({ type: 'SetForwarding', device: B, forwardingType: 'forwardNoAns', activateForward: true, forwardDN: '1003', ringCount: 4 });
    await lab.settle();
    expect(b.events).toMatchObject([{ type: 'ForwardingEvent', forwardingType: 'forwardNoAns', forwardStatus: true, forwardTo: '1003', ringCount: 4 }]);
    b.events.length = 0;
    await a.client.request({ type: 'MakeCall', callingDevice: A, calledDirectoryNumber: '1002', autoOriginate: 'doNotPrompt' });
    await lab.settle();
    expect(take(b)).toEqual(['Delivered 1@1002 alerting newCall']);
    lab.clock.tick(23_999);
    await lab.settle();
    expect(take(b)).toEqual([]);
    lab.clock.tick(1);
    await lab.settle();
    expect(take(b)).toEqual(['Diverted 1@1002 null callForwardNoAnswer']);
    expect(take(c)).toEqual(['Delivered 1@1003 alerting redirected']);
    expect(take(a).slice(-2)).toEqual(['Diverted 1@1002 connected redirected', 'Delivered 1@1003 connected redirected']);
  });

  it('forwards when busy, and refuses with busy when no busy forwarding is set', async () => {
    const { a, b } = await trio({ maxCallsPerLine: 1 });
    b.phone.control.ring('sip:9999@elsewhere.test');
    await lab.settle();
    take(b);
    await a.client.request({ type: 'MakeCall', callingDevice: A, calledDirectoryNumber: '1002', autoOriginate: 'doNotPrompt' });
    await lab.settle();
    expect(take(a).slice(-2)).toEqual(['Failed 1@1002 fail busy', 'ConnectionCleared 1@1001 null busy']);
    await b.client.request({ type: 'SetForwarding', device: B, forwardingType: 'forwardBusy', activateForward: true, forwardDN: '1003' });
    await lab.settle();
    take(b);
    await a.client.request({ type: 'MakeCall', callingDevice: A, calledDirectoryNumber: '1002', autoOriginate: 'doNotPrompt' });
    await lab.settle();
    expect(take(b)).toEqual(['Diverted 2@1002 null callForwardBusy']);
    expect(take(a).slice(-2)).toEqual(['Diverted 2@1002 connected redirected', 'Delivered 2@1003 connected redirected']);
  });
});

describe('microphone mute and speaker volume', () => {
  it('sets, reports and reads microphone mute and speaker volume', async () => {
    const { b } = await trio();
    await b.client.request({ type: 'SetMicrophoneMute', device: B, microphoneMuteOn: true });
    await b.client.request({ type: 'SetSpeakerVolume', device: B, speakerVolume: { volAbs: 70 } });
    await b.client.request({ type: 'SetSpeakerVolume', device: B, speakerVolume: { volInc: 'decrement' } });
    await lab.settle();
    expect(take(b)).toEqual([
      'MicrophoneMute 1002 auditoryApparatus=1 microphoneMuteOn=true',
      'SpeakerVolume 1002 auditoryApparatus=1 speakerVolume={"volAbs":70}',
      'SpeakerVolume 1002 auditoryApparatus=1 speakerVolume={"volAbs":60}',
    ]);
    expect((await b.client.request({ type: 'GetMicrophoneMute', device: B })).microphoneMuteList).toEqual([{ auditoryApparatus: '1', microphoneMuteOn: true }]);
    expect((await b.client.request({ type: 'GetSpeakerVolume', device: B })).speakerVolumeList).toEqual([{ auditoryApparatus: '1', speakerVolAbs: 60 }]);
    await expect(b.client.request({ type: 'SetSpeakerVolume', device: B, speakerVolume: { volAbs: 101 } })).rejects.toMatchObject({
      errorValue: { operation: 'speakerVolumeOutOfRange' },
    });
  });
});

describe('snapshots', () => {
  it('SnapshotDevice lists each call with its compound state; an idle device has empty snapshotData', async () => {
    const { a, b } = await trio();
    expect(await a.client.request({ type: 'SnapshotDevice', snapshotObject: A })).toMatchObject({ crossRefIDorSnapshotData: { snapshotData: {} } });
    await a.client.request({ type: 'MakeCall', callingDevice: A, calledDirectoryNumber: '1002', autoOriginate: 'doNotPrompt' });
    await lab.settle();
    const snap = await a.client.request({ type: 'SnapshotDevice', snapshotObject: A });
    expect(snap.crossRefIDorSnapshotData).toEqual({
      snapshotData: {
        snapshotDeviceResponseInfo: [
          { connectionIdentifier: { callID: '1', deviceID: A }, localCallState: { compoundCallState: { localConnectionState: ['connected', 'alerting'] } } },
        ],
      },
    });
    const call = await b.client.request({ type: 'SnapshotCall', snapshotObject: { callID: '1', deviceID: B } });
    expect(call).toMatchObject({
      crossRefIDorSnapshotData: {
        snapshotData: {
          snapshotCallResponseInfo: [
            { deviceOnCall: { deviceIdentifier: B }, callIdentifier: { callID: '1', deviceID: B }, localConnectionInfo: 'alerting' },
            { deviceOnCall: { deviceIdentifier: A }, callIdentifier: { callID: '1', deviceID: A }, localConnectionInfo: 'connected' },
          ],
        },
      },
      callingDevice: { deviceIdentifier: A },
      calledDevice: { deviceIdentifier: B },
    });
    await expect(b.client.request({ type: 'SnapshotCall', snapshotObject: { callID: '5', deviceID: B } })).rejects.toMatchObject({
      errorValue: { operation: 'invalidCallID' },
    });
    await expect(b.client.request({ type: 'SnapshotDevice', snapshotObject: C })).rejects.toMatchObject({ errorValue: { operation: 'invalidDeviceID' } });
  });
});

describe('monitoring and system services', () => {
  it('MonitorStart refuses foreign devices; MonitorStop ends the events of that monitor', async () => {
    const { a, b } = await trio();
    await expect(a.client.request({ type: 'MonitorStart', monitorObject: { deviceObject: B } })).rejects.toMatchObject({
      errorValue: { operation: 'invalidDeviceID' },
    });
    expect(await a.client.request({ type: 'MonitorStop', monitorCrossRefID: a.monitorId })).toMatchObject({ type: 'MonitorStopResponse' });
    await expect(a.client.request({ type: 'MonitorStop', monitorCrossRefID: a.monitorId })).rejects.toMatchObject({
      errorValue: { operation: 'invalidMonitorCrossRefID' },
    });
    await a.client.request({ type: 'MakeCall', callingDevice: A, calledDirectoryNumber: '1002', autoOriginate: 'doNotPrompt' });
    await lab.settle();
    expect(take(a)).toEqual([]);
    expect(take(b)).toEqual(['Delivered 1@1002 alerting newCall']);
  });

  it('accepts the line as bare extension or tel: URI, and every session gets its own monitors', async () => {
    const { a } = await trio();
    const ref = await a.client.request({ type: 'MonitorStart', monitorObject: { deviceObject: 'tel:1001' } });
    expect(ref.monitorExistingCalls).toBe(true);
    await a.client.request({ type: 'SetDoNotDisturb', device: '1001', doNotDisturbOn: true });
    await lab.settle();
    expect(a.events.map((e) => e.monitorCrossRefID)).toEqual([a.monitorId, ref.monitorCrossRefID]);
  });

  it('answers RequestSystemStatus normal and GetCSTAFeatures from its services', async () => {
    const { a } = await trio();
    expect(await a.client.request({ type: 'RequestSystemStatus' })).toMatchObject({ systemStatus: 'normal' });
    const features = await a.client.request({ type: 'GetCSTAFeatures' });
    expect(features.supportedServices).toMatchObject({
      callControlServList: { makeCall: {}, answerCall: {}, clearConnection: {}, deflectCall: {}, holdCall: {}, transferCall: {} },
      monitoringServList: { monitorStart: {}, monitorStop: {} },
    });
  });

  it('GetSwitchingFunctionDevices answers a serviceCrossRefID, then lists the lines in SwitchingFunctionDevices (Example 11)', async () => {
    lab = createLab();
    const y = await lab.station(['2001', '2002'], { profile: 'multi-line' });
    y.pair.lines.length = 0;
    const res = await y.client.request({ type: 'GetSwitchingFunctionDevices' });
    expect(res.serviceCrossRefID).toBe('sfd1');
    await lab.settle();
    expect(y.pair.lines).toEqual([
      'A → B GetSwitchingFunctionDevices',
      'B → A 200 GetSwitchingFunctionDevicesResponse',
      'B → A SwitchingFunctionDevices',
      'A → B 200 CSTAErrorCode',
    ]);
    // Yealink style: monitorCrossRefID is the line index; a call on line 1 reaches monitor 1 only
    expect(await monitor(y, 1)).toBe('1');
    expect(await monitor(y, 0)).toBe('0');
    y.phone.control.ring('sip:555@elsewhere.test', 1);
    await lab.settle();
    expect(y.events.map((e) => [e.monitorCrossRefID, e.type])).toEqual([['1', 'DeliveredEvent']]);
  });
});

describe('profiles', () => {
  it('no-events: serves its services but sends no events; others are serviceNotSupported', async () => {
    lab = createLab();
    const a = await lab.station('1001', { profile: 'no-events' });
    await lab.station('1002');
    await expect(a.client.request({ type: 'MonitorStart', monitorObject: { deviceObject: A } })).rejects.toMatchObject({
      errorValue: { operation: 'serviceNotSupported' },
    });
    const res = await a.client.request({ type: 'MakeCall', callingDevice: A, calledDirectoryNumber: '1002', autoOriginate: 'doNotPrompt' });
    expect(res.callingDevice.callID).toBe('1');
    await lab.settle();
    expect(a.events).toEqual([]);
    await expect(a.client.request({ type: 'DeflectCall', callToBeDiverted: { callID: '1' }, newDestination: '1003' })).rejects.toMatchObject({
      errorValue: { operation: 'serviceNotSupported' },
    });
  });

  it('ed5: answers and reports in the ed5 namespace whatever the request used', async () => {
    lab = createLab();
    const a = await lab.station('1001', { profile: 'ed5' });
    const ref = await monitor(a);
    const res = await a.client.request({ type: 'GetDoNotDisturb', device: A, edition: 'ed3' });
    expect(res.edition).toBe('ed5');
    await a.client.request({ type: 'SetDoNotDisturb', device: A, doNotDisturbOn: true, edition: 'ed3' });
    await lab.settle();
    expect(a.events).toMatchObject([{ type: 'DoNotDisturbEvent', edition: 'ed5', monitorCrossRefID: ref }]);
  });

  it('refuses an unknown profile name and too few lines for a multi-line profile', async () => {
    lab = createLab();
    await expect(lab.station('1001', { profile: 'nokia-1990' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await expect(lab.station('1002', { profile: 'multi-line' })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
  });
});

describe('lab controls', () => {
  it('offHook then dial reports ServiceInitiated (newCall) and Originated; the far end answering gives Established', async () => {
    const { a, b } = await trio();
    a.phone.control.offHook();
    await lab.settle();
    expect(take(a)).toEqual(['ServiceInitiated 1@1001 initiated newCall']);
    a.phone.control.dial('1002');
    await lab.settle();
    expect(take(a)).toEqual(['Originated 1@1001 connected newCall', 'Delivered 1@1002 connected newCall']);
    b.phone.control.offHook();
    await lab.settle();
    expect(take(a)).toEqual(['Established 1@1002 connected normal']);
    expect(take(b)).toEqual(['Delivered 1@1002 alerting newCall', 'Established 1@1002 connected normal']);
  });

  it('MakeCall with autoOriginate prompt waits for the handset when the phone prompts', async () => {
    lab = createLab();
    const a = await lab.station('1001', { prompt: 'manual' });
    await lab.station('1002');
    await monitor(a);
    await a.client.request({ type: 'MakeCall', callingDevice: A, calledDirectoryNumber: '1002' });
    await lab.settle();
    expect(take(a)).toEqual(['ServiceInitiated 1@1001 initiated makeCall']);
    a.phone.control.offHook();
    await lab.settle();
    expect(take(a)).toEqual(['Originated 1@1001 connected newCall', 'Delivered 1@1002 connected newCall']);
  });

  it('auto-answers incoming calls', async () => {
    const { a, b } = await trio({ autoAnswer: true });
    await a.client.request({ type: 'MakeCall', callingDevice: A, calledDirectoryNumber: '1002', autoOriginate: 'doNotPrompt' });
    await lab.settle();
    expect(take(b)).toEqual(['Delivered 1@1002 alerting newCall', 'Established 1@1002 connected normal']);
    expect(take(a).slice(-1)).toEqual(['Established 1@1002 connected normal']);
  });

  it('failNext answers the next request of a service with the given error, once', async () => {
    const { a } = await trio();
    a.phone.control.failNext('MakeCall', { systemResourceAvailibility: 'resourceBusy' });
    await expect(a.client.request({ type: 'MakeCall', callingDevice: A, calledDirectoryNumber: '1002' })).rejects.toMatchObject({
      errorValue: { systemResourceAvailibility: 'resourceBusy' },
    });
    await expect(a.client.request({ type: 'MakeCall', callingDevice: A, calledDirectoryNumber: '1002' })).resolves.toMatchObject({
      type: 'MakeCallResponse',
    });
  });

  it('a scripted ring that the caller abandons reports Delivered then ConnectionCleared', async () => {
    const { b } = await trio();
    const leg = b.phone.control.ring('tel:+4930123456');
    await lab.settle();
    b.phone.control.input({ type: 'released', leg, cause: 'cancelled' });
    await lab.settle();
    expect(take(b)).toEqual(['Delivered 1@1002 alerting newCall', 'ConnectionCleared 1@+4930123456 null normalClearing']);
  });
});
