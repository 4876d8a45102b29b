/**
 * Scale (issue #7 "What must be shown", issue #10 §1): one process runs 1,000 simulated phones on
 * one UDP socket, each registered with digest to our `Registrar` (a second socket of this
 * process); a controller in this same process, on a third socket, opens a uaCSTA session and a
 * device monitor on every phone and makes 1,000 calls between them: 500 pairs, each calling in
 * both directions (every phone originates one call and receives one). Every event of every call
 * arrives at both monitors, in the counts the digest's flows give.
 *
 * @remarks
 * Bounded (the whole test under 90 s on a loaded 2-core machine); the figures (memory per phone,
 * calls per second) are the bench's (`test/bench/phone.bench.ts`), not asserted here.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { eachLimited, startFleet, startFleetController, type EventCounts, type Fleet, type FleetController } from './fleet.js';

const PHONES = 1_000;

let fleet: Fleet | undefined;
let ctl: FleetController | undefined;
afterAll(async () => {
  await ctl?.close().catch(() => undefined);
  await fleet?.close().catch(() => undefined);
});

const CALLER: EventCounts = { ServiceInitiatedEvent: 1, OriginatedEvent: 1, DeliveredEvent: 1, EstablishedEvent: 1, ConnectionClearedEvent: 1 };
const CALLEE: EventCounts = { DeliveredEvent: 1, EstablishedEvent: 1, ConnectionClearedEvent: 1 };

describe('1,000 phones in one process', () => {
  it('register, take 1,000 sessions and monitors, and make 1,000 calls with every event', async () => {
    fleet = await startFleet({ count: PHONES });
    expect(fleet.host.phones.length).toBe(PHONES);
    expect(fleet.registered()).toBe(PHONES);

    ctl = await startFleetController(fleet.port, fleet.extensions);
    expect(fleet.phones.every((p) => p.sessions === 1)).toBe(true);

    const stations = ctl.stations;
    const pairs = Array.from({ length: PHONES / 2 }, (_, i) => [stations[2 * i]!, stations[2 * i + 1]!] as const);
    const results: Array<{ caller: EventCounts; callee: EventCounts }> = [];
    const c = ctl;
    // round 1: even phones call odd ones; round 2: the other way; 500 calls in flight each round
    for (const flip of [false, true]) {
      await eachLimited(pairs, pairs.length, async ([x, y]) => {
        results.push(flip ? await c.call(y, x) : await c.call(x, y));
      });
    }
    expect(results.length).toBe(PHONES);
    const key = (c: EventCounts): string => JSON.stringify(Object.entries(c).sort());
    const wrong = results.filter((r) => key(r.caller) !== key(CALLER) || key(r.callee) !== key(CALLEE));
    expect(wrong.slice(0, 3)).toEqual([]);
    // 8 events per call: 5 at the caller's monitor, 3 at the callee's
    const total = stations.reduce((n, s) => n + Object.values(s.total).reduce((a, b) => a + b, 0), 0);
    expect(total).toBe(PHONES * 8);
    expect(fleet.phones.every((p) => p.device.calls().length === 0)).toBe(true);
  }, 90_000);
});
