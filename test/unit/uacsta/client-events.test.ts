/**
 * CstaClient ergonomics over a fake channel pair: connect() with RequestSystemStatus, the events()
 * iterators and their bounded buffer, pipelining, and early events (digest §1.3, §1.5 item 6).
 */

import { describe, expect, it } from 'vitest';
import type { DoNotDisturbEvent, OriginatedEvent } from '../../../src/csta/model/types.js';
import { serializeCsta } from '../../../src/csta/index.js';
import type { CstaChannelInit } from '../../../src/uacsta/channel.js';
import { CstaClient, type CstaEvent } from '../../../src/uacsta/client.js';
import { CstaServer } from '../../../src/uacsta/server.js';
import { manualClock } from '../../../src/util/clock.js';
import { fakeChannelPair, flush } from './fake-channel.js';

const dnd = (ref: string, on = true): DoNotDisturbEvent => ({
  type: 'DoNotDisturbEvent',
  monitorCrossRefID: ref,
  device: { deviceIdentifier: '1001' },
  doNotDisturbOn: on,
});

const originated = (callID: string): OriginatedEvent =>
  ({
    type: 'OriginatedEvent',
    monitorCrossRefID: '43',
    originatedConnection: { callID, deviceID: '1001' },
    callingDevice: { deviceIdentifier: '1001' },
    calledDevice: { deviceIdentifier: '1002' },
    localConnectionInfo: 'connected',
    cause: 'newCall',
  }) as unknown as OriginatedEvent;

function setup(opts: Partial<ConstructorParameters<typeof CstaClient>[0]> = {}) {
  const pair = fakeChannelPair();
  const clock = manualClock();
  const client = new CstaClient({ channel: pair.a, clock, ...opts });
  const server = new CstaServer({ channel: pair.b });
  return { pair, client, server, clock };
}

describe('CstaClient.connect', () => {
  const opener = (status: string | undefined, seen: CstaChannelInit[]) => async (init: CstaChannelInit) => {
    seen.push(init);
    const pair = fakeChannelPair();
    const body =
      status === undefined ? undefined : serializeCsta({ type: 'RequestSystemStatusResponse', systemStatus: status });
    return Object.assign(pair.a, { establishedBody: body });
  };

  it('sends RequestSystemStatus in the opening request and accepts systemStatus normal', async () => {
    const seen: CstaChannelInit[] = [];
    const client = await CstaClient.connect({ open: opener('normal', seen), requestSystemStatus: true, clock: manualClock() });
    expect(client.state).toBe('Open');
    expect(seen[0]!.body).toContain('<RequestSystemStatus xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"');
    await client.close();
  });

  it('refuses a status other than normal, and a missing answer, with UACSTA_ERR_SYSTEM_STATUS', async () => {
    await expect(CstaClient.connect({ open: opener('disabled', []), requestSystemStatus: true })).rejects.toMatchObject({
      code: 'UACSTA_ERR_SYSTEM_STATUS',
      message: "the peer's systemStatus is 'disabled'; expected normal",
    });
    await expect(CstaClient.connect({ open: opener(undefined, []), requestSystemStatus: true })).rejects.toMatchObject({
      code: 'UACSTA_ERR_SYSTEM_STATUS',
    });
  });

  it('opens without a body when RequestSystemStatus is not asked for', async () => {
    const seen: CstaChannelInit[] = [];
    const client = await CstaClient.connect({ open: opener(undefined, seen) });
    expect(seen[0]!.body).toBeUndefined();
    await client.close();
  });
});

describe('CstaClient.events()', () => {
  it('yields every event in order, and one monitor’s only with { monitor }', async () => {
    const { client, server } = setup();
    const all = client.events();
    const only7 = client.events({ monitor: '7' });
    await server.emit(dnd('7', true));
    await server.emit(dnd('8', true));
    await server.emit(dnd('7', false));
    await flush();
    await client.close();
    const got: string[] = [];
    for await (const e of all) got.push(`${(e as DoNotDisturbEvent).monitorCrossRefID}:${String((e as DoNotDisturbEvent).doNotDisturbOn)}`);
    expect(got).toEqual(['7:true', '8:true', '7:false']);
    const mine: string[] = [];
    for await (const e of only7) mine.push(String((e as DoNotDisturbEvent).doNotDisturbOn));
    expect(mine).toEqual(['true', 'false']);
  });

  it('ends with UACSTA_ERR_EVENT_OVERFLOW saying how many were lost, after the buffered ones', async () => {
    const { client, server } = setup();
    const it = client.events({ maxBufferedEvents: 2 });
    for (let i = 0; i < 5; i++) await server.emit(dnd(String(i)));
    await flush();
    expect((await it.next()).value).toMatchObject({ monitorCrossRefID: '0' });
    expect((await it.next()).value).toMatchObject({ monitorCrossRefID: '1' });
    const err = await it.next().catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'UACSTA_ERR_EVENT_OVERFLOW',
      message: 'the consumer fell 2 events behind (maxBufferedEvents); 3 events were lost',
    });
    expect(await it.next()).toEqual({ value: undefined, done: true });
    await client.close();
  });

  it('ends with ERR_ABORTED on its signal', async () => {
    const { client } = setup();
    const ac = new AbortController();
    const it = client.events({ signal: ac.signal });
    const pending = it.next().catch((e: unknown) => e);
    ac.abort();
    expect(await pending).toMatchObject({ code: 'ERR_ABORTED' });
    await client.close();
  });
});

describe('pipelining', () => {
  it('sends one request at a time by default, and N with maxInFlightInvokes: N', async () => {
    for (const [max, expected] of [
      [1, 1],
      [3, 3],
    ] as const) {
      const { client, server } = setup({ maxInFlightInvokes: max });
      let inHandler = 0;
      let most = 0;
      const gates: (() => void)[] = [];
      server.handle('GetDoNotDisturb', async () => {
        inHandler++;
        most = Math.max(most, inHandler);
        await new Promise<void>((r) => gates.push(r));
        inHandler--;
        return { type: 'GetDoNotDisturbResponse', doNotDisturbOn: false };
      });
      const all = Promise.all([1, 2, 3, 4].map(() => client.request({ type: 'GetDoNotDisturb', device: '1001' })));
      for (let i = 0; i < 10; i++) {
        await flush();
        gates.splice(0).forEach((g) => g());
      }
      expect((await all).map((r) => r.doNotDisturbOn)).toEqual([false, false, false, false]);
      expect(most).toBe(expected);
      await client.close();
    }
  });

  it('refuses maxInFlightInvokes: 0 or Infinity', () => {
    const pair = fakeChannelPair();
    expect(() => new CstaClient({ channel: pair.a, maxInFlightInvokes: 0 })).toThrow(/maxInFlightInvokes/);
    expect(() => new CstaClient({ channel: pair.a, maxInFlightInvokes: Infinity })).toThrow(/maxInFlightInvokes/);
  });
});

describe('early events (digest §1.5 item 6)', () => {
  it('an Originated event sent before the MakeCall response reaches the application after it', async () => {
    const { pair, client, server } = setup();
    server.handle('MakeCall', async () => {
      await server.emit(originated('-12'));
      return { type: 'MakeCallResponse', callingDevice: { callID: '-12', deviceID: '1001' } };
    });
    const seen: string[] = [];
    client.on('event', (e) => seen.push(`${e.type} ${(e as OriginatedEvent).originatedConnection.callID}`));
    const iterated: CstaEvent[] = [];
    const it = client.events();
    const res = await client.request({ type: 'MakeCall', callingDevice: '1001', calledDirectoryNumber: '1002' });
    seen.push(`${res.type} ${res.callingDevice.callID}`);
    await flush();
    // on the wire the event came first
    expect(pair.lines).toEqual(['A → B MakeCall', 'B → A OriginatedEvent', 'A → B 200', 'B → A 200 MakeCallResponse']);
    expect(seen).toEqual(['MakeCallResponse -12', 'OriginatedEvent -12']);
    iterated.push((await it.next()).value as CstaEvent);
    expect(iterated.map((e) => e.type)).toEqual(['OriginatedEvent']);
    await client.close();
  });

  it('keeps arrival order, and releases events at once when nothing is in flight', async () => {
    const { client, server } = setup();
    server.handle('MakeCall', async () => {
      await server.emit(dnd('1'));
      await server.emit(dnd('2'));
      return { type: 'MakeCallResponse', callingDevice: { callID: 'c', deviceID: '1001' } };
    });
    const seen: string[] = [];
    client.on('event', (e) => seen.push((e as DoNotDisturbEvent).monitorCrossRefID));
    await client.request({ type: 'MakeCall', callingDevice: '1001', calledDirectoryNumber: '1002' });
    seen.push('response');
    await flush();
    await server.emit(dnd('3'));
    await flush();
    expect(seen).toEqual(['response', '1', '2', '3']);
    await client.close();
  });

  it('holds at most maxHeldEvents: past it the oldest are released early, none is lost', async () => {
    const { client, server } = setup({ maxHeldEvents: 2 });
    server.handle('MakeCall', async () => {
      for (const ref of ['1', '2', '3', '4']) await server.emit(dnd(ref));
      return { type: 'MakeCallResponse', callingDevice: { callID: 'c', deviceID: '1001' } };
    });
    const seen: string[] = [];
    client.on('event', (e) => seen.push((e as DoNotDisturbEvent).monitorCrossRefID));
    await client.request({ type: 'MakeCall', callingDevice: '1001', calledDirectoryNumber: '1002' });
    seen.push('response');
    await flush();
    expect(seen).toEqual(['1', '2', 'response', '3', '4']);
    await client.close();
  });
});
