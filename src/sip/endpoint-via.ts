/**
 * The Via rules of the transport layer: what a server adds to an incoming request's top Via,
 * where a response goes, and whether a response is ours.
 *
 * @remarks
 * RFC 3261 §18.1.2 (a client accepts only responses whose top Via is its own), §18.2.1
 * (`received`), §18.2.2 (sending responses); RFC 3581 §4 (`rport`). Pure functions over the
 * plain message types, so they are tested without sockets.
 */

import { newRecord } from './message/headers.js';
import type { Via } from './message/types.js';
import {
  DEFAULT_PORT,
  addressKey,
  type TransportAddress,
  type TransportProtocol,
  type TransportTarget,
} from './transport/transport.js';

function bare(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/**
 * The top Via of a request as the server keeps it: with `received` and, when asked, `rport`.
 *
 * @remarks
 * RFC 3261 §18.2.1: "If the host portion of the "sent-by" parameter contains a domain name, or
 * if it contains an IP address that differs from the packet source address, the server MUST add
 * a "received" parameter to that Via header field value." RFC 3581 §4: "If this Via header
 * field value contains an "rport" parameter with no value, it MUST set the value of the
 * parameter to the source port of the request. [...] the server MUST insert a "received"
 * parameter containing the source IP address that the request came from, even if it is
 * identical to the value of the "sent-by" component."
 *
 * @returns `via` itself when nothing changes, else a new Via
 */
export function stampVia(via: Via, source: TransportAddress): Via {
  const wantsRport = via.params['rport'] === '';
  const sameHost = bare(via.host).toLowerCase() === bare(source.host).toLowerCase();
  if (!wantsRport && sameHost) return via;
  const params = newRecord<string>();
  for (const name in via.params) params[name] = via.params[name]!;
  params['received'] = bare(source.host);
  if (wantsRport) params['rport'] = String(source.port);
  return { transport: via.transport, host: via.host, port: via.port, branch: via.branch, params };
}

function portParam(value: string | undefined): number | undefined {
  if (value === undefined || value.length === 0 || value.length > 5) return undefined;
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
    n = n * 10 + (c - 0x30);
  }
  return n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * Where a response to a request with this (stamped) top Via goes when it cannot, or need not,
 * go back on the request's connection.
 *
 * @remarks
 * RFC 3261 §18.2.2, unreliable transports: "if the Via header field value contains a "maddr"
 * parameter, the response MUST be forwarded to the address listed there, using the port
 * indicated in "sent-by", or port 5060 if none is present. [...] Otherwise (for unreliable
 * unicast transports), if the top Via has a "received" parameter, the response MUST be sent to
 * the address in the "received" parameter, using the port indicated in the "sent-by" value, or
 * using port 5060 if none is specified explicitly. [...] Otherwise, [...] the response MUST be
 * sent to the address indicated by the "sent-by" value". Reliable transports use the same
 * address when the connection has closed ("the server SHOULD open a connection to the IP address
 * in the "received" parameter, if present, using the port in the "sent-by" value"). RFC 3581 §4:
 * with `rport` the port is the `rport` value.
 */
export function responseTarget(via: Via, protocol: TransportProtocol): TransportTarget {
  const sentByPort = via.port ?? DEFAULT_PORT[protocol];
  const maddr = via.params['maddr'];
  if (maddr !== undefined && maddr.length > 0 && protocol === 'udp') {
    return { protocol, host: bare(maddr), port: sentByPort };
  }
  const received = via.params['received'];
  if (received !== undefined && received.length > 0) {
    return { protocol, host: bare(received), port: portParam(via.params['rport']) ?? sentByPort };
  }
  return { protocol, host: bare(via.host), port: sentByPort };
}

/**
 * Whether a response's top Via is one this element puts on its requests.
 *
 * @remarks
 * RFC 3261 §18.1.2: "If the value of the "sent-by" parameter in that header field value does
 * not correspond to a value that the client transport is configured to insert into requests,
 * the response MUST be silently discarded." A sent-by without a port matches our sent-by
 * without one, or with the protocol's default port.
 */
export function isOwnVia(
  via: Via,
  sentBys: readonly {
    readonly protocol: TransportProtocol;
    readonly host: string;
    readonly port: number | undefined;
  }[],
): boolean {
  for (const s of sentBys) {
    const port = via.port ?? DEFAULT_PORT[s.protocol];
    const ours = s.port ?? DEFAULT_PORT[s.protocol];
    if (addressKey(via.host, port) === addressKey(s.host, ours)) return true;
  }
  return false;
}

/**
 * The address by which a peer that opened a connection to us may be reached over it, taken from
 * its top Via; `undefined` when the Via gives no trustworthy one.
 *
 * @remarks
 * RFC 5923 §5: a Via with the `alias` parameter asks for its connection to be reused for
 * requests to its sent-by; RFC 5923 defines this for TLS only, so the parameter is honoured on
 * TLS and WSS alone (the peer's certificate is not yet matched against the sent-by). Otherwise
 * the sent-by is trusted only when its host is the connection's source address (the port is
 * then the peer's listening port, and no other host can be claimed), or on WebSocket, where RFC
 * 7118 §5.2 makes the connection the only way to the client and its sent-by an `.invalid` name
 * nobody else owns.
 */
export function viaAlias(
  via: Via,
  protocol: TransportProtocol,
  source: TransportAddress,
): TransportAddress | undefined {
  const address = { host: bare(via.host), port: via.port ?? DEFAULT_PORT[protocol] };
  if (via.params['alias'] !== undefined && (protocol === 'tls' || protocol === 'wss'))
    return address;
  if (protocol === 'ws' || protocol === 'wss') return address;
  return bare(via.host).toLowerCase() === bare(source.host).toLowerCase() ? address : undefined;
}
