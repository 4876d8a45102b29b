/**
 * The transport seam: what the endpoint needs from UDP, TCP, TLS, WebSocket and the in-memory
 * pair, and nothing more.
 *
 * @remarks
 * RFC 3261 §18 (transport layer), RFC 7118 (WebSocket), RFC 5626 §3.5 (flows, keep-alives),
 * RFC 5923 (connection reuse by alias). A transport moves bytes: it never parses SIP beyond
 * framing a stream, and it never throws out of its receive path. It reports every message it
 * receives with the address it came from and, on a connection-oriented transport, the flow
 * (connection) it came on, so that responses can go back on that connection (RFC 3261 §18.2.2)
 * and requests to a peer that connected to us can reuse it.
 */

import { UaCstaError } from '../../errors.js';

/** The protocols a transport may speak; `memory` is the in-process pair for tests. */
export type TransportProtocol = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss' | 'memory';

/** A host (IP address or name) and a port. */
export interface TransportAddress {
  readonly host: string;
  readonly port: number;
}

/** Where to send: the next hop's protocol, host and port (RFC 3263 resolution is the caller's). */
export interface TransportTarget extends TransportAddress {
  readonly protocol: TransportProtocol;
}

/**
 * A flow (RFC 5626 §3.5): one connection of a connection-oriented transport, named by an id that
 * is unique within its transport for the transport's lifetime. Datagram transports have none.
 */
export type FlowId = string;

/** Optional parts of {@link Transport.send}. */
export interface SendOptions {
  /**
   * The flow to send on when it is still open, such as the connection a request came on (RFC
   * 3261 §18.2.2). When it has closed, the transport falls back to the target.
   */
  readonly flow?: FlowId | undefined;
  /**
   * Told when the bytes could not be delivered to the network after `send` returned: a refused
   * or failed connection, a connection closed before the bytes were written. Called at most
   * once, never synchronously from `send`.
   */
  readonly onError?: ((error: UaCstaError) => void) | undefined;
}

/**
 * What a transport reports to `trace`: dropped input, connections opening and closing, and
 * errors it recovered from. None of them stops the transport.
 */
export type TransportTraceEvent =
  | {
      /** Input the transport could not pass on: oversize datagram, broken stream framing, … */
      readonly type: 'dropped';
      readonly reason: string;
      readonly source: TransportTarget | undefined;
      readonly error?: unknown;
    }
  | {
      readonly type: 'flow-open';
      readonly flow: FlowId;
      readonly remote: TransportTarget;
      /** Whether the peer opened the connection. */
      readonly inbound: boolean;
    }
  | {
      readonly type: 'flow-closed';
      readonly flow: FlowId;
      readonly remote: TransportTarget;
      /** Why: `'idle'`, `'peer'`, `'error'`, `'limit'`, `'closed'`, `'keep-alive'` (no pong), `'slow'`, `'framing'`. */
      readonly reason: string;
      readonly error?: unknown;
    }
  | {
      /** An RFC 5626 §4.4.1 keep-alive: a CRLFCRLF ping received and answered with CRLF. */
      readonly type: 'ping';
      readonly flow: FlowId;
    }
  | {
      /** The CRLF pong that answered our own keep-alive ping (RFC 5626 §4.4.1): the flow lives. */
      readonly type: 'pong';
      readonly flow: FlowId;
    }
  | {
      /** Something failed that the transport recovered from (a socket error, a failed send). */
      readonly type: 'error';
      readonly error: unknown;
    };

/** What a transport passes received bytes and trace events to; set once by its owner. */
export interface TransportSink {
  /**
   * One whole message: a datagram, a frame cut out of a stream, a WebSocket message.
   *
   * @param source - the address it came from (the packet's or connection's remote end)
   * @param flow - the connection it came on; `undefined` on a datagram transport
   */
  receive(bytes: Uint8Array, source: TransportTarget, flow: FlowId | undefined): void;
  /** Everything dropped or recovered from; see {@link TransportTraceEvent}. */
  trace(event: TransportTraceEvent): void;
}

/**
 * State of a transport.
 *
 * ```text
 *   Open ──close()──▶ Closed
 * ```
 */
export type TransportState = 'Open' | 'Closed';

/**
 * One SIP transport: a UDP socket, a TCP or TLS listener with its connections, a WebSocket
 * server or client, or one side of the in-memory pair.
 *
 * @remarks
 * RFC 3261 §18: "a reliable transport" (TCP, TLS, WebSocket) gets no retransmissions and zero
 * Timers D/I/J/K; an unreliable one (UDP, the lossy memory pair) gets the full timers. The
 * receive path never throws: bytes that cannot be framed are dropped and traced, and any
 * exception of the sink is caught and traced.
 */
export interface Transport {
  /** The protocol; it names the Via transport (`SIP/2.0/UDP`, …, RFC 3261 §18.1.1). */
  readonly protocol: TransportProtocol;
  /** Whether delivery is reliable (RFC 3261 §17: no retransmissions). */
  readonly reliable: boolean;
  /** The address the transport is bound to (port 0 resolved to the real port). */
  readonly local: TransportAddress;
  /** The sent-by to put in the Via of requests sent over this transport (RFC 3261 §18.1.1). */
  readonly sentBy: { readonly host: string; readonly port: number | undefined };
  /** `'Open'` until {@link Transport.close}. */
  readonly state: TransportState;
  /** Sets where received bytes and trace events go; replaces the previous sink. */
  attach(sink: TransportSink): void;
  /**
   * Sends one message: on `options.flow` when that flow is open, otherwise to `target`
   * (a datagram; or a connection to the target, reused when one is open or aliased).
   *
   * @throws `SIP_ERR_TRANSPORT` when it cannot even try (wrong protocol, no route to a
   * WebSocket client, too many connections, write buffer full); `SIP_ERR_CLOSED` after close.
   * Later failures go to `options.onError`.
   */
  send(bytes: Uint8Array, target: TransportTarget, options?: SendOptions): void;
  /**
   * Makes `address` another name of `flow`, so requests to it reuse that connection (RFC 5923;
   * RFC 7118 §5: a WebSocket client is reachable only over its connection). Does nothing on a
   * datagram transport or when the flow is gone. The latest alias for an address wins.
   */
  alias(flow: FlowId, address: TransportAddress): void;
  /** Closes the socket(s) and every connection; resolves when they are closed. Idempotent. */
  close(): Promise<void>;
}

/** The Via transport token of each protocol (RFC 3261 §18.1.1, RFC 7118 §5.1). */
export const VIA_TRANSPORT: Readonly<Record<TransportProtocol, string>> = {
  udp: 'UDP',
  tcp: 'TCP',
  tls: 'TLS',
  ws: 'WS',
  wss: 'WSS',
  memory: 'MEMORY',
};

/**
 * The protocol named by a Via transport token, or `undefined` for one we do not speak (SCTP).
 */
export function protocolOfVia(token: string): TransportProtocol | undefined {
  switch (token.toUpperCase()) {
    case 'UDP':
      return 'udp';
    case 'TCP':
      return 'tcp';
    case 'TLS':
      return 'tls';
    case 'WS':
      return 'ws';
    case 'WSS':
      return 'wss';
    case 'MEMORY':
      return 'memory';
    default:
      return undefined;
  }
}

/**
 * The port used when a Via or URI gives none: 5060, 5061 for TLS (RFC 3261 §19.1.2), 80 and 443
 * for WebSocket (RFC 7118 §5.1, RFC 6455 §3).
 */
export const DEFAULT_PORT: Readonly<Record<TransportProtocol, number>> = {
  udp: 5060,
  tcp: 5060,
  tls: 5061,
  ws: 80,
  wss: 443,
  memory: 5060,
};

/**
 * The key under which connections and aliases are kept: the host in lower case (IPv6 without
 * brackets) and the port.
 */
export function addressKey(host: string, port: number): string {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return `${h.toLowerCase()}|${port}`;
}

/** A `SIP_ERR_TRANSPORT` error with its cause kept. */
export function transportFailure(message: string, cause?: unknown): UaCstaError {
  return new UaCstaError('SIP_ERR_TRANSPORT', message, cause === undefined ? undefined : { cause });
}

/** The error of `send` on a closed transport. */
export function closedFailure(protocol: TransportProtocol): UaCstaError {
  return new UaCstaError('SIP_ERR_CLOSED', `the ${protocol} transport is closed`);
}

/** A sink that drops everything; the state of a transport before `attach`. */
export const NULL_SINK: TransportSink = { receive: () => {}, trace: () => {} };
