/**
 * The digest's worked flows (§5, Examples 1, 2, 3, 6, 7 and 10) as one ladder, our
 * CstaAssociation (A, the computing function) against our CstaServer (B, the switching function),
 * over the memory channel and over SIP on the memory transport, UDP, TCP and TLS loopback.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsta } from '../../../src/csta/index.js';
import type { CstaMessage } from '../../../src/csta/model/types.js';
import { openCstaAssociation } from '../../../src/node/connect-csta.js';
import { acceptSipCstaChannels } from '../../../src/node/sip-csta-channel.js';
import type { TransportProtocol } from '../../../src/sip/transport/transport.js';
import { CstaAssociation } from '../../../src/uacsta/association.js';
import type { CstaChannel } from '../../../src/uacsta/channel.js';
import type { CstaEvent } from '../../../src/uacsta/client.js';
import { CstaServiceError } from '../../../src/uacsta/errors.js';
import { CstaServer } from '../../../src/uacsta/server.js';
import { systemClock } from '../../../src/util/clock.js';
import { settle, uaPair, type Pair } from '../../unit/sip/ua/ladder.js';
import { fakeChannelPair, flush } from '../../unit/uacsta/fake-channel.js';
import { listen, makeCertificate, until, type TestCertificate } from '../sip/support.js';

const NS = 'xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"';
const dev = (n: string): string => `<deviceIdentifier>sip:${n}@pbx.example.com</deviceIdentifier>`;

function event(xml: string): CstaEvent {
  const parsed = parseCsta(xml);
  if (!parsed.ok) throw parsed.error;
  return parsed.value as CstaEvent;
}

// Example 3, as the digest gives them (callID 41, monitor 17)
const EVENTS = {
  serviceInitiated: event(
    `<ServiceInitiatedEvent ${NS}><monitorCrossRefID>17</monitorCrossRefID><initiatedConnection><callID>41</callID><deviceID>sip:1001@pbx.example.com</deviceID></initiatedConnection><initiatingDevice>${dev('1001')}</initiatingDevice><localConnectionInfo>initiated</localConnectionInfo><cause>makeCall</cause></ServiceInitiatedEvent>`,
  ),
  originated: event(
    `<OriginatedEvent ${NS}><monitorCrossRefID>17</monitorCrossRefID><originatedConnection><callID>41</callID><deviceID>sip:1001@pbx.example.com</deviceID></originatedConnection><callingDevice>${dev('1001')}</callingDevice><calledDevice>${dev('2002')}</calledDevice><localConnectionInfo>connected</localConnectionInfo><cause>newCall</cause></OriginatedEvent>`,
  ),
  delivered: event(
    `<DeliveredEvent ${NS}><monitorCrossRefID>17</monitorCrossRefID><connection><callID>41</callID><deviceID>sip:2002@pbx.example.com</deviceID></connection><alertingDevice>${dev('2002')}</alertingDevice><callingDevice>${dev('1001')}</callingDevice><calledDevice>${dev('2002')}</calledDevice><lastRedirectionDevice><notRequired/></lastRedirectionDevice><localConnectionInfo>connected</localConnectionInfo><cause>newCall</cause></DeliveredEvent>`,
  ),
  established: event(
    `<EstablishedEvent ${NS}><monitorCrossRefID>17</monitorCrossRefID><establishedConnection><callID>41</callID><deviceID>sip:2002@pbx.example.com</deviceID></establishedConnection><answeringDevice>${dev('2002')}</answeringDevice><callingDevice>${dev('1001')}</callingDevice><calledDevice>${dev('2002')}</calledDevice><lastRedirectionDevice><notRequired/></lastRedirectionDevice><localConnectionInfo>connected</localConnectionInfo><cause>normal</cause></EstablishedEvent>`,
  ),
  dnd: event(
    `<DoNotDisturbEvent ${NS}><monitorCrossRefID>17</monitorCrossRefID><device>${dev('1001')}</device><doNotDisturbOn>true</doNotDisturbOn></DoNotDisturbEvent>`,
  ),
};

/** The phone of the worked flows. */
function servePhone(server: CstaServer): void {
  server.handle('MonitorStart', () => ({ type: 'MonitorStartResponse', monitorCrossRefID: '17' }));
  server.handle('MonitorStop', () => ({ type: 'MonitorStopResponse' }));
  server.handle('MakeCall', async () => {
    // Example 3 note: the ServiceInitiated INFO may arrive before the 200 OK of the MakeCall INFO
    await server.emit(EVENTS.serviceInitiated);
    return { type: 'MakeCallResponse', callingDevice: { callID: '41', deviceID: 'sip:1001@pbx.example.com' } };
  });
  server.handle('HoldCall', () => {
    throw new CstaServiceError({ stateIncompatibility: 'invalidConnectionState' } as never);
  });
  server.handle('SetDoNotDisturb', () => ({ type: 'SetDoNotDisturbResponse' }));
}

/** Runs the flows; returns what the application saw, in order. */
async function runFlows(assoc: CstaAssociation, server: () => CstaServer, wait: (cond: () => boolean) => Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const line = await assoc.monitor('sip:1001@pbx.example.com'); // Example 2
  expect(line.monitorCrossRefID).toBe('17');
  line.on((e) => seen.push(e.type));
  const res = await assoc.request({ type: 'MakeCall', callingDevice: 'sip:1001@pbx.example.com', calledDirectoryNumber: '2002', autoOriginate: 'doNotPrompt' } as never);
  seen.push(`${(res as CstaMessage).type} ${(res as { callingDevice: { callID: string } }).callingDevice.callID}`);
  for (const e of [EVENTS.originated, EVENTS.delivered, EVENTS.established]) await server().emit(e);
  await wait(() => seen.length === 5);
  const err = await assoc
    .request({ type: 'HoldCall', callToBeHeld: { callID: '41', deviceID: 'sip:1001@pbx.example.com' } } as never)
    .catch((e: unknown) => e); // Example 6
  seen.push(`${(err as { code: string }).code} ${(err as { category: string }).category}: ${(err as { value: string }).value}`);
  await assoc.request({ type: 'SetDoNotDisturb', device: 'sip:1001@pbx.example.com', doNotDisturbOn: true } as never); // Example 7
  seen.push('SetDoNotDisturbResponse');
  await server().emit(EVENTS.dnd);
  await wait(() => seen.length === 8);
  await assoc.close(); // Example 10: MonitorStop, then BYE
  return seen;
}

const EXPECTED_SEEN = [
  'MakeCallResponse 41',
  'ServiceInitiatedEvent',
  'OriginatedEvent',
  'DeliveredEvent',
  'EstablishedEvent',
  'CSTA_ERR_SERVICE stateIncompatibility: invalidConnectionState',
  'SetDoNotDisturbResponse',
  'DoNotDisturbEvent',
];

const SIP_LADDER = [
  'A → B INVITE', // Example 1: RequestSystemStatus in the INVITE
  'B → A 200',
  'A → B ACK',
  'A → B INFO', // Example 2: MonitorStart
  'B → A 200',
  'A → B INFO', // Example 3: MakeCall
  'B → A INFO', // ServiceInitiatedEvent before the MakeCall response
  'A → B 200',
  'B → A 200', // MakeCallResponse
  'B → A INFO', // Originated
  'A → B 200',
  'B → A INFO', // Delivered
  'A → B 200',
  'B → A INFO', // Established
  'A → B 200',
  'A → B INFO', // Example 6: HoldCall → CSTAErrorCode in a 200
  'B → A 200',
  'A → B INFO', // Example 7: SetDoNotDisturb
  'B → A 200',
  'B → A INFO', // DoNotDisturbEvent
  'A → B 200',
  'A → B INFO', // Example 10: MonitorStop
  'B → A 200',
  'A → B BYE',
  'B → A 200',
];

describe('worked flows over the memory channel', () => {
  it('Examples 1, 2, 3, 6, 7, 10: session, monitor, MakeCall with four events, a CSTA error, DND, MonitorStop and BYE', async () => {
    const pair = fakeChannelPair();
    let server: CstaServer | undefined;
    const assoc = await CstaAssociation.open({
      requestSystemStatus: true,
      open: async (init): Promise<CstaChannel> => {
        server = new CstaServer({ channel: pair.b });
        servePhone(server);
        const res = await pair.a.send(init.body!);
        return Object.assign(pair.a, { establishedBody: res.body });
      },
    });
    const seen = await runFlows(assoc, () => server!, async (cond) => {
      for (let i = 0; i < 20 && !cond(); i++) await flush();
    });
    expect(seen).toEqual(EXPECTED_SEEN);
    expect(pair.lines).toEqual([
      'A → B RequestSystemStatus',
      'B → A 200 RequestSystemStatusResponse',
      'A → B MonitorStart',
      'B → A 200 MonitorStartResponse',
      'A → B MakeCall',
      'B → A ServiceInitiatedEvent',
      'A → B 200',
      'B → A 200 MakeCallResponse',
      'B → A OriginatedEvent',
      'A → B 200',
      'B → A DeliveredEvent',
      'A → B 200',
      'B → A EstablishedEvent',
      'A → B 200',
      'A → B HoldCall',
      'B → A 200 CSTAErrorCode',
      'A → B SetDoNotDisturb',
      'B → A 200 SetDoNotDisturbResponse',
      'B → A DoNotDisturbEvent',
      'A → B 200',
      'A → B MonitorStop',
      'B → A 200 MonitorStopResponse',
      'A → B BYE',
    ]);
  });
});

describe('worked flows over SIP', () => {
  let cert: TestCertificate;
  beforeAll(() => {
    cert = makeCertificate();
  });
  const pairs: Pair[] = [];
  afterAll(async () => {
    for (const p of pairs) await p.close();
  });

  for (const protocol of ['memory', 'udp', 'tcp', 'tls'] as const) {
    it(`over ${protocol}: the same flows as a SIP ladder`, async () => {
      const transports =
        protocol === 'memory'
          ? undefined
          : ([await listen(protocol as TransportProtocol, cert), await listen(protocol as TransportProtocol, cert)] as const);
      const p = uaPair({ clock: systemClock, ...(transports === undefined ? {} : { transports }) });
      pairs.push(p);
      let server: CstaServer | undefined;
      acceptSipCstaChannels(p.b.ua, (channel) => {
        server = new CstaServer({ channel });
        servePhone(server);
      });
      const assoc = await openCstaAssociation(p.a.ua, p.bUri, { requestSystemStatus: true });
      const seen = await runFlows(assoc, () => server!, (cond) => until(cond, 5_000));
      expect(seen).toEqual(EXPECTED_SEEN);
      await until(() => p.ladder.lines().length >= SIP_LADDER.length, 5_000, 'the BYE answer');
      await settle();
      expect(p.ladder.lines()).toEqual(SIP_LADDER);
      expect(server!.state).toBe('Closed');
      expect(p.problems).toEqual([]);
    }, 20_000);
  }
});
