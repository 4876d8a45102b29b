/**
 * The examples' lab: simulated phones on one UDP socket of 127.0.0.1 (what `uacsta phone` runs),
 * and a controller user agent on a socket of its own. Every example starts one when it is given
 * no `--target`, so that it runs alone: `npx tsx examples/make-call-and-watch.ts`.
 */

import { createSocket } from 'node:dgram';
import { SimulatedPhone, SipEndpoint, SipPhoneHost, UdpTransport, UserAgent } from '../src/index.js';

/** One simulated phone of the lab. */
export interface LabPhone {
  readonly extension: string;
  /** `sip:EXT@127.0.0.1`: the device ID its events carry. */
  readonly deviceId: string;
  /** `sip:EXT@127.0.0.1:PORT`: where a controller opens its uaCSTA session. */
  readonly contact: string;
  /** The phone itself: its call model and its lab levers (`phone.control.dial('1001')`). */
  readonly phone: SimulatedPhone;
}

/** Simulated phones on one socket. */
export interface Lab {
  readonly phones: readonly LabPhone[];
  phone(extension: string): LabPhone;
  close(): Promise<void>;
}

/**
 * Starts phones with the given extensions on `udp:127.0.0.1:0`; real SIP calls between them
 * (INVITE with SDP; no RTP).
 */
export async function startLab(extensions: readonly string[], options: { autoAnswer?: readonly string[] } = {}): Promise<Lab> {
  const host = await SipPhoneHost.listen('udp:127.0.0.1:0', { media: 'none' });
  const phones: LabPhone[] = [];
  for (const extension of extensions) {
    let phone: SimulatedPhone | undefined;
    const sip = host.addPhone({ extension, onCstaChannel: (channel) => phone?.attach(channel) });
    phone = new SimulatedPhone({ signalling: sip.signalling, autoAnswer: options.autoAnswer?.includes(extension) ?? false });
    phones.push({ extension, deviceId: sip.deviceId, contact: sip.contact, phone });
  }
  return {
    phones,
    phone(extension) {
      const p = phones.find((x) => x.extension === extension);
      if (p === undefined) throw new Error(`no phone ${extension} in the lab`);
      return p;
    },
    async close() {
      await Promise.allSettled(phones.map((p) => p.phone.close()));
      await host.close();
    },
  };
}

/**
 * The local address that reaches `target`'s host (a connected UDP socket; nothing is sent), so
 * that the Contact we put in the INVITE is one the peer can reach.
 */
async function localAddressFor(target: string): Promise<string> {
  const host = /^sips?:(?:[^@]*@)?([^:;>]+)/i.exec(target)?.[1];
  if (host === undefined || host === '127.0.0.1' || host === 'localhost') return '127.0.0.1';
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => (s.close(), resolve('127.0.0.1')));
    s.connect(5060, host, () => {
      const address = s.address().address;
      s.close();
      resolve(address);
    });
  });
}

/** A controller's user agent on its own UDP socket: on 127.0.0.1, or on the address that reaches `target`. */
export async function controllerAgent(target?: string): Promise<{ ua: UserAgent; close(): Promise<void> }> {
  const host = target === undefined ? '127.0.0.1' : await localAddressFor(target);
  const transport = await UdpTransport.listen({ host, port: 0 });
  const endpoint = new SipEndpoint({ transports: [transport] });
  const ua = new UserAgent({
    endpoint,
    aor: `sip:controller@${host}`,
    contact: `sip:controller@${host}:${transport.local.port}`,
  });
  return {
    ua,
    async close() {
      await ua.close();
      await endpoint.close();
    },
  };
}

/** The value of `--name VALUE` in `process.argv`, or `undefined`. */
export function option(name: string): string | undefined {
  const args = process.argv.slice(2);
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

/** Whether `--name` is in `process.argv`. */
export function flag(name: string): boolean {
  return process.argv.slice(2).includes(`--${name}`);
}

/** Resolves with what `promise` resolves with, or rejects naming `what` when it takes longer than `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once `check()` holds (looked at every 10 ms); rejects naming `what` after `ms`. */
export async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
