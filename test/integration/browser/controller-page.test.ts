/**
 * A web page controls a desk phone (issue #9, "the other direction"): the softphone page in
 * controller mode (our CstaClient in Chromium on a sip.js uaCSTA session, ECMA TR/87) controls one
 * of our simulated phones. The page speaks SIP over WebSocket (RFC 7118) to Kamailio
 * (`test/kamailio/kamailio-ws.cfg`); the simulated phones register on Kamailio's UDP side, so the
 * session's INVITE and every INFO cross the proxy from WebSocket to UDP and back.
 *
 * The phone's MakeCall is a real SIP call with SDP and RTP through Kamailio, to a second simulated
 * phone that answers by itself, and then to a softphone page, which rings. Skipped only when
 * /usr/bin/chromium is absent.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CstaMessage } from '../../../src/csta/model/types.js';
import { SimulatedPhone, type SimulatedPhoneOptions } from '../../../src/phone/simulator.js';
import { SipPhoneHost, type SipPhone } from '../../../src/phone/sip/sip-phone-host.js';
import type { CstaEvent } from '../../../src/uacsta/client.js';
import { HAVE_CHROMIUM, OUTPUT, RSS, SKIP_NOTE, startBrowserLab, type BrowserLab, type ControllerApi } from './support.js';

let lab: BrowserLab;

beforeAll(async () => {
  if (HAVE_CHROMIUM) lab = await startBrowserLab();
}, 30_000);

afterAll(async () => {
  await lab?.close();
}, 20_000);

/** A simulated phone on `host`, registered with Kamailio (which asks no credentials). */
function simulated(host: SipPhoneHost, extension: string, options: Partial<SimulatedPhoneOptions> = {}): { sip: SipPhone; phone: SimulatedPhone } {
  let phone: SimulatedPhone | undefined;
  const sip = host.addPhone({ extension, credentials: { username: extension, password: 'unused' }, onCstaChannel: (ch) => phone!.attach(ch) });
  phone = new SimulatedPhone({ signalling: sip.signalling, ...options });
  return { sip, phone };
}

describe('a controller page in Chromium controls a simulated phone through Kamailio', () => {
  it.skipIf(!HAVE_CHROMIUM)(
    `MonitorStart, MakeCall (a real SIP call), ServiceInitiated/Originated/Delivered/Established, ClearConnection, a CSTA error on the page (${SKIP_NOTE})`,
    async () => {
      const host = await SipPhoneHost.listen('udp:127.0.0.1:0', { media: 'silence', registrar: lab.registrar });
      lab.defer(() => host.close());
      const desk = simulated(host, 'desk');
      const far = simulated(host, 'far', { autoAnswer: true });
      expect(await host.register()).toEqual([]);
      const bob = await lab.openPage('bob');

      const page = await lab.openPage('web', '&mode=controller');
      const api = (p: Page) => ({
        connect: (target: string) => p.evaluate(([t, b]) => (window as unknown as ControllerApi).controller.connect(t!, b), [target, RSS]),
        request: (m: CstaMessage) => p.evaluate((msg) => (window as unknown as ControllerApi).controller.request(msg), m),
        events: () => p.evaluate(() => (window as unknown as ControllerApi).controller.events) as Promise<CstaEvent[]>,
      });
      const web = api(page);

      // The session: INVITE from the page's sip.js UserAgent (WebSocket) to the phone's AoR,
      // routed by Kamailio's location table to the phone's UDP Contact.
      const established = await web.connect(`sip:desk@127.0.0.1:${lab.kam.udpPort}`);
      expect(established).toContain('<systemStatus>normal</systemStatus>');
      const device = desk.sip.deviceId;
      expect(device).toBe('sip:desk@127.0.0.1');

      const monitor = (await web.request({ type: 'MonitorStart', monitorObject: { deviceObject: device } })) as { type: string; monitorCrossRefID: string };
      expect(monitor.type).toBe('MonitorStartResponse');
      const xref = monitor.monitorCrossRefID;

      // MakeCall: desk dials "far"; the INVITE with desk's SDP offer goes through Kamailio.
      const made = (await web.request({ type: 'MakeCall', callingDevice: device, calledDirectoryNumber: 'far', autoOriginate: 'doNotPrompt' })) as {
        type: string;
        callingDevice: { callID: string; deviceID: string };
      };
      expect(made.type).toBe('MakeCallResponse');
      const callID = made.callingDevice.callID;
      expect(made.callingDevice).toEqual({ callID, deviceID: device });
      const types = async (): Promise<string[]> => (await web.events()).map((e) => e.type);
      await lab.until('Established in the page', async () => (await types()).includes('EstablishedEvent'));
      const events = await web.events();
      expect(events.map((e) => e.type)).toEqual(['ServiceInitiatedEvent', 'OriginatedEvent', 'DeliveredEvent', 'EstablishedEvent']);
      for (const e of events) expect(e.monitorCrossRefID).toBe(xref);
      expect(events[1]).toMatchObject({ originatedConnection: { callID, deviceID: device }, cause: 'newCall' });
      expect(events[2]).toMatchObject({ connection: { callID, deviceID: far.sip.deviceId }, alertingDevice: { deviceIdentifier: far.sip.deviceId } });
      expect(events[3]).toMatchObject({ establishedConnection: { callID, deviceID: far.sip.deviceId }, answeringDevice: { deviceIdentifier: far.sip.deviceId } });
      // a real call: both phones have a connected leg with an SDP answer
      expect(desk.sip.signalling.legs.map((l) => l.state)).toEqual(['connected']);
      expect(far.sip.signalling.legs.map((l) => l.state)).toEqual(['connected']);

      // A service the simulated phone does not offer: the CSTA error reaches the page and is shown.
      expect(await web.request({ type: 'SetMessageWaitingIndicator', device, messageWaitingOn: true })).toMatchObject({
        error: { code: 'CSTA_ERR_SERVICE', category: 'operation', value: 'serviceNotSupported' },
      });
      expect((await lab.view(page)).log).toContain('SetMessageWaitingIndicator → CSTA error operation: serviceNotSupported');
      expect(await page.locator('#log').textContent()).toContain('CSTA error operation: serviceNotSupported');
      await page.screenshot({ path: join(OUTPUT, 'softphone-controller.png') });
      expect(existsSync(join(OUTPUT, 'softphone-controller.png'))).toBe(true);

      expect(await web.request({ type: 'ClearConnection', connectionToBeCleared: { callID, deviceID: device } })).toMatchObject({
        type: 'ClearConnectionResponse',
      });
      await lab.until('ConnectionCleared in the page', async () => (await types()).includes('ConnectionClearedEvent'));
      expect((await web.events()).at(-1)).toMatchObject({
        type: 'ConnectionClearedEvent',
        droppedConnection: { callID, deviceID: device },
        cause: 'normalClearing',
      });
      await lab.until('both phones idle (BYE through Kamailio)', () => desk.sip.signalling.legs.length === 0 && far.sip.signalling.legs.length === 0);

      // Then desk calls the softphone page: the simulated phone's plain RTP offer reaches sip.js
      // over WebSocket and bob's page rings (180); the controller page clears it (CANCEL).
      const seen = (await web.events()).length;
      const second = (await web.request({ type: 'MakeCall', callingDevice: device, calledDirectoryNumber: 'bob', autoOriginate: 'doNotPrompt' })) as {
        callingDevice: { callID: string };
      };
      await lab.until('Delivered from the page', async () => (await types()).slice(seen).includes('DeliveredEvent'));
      expect((await lab.view(bob)).calls).toEqual([{ callID: 'c1', direction: 'incoming', remoteDevice: 'desk', state: 'Alerting' }]);
      await web.request({ type: 'ClearConnection', connectionToBeCleared: { callID: second.callingDevice.callID, deviceID: device } });
      await lab.until('ConnectionCleared of the second call', async () => (await types()).slice(seen).includes('ConnectionClearedEvent'));
      expect((await types()).slice(seen)).toEqual(['ServiceInitiatedEvent', 'OriginatedEvent', 'DeliveredEvent', 'ConnectionClearedEvent']);
      await lab.until('bob idle again', async () => (await lab.view(bob)).calls.length === 0);

      await page.evaluate(() => (window as unknown as ControllerApi).controller.close());
      await lab.until('the phone saw the session end', () => desk.phone.sessions === 0);
    },
    45_000,
  );
});
