/**
 * The sip.js adapter's INFO handling, with sip.js running in Node (the `ws` package as its
 * WebSocket) through Kamailio over WebSocket (RFC 7118), controlled by our UDP UserAgent.
 *
 * sip.js answers an in-dialog INFO by itself when no delegate takes it (469 in the core, a bodiless
 * 200 in the api `Session`); the adapter must see every INFO and answer CSTA requests it does not
 * support with a CSTA error (ECMA-323 `CSTAErrorCode`, digest §4.1.6), never a silent 200.
 */
import { Registerer, RegistererState, UserAgent } from 'sip.js';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { acceptSipJsCstaChannels, type SipJsCstaChannel } from '../../../src/adapters/sipjs/index.js';
import { openSipCstaChannel } from '../../../src/node/sip-csta-channel.js';
import type { SipResponse } from '../../../src/sip/message/types.js';
import { CstaClient } from '../../../src/uacsta/client.js';
import { CstaServiceError } from '../../../src/uacsta/errors.js';
import { CstaServer } from '../../../src/uacsta/server.js';
import { hasKamailioWs, startKamailioWs, type RunningKamailioWs } from '../../kamailio/kamailio.js';
import { digestFor, station, userAgent } from '../kamailio/support.js';

const KAMAILIO_WS = hasKamailioWs();
const SKIP_NOTE = 'skipped only when kamailio with kamailio-websocket-modules is not installed';
const NS = 'http://www.ecma-international.org/standards/ecma-323/csta/ed3';
const RSS = `<RequestSystemStatus xmlns="${NS}"/>`;

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function until<T>(what: string, probe: () => T | undefined | false, ms = 5_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Kamailio (ws), a sip.js UserAgent registered as `carol`, and our UDP controller UA. */
async function setUp(onChannel: (channel: SipJsCstaChannel) => void): Promise<{ kam: RunningKamailioWs; controller: ReturnType<typeof userAgent>; appInvites: string[] }> {
  const kam = await startKamailioWs();
  cleanups.push(() => kam.stop());
  const g = globalThis as { WebSocket?: unknown };
  const before = g.WebSocket;
  g.WebSocket = WebSocket; // what a browser has natively
  cleanups.push(async () => {
    g.WebSocket = before;
  });
  const appInvites: string[] = [];
  const ua = new UserAgent({
    uri: UserAgent.makeURI(`sip:carol@127.0.0.1:${kam.udpPort}`)!,
    transportOptions: { server: `ws://127.0.0.1:${kam.wsPort}` },
    logLevel: 'error',
    delegate: { onInvite: (inv) => void appInvites.push(inv.request.getHeader('content-type') ?? '') },
  });
  acceptSipJsCstaChannels(ua, onChannel);
  await ua.start();
  cleanups.push(() => ua.stop());
  const registerer = new Registerer(ua);
  await registerer.register();
  await until('registered', () => registerer.state === RegistererState.Registered);

  const st = await station();
  cleanups.push(() => st.endpoint.close());
  const controller = userAgent(st, { pid: kam.pid, host: kam.host, port: kam.udpPort, algorithm: 'MD5', log: kam.log, stop: kam.stop }, 'ctl', digestFor('ctl', 'unused'));
  cleanups.push(() => controller.close());
  return { kam, controller, appInvites };
}

describe('sip.js adapter: every INFO is seen, unsupported CSTA gets a CSTA error', () => {
  it.skipIf(!KAMAILIO_WS)(`answers an unsupported request with CSTAErrorCode serviceNotSupported and records every INFO (${SKIP_NOTE})`, async () => {
    let channel: SipJsCstaChannel | undefined;
    const received: string[] = [];
    const { kam, controller, appInvites } = await setUp((c) => {
      channel = c;
      const server = new CstaServer({ channel: c, trace: (e) => e.type === 'received' && received.push(e.body) });
      server.handle('RequestSystemStatus', () => ({ type: 'RequestSystemStatusResponse', systemStatus: 'normal' }));
    });
    const ch = await openSipCstaChannel(controller, `sip:carol@127.0.0.1:${kam.udpPort}`, { body: RSS });
    expect(ch.establishedBody).toContain('<systemStatus>normal</systemStatus>');
    const client = new CstaClient({ channel: ch, invokeTimeoutMs: 5_000 });

    const error = await client.request({ type: 'SnapshotDevice', snapshotObject: 'carol' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CstaServiceError);
    expect((error as CstaServiceError).errorValue).toEqual({ operation: 'serviceNotSupported' });

    // not CSTA at all: 415 with Accept (RFC 3261 §21.4.13), not a 200
    const wrongType = await ch.dialog!.request('INFO', { body: '<x/>', contentType: 'application/xml' }).catch((e: { response?: SipResponse }) => e.response);
    expect(wrongType?.status).toBe(415);
    expect(wrongType?.headers['accept']).toEqual(['application/csta+xml']);

    // the adapter saw and answered each INFO itself
    expect(channel!.seen).toEqual([
      { method: 'INFO', status: 200 },
      { method: 'INFO', status: 415 },
    ]);
    expect(received).toHaveLength(2); // the INVITE's RequestSystemStatus and the SnapshotDevice
    expect(received[1]).toContain('<SnapshotDevice');
    // the uaCSTA INVITE never reached the app's Invitation delegate
    expect(appInvites).toEqual([]);
    await client.close();
    await until('BYE seen', () => channel!.state === 'Closed');
  }, 20_000);

  it.skipIf(!KAMAILIO_WS)(`holds an INFO that arrives before the handler is set, then answers it with the handler's CSTA response (${SKIP_NOTE})`, async () => {
    let channel: SipJsCstaChannel | undefined;
    const { kam, controller } = await setUp((c) => {
      channel = c;
    });
    // no handler yet: the bodiless INVITE is a session the adapter takes (Accept lists CSTA)
    const ch = await openSipCstaChannel(controller, `sip:carol@127.0.0.1:${kam.udpPort}`, { headers: { Accept: 'application/csta+xml' } });
    const client = new CstaClient({ channel: ch, invokeTimeoutMs: 5_000 });
    const pending = client.request({ type: 'GetDoNotDisturb', device: 'carol' });
    await until('the INFO held by the channel', () => channel !== undefined && channel.state === 'Open' && channel.session !== undefined);
    await new Promise((r) => setTimeout(r, 200)); // the INFO is in flight or held: nothing answered it
    expect(channel!.seen).toEqual([]);
    const server = new CstaServer({ channel: channel! });
    server.handle('GetDoNotDisturb', () => ({ type: 'GetDoNotDisturbResponse', doNotDisturbOn: true }));
    expect(await pending).toMatchObject({ type: 'GetDoNotDisturbResponse', doNotDisturbOn: true });
    expect(channel!.seen).toEqual([{ method: 'INFO', status: 200 }]);
    await client.close();
  }, 20_000);
});
