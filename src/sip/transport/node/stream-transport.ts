/**
 * What TCP and TLS share: a listener, outbound connections, and the table that lets responses
 * and requests reuse them.
 *
 * @remarks
 * RFC 3261 §18.2.2: "If the "sent-protocol" is a reliable transport protocol such as TCP or
 * SCTP, or TLS over those, the response MUST be sent using the existing connection to the source
 * of the original request that created the transaction, if that connection is still open. [...]
 * If that connection is no longer open, the server SHOULD open a connection to the IP address in
 * the "received" parameter". RFC 3261 §18.1.1 and RFC 5923: a request reuses an open connection
 * to its target, found by remote address and port or by an alias (the Via sent-by of a peer that
 * connected to us). The listener binds the configured host only.
 */

import type { Server, Socket } from 'node:net';
import { UaCstaError } from '../../../errors.js';
import { TRANSPORT_LIMITS, type SipLimits } from '../../../limits.js';
import { systemClock, type Clock } from '../../../util/clock.js';
import { resolveSipLimits, type SipParseOptions } from '../../message/parse.js';
import { FlowTable } from '../flow-table.js';
import {
  DEFAULT_PORT,
  NULL_SINK,
  closedFailure,
  transportFailure,
  type FlowId,
  type SendOptions,
  type Transport,
  type TransportAddress,
  type TransportSink,
  type TransportState,
  type TransportTarget,
} from '../transport.js';
import { StreamConnection } from './stream-connection.js';

/** Options common to {@link TcpTransport} and {@link TlsTransport}. */
export interface StreamTransportOptions {
  /** Address to listen on; only this one is bound. @defaultValue `'127.0.0.1'` */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one. @defaultValue 5060 (TCP), 5061 (TLS) */
  readonly port?: number;
  /** The Via sent-by to advertise, when not the bound address (behind NAT, a host name). */
  readonly sentBy?: { readonly host: string; readonly port?: number | undefined };
  /** Message limits of the framer; see `SIP_LIMITS`. */
  readonly limits?: SipParseOptions;
  /**
   * A connection with no bytes in either direction for this long is closed; `Infinity` never.
   * It must exceed the peers' keep-alive interval (RFC 5626 §4.4.1 suggests 95–120 s).
   * @defaultValue 300_000
   */
  readonly idleTimeoutMs?: number;
  /**
   * A message whose first byte arrived this long ago and that is still not complete closes its
   * connection: a "slow loris" that trickles one byte at a time keeps a connection active
   * without ever finishing a request, so the idle timeout alone does not end it; `Infinity`
   * never. @defaultValue `TRANSPORT_LIMITS.streamMessageTimeoutMs`
   */
  readonly messageTimeoutMs?: number;
  /**
   * RFC 5626 §4.4.1 keep-alive on the connections this transport opens: after this long without
   * a byte either way, a CRLFCRLF "ping" (at a random 80–100 % of the value, so that many
   * clients do not ping in step); a "pong" (CRLF) must come back within `pongTimeoutMs` or the
   * flow has failed and is closed, so that the next request opens a fresh one. It also keeps
   * NAT bindings and the idle timeouts of both ends from closing a quiet CSTA link. Inbound
   * connections only answer pings. `Infinity` sends none. @defaultValue 120_000 (below the
   * 300 s idle timeout)
   */
  readonly keepAliveMs?: number;
  /** How long to wait for the pong to a keep-alive ping (RFC 5626 §4.4.1: 10 s). @defaultValue 10_000 */
  readonly pongTimeoutMs?: number;
  /** Most connections at once, inbound and outbound. @defaultValue `TRANSPORT_LIMITS.maxConnections` */
  readonly maxConnections?: number;
  /** Unsent bytes on a connection above which its reading pauses. @defaultValue `TRANSPORT_LIMITS.streamHighWaterBytes` */
  readonly highWaterBytes?: number;
  /** Unsent bytes on a connection above which it is closed. @defaultValue `TRANSPORT_LIMITS.maxStreamWriteBufferBytes` */
  readonly maxWriteBufferBytes?: number;
  /** Clock of the idle timeout. @defaultValue `systemClock` */
  readonly clock?: Clock;
}

/** Defaults of {@link StreamTransportOptions}. */
export const STREAM_TRANSPORT_DEFAULTS = {
  host: '127.0.0.1',
  idleTimeoutMs: 300_000,
  messageTimeoutMs: TRANSPORT_LIMITS.streamMessageTimeoutMs,
  keepAliveMs: 120_000,
  pongTimeoutMs: 10_000,
  maxConnections: TRANSPORT_LIMITS.maxConnections,
  highWaterBytes: TRANSPORT_LIMITS.streamHighWaterBytes,
  maxWriteBufferBytes: TRANSPORT_LIMITS.maxStreamWriteBufferBytes,
} as const;

/** What differs between TCP and TLS. */
export interface StreamDriver {
  readonly protocol: 'tcp' | 'tls';
  /** A server that calls `onSocket` with each accepted (for TLS: handshaken) socket. */
  createServer(onSocket: (socket: Socket) => void, onError: (error: unknown) => void): Server;
  /** Starts an outbound connection. */
  connect(target: TransportTarget): Socket;
  /** The event that says an outbound socket is ready to carry SIP. */
  readonly readyEvent: 'connect' | 'secureConnect';
}

/** Resolved {@link StreamTransportOptions}. */
interface Resolved {
  readonly host: string;
  readonly port: number;
  readonly sentBy: { readonly host: string; readonly port?: number | undefined } | undefined;
  readonly limits: SipLimits;
  readonly idleTimeoutMs: number;
  readonly messageTimeoutMs: number;
  readonly keepAliveMs: number;
  readonly pongTimeoutMs: number;
  readonly maxConnections: number;
  readonly highWaterBytes: number;
  readonly maxWriteBufferBytes: number;
  readonly clock: Clock;
}

function count(v: number, name: string, min: number): number {
  if (typeof v !== 'number' || !(v === Infinity || (Number.isInteger(v) && v >= min))) {
    throw new UaCstaError(
      'ERR_INVALID_ARG',
      `${name} must be an integer >= ${min} or Infinity; got ${String(v)}`,
    );
  }
  return v;
}

/** Checks a port option: an integer 0–65535. */
export function checkPort(v: number, name = 'port'): number {
  if (!Number.isInteger(v) || v < 0 || v > 65535) {
    throw new UaCstaError(
      'ERR_INVALID_ARG',
      `${name} must be an integer 0-65535; got ${String(v)}`,
    );
  }
  return v;
}

/** Checks a host option: a non-empty string. */
export function checkHost(v: string, name = 'host'): string {
  if (typeof v !== 'string' || v.length === 0) {
    throw new UaCstaError(
      'ERR_INVALID_ARG',
      `${name} must be a non-empty string; got ${String(v)}`,
    );
  }
  return v;
}

function resolve(o: StreamTransportOptions, protocol: 'tcp' | 'tls'): Resolved {
  const d = STREAM_TRANSPORT_DEFAULTS;
  return {
    host: checkHost(o.host ?? d.host),
    port: checkPort(o.port ?? DEFAULT_PORT[protocol]),
    sentBy:
      o.sentBy === undefined
        ? undefined
        : {
            host: checkHost(o.sentBy.host, 'sentBy.host'),
            port: o.sentBy.port === undefined ? undefined : checkPort(o.sentBy.port, 'sentBy.port'),
          },
    limits: resolveSipLimits(o.limits),
    idleTimeoutMs: count(o.idleTimeoutMs ?? d.idleTimeoutMs, 'idleTimeoutMs', 1),
    messageTimeoutMs: count(o.messageTimeoutMs ?? d.messageTimeoutMs, 'messageTimeoutMs', 1),
    keepAliveMs: count(o.keepAliveMs ?? d.keepAliveMs, 'keepAliveMs', 1),
    pongTimeoutMs: count(o.pongTimeoutMs ?? d.pongTimeoutMs, 'pongTimeoutMs', 1),
    maxConnections: count(o.maxConnections ?? d.maxConnections, 'maxConnections', 1),
    highWaterBytes: count(o.highWaterBytes ?? d.highWaterBytes, 'highWaterBytes', 1),
    maxWriteBufferBytes: count(
      o.maxWriteBufferBytes ?? d.maxWriteBufferBytes,
      'maxWriteBufferBytes',
      1,
    ),
    clock: o.clock ?? systemClock,
  };
}

/** `::ffff:127.0.0.1` → `127.0.0.1`; other addresses as they are. */
export function plainAddress(address: string | undefined): string {
  if (address === undefined) return '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

/**
 * The failure callback of a send, read when the failure happens rather than when `send` is
 * called: the endpoint sets `onError` on its hop right after the transaction's first send (the
 * transaction does not exist before), and a connection that is refused or fails its TLS handshake
 * fails later than that (`SendOptions.onError`: "never synchronously from `send`"). Options
 * without an `onError` field (a stateless response) get none.
 */
export function lateOnError(options: SendOptions | undefined): ((error: UaCstaError) => void) | undefined {
  if (options === undefined || !('onError' in options)) return undefined;
  return (error) => options.onError?.(error);
}

/** Listens and connects for TCP or TLS; see {@link TcpTransport} and {@link TlsTransport}. */
export class StreamTransport implements Transport {
  readonly protocol: 'tcp' | 'tls';
  readonly reliable = true;
  readonly #driver: StreamDriver;
  readonly #o: Resolved;
  readonly #flows: FlowTable<StreamConnection>;
  #server: Server | undefined;
  #local: TransportAddress;
  #sink: TransportSink = NULL_SINK;
  #state: TransportState = 'Open';
  #closing: Promise<void> | undefined;
  readonly #raw = new Set<Socket>();

  /** @internal Use `TcpTransport.listen` or `TlsTransport.listen`. */
  protected constructor(driver: StreamDriver, options: StreamTransportOptions) {
    this.#driver = driver;
    this.protocol = driver.protocol;
    this.#o = resolve(options, driver.protocol);
    this.#flows = new FlowTable(driver.protocol);
    this.#local = { host: this.#o.host, port: this.#o.port };
  }

  /** @internal Binds the listener; called once by `listen`. */
  protected async start(): Promise<void> {
    const server = this.#driver.createServer(
      (socket) => this.#accept(socket),
      (error) => this.#sink.trace({ type: 'error', error }),
    );
    server.maxConnections =
      this.#o.maxConnections === Infinity ? Number.MAX_SAFE_INTEGER : this.#o.maxConnections;
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error): void =>
        reject(
          transportFailure(
            `cannot listen on ${this.#o.host}:${this.#o.port}: ${error.message}`,
            error,
          ),
        );
      server.once('error', fail);
      server.listen({ host: this.#o.host, port: this.#o.port }, () => {
        server.off('error', fail);
        resolve();
      });
    });
    server.on('error', (error) => this.#sink.trace({ type: 'error', error }));
    // every raw socket, so close() also ends those still in a TLS handshake
    server.on('connection', (socket: Socket) => {
      this.#raw.add(socket);
      socket.once('close', () => this.#raw.delete(socket));
    });
    this.#server = server;
    const address = server.address();
    if (address !== null && typeof address === 'object')
      this.#local = { host: this.#o.host, port: address.port };
  }

  get local(): TransportAddress {
    return this.#local;
  }

  get sentBy(): { readonly host: string; readonly port: number | undefined } {
    const s = this.#o.sentBy;
    return s === undefined
      ? { host: this.#local.host, port: this.#local.port }
      : { host: s.host, port: s.port };
  }

  get state(): TransportState {
    return this.#state;
  }

  /** Open connections (inbound and outbound). */
  get connections(): number {
    return this.#flows.size;
  }

  attach(sink: TransportSink): void {
    this.#sink = sink;
  }

  send(bytes: Uint8Array, target: TransportTarget, options?: SendOptions): void {
    if (this.#state === 'Closed') throw closedFailure(this.protocol);
    if (target.protocol !== this.protocol) {
      throw transportFailure(`the ${this.protocol} transport cannot send to ${target.protocol}`);
    }
    const flow = options?.flow;
    let connection = flow === undefined ? undefined : this.#flows.get(flow);
    if (connection === undefined || connection.state === 'Closed')
      connection = this.#flows.find(target.host, target.port);
    if (connection === undefined || connection.state === 'Closed')
      connection = this.#connect(target);
    connection.write(bytes, lateOnError(options));
  }

  alias(flow: FlowId, address: TransportAddress): void {
    this.#flows.alias(flow, address);
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#state = 'Closed';
    for (const c of this.#flows.values()) c.close('closed');
    for (const socket of this.#raw) socket.destroy();
    const server = this.#server;
    this.#closing =
      server === undefined
        ? Promise.resolve()
        : new Promise<void>((resolve) => server.close(() => resolve()));
    return this.#closing;
  }

  #accept(socket: Socket): void {
    if (this.#state === 'Closed' || this.#flows.size >= this.#o.maxConnections) {
      this.#sink.trace({ type: 'dropped', reason: 'too many connections', source: undefined });
      socket.destroy();
      return;
    }
    const remote: TransportTarget = {
      protocol: this.protocol,
      host: plainAddress(socket.remoteAddress),
      port: socket.remotePort ?? 0,
    };
    this.#add(socket, remote, true);
  }

  #connect(target: TransportTarget): StreamConnection {
    if (this.#flows.size >= this.#o.maxConnections) {
      throw transportFailure(
        `cannot connect to ${target.host}:${target.port}: ${this.#flows.size} connections; limit maxConnections is ${this.#o.maxConnections}`,
      );
    }
    let socket: Socket;
    try {
      socket = this.#driver.connect(target);
    } catch (cause) {
      throw transportFailure(`cannot connect to ${target.host}:${target.port}`, cause);
    }
    return this.#add(socket, target, false);
  }

  #add(socket: Socket, remote: TransportTarget, inbound: boolean): StreamConnection {
    const o = this.#o;
    const connection = new StreamConnection({
      socket,
      remote,
      inbound,
      readyEvent: this.#driver.readyEvent,
      limits: o.limits,
      clock: o.clock,
      idleTimeoutMs: o.idleTimeoutMs,
      messageTimeoutMs: o.messageTimeoutMs,
      keepAliveMs: o.keepAliveMs,
      pongTimeoutMs: o.pongTimeoutMs,
      highWaterBytes: o.highWaterBytes,
      maxWriteBufferBytes: o.maxWriteBufferBytes,
      sink: () => this.#sink,
      onClosed: (c) => this.#flows.remove(c.id),
    });
    connection.id = this.#flows.add(connection, remote);
    this.#sink.trace({ type: 'flow-open', flow: connection.id, remote, inbound });
    return connection;
  }
}
