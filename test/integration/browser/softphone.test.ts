/**
 * The sip.js adapter in a real Chromium (issue #9): softphone pages register with Kamailio over
 * WebSocket (RFC 7118) and are controlled by uaCSTA (ECMA TR/87) from Node over UDP; then a
 * controller page controls a Node-side CstaServer through the same Kamailio. The lab (Kamailio,
 * Chromium, the page server) is `support.ts`; `controller-page.test.ts` and
 * `answer-transfer.test.ts` cover a simulated phone, AnswerCall and SingleStepTransferCall.
 *
 * Debian's `chromium` is driven by playwright-core (no downloaded browser) with fake media
 * devices, so the calls carry real WebRTC audio between the two pages. Kamailio runs
 * `test/kamailio/kamailio-ws.cfg`. Skipped only when /usr/bin/chromium is absent.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsta } from '../../../src/csta/index.js';
import type { CstaMessage } from '../../../src/csta/model/types.js';
import { acceptSipCstaChannels, openSipCstaChannel } from '../../../src/node/sip-csta-channel.js';
import type { SipResponse } from '../../../src/sip/message/types.js';
import { CstaClient, type CstaEvent } from '../../../src/uacsta/client.js';
import { CstaServiceError } from '../../../src/uacsta/errors.js';
import { CstaServer } from '../../../src/uacsta/server.js';
import { digestFor, register } from '../kamailio/support.js';
import { HAVE_CHROMIUM, OUTPUT, RSS, SKIP_NOTE, startBrowserLab, type BrowserLab, type ControllerApi } from './support.js';

let lab: BrowserLab;

beforeAll(async () => {
  if (HAVE_CHROMIUM) lab = await startBrowserLab();
}, 30_000);

afterAll(async () => {
  await lab?.close();
}, 20_000);

describe('sip.js softphone in Chromium, through Kamailio over WebSocket', () => {
  it.skipIf(!HAVE_CHROMIUM)(
    `a Node controller makes page A call page B (real WebRTC audio), sees Originated, Delivered, Established, clears it (${SKIP_NOTE})`,
    async () => {
      const a = await lab.openPage('alice');
      const b = await lab.openPage('bob', '&autoAnswer=1');

      // The controller: our UserAgent over UDP, through Kamailio to alice's WebSocket.
      const { st, ua } = await lab.nodeUa('ctl');
      const channel = await openSipCstaChannel(ua, `sip:alice@127.0.0.1:${lab.kam.udpPort}`, { body: RSS });
      const opened = parseCsta(channel.establishedBody ?? '');
      expect(opened.ok && opened.value).toEqual({ type: 'RequestSystemStatusResponse', edition: 'ed3', systemStatus: 'normal' });
      const client = new CstaClient({ channel, invokeTimeoutMs: 10_000 });
      const events: CstaEvent[] = [];
      client.on('event', (e) => events.push(e));
      await lab.until('the "controlled by" indicator', async () => (await lab.view(a)).controllers.length === 1);
      expect((await lab.view(a)).controllers[0]).toMatch(/^sip:ctl@127\.0\.0\.1/);

      const monitor = await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: 'alice' } });
      const xref = monitor.monitorCrossRefID;
      expect(xref).toBeTruthy();

      const made = await client.request({ type: 'MakeCall', callingDevice: 'alice', calledDirectoryNumber: 'bob' });
      const callID = made.callingDevice.callID!;
      expect(made.callingDevice).toEqual({ callID, deviceID: 'alice' });

      const types = (): string[] => events.map((e) => e.type);
      await lab.until('Established', () => types().includes('EstablishedEvent'));
      expect(types()).toEqual(['ServiceInitiatedEvent', 'OriginatedEvent', 'DeliveredEvent', 'EstablishedEvent']);
      for (const e of events) expect(e.monitorCrossRefID).toBe(xref);
      expect(events[1]).toMatchObject({
        originatedConnection: { callID, deviceID: 'alice' },
        callingDevice: { deviceIdentifier: 'alice' },
        calledDevice: { deviceIdentifier: 'bob' },
        cause: 'newCall',
      });
      expect(events[2]).toMatchObject({ connection: { callID, deviceID: 'bob' }, alertingDevice: { deviceIdentifier: 'bob' } });
      expect(events[3]).toMatchObject({
        establishedConnection: { callID, deviceID: 'bob' },
        answeringDevice: { deviceIdentifier: 'bob' },
        callingDevice: { deviceIdentifier: 'alice' },
      });

      // Real media between the pages: ICE connected, audio RTP flowing both ways.
      for (const p of [a, b]) {
        const m = await lab.until('audio RTP', async () => {
          const s = await lab.media(p);
          return s.connectionState === 'connected' && s.bytesReceived > 0 && s.bytesSent > 0 ? s : undefined;
        });
        expect(m.connectionState).toBe('connected');
      }
      expect((await lab.view(a)).calls).toEqual([{ callID, direction: 'outgoing', remoteDevice: 'bob', state: 'Established' }]);
      expect((await lab.view(b)).calls.map((c) => c.state)).toEqual(['Established']);
      await a.screenshot({ path: join(OUTPUT, 'softphone.png') });
      expect(existsSync(join(OUTPUT, 'softphone.png'))).toBe(true);

      // A service the page does not implement: a CSTA error in the 200, never a silent 200.
      const unsupported = await client.request({ type: 'SnapshotDevice', snapshotObject: 'alice' }).catch((e: unknown) => e);
      expect(unsupported).toBeInstanceOf(CstaServiceError);
      expect((unsupported as CstaServiceError).errorValue).toEqual({ operation: 'serviceNotSupported' });
      // An INFO that is not CSTA at all: 415 with Accept, from the adapter's CstaServer.
      const notCsta = await channel.dialog!.request('INFO', { body: 'hello', contentType: 'text/plain' }).catch(
        (e: { response?: SipResponse }) => e.response,
      );
      expect(notCsta?.status).toBe(415);
      expect(notCsta?.headers['accept']).toEqual(['application/csta+xml']);

      // Hold and retrieve (re-INVITEs a=sendonly / a=sendrecv through Kamailio), DTMF, mute, DND.
      const own = { callID, deviceID: 'alice' };
      expect((await client.request({ type: 'HoldCall', callToBeHeld: own })).type).toBe('HoldCallResponse');
      expect((await lab.view(a)).calls[0]?.state).toBe('Held');
      expect((await client.request({ type: 'RetrieveCall', callToBeRetrieved: own })).type).toBe('RetrieveCallResponse');
      expect((await client.request({ type: 'GenerateDigits', connectionToSendDigits: own, charactersToSend: '12#' })).type).toBe(
        'GenerateDigitsResponse',
      );
      await client.request({ type: 'SetMicrophoneMute', device: 'alice', microphoneMuteOn: true });
      expect(await client.request({ type: 'GetMicrophoneMute', device: 'alice' })).toMatchObject({
        microphoneMuteList: [{ microphoneMuteOn: true }],
      });
      await client.request({ type: 'SetDoNotDisturb', device: 'alice', doNotDisturbOn: true });
      expect(await client.request({ type: 'GetDoNotDisturb', device: 'alice' })).toMatchObject({ doNotDisturbOn: true });
      await client.request({ type: 'SetDoNotDisturb', device: 'alice', doNotDisturbOn: false });
      await lab.until('the feature events', () => types().filter((t) => t === 'DoNotDisturbEvent').length === 2);
      expect(types().slice(4)).toEqual(['HeldEvent', 'RetrievedEvent', 'MicrophoneMuteEvent', 'DoNotDisturbEvent', 'DoNotDisturbEvent']);

      const cleared = await client.request({ type: 'ClearConnection', connectionToBeCleared: { callID, deviceID: 'alice' } });
      expect(cleared.type).toBe('ClearConnectionResponse');
      await lab.until('ConnectionCleared', () => types().includes('ConnectionClearedEvent'));
      expect(events.at(-1)).toMatchObject({
        type: 'ConnectionClearedEvent',
        droppedConnection: { callID, deviceID: 'alice' },
        releasingDevice: { deviceIdentifier: 'alice' },
        cause: 'normalClearing',
      });
      await lab.until('page B idle', async () => (await lab.view(b)).calls.length === 0);
      expect((await lab.view(a)).calls).toEqual([]);

      // Every INFO the controller sent was answered by the adapter: a final response with a CSTA
      // body (or the 415 above), none an empty 200 that sip.js would send unseen.
      // (counted by CSeq: under load our UDP side may retransmit an INFO, RFC 3261 Timer E)
      const byCseq = <T extends { message: { cseq: { seq: number } } }>(list: T[]): T[] =>
        [...new Map(list.map((w) => [w.message.cseq.seq, w])).values()];
      const infoResponses = byCseq(
        st.wire.filter(
          (w): w is typeof w & { message: SipResponse } =>
            w.dir === 'in' && w.message.kind === 'response' && w.message.cseq.method === 'INFO' && w.message.status >= 200,
        ),
      );
      const infoSent = byCseq(st.wire.filter((w) => w.dir === 'out' && w.message.kind === 'request' && w.message.method === 'INFO'));
      // MonitorStart, MakeCall, SnapshotDevice, text/plain, 8 feature requests, ClearConnection
      expect(infoSent.length).toBe(13);
      expect(infoResponses.length).toBe(13);
      for (const w of infoResponses) {
        const r = w.message as SipResponse;
        if (r.status === 415) continue;
        expect(r.status).toBe(200);
        expect(r.headers['content-type']).toEqual(['application/csta+xml']);
        expect(r.body.length).toBeGreaterThan(0);
      }

      await client.close();
      await lab.until('the indicator cleared', async () => (await lab.view(a)).controllers.length === 0);
    },
    45_000,
  );

  it.skipIf(!HAVE_CHROMIUM)(
    `a controller page controls a Node-side CstaServer (MonitorStart, MakeCall, events) (${SKIP_NOTE})`,
    async () => {
      // The controlled phone: a CstaServer on our UDP UserAgent, registered as "desk".
      const { st, ua } = await lab.nodeUa('desk');
      const reg = await register(st, lab.udp, 'desk', digestFor('desk', 'unused'));
      expect(reg.responses.map((r) => r.status)).toEqual([200]);
      let server: CstaServer | undefined;
      acceptSipCstaChannels(ua, (channel) => {
        const s = new CstaServer({ channel });
        server = s;
        s.handle('RequestSystemStatus', () => ({ type: 'RequestSystemStatusResponse', systemStatus: 'normal' }));
        s.handle('MonitorStart', () => ({ type: 'MonitorStartResponse', monitorCrossRefID: '7' }));
        s.handle('MakeCall', (req) => {
          const connection = { callID: 'd1', deviceID: 'desk' };
          const called = { deviceIdentifier: String(req.calledDirectoryNumber) };
          const base = { monitorCrossRefID: '7', cause: 'newCall' } as const;
          // the events follow the response (each is its own INFO, in order)
          setTimeout(() => {
            void s.emit({ type: 'OriginatedEvent', ...base, originatedConnection: connection, callingDevice: { deviceIdentifier: 'desk' }, calledDevice: called });
            void s.emit({ type: 'DeliveredEvent', ...base, connection: { callID: 'd1', deviceID: called.deviceIdentifier }, alertingDevice: called, callingDevice: { deviceIdentifier: 'desk' }, calledDevice: called, lastRedirectionDevice: { notRequired: true } });
            void s.emit({ type: 'EstablishedEvent', ...base, establishedConnection: { callID: 'd1', deviceID: called.deviceIdentifier }, answeringDevice: called, callingDevice: { deviceIdentifier: 'desk' }, calledDevice: called, lastRedirectionDevice: { notRequired: true } });
          }, 0);
          return { type: 'MakeCallResponse', callingDevice: connection };
        });
      });

      const c = await lab.openPage('web', '&mode=controller');
      type Api = ControllerApi;
      const established = await c.evaluate(
        ([t, b]) => (window as unknown as Api).controller.connect(t!, b),
        [`sip:desk@127.0.0.1:${lab.kam.udpPort}`, RSS],
      );
      expect(established).toContain('<systemStatus>normal</systemStatus>');
      const request = (m: CstaMessage): Promise<unknown> => c.evaluate((msg) => (window as unknown as Api).controller.request(msg), m);

      expect(await request({ type: 'MonitorStart', monitorObject: { deviceObject: 'desk' } })).toMatchObject({
        type: 'MonitorStartResponse',
        monitorCrossRefID: '7',
      });
      expect(await request({ type: 'MakeCall', callingDevice: 'desk', calledDirectoryNumber: '2002' })).toMatchObject({
        type: 'MakeCallResponse',
        callingDevice: { callID: 'd1', deviceID: 'desk' },
      });
      const events = await lab.until('three events in the page', async () => {
        const e = await c.evaluate(() => (window as unknown as Api).controller.events.map((x) => x.type));
        return e.length >= 3 ? e : undefined;
      });
      expect(events).toEqual(['OriginatedEvent', 'DeliveredEvent', 'EstablishedEvent']);
      // a request the Node server has no handler for: the page's CstaClient gets the CSTA error
      expect(await request({ type: 'SnapshotDevice', snapshotObject: 'desk' })).toMatchObject({
        error: { code: 'CSTA_ERR_SERVICE', category: 'operation', value: 'serviceNotSupported' },
      });
      expect(server?.state).toBe('Open');
      await c.evaluate(() => (window as unknown as Api).controller.close());
      await lab.until('the Node side saw the BYE', () => server?.state === 'Closed');
    },
    30_000,
  );
});
