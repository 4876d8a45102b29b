/**
 * SIP over UDP (RFC 3261 §18): one socket serves every peer.
 *
 * @remarks
 * A datagram is one message (RFC 3261 §18.3). The socket's receive and send buffers are sized
 * for bursts (4 MiB by default, capped by the kernel's `net.core.rmem_max`/`wmem_max`): with the
 * kernel default of ~208 KiB a 30 ms GC pause at 7k INFO/s already drops datagrams
 * (research/performance.md). A datagram larger than `maxMessageBytes` is dropped and traced,
 * never parsed. UDP is unreliable, so transactions above retransmit (RFC 3261 §17.1.1.2,
 * §17.1.2.2).
 *
 * Sends are batched per event-loop turn: a datagram is handed to the kernel at the end of the
 * turn that sent it (a `setImmediate`, so after every datagram libuv read in that wake-up has
 * been handled), or at once when {@link UdpTransportOptions.maxSendBatch} are waiting. On
 * loopback a `sendmsg` that has to wake an idle peer costs ~30 µs, one that follows another
 * ~1 µs; answering a burst back to back lifts the INFO rate by half (research/performance.md,
 * `npm run bench`). The order of datagrams is kept; `close()` sends what waits first.
 */

import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { UaCstaError } from '../../../errors.js';
import { SIP_LIMITS, TRANSPORT_LIMITS } from '../../../limits.js';
import {
  DEFAULT_PORT,
  NULL_SINK,
  closedFailure,
  transportFailure,
  type SendOptions,
  type Transport,
  type TransportAddress,
  type TransportSink,
  type TransportState,
  type TransportTarget,
} from '../transport.js';
import { checkHost, checkPort, plainAddress } from './stream-transport.js';

/** Options of {@link UdpTransport.listen}. */
export interface UdpTransportOptions {
  /** Address to bind; only this one. @defaultValue `'127.0.0.1'` */
  readonly host?: string;
  /** Port to bind; 0 picks a free one. @defaultValue 5060 */
  readonly port?: number;
  /** The Via sent-by to advertise, when not the bound address. */
  readonly sentBy?: { readonly host: string; readonly port?: number | undefined };
  /**
   * Receive buffer asked of the kernel, in bytes; the kernel caps it (Linux: `rmem_max`).
   * @defaultValue `TRANSPORT_LIMITS.udpBufferBytes` (4 MiB)
   */
  readonly recvBufferSize?: number;
  /** Send buffer asked of the kernel, in bytes. @defaultValue `TRANSPORT_LIMITS.udpBufferBytes` */
  readonly sendBufferSize?: number;
  /** Largest datagram passed on; larger ones are dropped. @defaultValue `SIP_LIMITS.maxMessageBytes` */
  readonly maxMessageBytes?: number;
  /**
   * Datagrams held for the end of the event-loop turn before all are sent at once; 1 sends each
   * at once. @defaultValue `TRANSPORT_LIMITS.maxUdpSendBatch` (64)
   */
  readonly maxSendBatch?: number;
}

/** A datagram waiting for the end of the turn. */
interface Outgoing {
  readonly bytes: Uint8Array;
  readonly port: number;
  readonly host: string;
  readonly onError: ((error: UaCstaError) => void) | undefined;
}

/** Defaults of {@link UdpTransportOptions}. */
export const UDP_TRANSPORT_DEFAULTS = {
  host: '127.0.0.1',
  port: DEFAULT_PORT.udp,
  recvBufferSize: TRANSPORT_LIMITS.udpBufferBytes,
  sendBufferSize: TRANSPORT_LIMITS.udpBufferBytes,
  maxMessageBytes: SIP_LIMITS.maxMessageBytes,
  maxSendBatch: TRANSPORT_LIMITS.maxUdpSendBatch,
} as const;

function positiveInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 1)
    throw new UaCstaError(
      'ERR_INVALID_ARG',
      `${name} must be a positive integer; got ${String(v)}`,
    );
  return v;
}

/**
 * The UDP transport.
 *
 * @example
 * const udp = await UdpTransport.listen({ host: '127.0.0.1', port: 0 });
 * udp.bufferSizes();   // { recv: 8388608, send: 8388608 } where the kernel allows 4 MiB (Linux doubles)
 */
export class UdpTransport implements Transport {
  readonly protocol = 'udp' as const;
  readonly reliable = false;
  readonly #socket: Socket;
  readonly #maxMessageBytes: number;
  readonly #sentBy: { readonly host: string; readonly port: number | undefined } | undefined;
  #local: TransportAddress;
  #sink: TransportSink = NULL_SINK;
  #state: TransportState = 'Open';
  #closing: Promise<void> | undefined;
  readonly #maxSendBatch: number;
  /** Datagrams waiting for the end of this turn, in sending order. */
  #outbox: Outgoing[] = [];
  #flushScheduled = false;

  private constructor(socket: Socket, local: TransportAddress, o: UdpTransportOptions) {
    this.#socket = socket;
    this.#local = local;
    this.#maxMessageBytes = positiveInt(
      o.maxMessageBytes ?? UDP_TRANSPORT_DEFAULTS.maxMessageBytes,
      'maxMessageBytes',
    );
    this.#maxSendBatch = positiveInt(
      o.maxSendBatch ?? UDP_TRANSPORT_DEFAULTS.maxSendBatch,
      'maxSendBatch',
    );
    this.#sentBy =
      o.sentBy === undefined
        ? undefined
        : {
            host: checkHost(o.sentBy.host, 'sentBy.host'),
            port: o.sentBy.port === undefined ? undefined : checkPort(o.sentBy.port, 'sentBy.port'),
          };
    socket.on('message', (msg: Uint8Array, rinfo: RemoteInfo) => this.#onMessage(msg, rinfo));
    socket.on('error', (error) => this.#sink.trace({ type: 'error', error }));
  }

  /**
   * Binds `options.host`:`options.port`, sizes the buffers, and resolves with the transport.
   *
   * @remarks Rejects with `ERR_INVALID_ARG` for a bad option and `SIP_ERR_TRANSPORT` when the
   * address cannot be bound. A buffer size the kernel refuses outright is left at its default
   * (`bufferSizes()` tells what was granted).
   */
  static async listen(options: UdpTransportOptions = {}): Promise<UdpTransport> {
    const host = checkHost(options.host ?? UDP_TRANSPORT_DEFAULTS.host);
    const port = checkPort(options.port ?? UDP_TRANSPORT_DEFAULTS.port);
    const recv = positiveInt(
      options.recvBufferSize ?? UDP_TRANSPORT_DEFAULTS.recvBufferSize,
      'recvBufferSize',
    );
    const send = positiveInt(
      options.sendBufferSize ?? UDP_TRANSPORT_DEFAULTS.sendBufferSize,
      'sendBufferSize',
    );
    positiveInt(
      options.maxMessageBytes ?? UDP_TRANSPORT_DEFAULTS.maxMessageBytes,
      'maxMessageBytes',
    );
    positiveInt(options.maxSendBatch ?? UDP_TRANSPORT_DEFAULTS.maxSendBatch, 'maxSendBatch');
    const socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error): void => {
        socket.close();
        reject(transportFailure(`cannot bind udp ${host}:${port}: ${error.message}`, error));
      };
      socket.once('error', fail);
      socket.bind({ address: host, port, exclusive: true }, () => {
        socket.off('error', fail);
        resolve();
      });
    });
    for (const [set, size] of [
      [(n: number) => socket.setRecvBufferSize(n), recv],
      [(n: number) => socket.setSendBufferSize(n), send],
    ] as const) {
      try {
        set(size);
      } catch {
        // the kernel refused the size (not merely capped it): keep its default
      }
    }
    return new UdpTransport(socket, { host, port: socket.address().port }, options);
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

  /** The buffer sizes the kernel granted, in bytes (Linux reports twice what it reserves). */
  bufferSizes(): { readonly recv: number; readonly send: number } {
    return { recv: this.#socket.getRecvBufferSize(), send: this.#socket.getSendBufferSize() };
  }

  attach(sink: TransportSink): void {
    this.#sink = sink;
  }

  /**
   * Queues one datagram for the end of this event-loop turn (see the module remarks).
   *
   * @throws `SIP_ERR_TRANSPORT` when the transport is closed or `target` is not UDP. A failure
   * of the send itself goes to `options.onError`, or to the trace when there is none.
   */
  send(bytes: Uint8Array, target: TransportTarget, options?: SendOptions): void {
    if (this.#state === 'Closed') throw closedFailure('udp');
    if (target.protocol !== 'udp')
      throw transportFailure(`the udp transport cannot send to ${target.protocol}`);
    if (!Number.isInteger(target.port) || target.port < 1 || target.port > 65535)
      throw transportFailure(`cannot send to udp port ${String(target.port)}`);
    const host = target.host.startsWith('[') ? target.host.slice(1, -1) : target.host;
    this.#outbox.push({ bytes, port: target.port, host, onError: options?.onError });
    if (this.#outbox.length >= this.#maxSendBatch) this.#flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(this.#flushSoon);
    }
  }

  readonly #flushSoon = (): void => {
    this.#flushScheduled = false;
    this.#flush();
  };

  /** Hands every waiting datagram to the kernel, in order; never throws. */
  #flush(): void {
    const batch = this.#outbox;
    if (batch.length === 0) return;
    this.#outbox = [];
    for (const d of batch) {
      const report = (error: Error): void => {
        const failure = transportFailure(
          `udp send to ${d.host}:${d.port} failed: ${error.message}`,
          error,
        );
        if (d.onError !== undefined) d.onError(failure);
        else this.#sink.trace({ type: 'error', error: failure });
      };
      try {
        this.#socket.send(d.bytes, d.port, d.host, (error) => {
          if (error) report(error);
        });
      } catch (cause) {
        report(cause instanceof Error ? cause : new Error(String(cause)));
      }
    }
  }

  alias(): void {}

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#state = 'Closed';
    this.#flush(); // what was sent before close() still leaves:
    // dgram hands a datagram to the kernel a tick after send() (its address lookup); closing the
    // socket before that would drop it silently
    this.#closing = new Promise<void>((resolve) =>
      setImmediate(() => this.#socket.close(() => resolve())),
    );
    return this.#closing;
  }

  #onMessage(msg: Uint8Array, rinfo: RemoteInfo): void {
    const source: TransportTarget = {
      protocol: 'udp',
      host: plainAddress(rinfo.address),
      port: rinfo.port,
    };
    if (msg.length > this.#maxMessageBytes) {
      this.#sink.trace({
        type: 'dropped',
        reason: `datagram is ${msg.length} bytes; limit maxMessageBytes is ${this.#maxMessageBytes}`,
        source,
      });
      return;
    }
    try {
      this.#sink.receive(msg, source, undefined);
    } catch (error) {
      this.#sink.trace({ type: 'error', error });
    }
  }
}
