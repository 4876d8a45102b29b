/**
 * Field cases of uaCSTA (digest §1.4, §1.5, §1.7, §1.8, §7), with our CstaClient /
 * CstaAssociation as the computing function (A) and our CstaServer, or a raw misbehaving handler,
 * as the switching function (B), over two user agents on the in-memory transport pair.
 */

import { afterEach, describe, expect, it } from 'vitest';
import type { DoNotDisturbEvent, OriginatedEvent } from '../../../src/csta/model/types.js';
import { connectCsta, openCstaAssociation } from '../../../src/node/connect-csta.js';
import { acceptSipCstaChannels, openSipCstaChannel, type SipCstaChannel } from '../../../src/node/sip-csta-channel.js';
import { DigestClient } from '../../../src/sip/auth/digest-client.js';
import { DigestServer } from '../../../src/sip/auth/digest-server.js';
import type { SipRequest } from '../../../src/sip/message/types.js';
import type { CstaRecovery } from '../../../src/uacsta/association.js';
import { CstaClient } from '../../../src/uacsta/client.js';
import { CstaServer } from '../../../src/uacsta/server.js';
import { manualClock } from '../../../src/util/clock.js';
import { settle, text, uaPair, type Pair } from '../../unit/sip/ua/ladder.js';

const ED5 = 'http://www.ecma-international.org/standards/ecma-323/csta/ed5';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

const originated = (callID: string): OriginatedEvent =>
  ({
    type: 'OriginatedEvent',
    monitorCrossRefID: '43',
    originatedConnection: { callID, deviceID: '1001' },
    callingDevice: { deviceIdentifier: '1001' },
    calledDevice: { deviceIdentifier: '1002' },
    localConnectionInfo: 'connected',
    cause: 'newCall',
  }) as unknown as OriginatedEvent;

/** B serves CSTA sessions with a phone-like server; each session's server is kept. */
function phone(
  p: Pair,
  extra: (server: CstaServer, session: number) => void = () => {},
  channels: SipCstaChannel[] = [],
): CstaServer[] {
  const servers: CstaServer[] = [];
  acceptSipCstaChannels(p.b.ua, (channel) => {
    channels.push(channel);
    const server = new CstaServer({ channel });
    const session = servers.push(server);
    server.handle('MonitorStart', () => ({ type: 'MonitorStartResponse', monitorCrossRefID: `mon-${session}` }));
    server.handle('MonitorStop', () => ({ type: 'MonitorStopResponse' }));
    server.handle('GetDoNotDisturb', () => ({ type: 'GetDoNotDisturbResponse', doNotDisturbOn: false }));
    extra(server, session);
  });
  return servers;
}

const makeCall = { type: 'MakeCall', callingDevice: '1001', calledDirectoryNumber: '1002' } as const;

describe('field cases over SIP (A = controller, B = phone)', () => {
  it('an event INFO before the MakeCall response: the application sees the response, then the event, with a negative callID', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    phone(p, (server) =>
      server.handle('MakeCall', async () => {
        await server.emit(originated('-12'));
        return { type: 'MakeCallResponse', callingDevice: { callID: '-12', deviceID: '1001' } };
      }),
    );
    const client = await connectCsta(p.a.ua, p.bUri, { clock, requestSystemStatus: true });
    const seen: string[] = [];
    client.on('event', (e) => seen.push(`${e.type} ${(e as OriginatedEvent).originatedConnection.callID}`));
    const res = await client.request(makeCall);
    seen.push(`${res.type} ${res.callingDevice.callID}`);
    await settle();
    expect(p.ladder.lines().slice(3)).toEqual(['A → B INFO', 'B → A INFO', 'A → B 200', 'B → A 200']);
    expect(seen).toEqual(['MakeCallResponse -12', 'OriginatedEvent -12']);
    await client.close();
  });

  it('an INFO before the ACK reaches the controller', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    phone(p, (server) => {
      // B sends an event as soon as it has answered the INVITE
      queueMicrotask(() => void server.emit({ type: 'DoNotDisturbEvent', monitorCrossRefID: '7', device: { deviceIdentifier: '1001' }, doNotDisturbOn: true }));
    });
    p.ladder.rule('A', (m) => (m.kind === 'request' && m.method === 'ACK' ? 'hold' : 'pass'));
    const channel = await openSipCstaChannel(p.a.ua, p.bUri);
    const client = new CstaClient({ channel, clock });
    const events: boolean[] = [];
    client.onMonitor('7', (e) => events.push((e as DoNotDisturbEvent).doNotDisturbOn));
    await settle();
    p.ladder.release('A');
    await settle();
    expect(p.ladder.lines()).toEqual(['A → B INVITE', 'B → A 200', 'B → A INFO', 'A → B 200', 'A → B ACK']);
    expect(events).toEqual([true]);
    await client.close();
  });

  it('a 200 without a CSTA body rejects UACSTA_ERR_NO_RESPONSE (the outcome is unknown)', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    acceptSipCstaChannels(p.b.ua, (channel) => channel.onRequest(() => ({ status: 200 })));
    const client = await connectCsta(p.a.ua, p.bUri, { clock });
    await expect(client.request(makeCall)).rejects.toMatchObject({
      code: 'UACSTA_ERR_NO_RESPONSE',
      message: '<MakeCall> was answered 200 without a CSTA body',
    });
    expect(client.state).toBe('Open');
    await client.close();
  });

  it('no answer at all: UACSTA_ERR_TIMEOUT at the configured limit, SIP_ERR_TIMEOUT at Timer F', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    acceptSipCstaChannels(p.b.ua, (channel) => channel.onRequest(() => new Promise(() => {})));
    const client = await connectCsta(p.a.ua, p.bUri, { clock, invokeTimeoutMs: 10_000 });
    const first = client.request(makeCall).catch((e: unknown) => e);
    await settle();
    clock.tick(10_000);
    expect(await first).toMatchObject({ code: 'UACSTA_ERR_TIMEOUT', message: 'no final response to <MakeCall> within 10000 ms' });
    // the slot stays taken until the SIP transaction ends (Timer F, 64*T1 = 32 s)
    const second = client.request(makeCall).catch((e: unknown) => e);
    clock.tick(22_000);
    await settle();
    await settle();
    clock.tick(10_000);
    expect(await second).toMatchObject({ code: 'UACSTA_ERR_TIMEOUT' });
    const slow = await connectCsta(p.a.ua, p.bUri, { clock, invokeTimeoutMs: 60_000 });
    const third = slow.request(makeCall).catch((e: unknown) => e);
    await settle();
    clock.tick(32_000);
    expect(await third).toMatchObject({ code: 'SIP_ERR_TIMEOUT' });
    expect(slow.state).toBe('Open');
    await client.close();
    await slow.close();
  });

  it('a 401 challenge on INFO is answered with credentials and the request succeeds', async () => {
    const clock = manualClock();
    const p = uaPair({ clock, a: { digest: new DigestClient({ credentials: () => ({ username: 'ctl', password: 'secret' }) }) } });
    pair = p;
    const auth = new DigestServer({ realm: 'phone.invalid', clock, lookup: (u) => (u === 'ctl' ? { password: 'secret' } : undefined) });
    acceptSipCstaChannels(p.b.ua, (channel) => {
      const server = new CstaServer({ channel });
      server.handle('MakeCall', () => ({ type: 'MakeCallResponse', callingDevice: { callID: '2', deviceID: '1001' } }));
      // challenge every INFO on the dialog before the server sees it (Snom csta_challenge ≥ 2)
      const dialog = channel.dialog!;
      dialog.onRequest(async (req: SipRequest) => {
        const v = await auth.verify(req);
        if (!v.ok) return { status: v.status, reason: v.reasonPhrase, headers: v.headers };
        return channel.receive(req);
      });
    });
    const client = await connectCsta(p.a.ua, p.bUri, { clock });
    const res = await client.request(makeCall);
    expect(res.callingDevice).toEqual({ callID: '2', deviceID: '1001' });
    expect(p.ladder.lines().slice(3)).toEqual(['A → B INFO', 'B → A 401', 'A → B INFO', 'B → A 200']);
    await client.close();
  });

  it('a peer that answers in ed5 to an ed3 request: the response is read, and later requests follow its edition', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    const bodies: string[] = [];
    acceptSipCstaChannels(p.b.ua, (channel) =>
      channel.onRequest((req) => {
        bodies.push(req.body);
        return {
          status: 200,
          body: `<MakeCallResponse xmlns="${ED5}"><callingDevice><callID>7</callID><deviceID>1001</deviceID></callingDevice></MakeCallResponse>`,
        };
      }),
    );
    const client = await connectCsta(p.a.ua, p.bUri, { clock });
    const res = await client.request(makeCall);
    expect(res).toMatchObject({ type: 'MakeCallResponse', edition: 'ed5', callingDevice: { callID: '7', deviceID: '1001' } });
    await client.request(makeCall);
    expect(bodies[0]).toContain('/csta/ed3"');
    expect(bodies[1]).toContain('/csta/ed5"');
    await client.close();
  });

  it('a re-INVITE refresh with RequestSystemStatus every refreshIntervalMs, answered normal', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    phone(p);
    const assoc = await openCstaAssociation(p.a.ua, p.bUri, { clock, requestSystemStatus: true, refreshIntervalMs: 600_000 });
    await settle();
    clock.tick(600_000);
    await settle();
    expect(p.ladder.lines()).toEqual(['A → B INVITE', 'B → A 200', 'A → B ACK', 'A → B INVITE', 'B → A 200', 'A → B ACK']);
    const [, , , reinvite, ok] = p.ladder.entries.map((e) => e.message);
    expect(reinvite!.callId).toBe(p.ladder.entries[0]!.message.callId);
    expect(text(reinvite!.body)).toContain('<RequestSystemStatus');
    expect(text(ok!.body)).toContain('<systemStatus>normal</systemStatus>');
    expect(assoc.state).toBe('Open');
    await assoc.close();
  });

  it('a peer that restarts (481): the association re-opens, restarts its monitor and tells the application', async () => {
    const clock = manualClock(10_000);
    const p = uaPair({ clock });
    pair = p;
    const channels: SipCstaChannel[] = [];
    const servers = phone(p, () => {}, channels);
    const assoc = await openCstaAssociation(p.a.ua, p.bUri, { clock, requestSystemStatus: true, resync: { snapshotDevice: false, getForwarding: false } });
    const line = await assoc.monitor('1001');
    const recoveries: CstaRecovery[] = [];
    assoc.on('recovered', (r) => recoveries.push(r));
    clock.tick(5_000);
    // the phone reboots: its dialog is gone, and its BYE never made it
    p.ladder.rule('B', (m) => (m.kind === 'request' && m.method === 'BYE' ? 'drop' : 'pass'));
    void channels[0]!.dialog!.bye();
    await settle();
    p.ladder.rule('B', () => 'pass');
    await expect(assoc.request({ type: 'GetDoNotDisturb', device: '1001' })).rejects.toMatchObject({ status: 481 });
    await settle();
    await settle();
    expect(recoveries).toHaveLength(1);
    const [r] = recoveries;
    expect(r!.reason).toBe('no-dialog');
    expect(r!.gap).toEqual({ from: 10_000, to: 15_000 });
    expect(r!.monitors.map((m) => [m.monitor === line, m.previousCrossRefID, m.monitorCrossRefID])).toEqual([[true, 'mon-1', 'mon-2']]);
    expect(r!.resync[0]!.getDoNotDisturb).toMatchObject({ ok: true, response: { doNotDisturbOn: false } });
    const lines = p.ladder.lines();
    expect(lines.slice(lines.indexOf('B → A BYE (lost)'))).toEqual([
      'B → A BYE (lost)',
      'A → B INFO', // GetDoNotDisturb on the dead dialog
      'B → A 481',
      'A → B INVITE', // RequestSystemStatus
      'B → A 200',
      'A → B ACK',
      'A → B INFO', // MonitorStart
      'B → A 200',
      'A → B INFO', // GetDoNotDisturb (re-sync)
      'B → A 200',
    ]);
    // the restarted monitor delivers to the same handle
    const got: boolean[] = [];
    line.on((e) => got.push((e as DoNotDisturbEvent).doNotDisturbOn));
    await servers[1]!.emit({ type: 'DoNotDisturbEvent', monitorCrossRefID: 'mon-2', device: { deviceIdentifier: '1001' }, doNotDisturbOn: true });
    await settle();
    expect(got).toEqual([true]);
    await assoc.close();
  });
});
