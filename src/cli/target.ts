/**
 * From the command line to a SIP user agent: the transport a TARGET-URI asks for, a local
 * transport for it, an endpoint and a UA; and the listening side of `uacsta responder`.
 *
 * @remarks
 * RFC 3263 §4.1 without DNS: a `;transport=` parameter of the URI selects the transport; else
 * `sips:` means TLS and `sip:` UDP (no NAPTR/SRV lookups are made; the host and port are used as
 * written, RFC 3263 §4.2). `--transport` overrides all of that. The one local transport carries
 * every request of the session, so the UA resolves every URI (the peer's Contact too) to it.
 */

import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { DigestClient } from '../sip/auth/digest-client.js';
import { SipEndpoint } from '../sip/endpoint.js';
import type { SipEndpointTraceEvent } from '../sip/endpoint-types.js';
import { TcpTransport } from '../sip/transport/node/tcp.js';
import { TlsTransport } from '../sip/transport/node/tls.js';
import { UdpTransport } from '../sip/transport/node/udp.js';
import { WsTransport } from '../sip/transport/node/ws.js';
import type { Transport } from '../sip/transport/transport.js';
import { uriTarget } from '../sip/ua/uri-target.js';
import { UserAgent, type UserAgentOptions } from '../sip/ua/user-agent.js';
import type { CliTransport } from './args.js';
import { selfSignedCertificate, type KeyAndCert } from './self-signed.js';

/** The transport RFC 3263 §4.1 picks for `uri` (no DNS), unless `override` is given. */
export function transportOf(uri: string, override?: CliTransport): CliTransport {
  if (override !== undefined) return override;
  const t = uriTarget(uri, 'udp').protocol;
  if (t === 'wss') return 'ws';
  return t === 'memory' ? 'udp' : t;
}

/**
 * The local address the system would use to reach `host` (a connected UDP socket, no packet
 * sent), so that only that address is bound; 127.0.0.1 when it cannot tell.
 */
export async function localAddressFor(host: string): Promise<string> {
  if (host === 'localhost' || host === '127.0.0.1') return '127.0.0.1';
  const v6 = isIP(host) === 6;
  return new Promise((resolve) => {
    const s = createSocket(v6 ? 'udp6' : 'udp4');
    const done = (addr: string): void => {
      try {
        s.close();
      } catch {
        // already closed
      }
      resolve(addr);
    };
    s.once('error', () => done(v6 ? '::1' : '127.0.0.1'));
    s.connect(5060, host, () => {
      try {
        done(s.address().address);
      } catch {
        done(v6 ? '::1' : '127.0.0.1');
      }
    });
  });
}

/** Options of {@link listenTransport}. */
export interface ListenOptions {
  readonly transport: CliTransport;
  readonly host: string;
  readonly port: number;
  /** TLS: the listener's key and certificate; a self-signed one is made when absent. */
  readonly tls?: KeyAndCert;
  /** TLS: settings of outbound connections (`ca`, `rejectUnauthorized`). */
  readonly tlsClient?: ConnectionOptions;
  /** WS: listen (`true`) or only connect out. @defaultValue true */
  readonly listen?: boolean;
  /** UDP: receive buffer size (the responder asks for a large one). */
  readonly recvBufferSize?: number;
}

/** Opens one transport. */
export async function listenTransport(o: ListenOptions): Promise<Transport> {
  switch (o.transport) {
    case 'udp':
      return UdpTransport.listen({
        host: o.host,
        port: o.port,
        ...(o.recvBufferSize === undefined ? {} : { recvBufferSize: o.recvBufferSize, sendBufferSize: o.recvBufferSize }),
      });
    case 'tcp':
      return TcpTransport.listen({ host: o.host, port: o.port });
    case 'tls': {
      const server = o.tls ?? selfSignedCertificate(o.host);
      return TlsTransport.listen({ host: o.host, port: o.port, server, ...(o.tlsClient ? { client: o.tlsClient } : {}) });
    }
    case 'ws':
      return WsTransport.listen({ host: o.host, port: o.port, listen: o.listen ?? true });
  }
}

/** Longest wait for the BYEs of {@link CliUserAgent.close} before the endpoint is closed. */
export const CLOSE_WAIT_MS = 2000;

/** A UA on one transport, and what closes it. */
export interface CliUserAgent {
  readonly ua: UserAgent;
  readonly endpoint: SipEndpoint;
  readonly transport: Transport;
  /** `transport:host:port` as bound (the real port when 0 was asked). */
  readonly address: string;
  /**
   * Closes the UA (BYE for live dialogs, waiting at most {@link CLOSE_WAIT_MS}), then the
   * endpoint and its transport.
   */
  close(): Promise<void>;
}

/** Options of {@link createCliUserAgent}. */
export interface CliUserAgentOptions extends ListenOptions {
  /** The user part of our AoR and Contact. @defaultValue 'uacsta' */
  readonly user?: string;
  /** Digest credentials for 401/407 (RFC 3261 §22; any realm). */
  readonly credentials?: { readonly username: string; readonly password: string };
  readonly ua?: Partial<Pick<UserAgentOptions, 'trace' | 'timers'>>;
  /** Endpoint options made once the transport is open: `(t) => trace.endpointOptions([t], 'uacsta')`. */
  readonly endpoint?: (transport: Transport) => { readonly trace?: (event: SipEndpointTraceEvent) => void };
}

function hostInUri(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/** Builds transport, endpoint and UA. */
export async function createCliUserAgent(o: CliUserAgentOptions): Promise<CliUserAgent> {
  const transport = await listenTransport(o);
  const endpoint = new SipEndpoint({ transports: [transport], ...(o.endpoint?.(transport) ?? {}) });
  const user = o.user ?? 'uacsta';
  const sentBy = transport.sentBy;
  const hostPort = `${hostInUri(sentBy.host)}${sentBy.port === undefined ? '' : `:${sentBy.port}`}`;
  const protocol = transport.protocol;
  const contact = `sip:${user}@${hostPort}${protocol === 'udp' ? '' : `;transport=${protocol}`}`;
  const creds = o.credentials;
  const ua = new UserAgent({
    endpoint,
    aor: `sip:${user}@${hostPort}`,
    contact,
    // one transport for the whole session: the peer's Contact is reached over it too
    resolve: (uri) => ({ ...uriTarget(uri, protocol), protocol }),
    ...(creds === undefined
      ? {}
      : { digest: new DigestClient({ credentials: () => ({ username: creds.username, password: creds.password }) }) }),
    ...(o.ua ?? {}),
  });
  let closing: Promise<void> | undefined;
  return {
    ua,
    endpoint,
    transport,
    address: `${protocol}:${hostInUri(transport.local.host)}:${transport.local.port}`,
    close: () =>
      (closing ??= (async () => {
        // BYE to what is open, but a peer that has gone would hold us for Timer F (32 s)
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          ua.close().catch(() => undefined),
          new Promise((r) => (timer = setTimeout(r, CLOSE_WAIT_MS))),
        ]);
        clearTimeout(timer);
        await endpoint.close().catch(() => undefined);
      })()),
  };
}
