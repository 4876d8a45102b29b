/**
 * Simulated phones behind Kamailio as registrar and record-routing proxy
 * (`test/kamailio/kamailio.cfg`, SHA-256 digest): alice and bob register with digest; a
 * controller opens a uaCSTA session to each through Kamailio (its INVITE and every INFO are
 * challenged 407, and so are the phones' event INFOs); MakeCall from alice to bob goes through
 * Kamailio (INVITE challenged, routed by the location table to bob's Contact, record-routed);
 * bob answers with AnswerCall and alice hangs up with ClearConnection.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DigestClient } from '../../../src/sip/auth/digest-client.js';
import { hasKamailio, KAMAILIO_USERS, startKamailio } from '../../kamailio/kamailio.js';
import { controller, sipStation, take, udpHost, until } from './support.js';

const KAMAILIO = hasKamailio();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe.skipIf(!KAMAILIO)('simulated phones through Kamailio (skipped only when kamailio is not installed)', () => {
  it('registers with digest; CSTA sessions and a call go through the proxy', async () => {
    const kam = await startKamailio('SHA-256');
    cleanups.push(() => kam.stop());
    const registrar = `sip:${kam.host}:${kam.port}`;
    const host = await udpHost({ media: 'silence', registrar });
    cleanups.push(() => host.close());
    const ctl = await controller({
      outboundProxy: registrar,
      digest: new DigestClient({ credentials: () => ({ username: 'alice', password: KAMAILIO_USERS.alice }) }),
    });
    cleanups.push(() => ctl.close());
    const registered: string[] = [];
    const station = async (ext: 'alice' | 'bob') => {
      const s = await sipStation(host, ctl, ext, {
        credentials: { username: ext, password: KAMAILIO_USERS[ext] },
        target: `sip:${ext}@127.0.0.1:${kam.port}`,
      });
      registered.push(`${ext} ${s.sip.registration?.state}`);
      return s;
    };
    const alice = await station('alice');
    const bob = await station('bob');
    expect(registered).toEqual(['alice Registered', 'bob Registered']);
    expect(alice.sip.aor).toBe(`sip:alice@127.0.0.1:${kam.port}`);
    // the sessions' dialogs were record-routed by Kamailio
    const route = new RegExp(`^<sip:127\\.0\\.0\\.1:${kam.port};`);
    expect((alice.client.channel as unknown as { dialog: { dialog: { routeSet: readonly string[] } } }).dialog.dialog.routeSet[0]).toMatch(route);

    const res = await alice.client.request({ type: 'MakeCall', callingDevice: alice.device, calledDirectoryNumber: 'bob', autoOriginate: 'doNotPrompt' });
    expect(res.callingDevice.callID).toBe('1');
    await until(() => bob.events.some((e) => e.type === 'DeliveredEvent'), 'Delivered at bob');
    expect(take(bob)).toEqual(['Delivered 1@bob alerting newCall']);
    await bob.client.request({ type: 'AnswerCall', callToBeAnswered: { callID: '1', deviceID: bob.device } });
    await until(() => alice.events.some((e) => e.type === 'EstablishedEvent'), 'Established at alice');
    expect(take(alice)).toEqual([
      'ServiceInitiated 1@alice initiated makeCall',
      'Originated 1@alice connected newCall',
      'Delivered 1@bob connected newCall',
      'Established 1@bob connected normal',
    ]);
    // the call's dialog is record-routed too: its BYE goes through Kamailio
    const aliceLeg = alice.sip.signalling.legs[0]!.id;
    expect(alice.sip.signalling.dialogOf(aliceLeg)!.dialog.routeSet[0]).toMatch(route);

    await alice.client.request({ type: 'ClearConnection', connectionToBeCleared: { callID: '1', deviceID: alice.device } });
    await until(() => bob.events.some((e) => e.type === 'ConnectionClearedEvent'), 'ConnectionCleared at bob');
    expect(take(bob)).toEqual(['Established 1@bob connected normal', 'ConnectionCleared 1@alice null normalClearing']);
  }, 30_000);
});
