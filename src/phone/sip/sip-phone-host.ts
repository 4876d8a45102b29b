/**
 * A SIP host for many simulated phones on one socket: each phone has its own extension, user
 * agent, Contact (`sip:EXT@HOST:PORT`), calls ({@link SipCallSignalling}) and uaCSTA sessions
 * (ECMA TR/87 §7, taken on the same address as its calls), and optionally registers with a
 * registrar using digest credentials (RFC 3261 §10.2, RFC 7616).
 *
 * @remarks
 * The endpoint's requests reach the phone named by the Request-URI's user part
 * ({@link EndpointRouter}). With a registrar, calls to dialled numbers go to the registrar's
 * domain and every phone sends its initial requests through it (outbound proxy, RFC 3261
 * §8.1.2), so a record-routing proxy stays in the path; without one, numbers are called at the
 * host's own address, so phones of one host call each other directly.
 */

import { UaCstaError } from '../../errors.js';
import { cstaInviteHandler, type SipCstaChannel } from '../../node/sip-csta-channel.js';
import { DigestClient } from '../../sip/auth/digest-client.js';
import { SipEndpoint } from '../../sip/endpoint.js';
import { UdpTransport } from '../../sip/transport/node/udp.js';
import { TcpTransport } from '../../sip/transport/node/tcp.js';
import type { Transport } from '../../sip/transport/transport.js';
import { RegisterClient, type RegisterClientEvent } from '../../sip/ua/register-client.js';
import { UserAgent } from '../../sip/ua/user-agent.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { createIdGenerator, type IdGenerator } from '../../util/ids.js';
import { EndpointRouter, uriUser } from './endpoint-router.js';
import { phoneContact, phoneDeviceId, uriHost, type DialPlan } from './phone-address.js';
import type { AudioSource } from './rtp-packet.js';
import { SipCallSignalling, type SipCallLogEvent } from './sip-call-signalling.js';

/** A listen address as the CLI writes it: `udp:127.0.0.1:5060`. */
export interface ListenAddress {
  readonly protocol: 'udp' | 'tcp';
  readonly host: string;
  readonly port: number;
}

/** Reads `udp:HOST:PORT` or `tcp:HOST:PORT` (IPv6 host in brackets); `undefined` when it is not one. */
export function parseListenAddress(text: string): ListenAddress | undefined {
  const m = /^(udp|tcp):(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(text.trim());
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const host = m[2]!.startsWith('[') ? m[2]!.slice(1, -1) : m[2]!;
  return { protocol: m[1] as 'udp' | 'tcp', host, port };
}

/** What the host logs (the CLI prints it). */
export type SipPhoneHostLogEvent =
  | { readonly type: 'session-open'; readonly extension: string; readonly callId: string }
  | { readonly type: 'session-closed'; readonly extension: string; readonly callId: string; readonly reason: string }
  | ({ readonly extension: string } & SipCallLogEvent)
  | ({ readonly type: 'register'; readonly extension: string } & { readonly event: RegisterClientEvent });

/** Options of {@link SipPhoneHost}. */
export interface SipPhoneHostOptions {
  /** The endpoint the phones share; the host takes it over as its transaction user. */
  readonly endpoint: SipEndpoint;
  /** Closes the endpoint with the host. @defaultValue false */
  readonly ownsEndpoint?: boolean;
  /** @defaultValue systemClock */
  readonly clock?: Clock;
  /** @defaultValue createIdGenerator() */
  readonly ids?: IdGenerator;
  /**
   * The registrar (`sip:HOST:PORT`): phones with credentials register there, dialled numbers
   * go to its domain and initial requests through it.
   */
  readonly registrar?: string;
  /** Asked registration interval. @defaultValue 3600 */
  readonly expiresSec?: number;
  /** What calls carry as RTP. @defaultValue `'none'` */
  readonly media?: AudioSource | 'none';
  /** How digits go. @defaultValue `'rfc4733'` */
  readonly dtmf?: 'rfc4733' | 'info';
  readonly log?: (event: SipPhoneHostLogEvent) => void;
}

/** Options of {@link SipPhoneHost.addPhone}. */
export interface SipPhoneOptions {
  /** The phone's extension: the user part of its device ID and Contact. */
  readonly extension: string;
  readonly displayName?: string;
  /** Digest credentials for REGISTER and for challenged INVITEs (any realm). */
  readonly credentials?: { readonly username: string; readonly password: string };
  /** Takes each uaCSTA session opened to the phone (bind a `CstaServer` to it at once). */
  readonly onCstaChannel?: (channel: SipCstaChannel) => void;
}

/** One phone of a host. */
export interface SipPhone {
  readonly extension: string;
  /** `sip:EXT@HOST` (ECMA-269 device ID as events carry it). */
  readonly deviceId: string;
  /** `sip:EXT@HOST:PORT`. */
  readonly contact: string;
  /** The address of record: `sip:EXT@registrar-host` with a registrar, else the device ID. */
  readonly aor: string;
  readonly ua: UserAgent;
  readonly signalling: SipCallSignalling;
  /** The registration, when the phone has credentials and the host a registrar. */
  readonly registration: RegisterClient | undefined;
}

/**
 * Many phones on one SIP endpoint.
 *
 * @example
 * const host = await SipPhoneHost.listen('udp:127.0.0.1:5070');
 * const phone = host.addPhone({ extension: '1000', onCstaChannel: (ch) => serve(ch) });
 * const leg = phone.signalling.place({ to: '1001' });
 * await host.close();
 */
export class SipPhoneHost {
  readonly #endpoint: SipEndpoint;
  readonly #owns: boolean;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #router: EndpointRouter;
  readonly #registrar: string | undefined;
  readonly #expiresSec: number | undefined;
  readonly #media: AudioSource | 'none';
  readonly #dtmf: 'rfc4733' | 'info';
  readonly #log: ((event: SipPhoneHostLogEvent) => void) | undefined;
  readonly #phones = new Map<string, SipPhone>();
  readonly #transport: Transport;
  #closed = false;

  /** @throws `ERR_INVALID_ARG` for an endpoint without transports or a bad registrar URI. */
  constructor(options: SipPhoneHostOptions) {
    const transport = options.endpoint.transports[0];
    if (transport === undefined) throw new UaCstaError('ERR_INVALID_ARG', 'the endpoint has no transport');
    if (options.registrar !== undefined && !/^sips?:[^@]+$/i.test(options.registrar))
      throw new UaCstaError('ERR_INVALID_ARG', 'registrar must be a sip: URI without user part (sip:host:port)');
    this.#endpoint = options.endpoint;
    this.#owns = options.ownsEndpoint ?? false;
    this.#transport = transport;
    this.#clock = options.clock ?? systemClock;
    this.#ids = options.ids ?? createIdGenerator();
    this.#router = new EndpointRouter(this.#endpoint, this.#ids);
    this.#registrar = options.registrar;
    this.#expiresSec = options.expiresSec;
    this.#media = options.media ?? 'none';
    this.#dtmf = options.dtmf ?? 'rfc4733';
    this.#log = options.log;
  }

  /**
   * Listens on `udp:HOST:PORT` or `tcp:HOST:PORT` (port 0 picks a free one) and makes a host
   * that owns the endpoint.
   */
  static async listen(
    listen: string | ListenAddress,
    options: Omit<SipPhoneHostOptions, 'endpoint' | 'ownsEndpoint'> = {},
  ): Promise<SipPhoneHost> {
    const address = typeof listen === 'string' ? parseListenAddress(listen) : listen;
    if (address === undefined) throw new UaCstaError('ERR_INVALID_ARG', `not a listen address: ${String(listen)}`);
    const transport =
      address.protocol === 'udp'
        ? await UdpTransport.listen({ host: address.host, port: address.port })
        : await TcpTransport.listen({ host: address.host, port: address.port });
    const endpoint = new SipEndpoint({
      transports: [transport],
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.ids === undefined ? {} : { ids: options.ids }),
    });
    return new SipPhoneHost({ ...options, endpoint, ownsEndpoint: true });
  }

  /** The transport protocol, host and port the phones listen on. */
  get listenAddress(): ListenAddress {
    const { host, port } = this.#transport.local;
    return { protocol: this.#transport.protocol === 'tcp' ? 'tcp' : 'udp', host, port };
  }

  get endpoint(): SipEndpoint {
    return this.#endpoint;
  }

  /** The phones, in the order added. */
  get phones(): readonly SipPhone[] {
    return [...this.#phones.values()];
  }

  /** The phone of `extension` (or of a device ID naming it). */
  phone(extensionOrDevice: string): SipPhone | undefined {
    return this.#phones.get(extensionOrDevice) ?? this.#phones.get(uriUser(extensionOrDevice) ?? '');
  }

  /** Where dialled numbers go: the registrar's host and port, else ours. */
  get dialPlan(): DialPlan {
    const registrar = this.#registrar;
    if (registrar !== undefined) return { domain: registrar.replace(/^sips?:/i, '').split(';')[0]! };
    const { host, port } = this.#transport.local;
    return { domain: `${uriHost(host)}:${port}` };
  }

  /**
   * Adds a phone. It takes calls and uaCSTA sessions at once; {@link SipPhoneHost.register}
   * registers it.
   *
   * @throws `ERR_INVALID_ARG` for a bad or taken extension, `ERR_INVALID_STATE` once closed.
   */
  addPhone(options: SipPhoneOptions): SipPhone {
    if (this.#closed) throw new UaCstaError('ERR_INVALID_STATE', 'the host is closed');
    const ext = options.extension;
    if (typeof ext !== 'string' || !/^[+]?[0-9A-Za-z._-]{1,64}$/.test(ext))
      throw new UaCstaError('ERR_INVALID_ARG', `not an extension: ${String(ext)}`);
    if (this.#phones.has(ext)) throw new UaCstaError('ERR_INVALID_ARG', `extension ${ext} exists`);
    const { host, port } = this.#transport.local;
    const deviceId = phoneDeviceId(ext, host);
    const contact = phoneContact(ext, host, port, this.#transport.protocol);
    const registrar = this.#registrar;
    const aor = registrar === undefined ? deviceId : `sip:${ext}@${this.dialPlan.domain}`;
    const credentials = options.credentials;
    const digest =
      credentials === undefined
        ? undefined
        : new DigestClient({ credentials: () => credentials, ids: this.#ids });
    const ua = new UserAgent({
      endpoint: this.#router.viewFor(ext),
      aor,
      contact,
      clock: this.#clock,
      ids: this.#ids,
      accept: ['application/sdp', 'application/csta+xml'],
      ...(options.displayName === undefined ? {} : { displayName: options.displayName }),
      ...(digest === undefined ? {} : { digest }),
      ...(registrar === undefined ? {} : { outboundProxy: registrar }),
    });
    const log = this.#log;
    const onChannel = options.onCstaChannel;
    const signalling = new SipCallSignalling({
      ua,
      address: deviceId,
      mediaHost: host,
      dialPlan: this.dialPlan,
      media: this.#media,
      dtmf: this.#dtmf,
      clock: this.#clock,
      onOtherInvite: cstaInviteHandler((channel) => {
        const callId = channel.dialog?.callId ?? '';
        log?.({ type: 'session-open', extension: ext, callId });
        channel.onClosed((c) => log?.({ type: 'session-closed', extension: ext, callId, reason: c.reason }));
        if (onChannel !== undefined) onChannel(channel);
      }),
      ...(log === undefined ? {} : { log: (e: SipCallLogEvent) => log({ extension: ext, ...e }) }),
    });
    const registration =
      registrar === undefined || digest === undefined
        ? undefined
        : new RegisterClient({
            endpoint: this.#endpoint,
            registrar,
            aor,
            contact,
            digest,
            clock: this.#clock,
            ids: this.#ids,
            ...(this.#expiresSec === undefined ? {} : { expiresSec: this.#expiresSec }),
          });
    registration?.on((event) => log?.({ type: 'register', extension: ext, event }));
    const phone: SipPhone = { extension: ext, deviceId, contact, aor, ua, signalling, registration };
    this.#phones.set(ext, phone);
    return phone;
  }

  /**
   * Registers every phone that has a registration, `concurrency` at a time; resolves with the
   * extensions that failed (empty when all registered).
   */
  async register(concurrency = 50): Promise<string[]> {
    const queue = this.phones.filter((p) => p.registration !== undefined);
    const failed: string[] = [];
    const worker = async (): Promise<void> => {
      for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
        try {
          await p.registration!.register();
        } catch {
          failed.push(p.extension);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
    return failed;
  }

  /**
   * Ends every call and session (BYE), removes registrations (Expires: 0) and, when it owns
   * it, closes the endpoint. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const phones = this.phones;
    await Promise.allSettled(phones.map((p) => p.signalling.close()));
    await Promise.allSettled(phones.map((p) => p.ua.close()));
    await Promise.allSettled(
      phones.map(async (p) => {
        if (p.registration?.state === 'Registered') await p.registration.unregister();
        p.registration?.close();
      }),
    );
    this.#router.close();
    if (this.#owns) await this.#endpoint.close();
  }
}
