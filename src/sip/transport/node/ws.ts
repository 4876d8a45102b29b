/**
 * SIP over WebSocket (RFC 7118): a server bound to the configured host, and client connections.
 *
 * @remarks
 * RFC 7118 §4.1: the WebSocket subprotocol is `sip`; a connection that does not negotiate it is
 * closed (1002). §5: "Each SIP message MUST be carried within a single WebSocket message", in a
 * text or a binary frame; both are taken as bytes here (a text frame's UTF-8 is not decoded),
 * and we send text frames when the message is valid UTF-8, binary frames otherwise. Messages are
 * capped by `maxPayload` (64 KiB by default; the `ws` package defaults to 100 MiB). §5.2: a
 * WebSocket client cannot be reached except over its own connection, so requests to it go on
 * its flow, found by flow id or by an alias such as its Via sent-by (`df7jal23ls0d.invalid`).
 * Without a listener (`listen: false`) the transport only connects out and advertises such an
 * `.invalid` sent-by itself.
 */

import { Buffer, isUtf8 } from 'node:buffer';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { ConnectionOptions, TlsOptions } from 'node:tls';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { UaCstaError } from '../../../errors.js';
import { TRANSPORT_LIMITS } from '../../../limits.js';
import { systemClock, type Clock, type TimerHandle } from '../../../util/clock.js';
import { createIdGenerator, type IdGenerator } from '../../../util/ids.js';
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
import {
  STREAM_TRANSPORT_DEFAULTS,
  checkHost,
  checkPort,
  plainAddress,
  lateOnError,
} from './stream-transport.js';

/** The WebSocket subprotocol of SIP (RFC 7118 §4.1). */
export const SIP_SUBPROTOCOL = 'sip';

/** Options of {@link WsTransport.listen}. */
export interface WsTransportOptions {
  /** `true` for WSS (WebSocket over TLS); the listener then needs `tls.server`. @defaultValue false */
  readonly secure?: boolean;
  /** Whether to run a server; without one the transport only connects out. @defaultValue true */
  readonly listen?: boolean;
  /** Address to listen on; only this one is bound. @defaultValue `'127.0.0.1'` */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one. @defaultValue 80 (WS), 443 (WSS) */
  readonly port?: number;
  /** Resource path of outbound connections (`ws://host:port/path`). @defaultValue `'/'` */
  readonly path?: string;
  /** TLS settings: `server` (key, cert) for a WSS listener, `client` (ca, …) for WSS connections. */
  readonly tls?: { readonly server?: TlsOptions; readonly client?: ConnectionOptions };
  /** The Via sent-by to advertise. @defaultValue the bound address, or `<random>.invalid` without a listener */
  readonly sentBy?: { readonly host: string; readonly port?: number | undefined };
  /** Largest WebSocket message accepted, in bytes. @defaultValue `TRANSPORT_LIMITS.maxWsPayloadBytes` */
  readonly maxPayloadBytes?: number;
  /** Most connections at once. @defaultValue `TRANSPORT_LIMITS.maxConnections` */
  readonly maxConnections?: number;
  /** A connection idle this long is closed; `Infinity` never. @defaultValue 300_000 */
  readonly idleTimeoutMs?: number;
  /** Unsent bytes on a connection above which its reading pauses. @defaultValue `TRANSPORT_LIMITS.streamHighWaterBytes` */
  readonly highWaterBytes?: number;
  /** Unsent bytes on a connection above which it is closed. @defaultValue `TRANSPORT_LIMITS.maxStreamWriteBufferBytes` */
  readonly maxWriteBufferBytes?: number;
  /** Clock of the idle timeout. @defaultValue `systemClock` */
  readonly clock?: Clock;
  /** Makes the `.invalid` sent-by of a client-only transport. @defaultValue `createIdGenerator()` */
  readonly ids?: IdGenerator;
}

type OnError = ((error: UaCstaError) => void) | undefined;

/** One WebSocket connection. */
interface WsConnection {
  id: FlowId;
  readonly remote: TransportTarget;
  readonly socket: WebSocket;
  open: boolean;
  closed: boolean;
  /** Messages waiting for the connection to open. */
  pending: { readonly bytes: Uint8Array; readonly onError: OnError }[];
  lastActivity: number;
  idleTimer: TimerHandle | undefined;
  paused: boolean;
  closeReason: string;
  closeError: unknown;
}

interface Resolved {
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly maxPayloadBytes: number;
  readonly maxConnections: number;
  readonly idleTimeoutMs: number;
  readonly highWaterBytes: number;
  readonly maxWriteBufferBytes: number;
  readonly clock: Clock;
}

function limit(v: number, name: string): number {
  if (typeof v !== 'number' || !(v === Infinity || (Number.isInteger(v) && v >= 1))) {
    throw new UaCstaError(
      'ERR_INVALID_ARG',
      `${name} must be a positive integer or Infinity; got ${String(v)}`,
    );
  }
  return v;
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

/** The `ws`/`wss` transport. */
export class WsTransport implements Transport {
  readonly protocol: 'ws' | 'wss';
  readonly reliable = true;
  readonly #o: Resolved;
  readonly #tlsClient: ConnectionOptions | undefined;
  readonly #flows: FlowTable<WsConnection>;
  readonly #sentBy: { readonly host: string; readonly port: number | undefined } | undefined;
  #local: TransportAddress;
  #http: Server | undefined;
  #wss: WebSocketServer | undefined;
  #sink: TransportSink = NULL_SINK;
  #state: TransportState = 'Open';
  #closing: Promise<void> | undefined;

  private constructor(o: WsTransportOptions) {
    const secure = o.secure ?? false;
    this.protocol = secure ? 'wss' : 'ws';
    const d = STREAM_TRANSPORT_DEFAULTS;
    this.#o = {
      secure,
      host: checkHost(o.host ?? d.host),
      port: checkPort(o.port ?? DEFAULT_PORT[this.protocol]),
      path: o.path ?? '/',
      maxPayloadBytes: limit(
        o.maxPayloadBytes ?? TRANSPORT_LIMITS.maxWsPayloadBytes,
        'maxPayloadBytes',
      ),
      maxConnections: limit(o.maxConnections ?? d.maxConnections, 'maxConnections'),
      idleTimeoutMs: limit(o.idleTimeoutMs ?? d.idleTimeoutMs, 'idleTimeoutMs'),
      highWaterBytes: limit(o.highWaterBytes ?? d.highWaterBytes, 'highWaterBytes'),
      maxWriteBufferBytes: limit(
        o.maxWriteBufferBytes ?? d.maxWriteBufferBytes,
        'maxWriteBufferBytes',
      ),
      clock: o.clock ?? systemClock,
    };
    if (!this.#o.path.startsWith('/'))
      throw new UaCstaError('ERR_INVALID_ARG', `path must start with '/'; got ${this.#o.path}`);
    this.#tlsClient = o.tls?.client;
    this.#flows = new FlowTable(this.protocol);
    this.#local = { host: this.#o.host, port: this.#o.port };
    if (o.sentBy !== undefined) {
      this.#sentBy = {
        host: checkHost(o.sentBy.host, 'sentBy.host'),
        port: o.sentBy.port === undefined ? undefined : checkPort(o.sentBy.port, 'sentBy.port'),
      };
    } else if (o.listen === false) {
      // RFC 7118 §5.2: a client that cannot be reached directly uses a random .invalid domain
      this.#sentBy = { host: `${(o.ids ?? createIdGenerator()).tag()}.invalid`, port: undefined };
    }
  }

  /**
   * Starts the transport: binds the server (unless `listen: false`) and resolves.
   *
   * @remarks Rejects with `ERR_INVALID_ARG` for a bad option (a WSS listener without
   * `tls.server`) and `SIP_ERR_TRANSPORT` when the address cannot be bound.
   */
  static async listen(options: WsTransportOptions = {}): Promise<WsTransport> {
    const transport = new WsTransport(options);
    if (options.listen !== false) await transport.#start(options.tls?.server);
    return transport;
  }

  get local(): TransportAddress {
    return this.#local;
  }

  get sentBy(): { readonly host: string; readonly port: number | undefined } {
    return this.#sentBy ?? { host: this.#local.host, port: this.#local.port };
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
    let c = flow === undefined ? undefined : this.#flows.get(flow);
    if (c === undefined || c.closed) c = this.#flows.find(target.host, target.port);
    if (c === undefined || c.closed) {
      if (flow !== undefined) {
        // RFC 7118 §5.2: a response to a WebSocket client goes on its connection or nowhere
        throw transportFailure(`flow ${flow} to ${target.host}:${target.port} is closed`);
      }
      c = this.#connect(target);
    }
    // read when the failure happens: the endpoint sets the hop's onError after the first send
    this.#write(c, bytes, lateOnError(options));
  }

  alias(flow: FlowId, address: TransportAddress): void {
    this.#flows.alias(flow, address);
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#state = 'Closed';
    for (const c of this.#flows.values()) this.#close(c, 'closed');
    const wss = this.#wss;
    const http = this.#http;
    this.#closing = (async () => {
      if (wss !== undefined) await new Promise<void>((resolve) => wss.close(() => resolve()));
      if (http !== undefined) {
        http.closeAllConnections();
        await new Promise<void>((resolve) => http.close(() => resolve()));
      }
    })();
    return this.#closing;
  }

  async #start(tlsServer: TlsOptions | undefined): Promise<void> {
    const o = this.#o;
    const answer426 = (_req: IncomingMessage, res: ServerResponse): void => {
      res.writeHead(426, { Upgrade: 'websocket', Connection: 'close' }).end();
    };
    let http: Server;
    if (o.secure) {
      if (tlsServer === undefined)
        throw new UaCstaError('ERR_INVALID_ARG', 'a WSS listener needs tls.server (key and cert)');
      http = createHttpsServer(tlsServer, answer426);
      http.on('tlsClientError', (error) => this.#sink.trace({ type: 'error', error }));
    } else {
      http = createHttpServer(answer426);
    }
    http.maxConnections =
      o.maxConnections === Infinity ? Number.MAX_SAFE_INTEGER : o.maxConnections;
    const wss = new WebSocketServer({
      server: http,
      maxPayload: o.maxPayloadBytes === Infinity ? 2 ** 53 - 1 : o.maxPayloadBytes,
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (protocols) => (protocols.has(SIP_SUBPROTOCOL) ? SIP_SUBPROTOCOL : false),
    });
    wss.on('connection', (socket, request) => this.#accept(socket, request));
    wss.on('error', (error) => this.#sink.trace({ type: 'error', error }));
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error): void =>
        reject(transportFailure(`cannot listen on ${o.host}:${o.port}: ${error.message}`, error));
      http.once('error', fail);
      http.listen({ host: o.host, port: o.port }, () => {
        http.off('error', fail);
        resolve();
      });
    });
    http.on('error', (error) => this.#sink.trace({ type: 'error', error }));
    this.#http = http;
    this.#wss = wss;
    const address = http.address();
    if (address !== null && typeof address === 'object')
      this.#local = { host: o.host, port: address.port };
  }

  #accept(socket: WebSocket, request: IncomingMessage): void {
    const remote: TransportTarget = {
      protocol: this.protocol,
      host: plainAddress(request.socket.remoteAddress),
      port: request.socket.remotePort ?? 0,
    };
    if (this.#state === 'Closed' || this.#flows.size >= this.#o.maxConnections) {
      this.#sink.trace({ type: 'dropped', reason: 'too many connections', source: remote });
      socket.terminate();
      return;
    }
    if (socket.protocol !== SIP_SUBPROTOCOL) {
      // RFC 7118 §4.1: without the "sip" subprotocol this is not a SIP connection
      this.#sink.trace({
        type: 'dropped',
        reason: 'WebSocket client did not offer the sip subprotocol',
        source: remote,
      });
      socket.close(1002, 'sip subprotocol required');
      return;
    }
    this.#add(socket, remote, true);
  }

  #connect(target: TransportTarget): WsConnection {
    const o = this.#o;
    if (this.#flows.size >= o.maxConnections) {
      throw transportFailure(
        `cannot connect to ${target.host}:${target.port}: ${this.#flows.size} connections; limit maxConnections is ${o.maxConnections}`,
      );
    }
    const host =
      target.host.includes(':') && !target.host.startsWith('[') ? `[${target.host}]` : target.host;
    const url = `${this.protocol}://${host}:${target.port}${o.path}`;
    let socket: WebSocket;
    try {
      socket = new WebSocket(url, SIP_SUBPROTOCOL, {
        ...(o.secure ? this.#tlsClient : {}),
        maxPayload: o.maxPayloadBytes === Infinity ? 2 ** 53 - 1 : o.maxPayloadBytes,
        perMessageDeflate: false,
      });
    } catch (cause) {
      throw transportFailure(`cannot connect to ${url}`, cause);
    }
    return this.#add(socket, target, false);
  }

  #add(socket: WebSocket, remote: TransportTarget, inbound: boolean): WsConnection {
    const c: WsConnection = {
      id: '',
      remote,
      socket,
      open: inbound,
      closed: false,
      pending: [],
      lastActivity: this.#o.clock.now(),
      idleTimer: undefined,
      paused: false,
      closeReason: 'peer',
      closeError: undefined,
    };
    c.id = this.#flows.add(c, remote);
    socket.on('message', (data: RawData) => this.#onMessage(c, data));
    socket.on('error', (error) => {
      c.closeReason = 'error';
      c.closeError = error;
    });
    socket.on('close', () => this.#finish(c));
    if (!inbound) {
      socket.once('open', () => {
        c.open = true;
        const pending = c.pending;
        c.pending = [];
        for (const p of pending) this.#write(c, p.bytes, p.onError);
      });
    }
    this.#armIdle(c, this.#o.idleTimeoutMs);
    this.#sink.trace({ type: 'flow-open', flow: c.id, remote, inbound });
    return c;
  }

  #write(c: WsConnection, bytes: Uint8Array, onError: OnError): void {
    if (c.closed) throw transportFailure(`connection ${c.id} is closed`);
    c.lastActivity = this.#o.clock.now();
    if (!c.open) {
      c.pending.push({ bytes, onError });
      return;
    }
    const socket = c.socket;
    if (socket.bufferedAmount + bytes.length > this.#o.maxWriteBufferBytes) {
      this.#close(c, 'limit');
      throw transportFailure(
        `connection ${c.id} has ${socket.bufferedAmount} bytes unsent; limit maxWriteBufferBytes is ${this.#o.maxWriteBufferBytes}`,
      );
    }
    socket.send(bytes, { binary: !isUtf8(bytes) }, (error) => {
      if (error)
        onError?.(
          transportFailure(
            `could not send to ${c.remote.host}:${c.remote.port}: ${error.message}`,
            error,
          ),
        );
      else if (c.paused && !c.closed && socket.bufferedAmount <= this.#o.highWaterBytes) {
        c.paused = false;
        socket.resume();
      }
    });
    if (!c.paused && socket.bufferedAmount > this.#o.highWaterBytes) {
      c.paused = true;
      socket.pause();
    }
  }

  #onMessage(c: WsConnection, data: RawData): void {
    c.lastActivity = this.#o.clock.now();
    try {
      this.#sink.receive(toBytes(data), c.remote, c.id);
    } catch (error) {
      this.#sink.trace({ type: 'error', error });
    }
  }

  #armIdle(c: WsConnection, ms: number): void {
    if (ms === Infinity || c.closed) return;
    c.idleTimer = this.#o.clock.setTimeout(() => {
      c.idleTimer = undefined;
      const idle = this.#o.clock.now() - c.lastActivity;
      if (idle >= this.#o.idleTimeoutMs) this.#close(c, 'idle');
      else this.#armIdle(c, this.#o.idleTimeoutMs - idle);
    }, ms);
  }

  #close(c: WsConnection, reason: string): void {
    if (c.closed) return;
    c.closeReason = reason;
    c.socket.terminate();
    this.#finish(c);
  }

  #finish(c: WsConnection): void {
    if (c.closed) return;
    c.closed = true;
    if (c.idleTimer !== undefined) this.#o.clock.clearTimeout(c.idleTimer);
    c.idleTimer = undefined;
    this.#flows.remove(c.id);
    const failure = transportFailure(
      `connection to ${c.remote.host}:${c.remote.port} closed before it opened`,
      c.closeError,
    );
    for (const p of c.pending)
      if (p.onError !== undefined) queueMicrotask(() => p.onError?.(failure));
    c.pending = [];
    this.#sink.trace({
      type: 'flow-closed',
      flow: c.id,
      remote: c.remote,
      reason: c.closeReason,
      ...(c.closeError === undefined ? {} : { error: c.closeError }),
    });
  }
}
