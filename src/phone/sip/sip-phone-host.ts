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
import { acceptNotifyCstaChannels, UACSTA_EVENT_PACKAGE, type NotifyCstaChannel } from '../../node/notify-csta-channel.js';
import { cstaInviteHandler, type SipCstaChannel } from '../../node/sip-csta-channel.js';
import { DigestClient } from '../../sip/auth/digest-client.js';
import { DigestServer } from '../../sip/auth/digest-server.js';
import { SipEndpoint } from '../../sip/endpoint.js';
import { UdpTransport } from '../../sip/transport/node/udp.js';
import { TcpTransport } from '../../sip/transport/node/tcp.js';
import type { Transport } from '../../sip/transport/transport.js';
import { RegisterClient, type RegisterClientEvent } from '../../sip/ua/register-client.js';
import { UserAgent, type InviteHandler, type RequestAnswer } from '../../sip/ua/user-agent.js';
import type { SipRequest } from '../../sip/message/types.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { createIdGenerator, type IdGenerator } from '../../util/ids.js';
import { EndpointRouter, uriUser } from './endpoint-router.js';
import { phoneContact, phoneDeviceId, uriHost, type DialPlan } from './phone-address.js';
import type { CstaChallenge, OutOfDialogCsta } from '../profiles.js';
import type { AudioSource } from './rtp-packet.js';
import { SipCallSignalling, type SipCallLogEvent, type SipLineBinding } from './sip-call-signalling.js';

/** Most lines one phone may have. */
export const MAX_LINES_PER_PHONE = 16;

/** `host:port` of a registrar URI. */
const registrarDomain = (registrar: string): string => registrar.replace(/^sips?:/i, '').split(';')[0]!;

const ACCEPT: readonly string[] = ['application/sdp', 'application/csta+xml'];

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
  | { readonly type: 'session-open'; readonly extension: string; readonly callId: string; readonly outOfDialog: string }
  | { readonly type: 'challenge'; readonly extension: string; readonly method: string; readonly status: number; readonly reason: string }
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
  /**
   * Whether the registrar is also the proxy calls go through (Kamailio, a PBX). `false` for a
   * registrar that only registers (our `Registrar`): calls to numbers then go to the host's own
   * address, as without a registrar. @defaultValue true
   */
  readonly routeViaRegistrar?: boolean;
  /** Asked registration interval. @defaultValue 3600 */
  readonly expiresSec?: number;
  /** What calls carry as RTP. @defaultValue `'none'` */
  readonly media?: AudioSource | 'none';
  /** How digits go. @defaultValue `'rfc4733'` */
  readonly dtmf?: 'rfc4733' | 'info';
  readonly log?: (event: SipPhoneHostLogEvent) => void;
}

/** Digest credentials: a user name and password. */
export interface SipCredentials {
  readonly username: string;
  readonly password: string;
}

/** Options of {@link SipPhoneHost.addPhone}. */
export interface SipPhoneOptions {
  /** The phone's extension: the user part of its device ID and Contact (line 0). */
  readonly extension: string;
  readonly displayName?: string;
  /**
   * Digest credentials for REGISTER and for challenged INVITEs (any realm), and the ones the
   * phone asks of a controller when `challenge` is on. A function gives each line's (its
   * argument is the line's extension).
   */
  readonly credentials?: SipCredentials | ((lineExtension: string) => SipCredentials);
  /**
   * Lines (SIP accounts) of the phone: line 0 is `extension`, line N (N ≥ 1) is `EXT-(N+1)`
   * (`1000`, `1000-2`), each with its own Contact, registration and device ID, as a multi-line
   * desk phone has one account per line key (digest §1.5 item 8). @defaultValue 1
   */
  readonly lines?: number;
  /**
   * Digest-challenges the controller (digest §7.11, Snom `csta_challenge`): `invite` answers
   * the CSTA session's INVITE 401 until it carries the phone's credentials, `every-request`
   * also each INFO of the session. Needs `credentials`. @defaultValue 'none'
   */
  readonly challenge?: CstaChallenge;
  /**
   * CSTA outside an INVITE dialog (digest §1.1, §1.10): `accept` serves stand-alone NOTIFYs
   * with `Event: uaCSTA` as sessions, `reject-481` answers them 481 (Snom), `ignore` leaves
   * the user agent's default (405 for NOTIFY, 481 for an out-of-dialog INFO). @defaultValue 'ignore'
   */
  readonly outOfDialogCsta?: OutOfDialogCsta;
  /** Takes each uaCSTA session opened to the phone (bind a `CstaServer` to it at once). */
  readonly onCstaChannel?: (channel: SipCstaChannel | NotifyCstaChannel) => void;
}

/** One line (SIP account) of a phone. */
export interface SipPhoneLine {
  readonly index: number;
  /** `1000`, `1000-2`, … */
  readonly extension: string;
  readonly deviceId: string;
  readonly contact: string;
  readonly aor: string;
  readonly ua: UserAgent;
  readonly registration: RegisterClient | undefined;
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
  /** Every line, line 0 (the fields above) first. */
  readonly lines: readonly SipPhoneLine[];
}

/** Realm of the digest challenges a phone sends its controller. */
export const PHONE_CHALLENGE_REALM = 'uacsta-phone';

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
  readonly #viaRegistrar: boolean;
  readonly #expiresSec: number | undefined;
  readonly #media: AudioSource | 'none';
  readonly #dtmf: 'rfc4733' | 'info';
  readonly #log: ((event: SipPhoneHostLogEvent) => void) | undefined;
  readonly #phones = new Map<string, SipPhone>();
  /** Every line's extension → its phone. */
  readonly #byLine = new Map<string, SipPhone>();
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
    this.#viaRegistrar = options.registrar !== undefined && options.routeViaRegistrar !== false;
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

  /** How many lines (SIP accounts) all phones have together. */
  get lineCount(): number {
    return this.#byLine.size;
  }

  /** The phones, in the order added. */
  get phones(): readonly SipPhone[] {
    return [...this.#phones.values()];
  }

  /** The phone of `extension` (or of a device ID naming it). */
  phone(extensionOrDevice: string): SipPhone | undefined {
    return this.#byLine.get(extensionOrDevice) ?? this.#byLine.get(uriUser(extensionOrDevice) ?? '');
  }

  /** Where dialled numbers go: the registrar's host and port, else ours. */
  get dialPlan(): DialPlan {
    const registrar = this.#registrar;
    if (registrar !== undefined && this.#viaRegistrar) return { domain: registrarDomain(registrar) };
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
    const lineCount = options.lines ?? 1;
    if (!Number.isInteger(lineCount) || lineCount < 1 || lineCount > MAX_LINES_PER_PHONE)
      throw new UaCstaError('ERR_INVALID_ARG', `lines must be a whole number from 1 to ${MAX_LINES_PER_PHONE}`);
    const extensions = Array.from({ length: lineCount }, (_, i) => (i === 0 ? ext : `${ext}-${i + 1}`));
    for (const e of extensions)
      if (this.#byLine.has(e)) throw new UaCstaError('ERR_INVALID_ARG', `extension ${e} exists`);
    const challenge = options.challenge ?? 'none';
    const credentialsOf = (e: string): SipCredentials | undefined =>
      typeof options.credentials === 'function' ? options.credentials(e) : options.credentials;
    if (challenge !== 'none' && options.credentials === undefined)
      throw new UaCstaError('ERR_INVALID_ARG', `challenge '${challenge}' needs the phone's credentials`);
    const log = this.#log;
    const onChannel = options.onCstaChannel;
    const lines = extensions.map((e, index) => this.#line(e, index, credentialsOf(e), options.displayName));
    const acceptCsta = cstaInviteHandler((channel) => {
      const callId = channel.dialog?.callId ?? '';
      log?.({ type: 'session-open', extension: ext, callId });
      channel.onClosed((c) => log?.({ type: 'session-closed', extension: ext, callId, reason: c.reason }));
      if (challenge === 'every-request' && channel.dialog !== undefined) {
        // digest §7.11 (csta_challenge=2): each INFO of the session is challenged as well
        const auth = this.#challenger(extensions, credentialsOf);
        channel.dialog.onRequest(async (req) => (await this.#refused(auth, req, ext)) ?? channel.receive(req));
      }
      if (onChannel !== undefined) onChannel(channel);
    });
    const onOtherInvite: InviteHandler =
      challenge === 'none'
        ? acceptCsta
        : (() => {
            const auth = this.#challenger(extensions, credentialsOf);
            return async (request, dialog, invite) => (await this.#refused(auth, request, ext)) ?? acceptCsta(request, dialog, invite);
          })();
    const signalling = new SipCallSignalling({
      ua: lines[0]!.ua,
      address: lines[0]!.deviceId,
      otherLines: lines.slice(1).map((l): SipLineBinding => ({ ua: l.ua, address: l.deviceId })),
      mediaHost: this.#transport.local.host,
      dialPlan: this.dialPlan,
      media: this.#media,
      dtmf: this.#dtmf,
      clock: this.#clock,
      onOtherInvite,
      ...(log === undefined ? {} : { log: (e: SipCallLogEvent) => log({ extension: ext, ...e }) }),
    });
    const outOfDialog = options.outOfDialogCsta ?? 'ignore';
    for (const l of lines) {
      l.registration?.on((event) => log?.({ type: 'register', extension: l.extension, event }));
      if (outOfDialog === 'accept') {
        acceptNotifyCstaChannels(l.ua, (channel) => {
          log?.({ type: 'session-open', extension: l.extension, callId: '', outOfDialog: channel.target });
          channel.onClosed((c) => log?.({ type: 'session-closed', extension: l.extension, callId: '', reason: c.reason }));
          if (onChannel !== undefined) onChannel(channel);
        });
      } else if (outOfDialog === 'reject-481') {
        // digest §7.1: Snom answers CSTA outside an INVITE dialog with 481; out-of-dialog INFO
        // already gets 481 from the user agent (RFC 3261 §12.2.2)
        l.ua.onRequest('NOTIFY', (req) => {
          const event = (req.headers['event']?.[0] ?? '').split(';')[0]!.trim();
          return event.toLowerCase() === UACSTA_EVENT_PACKAGE.toLowerCase()
            ? { status: 481 }
            : { status: 489, headers: { 'Allow-Events': UACSTA_EVENT_PACKAGE } };
        });
      }
    }
    const first = lines[0]!;
    const phone: SipPhone = {
      extension: ext,
      deviceId: first.deviceId,
      contact: first.contact,
      aor: first.aor,
      ua: first.ua,
      signalling,
      registration: first.registration,
      lines,
    };
    this.#phones.set(ext, phone);
    for (const e of extensions) this.#byLine.set(e, phone);
    return phone;
  }

  /** The user agent, addresses and registration of one line. */
  #line(extension: string, index: number, credentials: SipCredentials | undefined, displayName: string | undefined): SipPhoneLine {
    const { host, port } = this.#transport.local;
    const deviceId = phoneDeviceId(extension, host);
    const contact = phoneContact(extension, host, port, this.#transport.protocol);
    const registrar = this.#registrar;
    const aor = registrar === undefined ? deviceId : `sip:${extension}@${registrarDomain(registrar)}`;
    const digest = credentials === undefined ? undefined : new DigestClient({ credentials: () => credentials, ids: this.#ids });
    const ua = new UserAgent({
      endpoint: this.#router.viewFor(extension),
      aor,
      contact,
      clock: this.#clock,
      ids: this.#ids,
      accept: ACCEPT,
      ...(displayName === undefined ? {} : { displayName }),
      ...(digest === undefined ? {} : { digest }),
      ...(registrar === undefined || !this.#viaRegistrar ? {} : { outboundProxy: registrar }),
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
    return { index, extension, deviceId, contact, aor, ua, registration };
  }

  /** The digest server of a challenging phone: its lines' credentials, realm {@link PHONE_CHALLENGE_REALM}. */
  #challenger(extensions: readonly string[], credentialsOf: (e: string) => SipCredentials | undefined): DigestServer {
    return new DigestServer({
      realm: PHONE_CHALLENGE_REALM,
      clock: this.#clock,
      ids: this.#ids,
      lookup: (username) => {
        for (const e of extensions) {
          const c = credentialsOf(e);
          if (c !== undefined && c.username === username) return { password: c.password };
        }
        return undefined;
      },
    });
  }

  /** The 401 (or 403) for a request without acceptable credentials; `undefined` when it may pass. */
  async #refused(auth: DigestServer, request: SipRequest, extension: string): Promise<RequestAnswer | undefined> {
    const verdict = await auth.verify(request);
    if (verdict.ok) return undefined;
    this.#log?.({ type: 'challenge', extension, method: request.method, status: verdict.status, reason: verdict.reason });
    return { status: verdict.status, reason: verdict.reasonPhrase, headers: verdict.headers };
  }

  /**
   * Registers every phone that has a registration, `concurrency` at a time; resolves with the
   * extensions that failed (empty when all registered).
   */
  async register(concurrency = 50): Promise<string[]> {
    const queue = this.phones.flatMap((p) => p.lines).filter((l) => l.registration !== undefined);
    const failed: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let l = queue[next++]; l !== undefined; l = queue[next++]) {
        try {
          await l.registration!.register();
        } catch {
          failed.push(l.extension);
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
    const lines = phones.flatMap((p) => p.lines);
    await Promise.allSettled(lines.map((l) => l.ua.close()));
    await Promise.allSettled(
      lines.map(async (l) => {
        if (l.registration?.state === 'Registered') await l.registration.unregister();
        l.registration?.close();
      }),
    );
    this.#router.close();
    if (this.#owns) await this.#endpoint.close();
  }
}
