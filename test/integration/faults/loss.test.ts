/**
 * uaCSTA across a network that loses 20 % of the datagrams in each direction (issue #10 item 2):
 * ten sessions in parallel, 100 invokes each, against a simulated phone. Every invoke completes
 * (SIP retransmissions, RFC 3261 §17.1.2.2), the phone runs each request once (the server
 * transaction absorbs retransmissions, §17.2.2), and each monitor receives every event once, in
 * order (digest §1.5: one event INFO at a time per session, each retried until its 200).
 *
 * @remarks
 * T1 = 50 ms and T2 = 200 ms so the run takes seconds: a non-INVITE transaction then makes 18
 * attempts within Timer F (64·T1 = 3.2 s), so with each attempt lost with probability
 * 1 − 0.8² = 0.36 a transaction fails with probability 0.36¹⁸ ≈ 10⁻⁸ (with T2 = 4 s it would be
 * 7 attempts, 10⁻³, and the 2,000+ transactions of the run would fail about twice per run).
 */

import { afterEach, describe, expect, it } from 'vitest';
import { acceptSipCstaChannels, openSipCstaChannel } from '../../../src/node/sip-csta-channel.js';
import { InProcessExchange } from '../../../src/phone/in-process-exchange.js';
import { SimulatedPhone } from '../../../src/phone/simulator.js';
import { SipEndpoint } from '../../../src/sip/endpoint.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import { UserAgent } from '../../../src/sip/ua/user-agent.js';
import { CstaClient, type CstaEvent } from '../../../src/uacsta/client.js';
import { lossyRelay } from './lossy-relay.js';

const TIMERS = { T1: 50, T2: 200 };
const SESSIONS = 10;
const INVOKES = 100;
const LOSS = 0.2;

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
});

/** A UA on its own UDP socket that advertises `relayPort` as its sent-by and Contact. */
async function uaBehind(relayPort: number, user: string): Promise<{ ua: UserAgent; endpoint: SipEndpoint; port: number }> {
  const transport = await UdpTransport.listen({ host: '127.0.0.1', port: 0, sentBy: { host: '127.0.0.1', port: relayPort } });
  const endpoint = new SipEndpoint({ transports: [transport], timers: TIMERS });
  const ua = new UserAgent({
    endpoint,
    aor: `sip:${user}@127.0.0.1`,
    contact: `sip:${user}@127.0.0.1:${relayPort}`,
    timers: TIMERS,
  });
  cleanups.push(() => endpoint.close(), () => ua.close());
  return { ua, endpoint, port: transport.local.port };
}

/** The event invoke `n` must cause, as {@link eventLine} writes it. */
function expectedEvent(n: number): string {
  return n % 2 === 0 ? `Forwarding forwardImmediate on ${forwardTo(n)}` : `DoNotDisturb ${n % 4 === 1 ? 'on' : 'off'}`;
}

const forwardTo = (n: number): string => `7${String(n).padStart(4, '0')}`;

function eventLine(e: CstaEvent): string {
  const r = e as unknown as Record<string, unknown>;
  if (e.type === 'ForwardingEvent') return `Forwarding ${String(r['forwardingType'])} ${r['forwardStatus'] ? 'on' : 'off'} ${String(r['forwardTo'])}`;
  if (e.type === 'DoNotDisturbEvent') return `DoNotDisturb ${r['doNotDisturbOn'] ? 'on' : 'off'}`;
  return e.type;
}

describe('uaCSTA under 20 % datagram loss each way (lossy UDP relay)', () => {
  it(
    `completes ${SESSIONS} × ${INVOKES} invokes, each executed once, every event delivered once and in order`,
    { timeout: 90_000 },
    async () => {
      const relay = await lossyRelay(LOSS, 20_240_611);
      cleanups.push(() => relay.close());
      // A = controller (reached at relay.towardA), B = phone (reached at relay.towardB)
      const ctl = await uaBehind(relay.towardA, 'cti');
      const ph = await uaBehind(relay.towardB, 'phone');
      relay.connect(ctl.port, ph.port);

      const extensions = Array.from({ length: SESSIONS }, (_, i) => String(1000 + i));
      const exchange = new InProcessExchange();
      // what the phone's CstaServers were handed: a retransmission passed up twice shows here
      const forwardings = new Map<string, number>();
      const perSession = new Map<number, number>();
      const phone = new SimulatedPhone({
        signalling: exchange.connect(extensions),
        trace: (t) => {
          if (t.type !== 'server' || t.event.type !== 'received') return;
          perSession.set(t.session, (perSession.get(t.session) ?? 0) + 1);
          const dn = /<SetForwarding\b[\s\S]*?<forwardDN>([^<]*)</.exec(t.event.body)?.[1];
          const device = /<device>([^<]*)</.exec(t.event.body)?.[1];
          if (dn !== undefined) forwardings.set(`${device} ${dn}`, (forwardings.get(`${device} ${dn}`) ?? 0) + 1);
        },
      });
      cleanups.push(() => phone.close());
      acceptSipCstaChannels(ph.ua, (channel) => phone.attach(channel));

      const started = Date.now();
      const results = await Promise.all(
        extensions.map(async (ext, line) => {
          const channel = await openSipCstaChannel(ctl.ua, `sip:${ext}@127.0.0.1:${relay.towardB}`);
          const client = new CstaClient({ channel });
          cleanups.push(() => client.close());
          const device = phone.lines[line]!;
          const { monitorCrossRefID } = await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: device } });
          const events: string[] = [];
          client.on('event', (e) => {
            if ((e as { monitorCrossRefID?: string }).monitorCrossRefID === monitorCrossRefID) events.push(eventLine(e));
          });
          let completed = 0;
          for (let n = 0; n < INVOKES; n++) {
            if (n % 2 === 0)
              await client.request({ type: 'SetForwarding', device, forwardingType: 'forwardImmediate', activateForward: true, forwardDN: forwardTo(n) });
            else await client.request({ type: 'SetDoNotDisturb', device, doNotDisturbOn: n % 4 === 1 });
            completed++;
          }
          // the last event may still be on its way (it leaves after the response)
          const deadline = Date.now() + 10_000;
          while (events.length < INVOKES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          return { device, completed, events };
        }),
      );
      const seconds = (Date.now() - started) / 1000;

      for (const r of results) {
        expect(r.completed).toBe(INVOKES);
        expect(r.events).toEqual(Array.from({ length: INVOKES }, (_, n) => expectedEvent(n)));
      }
      // each request reached the phone's CstaServer exactly once: MonitorStart + 100 per session,
      // and each of the 500 distinct SetForwarding requests once
      expect([...perSession.values()]).toEqual(Array.from({ length: SESSIONS }, () => 1 + INVOKES));
      expect(forwardings.size).toBe((SESSIONS * INVOKES) / 2);
      expect([...forwardings.values()].filter((n) => n !== 1)).toEqual([]);
      // the loss was real in both directions, and retransmissions made up for it
      const lossAB = relay.aToB.dropped / (relay.aToB.dropped + relay.aToB.passed);
      const lossBA = relay.bToA.dropped / (relay.bToA.dropped + relay.bToA.passed);
      expect(lossAB).toBeGreaterThan(0.15);
      expect(lossBA).toBeGreaterThan(0.15);
      console.info(
        `[loss] ${SESSIONS * INVOKES} invokes + ${SESSIONS * INVOKES} events in ${seconds.toFixed(1)} s; ` +
          `controller→phone ${relay.aToB.passed} passed / ${relay.aToB.dropped} dropped (${(lossAB * 100).toFixed(1)} %), ` +
          `phone→controller ${relay.bToA.passed} passed / ${relay.bToA.dropped} dropped (${(lossBA * 100).toFixed(1)} %)`,
      );
    },
  );
});
