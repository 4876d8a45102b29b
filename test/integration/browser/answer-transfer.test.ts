/**
 * AnswerCall and SingleStepTransferCall on sip.js softphones in Chromium (issue #9): three pages
 * (alice, bob who does not auto-answer, carol who does) register with Kamailio over WebSocket
 * (RFC 7118); a Node controller (our CstaClient over UDP, ECMA TR/87) has a uaCSTA session and a
 * monitor on alice and on bob.
 *
 * MakeCall makes alice call bob; bob's page rings until the controller answers it with
 * AnswerCall (`Invitation.accept`); then SingleStepTransferCall makes alice send REFER (RFC 3515)
 * to bob with carol as the target: bob's adapter accepts it and calls carol, alice leaves the
 * call, and bob and carol talk with WebRTC audio. Skipped only when /usr/bin/chromium is absent.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSipCstaChannel } from '../../../src/node/sip-csta-channel.js';
import { CstaClient, type CstaEvent } from '../../../src/uacsta/client.js';
import { HAVE_CHROMIUM, OUTPUT, RSS, SKIP_NOTE, startBrowserLab, type BrowserLab } from './support.js';

let lab: BrowserLab;

beforeAll(async () => {
  if (HAVE_CHROMIUM) lab = await startBrowserLab();
}, 30_000);

afterAll(async () => {
  await lab?.close();
}, 20_000);

describe('AnswerCall and SingleStepTransferCall on sip.js softphones in Chromium', () => {
  it.skipIf(!HAVE_CHROMIUM)(
    `bob's page rings until AnswerCall; SingleStepTransferCall sends REFER and bob ends up talking to carol (${SKIP_NOTE})`,
    async () => {
      const alice = await lab.openPage('alice');
      const bob = await lab.openPage('bob');
      const carol = await lab.openPage('carol', '&autoAnswer=1');

      const { ua } = await lab.nodeUa('ctl');
      const session = async (user: string): Promise<{ client: CstaClient; events: CstaEvent[] }> => {
        const channel = await openSipCstaChannel(ua, `sip:${user}@127.0.0.1:${lab.kam.udpPort}`, { body: RSS });
        const client = new CstaClient({ channel, invokeTimeoutMs: 10_000 });
        lab.defer(() => client.close());
        const events: CstaEvent[] = [];
        client.on('event', (e) => events.push(e));
        await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: user } });
        return { client, events };
      };
      const a = await session('alice');
      const b = await session('bob');
      const types = (s: { events: CstaEvent[] }): string[] => s.events.map((e) => e.type);

      // alice calls bob; bob's page rings (sip.js sends 180) and does not answer by itself
      const made = await a.client.request({ type: 'MakeCall', callingDevice: 'alice', calledDirectoryNumber: 'bob' });
      const ca = made.callingDevice.callID!;
      await lab.until('Delivered at bob', () => types(b).includes('DeliveredEvent'));
      await lab.until('Delivered at alice (180 Ringing)', () => types(a).includes('DeliveredEvent'));
      const delivered = b.events[0]!;
      expect(delivered).toMatchObject({
        type: 'DeliveredEvent',
        alertingDevice: { deviceIdentifier: 'bob' },
        callingDevice: { deviceIdentifier: 'alice' },
        localConnectionInfo: 'alerting',
      });
      const cb = (delivered as unknown as { connection: { callID: string; deviceID: string } }).connection;
      expect(cb.deviceID).toBe('bob');
      expect((await lab.view(bob)).calls).toEqual([{ callID: cb.callID, direction: 'incoming', remoteDevice: 'alice', state: 'Alerting' }]);

      // AnswerCall: Invitation.accept() with bob's WebRTC answer
      expect(await b.client.request({ type: 'AnswerCall', callToBeAnswered: cb })).toEqual({ type: 'AnswerCallResponse', edition: 'ed3' });
      await lab.until('Established at bob and alice', () => types(b).includes('EstablishedEvent') && types(a).includes('EstablishedEvent'));
      expect(types(a)).toEqual(['ServiceInitiatedEvent', 'OriginatedEvent', 'DeliveredEvent', 'EstablishedEvent']);
      expect(types(b)).toEqual(['DeliveredEvent', 'EstablishedEvent']);
      expect(b.events[1]).toMatchObject({
        establishedConnection: { callID: cb.callID, deviceID: 'bob' },
        answeringDevice: { deviceIdentifier: 'bob' },
        callingDevice: { deviceIdentifier: 'alice' },
      });
      await lab.mediaFlows(alice);
      await lab.mediaFlows(bob);

      // SingleStepTransferCall: alice REFERs bob to carol, then leaves (BYE once the REFER is accepted)
      a.events.length = 0;
      b.events.length = 0;
      const transferred = await a.client.request({ type: 'SingleStepTransferCall', activeCall: { callID: ca, deviceID: 'alice' }, transferredTo: 'carol' });
      expect(transferred).toMatchObject({ type: 'SingleStepTransferCallResponse', transferredCall: { callID: ca, deviceID: 'carol' } });
      // alice, the transferring device: Transfered (null, singleStepTransfer) and no ConnectionCleared
      await lab.until('Transfered at alice', () => types(a).includes('TransferedEvent'));
      expect(a.events).toEqual([
        {
          type: 'TransferedEvent',
          edition: 'ed3',
          monitorCrossRefID: expect.any(String),
          primaryOldCall: { callID: ca, deviceID: 'alice' },
          transferringDevice: { deviceIdentifier: 'alice' },
          transferredToDevice: { deviceIdentifier: 'carol' },
          transferredConnections: [{ newConnection: { callID: ca, deviceID: 'carol' }, oldConnection: { callID: ca, deviceID: 'bob' } }],
          localConnectionInfo: 'null',
          cause: 'singleStepTransfer',
        },
      ]);
      await lab.until('alice idle', async () => (await lab.view(alice)).calls.length === 0);

      // bob, the transferred party: the old call cleared (singleStepTransfer), a new call to carol
      await lab.until('bob talks to carol', () => types(b).includes('EstablishedEvent'));
      await lab.until('the old call cleared at bob', () => types(b).filter((t) => t === 'ConnectionClearedEvent').length === 2);
      const cleared = b.events.filter((e) => e.type === 'ConnectionClearedEvent');
      expect(cleared).toMatchObject([
        { droppedConnection: { callID: cb.callID, deviceID: 'alice' }, cause: 'singleStepTransfer' },
        { droppedConnection: { callID: cb.callID, deviceID: 'bob' }, cause: 'singleStepTransfer' },
      ]);
      const newCall = b.events.filter((e) => e.type !== 'ConnectionClearedEvent');
      expect(newCall.map((e) => e.type)).toEqual(['ServiceInitiatedEvent', 'OriginatedEvent', 'DeliveredEvent', 'EstablishedEvent']);
      const cbc = (newCall[0] as unknown as { initiatedConnection: { callID: string } }).initiatedConnection.callID;
      expect(cbc).not.toBe(cb.callID);
      expect(newCall[3]).toMatchObject({
        establishedConnection: { callID: cbc, deviceID: 'carol' },
        answeringDevice: { deviceIdentifier: 'carol' },
        callingDevice: { deviceIdentifier: 'bob' },
      });
      await lab.until('bob has only the call to carol', async () => (await lab.view(bob)).calls.length === 1);
      expect((await lab.view(bob)).calls).toEqual([{ callID: cbc, direction: 'outgoing', remoteDevice: 'carol', state: 'Established' }]);
      expect((await lab.view(carol)).calls).toMatchObject([{ direction: 'incoming', remoteDevice: 'bob', state: 'Established' }]);
      await lab.mediaFlows(bob);
      await lab.mediaFlows(carol);
      await bob.screenshot({ path: join(OUTPUT, 'softphone-transferred.png') });
      expect(existsSync(join(OUTPUT, 'softphone-transferred.png'))).toBe(true);

      // bob hangs up the transferred call through the controller
      b.events.length = 0;
      await b.client.request({ type: 'ClearConnection', connectionToBeCleared: { callID: cbc, deviceID: 'bob' } });
      await lab.until('ConnectionCleared at bob', () => types(b).includes('ConnectionClearedEvent'));
      expect(b.events).toMatchObject([{ type: 'ConnectionClearedEvent', droppedConnection: { callID: cbc, deviceID: 'bob' }, cause: 'normalClearing' }]);
      await lab.until('carol idle', async () => (await lab.view(carol)).calls.length === 0);
    },
    45_000,
  );
});
