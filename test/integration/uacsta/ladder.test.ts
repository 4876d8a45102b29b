/**
 * CstaClient and CstaServer over two SIP user agents on the in-memory transport pair: the
 * session set-up, a service request and an event, as SIP ladders (digest §1.3–1.5, Example 1–3).
 */

import { parseCsta } from '../../../src/csta/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeliveredEvent } from '../../../src/csta/model/types.js';
import { acceptSipCstaChannels, openSipCstaChannel } from '../../../src/node/sip-csta-channel.js';
import { CstaClient, type CstaEvent } from '../../../src/uacsta/client.js';
import { CstaServer } from '../../../src/uacsta/server.js';
import { manualClock } from '../../../src/util/clock.js';
import { settle, text, uaPair, type Pair } from '../../unit/sip/ua/ladder.js';

const RSS = '<RequestSystemStatus xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"/>';

let pair: Pair | undefined;
afterEach(async () => {
  const problems = pair?.problems ?? [];
  await pair?.close();
  pair = undefined;
  expect(problems).toEqual([]);
});

describe('uaCSTA over SIP (A = computing function, B = switching function)', () => {
  it('INVITE → 200 → ACK, INFO MakeCall → 200 MakeCallResponse, INFO event → 200', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    let server: CstaServer | undefined;
    acceptSipCstaChannels(p.b.ua, (channel) => {
      server = new CstaServer({ channel });
      server.handle('RequestSystemStatus', () => ({ type: 'RequestSystemStatusResponse', systemStatus: 'normal' }));
      server.handle('MakeCall', (req) => ({
        type: 'MakeCallResponse',
        callingDevice: { callID: 'call-1', deviceID: String(req.callingDevice) },
      }));
    });

    const channel = await openSipCstaChannel(p.a.ua, p.bUri, { body: RSS });
    const client = new CstaClient({ channel, clock });
    const events: CstaEvent[] = [];
    client.on('event', (e) => events.push(e));
    await settle();
    expect(p.ladder.lines()).toEqual(['A → B INVITE', 'B → A 200', 'A → B ACK']);
    const [invite, ok] = p.ladder.entries.map((e) => e.message);
    expect(invite!.headers['content-type']).toEqual(['application/csta+xml']);
    expect(invite!.headers['content-disposition']).toEqual(['signal;handling=required']);
    expect(text(ok!.body)).toContain('<systemStatus>normal</systemStatus>');
    expect(ok!.headers['content-disposition']).toEqual(['signal;handling=required']);
    // the answer to the request embedded in the INVITE reaches the controller
    const opened = parseCsta(channel.establishedBody ?? '');
    expect(opened.ok && opened.value).toEqual({ type: 'RequestSystemStatusResponse', edition: 'ed3', systemStatus: 'normal' });

    const res = await client.request({ type: 'MakeCall', callingDevice: '1001', calledDirectoryNumber: '1002' });
    expect(res.callingDevice).toEqual({ callID: 'call-1', deviceID: '1001' });
    const info = p.ladder.entries[3]!.message;
    const infoOk = p.ladder.entries[4]!.message;
    expect(info.kind === 'request' && info.method).toBe('INFO');
    expect(info.headers['content-type']).toEqual(['application/csta+xml']);
    expect(info.headers['content-disposition']).toEqual(['signal;handling=required']);
    expect(text(info.body)).toContain('<MakeCall xmlns=');
    expect(text(infoOk.body)).toContain('<MakeCallResponse xmlns=');

    const event = {
      type: 'DeliveredEvent',
      monitorCrossRefID: '43',
      connection: { callID: 'call-1', deviceID: '1001' },
      alertingDevice: { deviceIdentifier: '1002' },
      callingDevice: { deviceIdentifier: '1001' },
      calledDevice: { deviceIdentifier: '1002' },
      lastRedirectionDevice: { notRequired: true },
      localConnectionInfo: 'connected',
      cause: 'newCall',
    } as unknown as DeliveredEvent;
    await server!.emit(event);
    await settle();
    expect(events.map((e) => e.type)).toEqual(['DeliveredEvent']);
    expect(p.ladder.lines()).toEqual([
      'A → B INVITE',
      'B → A 200',
      'A → B ACK',
      'A → B INFO',
      'B → A 200',
      'B → A INFO',
      'A → B 200',
    ]);
    // the event is acknowledged without a body (digest §1.5)
    expect(p.ladder.entries[6]!.message.body.length).toBe(0);

    await client.close();
    await settle();
    expect(p.ladder.lines().slice(-2)).toEqual(['A → B BYE', 'B → A 200']);
    expect(server!.state).toBe('Closed');
  });

  it('refuses an SDP INVITE with 488 and a non-CSTA body with 415', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    acceptSipCstaChannels(p.b.ua, () => {
      throw new Error('not a CSTA session');
    });
    const sdp = await p.a.ua.invite(p.bUri, { body: 'v=0\r\n', contentType: 'application/sdp' }).catch((e: unknown) => e);
    expect(sdp).toMatchObject({ code: 'SIP_ERR_REJECTED', status: 488 });
    const other = await p.a.ua.invite(p.bUri, { body: '{}', contentType: 'application/json' }).catch((e: unknown) => e);
    expect(other).toMatchObject({ code: 'SIP_ERR_REJECTED', status: 415 });
    const r415 = (other as { response: { headers: Record<string, string[]> } }).response;
    expect(r415.headers['accept']).toEqual(['application/csta+xml']);
  });

  it('opens a session without a body, and a non-2xx INFO reaches the client as SIP_ERR_REJECTED', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    acceptSipCstaChannels(p.b.ua, (channel) => {
      channel.onRequest(() => ({ status: 503 }));
    });
    const channel = await openSipCstaChannel(p.a.ua, p.bUri);
    const client = new CstaClient({ channel, clock });
    const err = await client.request({ type: 'MakeCall', callingDevice: '1', calledDirectoryNumber: '2' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SIP_ERR_REJECTED', status: 503 });
    expect(client.state).toBe('Open'); // RFC 5057: a failed INFO does not end the dialog
    await client.close();
  });

  it('holds an event INFO that arrives before the client listens, and delivers it after', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    acceptSipCstaChannels(p.b.ua, (channel) => {
      const server = new CstaServer({ channel });
      // sent right after the 200, before A has a CstaClient (digest §1.5, ordering hazard)
      queueMicrotask(() => {
        void server.emit({ type: 'DoNotDisturbEvent', monitorCrossRefID: '7', device: { deviceIdentifier: '1001' }, doNotDisturbOn: true });
      });
    });
    const channel = await openSipCstaChannel(p.a.ua, p.bUri);
    await settle();
    const events: string[] = [];
    const client = new CstaClient({ channel, clock });
    client.onMonitor('7', (e) => events.push(e.type));
    await settle();
    expect(events).toEqual(['DoNotDisturbEvent']);
    expect(p.ladder.lines()).toContain('B → A INFO');
    await client.close();
  });
});
