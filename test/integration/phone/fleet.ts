/**
 * A fleet of simulated phones for the scale test and the phone bench: N phones on one UDP socket
 * (`SipPhoneHost`, `media: 'none'`, auto-answer), optionally registered with digest to our own
 * `Registrar` on a socket of its own; and a controller (our `UserAgent` on a third socket) that
 * opens one uaCSTA session and one device monitor per phone and drives calls between them,
 * counting every event each monitor receives per call.
 */
import { openSipCstaChannel } from '../../../src/node/sip-csta-channel.js';
import { SimulatedPhone } from '../../../src/phone/simulator.js';
import { SipPhoneHost } from '../../../src/phone/sip/sip-phone-host.js';
import { DigestServer } from '../../../src/sip/auth/digest-server.js';
import { SipEndpoint } from '../../../src/sip/endpoint.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import { Registrar } from '../../../src/sip/ua/registrar.js';
import { UserAgent } from '../../../src/sip/ua/user-agent.js';
import { CstaClient, type CstaEvent } from '../../../src/uacsta/client.js';

export const FLEET_PASSWORD = 'fleet-secret';

/** Options of {@link startFleet}. */
export interface FleetOptions {
  readonly count: number;
  /** @defaultValue 10000 */
  readonly firstExtension?: number;
  /** Register every phone with digest to a `Registrar` of this process. @defaultValue true */
  readonly register?: boolean;
  /**
   * Register to this registrar (`sip:127.0.0.1:PORT`, one from {@link startRegistrar}, in
   * another process) instead of one of this process, so its bindings do not count as the
   * phones' memory.
   */
  readonly registrar?: string;
}

/** Our `Registrar` on a UDP socket of its own, accepting every user with {@link FLEET_PASSWORD}. */
export async function startRegistrar(): Promise<{ readonly uri: string; readonly registrar: Registrar; close(): Promise<void> }> {
  const transport = await UdpTransport.listen({ host: '127.0.0.1', port: 0 });
  const endpoint = new SipEndpoint({ transports: [transport] });
  const registrar = new Registrar({ auth: new DigestServer({ realm: 'fleet.lab', lookup: () => ({ password: FLEET_PASSWORD }) }) });
  registrar.attach(endpoint);
  return {
    uri: `sip:127.0.0.1:${transport.local.port}`,
    registrar,
    close: async () => {
      registrar.close();
      await endpoint.close();
    },
  };
}

/** The phone side: phones, their host and the registrar. */
export interface Fleet {
  readonly host: SipPhoneHost;
  readonly phones: readonly SimulatedPhone[];
  readonly extensions: readonly string[];
  /** Port of the phones' socket on 127.0.0.1. */
  readonly port: number;
  /** Bindings the registrar holds (one per registered phone). */
  registered(): number;
  close(): Promise<void>;
}

/** Starts `count` phones on one socket; with `register`, each registers (digest) before it resolves. */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const first = options.firstExtension ?? 10_000;
  const register = options.register ?? true;
  const own = register && options.registrar === undefined ? await startRegistrar() : undefined;
  const registrarUri = register ? (options.registrar ?? own!.uri) : undefined;
  const host = await SipPhoneHost.listen('udp:127.0.0.1:0', {
    media: 'none',
    ...(registrarUri === undefined ? {} : { registrar: registrarUri, routeViaRegistrar: false }),
  });
  const phones: SimulatedPhone[] = [];
  const extensions: string[] = [];
  for (let i = 0; i < options.count; i++) {
    const extension = String(first + i);
    let phone: SimulatedPhone | undefined;
    const sip = host.addPhone({
      extension,
      ...(register ? { credentials: { username: extension, password: FLEET_PASSWORD } } : {}),
      onCstaChannel: (channel) => phone!.attach(channel),
    });
    phone = new SimulatedPhone({ signalling: sip.signalling, autoAnswer: true });
    phones.push(phone);
    extensions.push(extension);
  }
  const failed = await host.register(100);
  if (failed.length > 0) throw new Error(`${failed.length} phones failed to register (${failed.slice(0, 3).join(', ')}…)`);
  return {
    host,
    phones,
    extensions,
    port: host.listenAddress.port,
    registered: () =>
      own === undefined ? 0 : extensions.filter((e) => own.registrar.lookup(`sip:${e}@${own.uri.slice(4)}`).length > 0).length,
    close: async () => {
      await Promise.allSettled(phones.map((p) => p.close()));
      await host.close();
      await own?.close();
    },
  };
}

/** Events a monitor received, by type. */
export type EventCounts = Record<string, number>;

/** One phone as the controller sees it. */
export interface FleetStation {
  readonly extension: string;
  readonly device: string;
  readonly client: CstaClient;
  /** Events since the last {@link FleetController.call} began, by type. */
  counts: EventCounts;
  /** Every event seen, by type. */
  readonly total: EventCounts;
  waiters: Array<() => boolean>;
}

/** The controller side. */
export interface FleetController {
  readonly ua: UserAgent;
  readonly stations: readonly FleetStation[];
  /**
   * One call from `a` to `b`: MakeCall, Established at both monitors, ClearConnection,
   * ConnectionCleared at both; resolves with the events each monitor received for it.
   */
  call(a: FleetStation, b: FleetStation): Promise<{ caller: EventCounts; callee: EventCounts }>;
  /** One CSTA round trip on `s` (GetDoNotDisturb), the anchor of the call rate. */
  invoke(s: FleetStation): Promise<void>;
  close(): Promise<void>;
}

const STEP_TIMEOUT_MS = 30_000;

function waitFor(s: FleetStation, check: () => boolean, what: string): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      s.waiters = s.waiters.filter((w) => w !== waiter);
      reject(new Error(`${s.extension}: timed out waiting for ${what} (seen ${JSON.stringify(s.counts)})`));
    }, STEP_TIMEOUT_MS);
    const waiter = (): boolean => {
      if (!check()) return false;
      clearTimeout(timer);
      resolve();
      return true;
    };
    s.waiters.push(waiter);
  });
}

/** Runs `fn` over `items`, `concurrency` at a time. */
export async function eachLimited<T>(items: readonly T[], concurrency: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < items.length; i = next++) await fn(items[i]!, i);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/**
 * Opens a session and a monitor on each of `extensions` at `127.0.0.1:port`, `concurrency`
 * sessions being opened at a time.
 */
export async function startFleetController(port: number, extensions: readonly string[], concurrency = 100): Promise<FleetController> {
  const transport = await UdpTransport.listen({ host: '127.0.0.1', port: 0 });
  const endpoint = new SipEndpoint({ transports: [transport] });
  const ua = new UserAgent({ endpoint, aor: 'sip:cti@127.0.0.1', contact: `sip:cti@127.0.0.1:${transport.local.port}` });
  const stations: FleetStation[] = new Array(extensions.length);
  await eachLimited(extensions, concurrency, async (extension, i) => {
    const channel = await openSipCstaChannel(ua, `sip:${extension}@127.0.0.1:${port}`);
    const client = new CstaClient({ channel });
    const device = `sip:${extension}@127.0.0.1`;
    const s: FleetStation = { extension, device, client, counts: {}, total: {}, waiters: [] };
    client.on('event', (e: CstaEvent) => {
      s.counts[e.type] = (s.counts[e.type] ?? 0) + 1;
      s.total[e.type] = (s.total[e.type] ?? 0) + 1;
      if (s.waiters.length > 0) s.waiters = s.waiters.filter((w) => !w());
    });
    await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: device } });
    stations[i] = s;
  });
  const has = (s: FleetStation, type: string) => () => (s.counts[type] ?? 0) >= 1;
  return {
    ua,
    stations,
    async call(a, b) {
      a.counts = {};
      b.counts = {};
      const made = await a.client.request({ type: 'MakeCall', callingDevice: a.device, calledDirectoryNumber: b.extension, autoOriginate: 'doNotPrompt' });
      await waitFor(a, has(a, 'EstablishedEvent'), 'Established at the caller');
      await waitFor(b, has(b, 'EstablishedEvent'), 'Established at the callee');
      await a.client.request({ type: 'ClearConnection', connectionToBeCleared: { callID: made.callingDevice.callID!, deviceID: a.device } });
      await waitFor(a, has(a, 'ConnectionClearedEvent'), 'ConnectionCleared at the caller');
      await waitFor(b, has(b, 'ConnectionClearedEvent'), 'ConnectionCleared at the callee');
      return { caller: { ...a.counts }, callee: { ...b.counts } };
    },
    async invoke(s) {
      await s.client.request({ type: 'GetDoNotDisturb', device: s.device });
    },
    async close() {
      await eachLimited(stations.filter((s) => s !== undefined), 200, (s) => s.client.close().catch(() => undefined));
      await ua.close();
      await endpoint.close();
    },
  };
}
