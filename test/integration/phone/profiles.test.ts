/**
 * The vendor profiles' SIP behaviour (digest §1.5 item 8, §7.1, §7.7, §7.11), over real UDP on
 * 127.0.0.1: a two-line phone (one account, Contact and deviceID per line, monitorCrossRefID =
 * line index), a phone that digest-challenges the controller's INVITE or every INFO, one that
 * answers 481 to out-of-dialog CSTA, and one that serves it (NOTIFY `Event: uaCSTA`). Plus the
 * calling identity of `place({ from })` and the conference record of `mix()`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { serializeCsta } from '../../../src/csta/index.js';
import { openNotifyCstaChannel } from '../../../src/node/notify-csta-channel.js';
import { SimulatedPhone } from '../../../src/phone/simulator.js';
import type { SipPhoneHost, SipPhoneHostLogEvent, SipPhoneOptions } from '../../../src/phone/sip/sip-phone-host.js';
import { DigestClient } from '../../../src/sip/auth/digest-client.js';
import type { SipRequest } from '../../../src/sip/message/types.js';
import { CstaClient } from '../../../src/uacsta/client.js';
import { brief } from '../../unit/phone/harness.js';
import { controller, record, types, udpHost, until, type Controller } from './support.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function host(log?: SipPhoneHostLogEvent[]): Promise<SipPhoneHost> {
  const h = await udpHost(log === undefined ? {} : { log: (e) => log.push(e) });
  cleanups.push(() => h.close());
  return h;
}

async function ctl(options: Parameters<typeof controller>[0] = {}): Promise<Controller> {
  const c = await controller(options);
  cleanups.push(() => c.close());
  return c;
}

/** A simulated phone of `profile` on `h`, its SIP part built with `sip` options. */
function phoneOf(h: SipPhoneHost, profile: string, sip: SipPhoneOptions): { phone: SimulatedPhone; sip: ReturnType<SipPhoneHost['addPhone']> } {
  let phone: SimulatedPhone | undefined;
  const s = h.addPhone({ ...sip, onCstaChannel: (ch) => phone!.attach(ch) });
  phone = new SimulatedPhone({ signalling: s.signalling, profile });
  cleanups.push(() => phone!.close());
  return { phone, sip: s };
}

const SECRET = { username: '1000', password: 'lab-secret' };
const statusLines = (c: Controller): string[] => c.received.filter((l) => l.startsWith('SIP/2.0 4')).map((l) => l.slice(8));

describe('multi-line profile: one SIP account per line', () => {
  it('answers on both lines, monitors each by line index, lists both, and calls from line 2', async () => {
    const h = await host();
    const { phone, sip } = phoneOf(h, 'multi-line', { extension: '1000', lines: 2 });
    const port = h.listenAddress.port;
    expect(phone.lines).toEqual(['sip:1000@127.0.0.1', 'sip:1000-2@127.0.0.1']);
    expect(sip.lines.map((l) => l.contact)).toEqual([`sip:1000@127.0.0.1:${port}`, `sip:1000-2@127.0.0.1:${port}`]);
    const far = h.addPhone({ extension: '2000' });
    const farIn = record(far.signalling);

    const c = await ctl();
    // a session to line 2's address reaches the same phone (a CTI may pick either account)
    const { client, events } = await c.session(sip.lines[1]!.contact);
    const m0 = await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: 'sip:1000@127.0.0.1' } });
    const m1 = await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: 'sip:1000-2@127.0.0.1' } });
    expect([m0.monitorCrossRefID, m1.monitorCrossRefID]).toEqual(['0', '1']);
    const sfd = await client.request({ type: 'GetSwitchingFunctionDevices' });
    expect(sfd.type).toBe('GetSwitchingFunctionDevicesResponse');

    // a call to 1000-2 rings line 2: its events carry monitor 1 and the line's deviceID
    const legIn = far.signalling.place({ to: '1000-2' });
    await until(() => events.some((e) => e.type === 'DeliveredEvent'), 'Delivered on line 2');
    const delivered = events.find((e) => e.type === 'DeliveredEvent')!;
    expect(delivered.monitorCrossRefID).toBe('1');
    expect(brief(delivered)).toBe('Delivered 1@1000-2 alerting newCall');
    far.signalling.release(legIn);
    await until(() => events.some((e) => e.type === 'ConnectionClearedEvent'), 'cleared on line 2');

    // MakeCall from line 2: the INVITE comes from the line's address of record
    events.length = 0;
    const made = await client.request({ type: 'MakeCall', callingDevice: 'sip:1000-2@127.0.0.1', calledDirectoryNumber: '2000' });
    expect(made.callingDevice.deviceID).toBe('sip:1000-2@127.0.0.1');
    await until(() => types(farIn).includes('offered'), 'INVITE at 2000');
    const offered = farIn.find((i) => i.type === 'offered') as { from: string };
    expect(offered.from).toBe('sip:1000-2@127.0.0.1');
    await until(() => events.some((e) => e.type === 'DeliveredEvent'), 'Delivered for MakeCall');
    expect(events.map((e) => `${e.monitorCrossRefID} ${brief(e)}`)).toEqual([
      '1 ServiceInitiated 2@1000-2 initiated makeCall',
      '1 Originated 2@1000-2 connected newCall',
      '1 Delivered 2@2000 connected newCall',
    ]);
  });
});

describe('challenge profiles: the phone asks the controller for its credentials (digest §7.11)', () => {
  it('challenge-invite: the session INVITE gets 401, the retry with credentials opens it; INFOs pass unchallenged', async () => {
    const log: SipPhoneHostLogEvent[] = [];
    const h = await host(log);
    phoneOf(h, 'challenge-invite', { extension: '1000', credentials: SECRET, challenge: 'invite' });
    const c = await ctl({ digest: new DigestClient({ credentials: () => SECRET }) });
    const { client } = await c.session(`sip:1000@127.0.0.1:${h.listenAddress.port}`);
    const m = await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: 'sip:1000@127.0.0.1' } });
    await client.request({ type: 'GetDoNotDisturb', device: 'sip:1000@127.0.0.1' });
    expect(m.monitorCrossRefID).toBe('1');
    expect(statusLines(c)).toEqual(['401 Unauthorized']);
    expect(log.filter((e) => e.type === 'challenge').map((e) => (e as { method: string }).method)).toEqual(['INVITE']);
  });

  it('challenge-invite: a controller without the right password is refused 401', async () => {
    const h = await host();
    phoneOf(h, 'challenge-invite', { extension: '1000', credentials: SECRET, challenge: 'invite' });
    const wrong = await ctl({ digest: new DigestClient({ credentials: () => ({ username: '1000', password: 'guess' }) }) });
    await expect(wrong.session(`sip:1000@127.0.0.1:${h.listenAddress.port}`)).rejects.toMatchObject({ code: 'SIP_ERR_REJECTED', status: 401 });
    const none = await ctl();
    await expect(none.session(`sip:1000@127.0.0.1:${h.listenAddress.port}`)).rejects.toMatchObject({ code: 'SIP_ERR_REJECTED', status: 401 });
  });

  it('challenge-every-request: the INVITE and the first INFO get 401 and pass on retry; requests and events flow', async () => {
    const log: SipPhoneHostLogEvent[] = [];
    const h = await host(log);
    const { phone } = phoneOf(h, 'challenge-every-request', { extension: '1000', credentials: SECRET, challenge: 'every-request' });
    const c = await ctl({ digest: new DigestClient({ credentials: () => SECRET }) });
    const { client, events } = await c.session(`sip:1000@127.0.0.1:${h.listenAddress.port}`);
    await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: 'sip:1000@127.0.0.1' } });
    await client.request({ type: 'SetDoNotDisturb', device: 'sip:1000@127.0.0.1', doNotDisturbOn: true });
    await until(() => events.some((e) => e.type === 'DoNotDisturbEvent'), 'DoNotDisturbEvent');
    expect(phone.device.getDoNotDisturb('sip:1000@127.0.0.1').doNotDisturbOn).toBe(true);
    // every request is checked; a controller that reuses its nonce (nc+1) passes without a new 401
    const challenged = log.filter((e) => e.type === 'challenge').map((e) => (e as { method: string }).method);
    expect(challenged.slice(0, 2)).toEqual(['INVITE', 'INFO']);
    expect(statusLines(c).slice(0, 2)).toEqual(['401 Unauthorized', '401 Unauthorized']);
  });

  it('challenge-every-request: an INFO with forged credentials is refused, the session stays', async () => {
    const h = await host();
    phoneOf(h, 'challenge-every-request', { extension: '1000', credentials: SECRET, challenge: 'every-request' });
    const c = await ctl({ digest: new DigestClient({ credentials: () => SECRET }) });
    const { client } = await c.session(`sip:1000@127.0.0.1:${h.listenAddress.port}`);
    const dialog = c.ua.dialogs[0]!;
    const body = serializeCsta({ type: 'GetDoNotDisturb', device: 'sip:1000@127.0.0.1' }, { edition: 'ed3' });
    const forged = await dialog
      .request('INFO', { body, contentType: 'application/csta+xml', headers: { Authorization: 'Digest username="1000", realm="uacsta-phone", nonce="00", uri="x", response="00"' } })
      .catch((e: { response?: { status: number } }) => e.response);
    expect(forged?.status).toBe(401);
    expect((await client.request({ type: 'GetDoNotDisturb', device: 'sip:1000@127.0.0.1' })).doNotDisturbOn).toBe(false);
  });
});

describe('out-of-dialog CSTA (digest §1.1, §1.10, §7.1)', () => {
  const makeCall = serializeCsta({ type: 'MakeCall', callingDevice: 'sip:1000@127.0.0.1', calledDirectoryNumber: '1001' }, { edition: 'ed3' });
  const notify = (c: Controller, target: string) =>
    c.ua.request('NOTIFY', target, { headers: { Event: 'uaCSTA' }, body: makeCall, contentType: 'application/csta+xml' });

  it('reject-out-of-dialog: NOTIFY Event: uaCSTA and an out-of-dialog INFO get 481; nothing is called', async () => {
    const h = await host();
    const { phone } = phoneOf(h, 'reject-out-of-dialog', { extension: '1000', outOfDialogCsta: 'reject-481' });
    const c = await ctl();
    const target = `sip:1000@127.0.0.1:${h.listenAddress.port}`;
    expect((await notify(c, target)).status).toBe(481);
    expect((await c.ua.request('INFO', target, { body: makeCall, contentType: 'application/csta+xml' })).status).toBe(481);
    expect((await c.ua.request('NOTIFY', target, { headers: { Event: 'presence' } })).status).toBe(489);
    expect(phone.device.calls()).toEqual([]);
  });

  it('no-events (accept): a NOTIFY session serves MakeCall in the 200 and the phone places the call', async () => {
    const h = await host();
    const { phone } = phoneOf(h, 'no-events', { extension: '1000', outOfDialogCsta: 'accept' });
    const callee = h.addPhone({ extension: '1001' });
    const calleeIn = record(callee.signalling);
    const c = await ctl();
    const channel = await openNotifyCstaChannel(c.ua, `sip:1000@127.0.0.1:${h.listenAddress.port}`);
    const client = new CstaClient({ channel });
    const res = await client.request({ type: 'MakeCall', callingDevice: 'sip:1000@127.0.0.1', calledDirectoryNumber: '1001' });
    expect(res.callingDevice.deviceID).toBe('sip:1000@127.0.0.1');
    await until(() => types(calleeIn).includes('offered'), 'INVITE at 1001');
    expect(phone.sessions).toBe(1);
    expect(phone.device.calls().map((x) => x.state)).toEqual(['connected']);
    await client.close();
  });

  it('generic (ignore): out-of-dialog NOTIFY is not served (405), out-of-dialog INFO 481', async () => {
    const h = await host();
    phoneOf(h, 'generic', { extension: '1000' });
    const c = await ctl();
    const target = `sip:1000@127.0.0.1:${h.listenAddress.port}`;
    expect((await notify(c, target)).status).toBe(405);
    expect((await c.ua.request('INFO', target, { body: makeCall, contentType: 'application/csta+xml' })).status).toBe(481);
  });
});

describe('calling identity and conference on SIP', () => {
  it('place({ from }) naming no line asks for it as P-Preferred-Identity (RFC 3325 §9.2); From stays the line', async () => {
    const h = await host();
    const a = h.addPhone({ extension: '1000' });
    const seen: SipRequest[] = [];
    const far = await ctl();
    far.ua.onInvite((req) => (seen.push(req), { status: 486 }));
    const inputs = record(a.signalling);
    a.signalling.place({ to: `sip:cti@127.0.0.1:${far.endpoint.transports[0]!.local.port}`, from: '+4930123' });
    await until(() => types(inputs).includes('failed'), '486');
    expect(seen[0]!.from.uri).toBe('sip:1000@127.0.0.1');
    expect(seen[0]!.headers['p-preferred-identity']).toEqual([`<sip:+4930123@127.0.0.1:${h.listenAddress.port}>`]);
  });

  it('mix() records the conferenced legs (signalling only) and forgets ended ones', async () => {
    const h = await host();
    const a = h.addPhone({ extension: '1000' });
    const b = h.addPhone({ extension: '1001' });
    const bIn = record(b.signalling);
    const aIn = record(a.signalling);
    const leg = a.signalling.place({ to: '1001' });
    await until(() => types(bIn).includes('offered'), 'offered');
    b.signalling.answer((bIn[0] as { leg: string }).leg);
    await until(() => types(aIn).includes('answered'), 'answered');
    a.signalling.mix([leg, 'L99']);
    expect(a.signalling.conference).toEqual([leg]);
    a.signalling.release(leg);
    expect(a.signalling.conference).toEqual([]);
  });
});
