/**
 * The SIP binding of the phone's call signalling, between two phones of one host on one UDP
 * socket (real datagrams on 127.0.0.1): INVITE with SDP → 180 → 200 → ACK, hold and retrieve
 * by re-INVITE (RFC 3264 §8.4), BYE, CANCEL, refusals with their status and cause, 302
 * deflection, digits, and a uaCSTA session on the same address as the calls.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openSipCstaChannel } from '../../../src/node/sip-csta-channel.js';
import type { SipPhoneHost } from '../../../src/phone/sip/sip-phone-host.js';
import { SipEndpoint } from '../../../src/sip/endpoint.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import { UserAgent } from '../../../src/sip/ua/user-agent.js';
import { record, types, udpHost, until } from './support.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function host(media: 'none' | 'silence' = 'none'): Promise<SipPhoneHost> {
  const h = await udpHost({ media });
  cleanups.push(() => h.close());
  return h;
}

describe('two phones on one socket', () => {
  it('places a call: alerting on 180, answered on 200, released by BYE at the far end', async () => {
    const h = await host();
    const a = h.addPhone({ extension: '1000' });
    const b = h.addPhone({ extension: '1001' });
    const aIn = record(a.signalling);
    const bIn = record(b.signalling);
    expect(a.deviceId).toBe('sip:1000@127.0.0.1');

    const legA = a.signalling.place({ to: '1001' });
    await until(() => bIn.length === 1, 'offered');
    const offered = bIn[0]!;
    expect(offered).toMatchObject({ type: 'offered', from: 'sip:1000@127.0.0.1', to: `sip:1001@127.0.0.1:${h.listenAddress.port}` });
    await until(() => aIn.length === 1, 'alerting');
    expect(aIn).toEqual([{ type: 'alerting', leg: legA }]);

    b.signalling.answer(offered.leg);
    await until(() => aIn.length === 2, 'answered');
    expect(aIn[1]).toEqual({ type: 'answered', leg: legA, remote: `sip:1001@127.0.0.1:${h.listenAddress.port}` });
    expect(a.signalling.legs).toEqual([
      expect.objectContaining({ id: legA, state: 'connected', media: expect.objectContaining({ codec: { pt: 0, name: 'PCMU', rate: 8000 }, direction: 'sendrecv' }) }),
    ]);

    b.signalling.release(offered.leg);
    await until(() => aIn.length === 3, 'released');
    expect(aIn[2]).toEqual({ type: 'released', leg: legA, cause: 'normal' });
    expect(types(bIn)).toEqual(['offered']);
    expect(a.signalling.legs).toEqual([]);
    expect(b.signalling.legs).toEqual([]);
  });

  it('holds and retrieves by re-INVITE: the far end sees heldByRemote then retrievedByRemote', async () => {
    const h = await host('silence');
    const a = h.addPhone({ extension: '1000' });
    const b = h.addPhone({ extension: '1001' });
    const aIn = record(a.signalling);
    const bIn = record(b.signalling);
    const legA = a.signalling.place({ to: 'tel:1001' });
    await until(() => bIn.length === 1);
    const legB = bIn[0]!.leg;
    b.signalling.answer(legB);
    await until(() => types(aIn).includes('answered'));
    await until(() => (b.signalling.rtpOf(legB)?.stats.packetsReceived ?? 0) > 2, 'RTP from A at B');

    a.signalling.hold(legA);
    await until(() => bIn.length === 2, 'heldByRemote');
    expect(bIn[1]).toEqual({ type: 'heldByRemote', leg: legB });
    await until(() => a.signalling.legs[0]?.media?.direction === 'sendonly', 'A sendonly');
    expect(b.signalling.legs[0]?.media?.direction).toBe('recvonly');
    expect(b.signalling.rtpOf(legB)?.sending).toBe(false);

    a.signalling.retrieve(legA);
    await until(() => bIn.length === 3, 'retrievedByRemote');
    expect(bIn[2]).toEqual({ type: 'retrievedByRemote', leg: legB });
    await until(() => a.signalling.legs[0]?.media?.direction === 'sendrecv');
    expect(b.signalling.rtpOf(legB)?.sending).toBe(true);

    a.signalling.release(legA);
    await until(() => bIn.length === 4);
    expect(bIn[3]).toEqual({ type: 'released', leg: legB, cause: 'normal' });
  });

  it('cancels a ringing call: the called phone sees released with cause cancelled', async () => {
    const h = await host();
    const a = h.addPhone({ extension: '1000' });
    const b = h.addPhone({ extension: '1001' });
    const aIn = record(a.signalling);
    const bIn = record(b.signalling);
    const legA = a.signalling.place({ to: '1001' });
    await until(() => aIn.length === 1, 'alerting');
    a.signalling.release(legA);
    await until(() => bIn.length === 2, 'released at B');
    expect(bIn[1]).toEqual({ type: 'released', leg: bIn[0]!.leg, cause: 'cancelled' });
    expect(types(aIn)).toEqual(['alerting']);
  });

  it.each([
    ['busy', 486, 'busy'],
    ['decline', 603, 'rejected'],
    ['doNotDisturb', 480, 'noAnswer'],
  ] as const)('refuses with %s: the caller fails with SIP %i, cause %s', async (reason, status, cause) => {
    const h = await host();
    const a = h.addPhone({ extension: '1000' });
    const b = h.addPhone({ extension: '1001' });
    const aIn = record(a.signalling);
    b.signalling.onInput((i) => {
      if (i.type === 'offered') b.signalling.reject(i.leg, reason);
    });
    const legA = a.signalling.place({ to: '1001' });
    await until(() => aIn.some((i) => i.type === 'failed'));
    // refused before ringing: no 180 was sent
    expect(aIn).toEqual([{ type: 'failed', leg: legA, cause, sipStatus: status }]);
  });

  it('calls an unknown extension: 404, cause notFound', async () => {
    const h = await host();
    const a = h.addPhone({ extension: '1000' });
    const aIn = record(a.signalling);
    const legA = a.signalling.place({ to: '1999' });
    await until(() => aIn.length === 1);
    expect(aIn[0]).toEqual({ type: 'failed', leg: legA, cause: 'notFound', sipStatus: 404 });
  });

  it('deflects by 302: the caller is diverted to the new target and reaches it', async () => {
    const h = await host();
    const a = h.addPhone({ extension: '1000' });
    const b = h.addPhone({ extension: '1001' });
    const c = h.addPhone({ extension: '1002' });
    const aIn = record(a.signalling);
    const cIn = record(c.signalling);
    b.signalling.onInput((i) => {
      if (i.type === 'offered') b.signalling.deflect(i.leg, '1002');
    });
    const legA = a.signalling.place({ to: '1001' });
    await until(() => cIn.length === 1, 'offered at C');
    expect(cIn[0]).toMatchObject({ type: 'offered', from: 'sip:1000@127.0.0.1' });
    c.signalling.answer(cIn[0]!.leg);
    await until(() => types(aIn).includes('answered'));
    expect(aIn).toEqual([
      { type: 'diverted', leg: legA, to: `sip:1002@127.0.0.1:${h.listenAddress.port}` },
      { type: 'alerting', leg: legA },
      { type: 'answered', leg: legA, remote: `sip:1002@127.0.0.1:${h.listenAddress.port}` },
    ]);
  });

  it('sends digits as application/dtmf-relay INFO without media, as RFC 4733 events with it', async () => {
    for (const media of ['none', 'silence'] as const) {
      const h = await host(media);
      const a = h.addPhone({ extension: '1000' });
      const b = h.addPhone({ extension: '1001' });
      const aIn = record(a.signalling);
      const bIn = record(b.signalling);
      const legA = a.signalling.place({ to: '1001' });
      await until(() => bIn.length === 1);
      b.signalling.answer(bIn[0]!.leg);
      await until(() => types(aIn).includes('answered'));
      a.signalling.sendDigits(legA, '12#');
      await until(() => bIn.filter((i) => i.type === 'digits').length === 3, `digits (${media})`);
      expect(bIn.filter((i) => i.type === 'digits').map((i) => (i as { digits: string }).digits).join('')).toBe('12#');
    }
  });

  it('takes a uaCSTA session (INVITE without SDP) on the same address as calls', async () => {
    const h = await host();
    const sessions: string[] = [];
    h.addPhone({ extension: '1000', onCstaChannel: (ch) => sessions.push('dialog' in ch ? (ch.dialog?.callId ?? '') : '') });
    const transport = await UdpTransport.listen({ host: '127.0.0.1', port: 0 });
    const endpoint = new SipEndpoint({ transports: [transport] });
    cleanups.push(() => endpoint.close());
    const ua = new UserAgent({ endpoint, aor: 'sip:cti@127.0.0.1', contact: `sip:cti@127.0.0.1:${transport.local.port}` });
    cleanups.push(() => ua.close());
    const channel = await openSipCstaChannel(ua, `sip:1000@127.0.0.1:${h.listenAddress.port}`);
    expect(channel.state).toBe('Open');
    expect(sessions).toEqual([channel.dialog!.callId]);
    await channel.close();
  });
});
