/**
 * Out-of-dialog CSTA (style B, digest §1.10): stand-alone NOTIFY with `Event: uaCSTA`, the
 * response in the 200 (ShoreTel) or none (OpenStage), over two user agents on the memory pair.
 */

import { afterEach, describe, expect, it } from 'vitest';
import type { DoNotDisturbEvent } from '../../../src/csta/model/types.js';
import { acceptNotifyCstaChannels, openNotifyCstaChannel } from '../../../src/node/notify-csta-channel.js';
import type { SipRequest } from '../../../src/sip/message/types.js';
import { CstaClient } from '../../../src/uacsta/client.js';
import { CstaServer } from '../../../src/uacsta/server.js';
import { manualClock } from '../../../src/util/clock.js';
import { settle, text, uaPair, type Pair } from '../../unit/sip/ua/ladder.js';

let pair: Pair | undefined;
afterEach(async () => {
  const problems = pair?.problems ?? [];
  await pair?.close();
  pair = undefined;
  expect(problems).toEqual([]);
});

const makeCall = { type: 'MakeCall', callingDevice: '1001', calledDirectoryNumber: '2002' } as const;

describe('out-of-dialog CSTA: NOTIFY Event: uaCSTA', () => {
  it('a request in a stand-alone NOTIFY, its response in the 200 (ShoreTel), no INVITE, no BYE', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    acceptNotifyCstaChannels(p.b.ua, (channel) => {
      const server = new CstaServer({ channel });
      server.handle('MakeCall', () => ({ type: 'MakeCallResponse', callingDevice: { callID: '5', deviceID: '1001' } }));
    });
    const client = await CstaClient.connect({
      clock,
      open: (init) => openNotifyCstaChannel(p.a.ua, p.bUri, { ...init, subscriptionState: true }),
    });
    const res = await client.request(makeCall);
    expect(res.callingDevice).toEqual({ callID: '5', deviceID: '1001' });
    await client.close();
    expect(p.ladder.lines()).toEqual(['A → B NOTIFY', 'B → A 200']);
    const notify = p.ladder.entries[0]!.message as SipRequest;
    expect(notify.headers['event']).toEqual(['uaCSTA']);
    expect(notify.headers['subscription-state']).toEqual(['active']);
    expect(notify.headers['content-type']).toEqual(['application/csta+xml']);
    expect(notify.headers['content-disposition']).toEqual(['signal;handling=required']);
    expect(text(notify.body)).toContain('<MakeCall xmlns=');
    expect(text(p.ladder.entries[1]!.message.body)).toContain('<MakeCallResponse xmlns=');
  });

  it('RequestSystemStatus in the first NOTIFY must be answered normal, as an INVITE’s would', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    acceptNotifyCstaChannels(p.b.ua, (channel) => void new CstaServer({ channel }));
    const client = await CstaClient.connect({ clock, requestSystemStatus: true, open: (init) => openNotifyCstaChannel(p.a.ua, p.bUri, init) });
    expect(client.channel.establishedBody).toContain('<systemStatus>normal</systemStatus>');
    await client.close();
  });

  it('events come back as NOTIFY from the controlled side and reach the controller’s monitor', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    let server: CstaServer | undefined;
    acceptNotifyCstaChannels(p.b.ua, (channel) => {
      server = new CstaServer({ channel });
      server.handle('MonitorStart', () => ({ type: 'MonitorStartResponse', monitorCrossRefID: '9' }));
    });
    const client = await CstaClient.connect({ clock, open: (init) => openNotifyCstaChannel(p.a.ua, p.bUri, init) });
    const ref = (await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: '1001' } })).monitorCrossRefID;
    const got: boolean[] = [];
    client.onMonitor(ref, (e) => got.push((e as DoNotDisturbEvent).doNotDisturbOn));
    await server!.emit({ type: 'DoNotDisturbEvent', monitorCrossRefID: '9', device: { deviceIdentifier: '1001' }, doNotDisturbOn: true });
    await settle();
    expect(got).toEqual([true]);
    expect(p.ladder.lines()).toEqual(['A → B NOTIFY', 'B → A 200', 'B → A NOTIFY', 'A → B 200']);
    await client.close();
  });

  it('a fire-and-forget peer (OpenStage: 200 without a body) gives UACSTA_ERR_NO_RESPONSE', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    acceptNotifyCstaChannels(p.b.ua, (channel) => channel.onRequest(() => ({ status: 200 })));
    const client = await CstaClient.connect({ clock, open: (init) => openNotifyCstaChannel(p.a.ua, p.bUri, init) });
    await expect(client.request(makeCall)).rejects.toMatchObject({ code: 'UACSTA_ERR_NO_RESPONSE' });
    await client.close();
  });

  it('answers 489 to another Event package, 415 with Accept to a body that is not CSTA, 481 to a sender it does not serve', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    void openNotifyCstaChannel(p.b.ua, 'sip:someone-else@192.0.2.1'); // B has a NOTIFY router, but serves no one
    const other = await p.a.ua.request('NOTIFY', p.bUri, { headers: { Event: 'dialog' } });
    expect(other.status).toBe(489);
    const json = await p.a.ua.request('NOTIFY', p.bUri, { headers: { Event: 'uaCSTA' }, body: '{}', contentType: 'application/json' });
    expect(json.status).toBe(415);
    expect(json.headers['accept']).toEqual(['application/csta+xml']);
    const stranger = await p.a.ua.request('NOTIFY', p.bUri, { headers: { Event: 'uaCSTA' }, body: '<MakeCall/>', contentType: 'application/csta+xml' });
    expect(stranger.status).toBe(481);
  });
});
