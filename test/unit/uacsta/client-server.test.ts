/**
 * CstaClient against CstaServer over a fake channel pair: responses, negative responses, missing
 * handlers, the invoke queue, events and close (digest §1.4–1.5).
 */

import { describe, expect, it } from 'vitest';
import { parseCsta } from '../../../src/csta/index.js';
import type { DeliveredEvent } from '../../../src/csta/model/types.js';
import { manualClock } from '../../../src/util/clock.js';
import { CstaClient, type CstaEvent } from '../../../src/uacsta/client.js';
import { CstaServiceError } from '../../../src/uacsta/errors.js';
import { CstaServer } from '../../../src/uacsta/server.js';
import { fakeChannelPair, flush } from './fake-channel.js';

const ED4 = 'http://www.ecma-international.org/standards/ecma-323/csta/ed4';

const delivered = (ref: string): DeliveredEvent => ({
  type: 'DeliveredEvent',
  monitorCrossRefID: ref,
  connection: { callID: 'c1', deviceID: '1001' },
  alertingDevice: { deviceIdentifier: '1001' },
  callingDevice: { deviceIdentifier: '1002' },
  calledDevice: { deviceIdentifier: '1001' },
  lastRedirectionDevice: { notRequired: true },
  localConnectionInfo: 'alerting',
  cause: 'newCall',
} as unknown as DeliveredEvent);

function setup(opts: { maxQueuedInvokes?: number; invokeTimeoutMs?: number } = {}) {
  const pair = fakeChannelPair();
  const clock = manualClock();
  const client = new CstaClient({ channel: pair.a, clock, ...opts });
  const server = new CstaServer({ channel: pair.b });
  return { pair, client, server, clock };
}

describe('CstaClient.request', () => {
  it('sends MakeCall and resolves MakeCallResponse', async () => {
    const { pair, client, server } = setup();
    server.handle('MakeCall', (req) => {
      expect(req.callingDevice).toBe('1001');
      return { type: 'MakeCallResponse', callingDevice: { callID: 'c1', deviceID: '1001' } };
    });
    const res = await client.request({ type: 'MakeCall', callingDevice: '1001', calledDirectoryNumber: '1002' });
    expect(res.type).toBe('MakeCallResponse');
    expect(res.callingDevice).toEqual({ callID: 'c1', deviceID: '1001' });
    expect(pair.lines).toEqual(['A → B MakeCall', 'B → A 200 MakeCallResponse']);
  });

  it('rejects CSTA_ERR_SERVICE with category and value for a CSTAErrorCode body', async () => {
    const { client, server } = setup();
    server.handle('MakeCall', () => {
      throw new CstaServiceError({ operation: 'invalidCallingDevice' });
    });
    const err = await client
      .request({ type: 'MakeCall', callingDevice: '1001', calledDirectoryNumber: '1002' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CstaServiceError);
    expect(err).toMatchObject({ code: 'CSTA_ERR_SERVICE', category: 'operation', value: 'invalidCallingDevice' });
    expect(client.state).toBe('Open'); // a CSTA "no" does not end the association
  });

  it('gets operation/serviceNotSupported in a 200 for a service without handler', async () => {
    const { pair, client } = setup();
    const err = await client.request({ type: 'ClearConnection', connectionToBeCleared: { callID: 'c1', deviceID: '1001' } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CSTA_ERR_SERVICE', category: 'operation', value: 'serviceNotSupported' });
    expect(pair.lines).toEqual(['A → B ClearConnection', 'B → A 200 CSTAErrorCode']);
  });

  it('rejects SIP_ERR_REJECTED with the status for a non-2xx', async () => {
    const { pair, client } = setup();
    pair.b.onRequest(() => ({ status: 481 }));
    const err = await client.request({ type: 'MakeCall', callingDevice: '1', calledDirectoryNumber: '2' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SIP_ERR_REJECTED', status: 481 });
  });

  it('rejects UACSTA_ERR_NO_RESPONSE for a 200 without body', async () => {
    const { pair, client } = setup();
    pair.b.onRequest(() => ({ status: 200 }));
    const err = await client.request({ type: 'MakeCall', callingDevice: '1', calledDirectoryNumber: '2' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UACSTA_ERR_NO_RESPONSE' });
  });

  it('rejects UACSTA_ERR_UNEXPECTED_RESPONSE for another response', async () => {
    const { pair, client } = setup();
    pair.b.onRequest(() => ({ status: 200, body: `<MonitorStopResponse xmlns="${ED4}"/>` }));
    const err = await client.request({ type: 'MakeCall', callingDevice: '1', calledDirectoryNumber: '2' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UACSTA_ERR_UNEXPECTED_RESPONSE' });
  });

  it('keeps one request in flight, queues in order, and refuses past maxQueuedInvokes', async () => {
    const { pair, client } = setup({ maxQueuedInvokes: 2 });
    const seen: string[] = [];
    let release: (() => void) | undefined;
    pair.b.onRequest(async (r) => {
      const m = parseCsta(r.body);
      const dev = m.ok && m.value.type === 'MakeCall' ? String(m.value.callingDevice) : '?';
      seen.push(dev);
      if (dev === '1') await new Promise<void>((res) => (release = res));
      return { status: 200, body: `<MakeCallResponse xmlns="${ED4}"><callingDevice><callID>c${dev}</callID><deviceID>${dev}</deviceID></callingDevice></MakeCallResponse>` };
    });
    const p1 = client.request({ type: 'MakeCall', callingDevice: '1', calledDirectoryNumber: '9' });
    const p2 = client.request({ type: 'MakeCall', callingDevice: '2', calledDirectoryNumber: '9' });
    const p3 = client.request({ type: 'MakeCall', callingDevice: '3', calledDirectoryNumber: '9' });
    const p4 = client.request({ type: 'MakeCall', callingDevice: '4', calledDirectoryNumber: '9' }).catch((e: unknown) => e);
    expect(await p4).toMatchObject({ code: 'UACSTA_ERR_QUEUE_FULL' });
    await flush();
    expect(seen).toEqual(['1']);
    expect(client.queued).toBe(2);
    release!();
    const all = await Promise.all([p1, p2, p3]);
    expect(all.map((r) => r.callingDevice)).toEqual([
      { callID: 'c1', deviceID: '1' },
      { callID: 'c2', deviceID: '2' },
      { callID: 'c3', deviceID: '3' },
    ]);
    expect(seen).toEqual(['1', '2', '3']);
    // answers in the peer's edition
    expect(all[0]!.edition).toBe('ed4');
  });

  it('times out with UACSTA_ERR_TIMEOUT and keeps the association', async () => {
    const { pair, client, clock } = setup({ invokeTimeoutMs: 1_000 });
    pair.b.onRequest(() => new Promise(() => {}));
    const p = client.request({ type: 'MakeCall', callingDevice: '1', calledDirectoryNumber: '2' }).catch((e: unknown) => e);
    await flush();
    clock.tick(1_000);
    expect(await p).toMatchObject({ code: 'UACSTA_ERR_TIMEOUT' });
    expect(client.state).toBe('Open');
  });

  it('rejects ERR_ABORTED through the signal, for a queued request too', async () => {
    const { pair, client } = setup();
    pair.b.onRequest(() => new Promise(() => {}));
    const first = client.request({ type: 'MakeCall', callingDevice: '1', calledDirectoryNumber: '2' }).catch((e: unknown) => e);
    const ac = new AbortController();
    const queued = client.request({ type: 'MakeCall', callingDevice: '3', calledDirectoryNumber: '4' }, { signal: ac.signal }).catch((e: unknown) => e);
    ac.abort();
    expect(await queued).toMatchObject({ code: 'ERR_ABORTED' });
    expect(client.queued).toBe(0);
    await client.close();
    expect(await first).toMatchObject({ code: 'UACSTA_ERR_CLOSED' });
  });

  it('rejects a request that does not fit the model with CSTA_ERR_SERIALIZE, never throwing', async () => {
    const { client } = setup();
    const p = client.request({ type: 'MakeCall' } as never);
    await expect(p).rejects.toMatchObject({ code: 'CSTA_ERR_SERIALIZE' });
  });
});

describe('events', () => {
  it('answers an event 200 without body and delivers it to on("event") and its monitor', async () => {
    const { pair, client, server } = setup();
    const all: CstaEvent[] = [];
    const mine: CstaEvent[] = [];
    const other: CstaEvent[] = [];
    client.on('event', (e) => all.push(e));
    client.onMonitor('43', (e) => mine.push(e));
    client.onMonitor('44', (e) => other.push(e));
    await server.emit(delivered('43'));
    await flush();
    expect(pair.lines).toEqual(['B → A DeliveredEvent', 'A → B 200']);
    expect(all.map((e) => e.type)).toEqual(['DeliveredEvent']);
    expect(mine).toHaveLength(1);
    expect(other).toHaveLength(0);
  });

  it('unsubscribes, and survives a throwing listener', async () => {
    const traces: string[] = [];
    const pair = fakeChannelPair();
    const client = new CstaClient({ channel: pair.a, trace: (t) => traces.push(t.type) });
    const server = new CstaServer({ channel: pair.b });
    const got: string[] = [];
    client.on('event', () => {
      throw new Error('boom');
    });
    const off = client.on('event', (e) => got.push(e.type));
    await server.emit(delivered('1'));
    await flush();
    off();
    await server.emit(delivered('1'));
    await flush();
    expect(got).toEqual(['DeliveredEvent']);
    expect(traces).toContain('listener-error');
  });

  it('answers 200 to an unreadable event and drops it', async () => {
    const { pair, client } = setup();
    const got: unknown[] = [];
    client.on('event', (e) => got.push(e));
    const res = await pair.b.send('<DeliveredEvent><unclosed>');
    expect(res.status).toBe(200);
    await flush();
    expect(got).toEqual([]);
  });
});

describe('CstaServer', () => {
  it('answers 415 with Accept for a wrong Content-Type and 400 for malformed XML', async () => {
    const { pair } = setup();
    const r415 = await pair.a.sendRaw('v=0', 'application/sdp');
    expect(r415.status).toBe(415);
    const r400 = await pair.a.sendRaw('<MakeCall><x></MakeCall>', 'application/CSTA+XML;charset=UTF-8');
    expect(r400.status).toBe(400);
  });

  it('replies in the edition of the request', async () => {
    const { pair, server } = setup();
    server.handle('MakeCall', () => ({ type: 'MakeCallResponse', callingDevice: { callID: 'c1', deviceID: '1001' } }));
    const res = await pair.a.send(`<MakeCall xmlns="${ED4}"><callingDevice>1001</callingDevice><calledDirectoryNumber>1002</calledDirectoryNumber></MakeCall>`);
    expect(res.status).toBe(200);
    expect(res.body).toContain(`<MakeCallResponse xmlns="${ED4}">`);
  });

  it('answers serviceNotSupported for an unknown root and generic for a handler that crashes', async () => {
    const { pair, server } = setup();
    server.handle('AnswerCall', () => {
      throw new Error('bug');
    });
    const unknown = await pair.a.send('<FlyToMoon xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"/>');
    expect(unknown.body).toContain('<operation>serviceNotSupported</operation>');
    const crash = await pair.a.send('<AnswerCall xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><callToBeAnswered><callID>1</callID><deviceID>1001</deviceID></callToBeAnswered></AnswerCall>');
    expect(crash.status).toBe(200);
    expect(crash.body).toContain('<operation>generic</operation>');
  });

  it('answers GetCSTAFeatures from the registered handlers', async () => {
    const { client, server } = setup();
    server.handle('MakeCall', () => ({ type: 'MakeCallResponse', callingDevice: { callID: 'c1', deviceID: '1' } }));
    server.handle('MonitorStart', () => ({ type: 'MonitorStartResponse', monitorCrossRefID: '43' }));
    const res = await client.request({ type: 'GetCSTAFeatures' });
    expect(res.supportedServices).toMatchObject({
      callControlServList: { makeCall: {} },
      monitoringServList: { monitorStart: {} },
      capExchangeServList: { getCSTAFeatures: {} },
    });
  });
});

describe('close', () => {
  it('is idempotent, rejects later requests with UACSTA_ERR_CLOSED and tells listeners', async () => {
    const { pair, client, server } = setup();
    const closed: string[] = [];
    client.on('closed', ({ reason }) => closed.push(reason));
    await Promise.all([client.close(), client.close()]);
    expect(client.state).toBe('Closed');
    expect(server.state).toBe('Closed');
    expect(pair.lines).toEqual(['A → B BYE']);
    expect(closed).toEqual(['closed']);
    await expect(client.request({ type: 'MakeCall', callingDevice: '1', calledDirectoryNumber: '2' })).rejects.toMatchObject({ code: 'UACSTA_ERR_CLOSED' });
    await expect(server.emit(delivered('1'))).rejects.toMatchObject({ code: 'UACSTA_ERR_CLOSED' });
  });
});

describe('typing', () => {
  it('infers the response type from the request and refuses a request that misses a field', () => {
    const { client } = setup();
    const check = async (): Promise<void> => {
      const r = await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: '1001' } });
      const id: string = r.monitorCrossRefID;
      void id;
      // @ts-expect-error calledDirectoryNumber is mandatory
      await client.request({ type: 'MakeCall', callingDevice: '1001' });
    };
    expect(typeof check).toBe('function');
  });
});
