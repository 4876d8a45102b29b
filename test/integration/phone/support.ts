/**
 * Helpers of the simulated phone's SIP tests: a host on 127.0.0.1 port 0, inputs recorded per
 * phone, and waiting for a condition with a bound.
 */
import type { CallSignallingInput } from '../../../src/phone/call-signalling.js';
import { SipPhoneHost, type SipPhoneHostOptions } from '../../../src/phone/sip/sip-phone-host.js';

/** Resolves once `check()` holds; rejects after `ms` with `what`. */
export async function until(check: () => boolean, what = 'condition', ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A host on `udp:127.0.0.1:0`. */
export function udpHost(options: Omit<SipPhoneHostOptions, 'endpoint' | 'ownsEndpoint'> = {}): Promise<SipPhoneHost> {
  return SipPhoneHost.listen('udp:127.0.0.1:0', options);
}

/** Records the inputs a signalling delivers. */
export function record(signalling: { onInput(r: (i: CallSignallingInput) => void): () => void }): CallSignallingInput[] {
  const inputs: CallSignallingInput[] = [];
  signalling.onInput((i) => inputs.push(i));
  return inputs;
}

/** The input types, in order. */
export const types = (inputs: readonly CallSignallingInput[]): string[] => inputs.map((i) => i.type);

import { openSipCstaChannel } from '../../../src/node/sip-csta-channel.js';
import { SimulatedPhone, type SimulatedPhoneOptions } from '../../../src/phone/simulator.js';
import type { SipPhone } from '../../../src/phone/sip/sip-phone-host.js';
import { SipEndpoint } from '../../../src/sip/endpoint.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import { UserAgent } from '../../../src/sip/ua/user-agent.js';
import type { DigestClient } from '../../../src/sip/auth/digest-client.js';
import { CstaClient, type CstaEvent } from '../../../src/uacsta/client.js';
import { brief } from '../../unit/phone/harness.js';

/** A controller: our UA on its own UDP socket, opening CSTA sessions with `openSipCstaChannel`. */
export interface Controller {
  readonly ua: UserAgent;
  readonly endpoint: SipEndpoint;
  /** The first line of every SIP message the controller received (`SIP/2.0 401 Unauthorized`, `INFO sip:…`). */
  readonly received: string[];
  /** Opens a session to `target` (the phone's Contact, or its AoR through a proxy). */
  session(target: string): Promise<{ client: CstaClient; events: CstaEvent[] }>;
  close(): Promise<void>;
}

export async function controller(options: { outboundProxy?: string; digest?: DigestClient } = {}): Promise<Controller> {
  const transport = await UdpTransport.listen({ host: '127.0.0.1', port: 0 });
  const received: string[] = [];
  const decoder = new TextDecoder();
  const endpoint = new SipEndpoint({
    transports: [transport],
    trace: (e) => {
      if (e.type === 'received') received.push(decoder.decode(e.bytes.subarray(0, 120)).split('\r\n')[0]!);
    },
  });
  const ua = new UserAgent({
    endpoint,
    aor: 'sip:cti@127.0.0.1',
    contact: `sip:cti@127.0.0.1:${transport.local.port}`,
    ...(options.outboundProxy === undefined ? {} : { outboundProxy: options.outboundProxy }),
    ...(options.digest === undefined ? {} : { digest: options.digest }),
  });
  const clients: CstaClient[] = [];
  return {
    ua,
    endpoint,
    received,
    async session(target) {
      const channel = await openSipCstaChannel(ua, target);
      const client = new CstaClient({ channel });
      clients.push(client);
      const events: CstaEvent[] = [];
      client.on('event', (e) => events.push(e));
      return { client, events };
    },
    async close() {
      for (const c of clients) await c.close().catch(() => undefined);
      await ua.close();
      await endpoint.close();
    },
  };
}

/** A simulated phone of `host`, controlled over SIP by `ctl` with a monitor on its device. */
export interface SipStation {
  readonly sip: SipPhone;
  readonly phone: SimulatedPhone;
  readonly client: CstaClient;
  readonly events: CstaEvent[];
  readonly device: string;
}

export async function sipStation(
  host: SipPhoneHost,
  ctl: Controller,
  extension: string,
  options: Partial<SimulatedPhoneOptions> & { credentials?: { username: string; password: string }; target?: string } = {},
): Promise<SipStation> {
  let phone: SimulatedPhone | undefined;
  const sip = host.addPhone({
    extension,
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    onCstaChannel: (ch) => phone!.attach(ch),
  });
  phone = new SimulatedPhone({ signalling: sip.signalling, ...options });
  // through a registrar-proxy the session's INVITE finds the phone only once it has registered
  await sip.registration?.register();
  const { client, events } = await ctl.session(options.target ?? sip.contact);
  await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: sip.deviceId } });
  return { sip, phone, client, events, device: sip.deviceId };
}

/** The events seen so far as `brief` lines (forgotten once taken). */
export function take(s: { events: CstaEvent[] }): string[] {
  return s.events.splice(0).map(brief);
}
