/**
 * A controller that sends its next request from an event listener: over our SIP binding on UDP
 * loopback, the phone receives the 200 to every event INFO before the request the event caused
 * (RFC 3261 §17.2.2; a strict peer such as a SIPp phone scenario expects that order, digest §1.5).
 */

import { afterEach, describe, expect, it } from 'vitest';
import type { DoNotDisturbEvent } from '../../../src/csta/model/types.js';
import { acceptSipCstaChannels, openSipCstaChannel } from '../../../src/node/sip-csta-channel.js';
import { SipEndpoint } from '../../../src/sip/endpoint.js';
import { parseSipMessage } from '../../../src/sip/message/parse.js';
import type { SipMessage } from '../../../src/sip/message/types.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import { UserAgent } from '../../../src/sip/ua/user-agent.js';
import { CstaClient } from '../../../src/uacsta/client.js';
import { CstaServer } from '../../../src/uacsta/server.js';
import { systemClock } from '../../../src/util/clock.js';
import { until } from '../sip/support.js';

const EVENTS = 20;

const dnd = (ref: string): DoNotDisturbEvent => ({
  type: 'DoNotDisturbEvent',
  monitorCrossRefID: ref,
  device: { deviceIdentifier: '1001' },
  doNotDisturbOn: true,
});

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

async function side(name: string, received?: SipMessage[]) {
  const transport = await UdpTransport.listen({ host: '127.0.0.1', port: 0 });
  const endpoint = new SipEndpoint({
    transports: [transport],
    trace: (e) => {
      if (e.type !== 'received' || received === undefined) return;
      const parsed = parseSipMessage(e.bytes);
      if (parsed.ok) received.push(parsed.value);
    },
  });
  const hostPort = `127.0.0.1:${transport.local.port}`;
  const ua = new UserAgent({ endpoint, clock: systemClock, aor: `sip:${name}@${hostPort}`, contact: `sip:${name}@${hostPort}` });
  return { endpoint, ua, uri: `sip:${name}@${hostPort}` };
}

const endpoints: SipEndpoint[] = [];
afterEach(async () => {
  await Promise.all(endpoints.splice(0).map((e) => e.close()));
});

describe('event listeners and the 200 of the event INFO', () => {
  it('a request sent from a listener leaves after the 200 of the event that caused it (UDP)', async () => {
    const phoneSeen: SipMessage[] = [];
    const controller = await side('controller');
    const phone = await side('phone', phoneSeen);
    endpoints.push(controller.endpoint, phone.endpoint);

    let server: CstaServer | undefined;
    const asked: string[] = [];
    acceptSipCstaChannels(phone.ua, (channel) => {
      server = new CstaServer({ channel });
      server.handle('GetDoNotDisturb', (req) => {
        asked.push(String(req.device));
        return { type: 'GetDoNotDisturbResponse', doNotDisturbOn: true };
      });
    });
    const client = new CstaClient({ channel: await openSipCstaChannel(controller.ua, phone.uri) });
    client.on('event', (e) => {
      void client.request({ type: 'GetDoNotDisturb', device: (e as DoNotDisturbEvent).monitorCrossRefID });
    });
    await until(() => server !== undefined, 2_000, 'the session');

    for (let i = 0; i < EVENTS; i++) await server!.emit(dnd(`ev${i}`));
    await until(() => asked.length === EVENTS, 5_000, 'every request from the listener');

    // the phone's view, in arrival order: the 200 to each event INFO, and the controller's INFOs
    const order: string[] = [];
    const cseqOf = (m: SipMessage): number => Number.parseInt(m.headers['cseq']?.[0] ?? '', 10);
    const sentByPhone = new Map<number, string>();
    // the phone's own INFOs are not in its received trace: name their 200s in order of CSeq
    let k = 0;
    for (const m of phoneSeen) {
      if (m.kind === 'response' && m.status === 200 && (m.headers['cseq']?.[0] ?? '').endsWith('INFO')) {
        const cseq = cseqOf(m);
        if (!sentByPhone.has(cseq)) {
          sentByPhone.set(cseq, `ev${k++}`);
          order.push(`200 ${sentByPhone.get(cseq)!}`);
        }
      } else if (m.kind === 'request' && m.method === 'INFO') {
        const device = /<device>([^<]*)<\/device>/.exec(text(m.body))?.[1] ?? '?';
        order.push(`INFO ${device}`);
      }
    }
    expect(k).toBe(EVENTS);
    for (let i = 0; i < EVENTS; i++) {
      const okAt = order.indexOf(`200 ev${i}`);
      const requestAt = order.indexOf(`INFO ev${i}`);
      expect(okAt, `200 to event ev${i} arrived`).toBeGreaterThanOrEqual(0);
      expect(requestAt, `${order.join(', ')}`).toBeGreaterThan(okAt);
    }
    expect(asked).toEqual(Array.from({ length: EVENTS }, (_, i) => `ev${i}`));
    await client.close();
  }, 15_000);
});
