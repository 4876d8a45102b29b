/**
 * Real calls with baresip (Debian `baresip-core`, started by `test/baresip/baresip.ts`): a
 * simulated phone controlled by our CstaClient over a uaCSTA session calls baresip, holds,
 * retrieves and hangs up, and baresip sees each step (its SIP trace and its call events);
 * baresip calls the simulated phone, the phone rings (Delivered) and AnswerCall answers it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { BARESIP_MISSING, hasBaresip, sipTrace, startBaresip, type RunningBaresip } from '../../baresip/baresip.js';
import { controller, sipStation, take, udpHost, until } from './support.js';

const BARESIP = hasBaresip();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function setup(answerMode: 'auto' | 'manual') {
  const bs = await startBaresip({ answerMode });
  cleanups.push(() => bs.stop());
  const host = await udpHost({ media: 'silence' });
  cleanups.push(() => host.close());
  const ctl = await controller();
  cleanups.push(() => ctl.close());
  const a = await sipStation(host, ctl, '1000');
  return { bs, host, a };
}

/** The INVITEs baresip received, each as its SDP direction attribute. */
function invitesAtBaresip(bs: RunningBaresip): string[] {
  return sipTrace(bs.output(), bs.sipPort)
    .filter((m) => m.dir === 'in' && m.startLine.startsWith('INVITE '))
    .map((m) => /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/m.exec(m.text)?.[1] ?? 'sendrecv');
}

/** baresip's answers (2xx to INVITE), each as its SDP direction attribute. */
function answersOfBaresip(bs: RunningBaresip): string[] {
  return sipTrace(bs.output(), bs.sipPort)
    .filter((m) => m.dir === 'out' && /^SIP\/2\.0 200/.test(m.startLine) && /^CSeq:\s*\d+ INVITE/im.test(m.text))
    .map((m) => /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/m.exec(m.text)?.[1] ?? 'sendrecv');
}

const has = (s: { events: { type: string }[] }, type: string) => () => s.events.some((e) => e.type === type);

describe.skipIf(!BARESIP)(`real calls with baresip (${BARESIP ? 'installed' : BARESIP_MISSING})`, () => {
  it('MakeCall to baresip: it rings and answers; HoldCall and RetrieveCall re-INVITE it sendonly/sendrecv; ClearConnection ends its call', async () => {
    const { bs, a } = await setup('auto');
    const res = await a.client.request({ type: 'MakeCall', callingDevice: a.device, calledDirectoryNumber: bs.uri, autoOriginate: 'doNotPrompt' });
    expect(res).toMatchObject({ type: 'MakeCallResponse', callingDevice: { callID: '1', deviceID: a.device } });
    const established = await bs.waitEvent('CALL_ESTABLISHED');
    expect(established).toMatchObject({ direction: 'incoming', peeruri: 'sip:1000@127.0.0.1' });
    await until(has(a, 'EstablishedEvent'), 'Established');
    expect(take(a)).toEqual([
      'ServiceInitiated 1@1000 initiated makeCall',
      'Originated 1@1000 connected newCall',
      'Delivered 1@bob connected newCall',
      'Established 1@bob connected normal',
    ]);
    // baresip hears us: RTP from the phone reaches it
    await until(() => /incoming rtp for 'audio' established/.test(bs.output()), 'RTP at baresip');

    await a.client.request({ type: 'HoldCall', callToBeHeld: { callID: '1', deviceID: a.device } });
    await until(has(a, 'HeldEvent'), 'Held');
    expect(take(a)).toEqual(['Held 1@1000 hold normal']);
    await until(() => answersOfBaresip(bs).length === 2, 'baresip answers the hold re-INVITE');
    expect(invitesAtBaresip(bs)).toEqual(['sendrecv', 'sendonly']);
    expect(answersOfBaresip(bs)).toEqual(['sendrecv', 'recvonly']);

    await a.client.request({ type: 'RetrieveCall', callToBeRetrieved: { callID: '1', deviceID: a.device } });
    await until(has(a, 'RetrievedEvent'), 'Retrieved');
    expect(take(a)).toEqual(['Retrieved 1@1000 connected normal']);
    await until(() => answersOfBaresip(bs).length === 3, 'baresip answers the retrieve re-INVITE');
    expect(invitesAtBaresip(bs)).toEqual(['sendrecv', 'sendonly', 'sendrecv']);
    expect(answersOfBaresip(bs)).toEqual(['sendrecv', 'recvonly', 'sendrecv']);

    const closedFrom = bs.events.length;
    await a.client.request({ type: 'ClearConnection', connectionToBeCleared: { callID: '1', deviceID: a.device } });
    await bs.waitEvent('CALL_CLOSED', 5000, closedFrom);
    await until(has(a, 'ConnectionClearedEvent'), 'ConnectionCleared');
    expect(take(a)).toEqual(['ConnectionCleared 1@1000 null normalClearing']);
    expect(sipTrace(bs.output(), bs.sipPort).filter((m) => m.dir === 'in' && m.startLine.startsWith('BYE '))).toHaveLength(1);
  }, 30_000);

  it('baresip calls the phone: Delivered (alerting); AnswerCall answers with SDP; baresip hangs up: ConnectionCleared', async () => {
    const { bs, host, a } = await setup('manual');
    const target = `sip:1000@127.0.0.1:${host.listenAddress.port}`;
    const dialed = await bs.command('dial', target);
    expect(dialed.ok).toBe(true);
    await bs.waitEvent('CALL_RINGING');
    await until(has(a, 'DeliveredEvent'), 'Delivered');
    const [delivered] = a.events.filter((e) => e.type === 'DeliveredEvent') as Array<{ connection: { callID: string } }>;
    expect(take(a)).toEqual([`Delivered ${delivered!.connection.callID}@1000 alerting newCall`]);

    await a.client.request({ type: 'AnswerCall', callToBeAnswered: { callID: delivered!.connection.callID, deviceID: a.device } });
    const established = await bs.waitEvent('CALL_ESTABLISHED');
    expect(established).toMatchObject({ direction: 'outgoing' });
    await until(has(a, 'EstablishedEvent'), 'Established');
    expect(take(a)).toEqual([`Established ${delivered!.connection.callID}@1000 connected normal`]);

    await bs.command('hangup');
    await until(has(a, 'ConnectionClearedEvent'), 'ConnectionCleared');
    expect(take(a)).toEqual([`ConnectionCleared ${delivered!.connection.callID}@bob null normalClearing`]);
    expect(host.phone('1000')!.signalling.legs).toEqual([]);
  }, 30_000);
});
