/**
 * Flow-test harness: simulated phones on one in-process exchange, each controlled by a
 * `CstaClient` over an in-memory channel pair, with a manual clock. `settle()` lets every
 * message and event go through; `take(name)` returns (and forgets) the events a controller saw,
 * one line each: `Type callID@user localConnectionInfo cause`.
 */

import { CstaClient, type CstaEvent } from '../../../src/uacsta/client.js';
import { InProcessExchange } from '../../../src/phone/in-process-exchange.js';
import { SimulatedPhone, type SimulatedPhoneOptions } from '../../../src/phone/simulator.js';
import { manualClock, type ManualClock } from '../../../src/util/clock.js';
import { fakeChannelPair, type FakePair } from '../uacsta/fake-channel.js';
import type { ConnectionID, DeviceID, ExtendedDeviceID } from '../../../src/csta/model/types.js';

export interface Station {
  readonly ext: string;
  readonly device: string;
  readonly phone: SimulatedPhone;
  readonly client: CstaClient;
  readonly pair: FakePair;
  readonly events: CstaEvent[];
  /** The monitorCrossRefID of the monitor on line 0 (after `monitor()`). */
  monitorId: string;
}

export interface Lab {
  readonly clock: ManualClock;
  readonly exchange: InProcessExchange;
  station(ext: string | readonly string[], options?: Partial<SimulatedPhoneOptions>): Promise<Station>;
  settle(): Promise<void>;
  close(): Promise<void>;
}

const user = (d: string): string => d.replace(/^sips?:|^tel:/, '').replace(/@.*$/, '');

function text(d: DeviceID | ExtendedDeviceID | undefined): string {
  if (d === undefined) return '-';
  if (typeof d === 'string') return user(d);
  if ('value' in d) return user(d.value);
  if ('deviceIdentifier' in d) return text(d.deviceIdentifier);
  return Object.keys(d)[0] ?? '-';
}

const conn = (c: ConnectionID | undefined): string => (c === undefined ? '-' : `${c.callID ?? '?'}@${text(c.deviceID)}`);

const PRIMARY: Record<string, string> = {
  ServiceInitiatedEvent: 'initiatedConnection',
  OriginatedEvent: 'originatedConnection',
  DeliveredEvent: 'connection',
  EstablishedEvent: 'establishedConnection',
  ConnectionClearedEvent: 'droppedConnection',
  FailedEvent: 'failedConnection',
  HeldEvent: 'heldConnection',
  RetrievedEvent: 'retrievedConnection',
  DivertedEvent: 'connection',
  TransferedEvent: 'primaryOldCall',
  ConferencedEvent: 'primaryOldCall',
  DigitsGeneratedEvent: 'connection',
};

/** One line per event: `Delivered 1@1002 connected newCall`. */
export function brief(e: CstaEvent): string {
  const r = e as unknown as Record<string, unknown>;
  const name = e.type.replace(/Event$/, '');
  const key = PRIMARY[e.type];
  if (key !== undefined) {
    const parts = [name, conn(r[key] as ConnectionID), String(r['localConnectionInfo'] ?? '-')];
    if (r['cause'] !== undefined) parts.push(String(r['cause']));
    return parts.join(' ');
  }
  const device = (r['device'] ?? r['invokingDevice']) as ExtendedDeviceID | undefined;
  const rest = Object.entries(r)
    .filter(([k]) => !['type', 'edition', 'monitorCrossRefID', 'device', 'invokingDevice'].includes(k))
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return [name, text(device), ...rest].join(' ');
}

export function createLab(): Lab {
  const clock = manualClock();
  const exchange = new InProcessExchange();
  const stations: Station[] = [];
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 60; i++) {
      clock.tick(0);
      await new Promise<void>((r) => setImmediate(r));
    }
  };
  return {
    clock,
    exchange,
    settle,
    async station(ext, options = {}) {
      const signalling = exchange.connect(ext);
      const phone = new SimulatedPhone({ signalling, clock, ...options });
      const pair = fakeChannelPair();
      phone.attach(pair.b);
      const client = new CstaClient({ channel: pair.a, clock: manualClock() });
      const events: CstaEvent[] = [];
      client.on('event', (e) => events.push(e));
      const s: Station = { ext: typeof ext === 'string' ? ext : ext[0]!, device: phone.lines[0]!, phone, client, pair, events, monitorId: '' };
      stations.push(s);
      return s;
    },
    async close() {
      for (const s of stations) {
        await s.client.close();
        await s.phone.close();
      }
    },
  };
}

/** Starts a device monitor on the station's line 0. */
export async function monitor(s: Station, line = 0): Promise<string> {
  const res = await s.client.request({ type: 'MonitorStart', monitorObject: { deviceObject: s.phone.lines[line]! } });
  if (line === 0) s.monitorId = res.monitorCrossRefID;
  return res.monitorCrossRefID;
}

/** The events the station's controller saw since the last call, as `brief` lines. */
export function take(s: Station): string[] {
  return s.events.splice(0).map(brief);
}
