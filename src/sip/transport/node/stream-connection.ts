/**
 * One TCP or TLS connection carrying SIP: framing, keep-alive answers, back-pressure and the
 * idle timeout.
 *
 * @remarks
 * RFC 3261 §18.3 (framing by Content-Length, through {@link SipStreamFramer}); RFC 5626 §4.4.1
 * (a CRLFCRLF "ping" is answered with a CRLF "pong"; on connections we opened we ping after a
 * quiet interval and close the flow when no pong comes); RFC 3261 §18.4 and RFC 5626 §4.4
 * (connections that stay idle are closed by the side that keeps them). Nagle is off
 * (`setNoDelay(true)`): npm `sip` left it on and stalled 42 ms whenever one side wrote twice in
 * a row (research/libfit.md §1.6). Reading pauses while the peer does not read what we write,
 * and the connection closes when its write buffer passes a hard limit, so a peer that sends
 * requests without reading responses cannot make us buffer without bound. The writes of one
 * event-loop turn leave together (cork until `setImmediate`): one `writev` per burst of answers.
 */

import { randomInt } from 'node:crypto';
import type { Socket } from 'node:net';
import type { UaCstaError } from '../../../errors.js';
import type { SipLimits } from '../../../limits.js';
import type { Clock, TimerHandle } from '../../../util/clock.js';
import { SipStreamFramer } from '../../message/framer.js';
import {
  transportFailure,
  type FlowId,
  type TransportSink,
  type TransportTarget,
} from '../transport.js';

const CRLF = new Uint8Array([0x0d, 0x0a]);
const CRLFCRLF = new Uint8Array([0x0d, 0x0a, 0x0d, 0x0a]);

/** A uniform number in [0, 1) from the system's cryptographic random source. */
function cryptoRandom(): number {
  return randomInt(0, 1_000_000) / 1_000_000;
}

/** The advice given with a TLS certificate that does not verify (the CLI names its own option too). */
export const TLS_TRUST_HINT = "trust its CA with the transport's client.ca option";

/**
 * OpenSSL and Node codes of a peer certificate that does not verify (`tls.connect`'s
 * `rejectUnauthorized`, on by default): the cases where trusting a CA is the fix.
 */
const CERT_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/**
 * State of a stream connection.
 *
 * ```text
 *   Connecting ──connected──▶ Open ──close / error / idle / peer closed──▶ Closed
 *        └──────────────── refused, error, close ───────────────────────────▲
 * ```
 * Inbound connections start in Open.
 */
export type StreamConnectionState = 'Connecting' | 'Open' | 'Closed';

/** What a connection is built with, resolved by its transport. */
export interface StreamConnectionOptions {
  readonly socket: Socket;
  readonly remote: TransportTarget;
  readonly inbound: boolean;
  /** The event that says an outbound socket is ready: `'connect'` or `'secureConnect'`. */
  readonly readyEvent: 'connect' | 'secureConnect';
  readonly limits: SipLimits;
  readonly clock: Clock;
  readonly idleTimeoutMs: number;
  /** See `StreamTransportOptions.messageTimeoutMs`. */
  readonly messageTimeoutMs: number;
  /** See `StreamTransportOptions.keepAliveMs`; used on outbound connections only. */
  readonly keepAliveMs: number;
  readonly pongTimeoutMs: number;
  readonly highWaterBytes: number;
  readonly maxWriteBufferBytes: number;
  readonly sink: () => TransportSink;
  /** Called once when the connection has closed, after the socket is gone. */
  readonly onClosed: (connection: StreamConnection) => void;
}

/** One connection of a {@link StreamTransport}. */
export class StreamConnection {
  /** The flow id, set by the transport right after it registers the connection. */
  id: FlowId = '';
  readonly remote: TransportTarget;
  readonly inbound: boolean;
  readonly #socket: Socket;
  readonly #framer: SipStreamFramer;
  readonly #o: StreamConnectionOptions;
  #state: StreamConnectionState;
  #lastActivity: number;
  #idleTimer: TimerHandle | undefined;
  /** Armed while the framer holds part of a message: the slow-loris deadline. */
  #messageTimer: TimerHandle | undefined;
  #paused = false;
  #closeReason = 'peer';
  #closeError: unknown;
  /** Failure callbacks of writes made before the connection was up. */
  #early: ((error: UaCstaError) => void)[] = [];
  /** The TCP connection is up (for TLS, the handshake may still fail). */
  #tcpUp = false;
  /** The ready event fired: the connection carried SIP. */
  #ready = false;
  /** Writes of this event-loop turn are being gathered (`socket.cork()`); see {@link write}. */
  #corked = false;
  /** The next keep-alive check, and the wait for the pong to the ping sent (RFC 5626 §4.4.1). */
  #keepAliveTimer: TimerHandle | undefined;
  #pongTimer: TimerHandle | undefined;
  /** This connection's keep-alive interval: `keepAliveMs` × a random 0.8–1.0, fixed per flow. */
  #keepAliveMs = Infinity;

  constructor(options: StreamConnectionOptions) {
    this.#o = options;
    this.#socket = options.socket;
    this.remote = options.remote;
    this.inbound = options.inbound;
    this.#framer = new SipStreamFramer(options.limits);
    this.#state = options.inbound ? 'Open' : 'Connecting';
    this.#lastActivity = options.clock.now();
    const socket = options.socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Uint8Array) => this.#onData(chunk));
    socket.on('drain', () => this.#onDrain());
    socket.on('error', (error: Error) => {
      this.#closeReason = 'error';
      this.#closeError = error;
    });
    socket.on('close', () => this.#finish());
    if (!options.inbound) {
      socket.once('connect', () => {
        this.#tcpUp = true;
      });
      socket.once(options.readyEvent, () => {
        this.#ready = true;
        if (this.#state === 'Connecting') this.#state = 'Open';
        this.#early = [];
        if (options.keepAliveMs !== Infinity) {
          const spread = 0.8 + 0.2 * cryptoRandom();
          this.#keepAliveMs = Math.max(1, Math.round(options.keepAliveMs * spread));
          this.#armKeepAlive(this.#keepAliveMs);
        }
      });
    }
    this.#armIdle(options.idleTimeoutMs);
  }

  /** Where the connection is; see {@link StreamConnectionState}. */
  get state(): StreamConnectionState {
    return this.#state;
  }

  /**
   * Queues bytes for the peer. While connecting, Node buffers them until the connection is up.
   *
   * @throws `SIP_ERR_TRANSPORT` when the connection is closed or its write buffer is over the
   * hard limit (the connection is then closed).
   */
  write(bytes: Uint8Array, onError: ((error: UaCstaError) => void) | undefined): void {
    if (this.#state === 'Closed') throw transportFailure(`connection ${this.id} is closed`);
    const socket = this.#socket;
    if (socket.writableLength + bytes.length > this.#o.maxWriteBufferBytes) {
      this.close(
        'limit',
        transportFailure(`write buffer of ${this.id} over ${this.#o.maxWriteBufferBytes} bytes`),
      );
      throw transportFailure(
        `connection ${this.id} has ${socket.writableLength} bytes unsent; limit maxWriteBufferBytes is ${this.#o.maxWriteBufferBytes}`,
      );
    }
    this.#lastActivity = this.#o.clock.now();
    if (!this.#corked) {
      // gather the writes of this turn into one writev at its end: the peer wakes once per
      // burst of answers instead of once per message (the same reason as UDP's send batch)
      this.#corked = true;
      socket.cork();
      setImmediate(this.#uncork);
    }
    if (onError === undefined) socket.write(bytes);
    else {
      let told = false;
      const tell = (error: UaCstaError): void => {
        if (told) return;
        told = true;
        onError(error);
      };
      // a TLS socket acknowledges writes queued before the handshake even when it then fails, and
      // a refused socket fails them only with "stream destroyed": the close reports the cause
      const early = this.#state === 'Connecting';
      if (early) this.#early.push(tell);
      socket.write(bytes, (error) => {
        if (!error || (early && !this.#ready)) return;
        tell(
          transportFailure(
            `could not send to ${this.remote.host}:${this.remote.port}: ${error.message}`,
            error,
          ),
        );
      });
    }
    if (!this.#paused && socket.writableLength > this.#o.highWaterBytes) {
      this.#paused = true;
      socket.pause();
    }
  }

  readonly #uncork = (): void => {
    if (!this.#corked) return;
    this.#corked = false;
    this.#socket.uncork();
  };

  /**
   * Closes the connection at once: the socket is destroyed and `onClosed` called. Idempotent.
   * Writes gathered in this turn are handed to the kernel first, as far as it takes them.
   */
  close(reason: string, error?: unknown): void {
    if (this.#state === 'Closed') return;
    this.#closeReason = reason;
    this.#closeError = error;
    this.#uncork();
    this.#socket.destroy();
    this.#finish();
  }

  #onData(chunk: Uint8Array): void {
    this.#lastActivity = this.#o.clock.now();
    const sink = this.#o.sink();
    let events;
    try {
      events = this.#framer.push(chunk);
    } catch (error) {
      sink.trace({ type: 'error', error });
      return;
    }
    this.#watchPartial(events.some((ev) => ev.type === 'message'));
    for (const ev of events) {
      if (this.#state === 'Closed') return; // closed by the sink (write limit) or a framing error
      switch (ev.type) {
        case 'message':
          try {
            sink.receive(ev.bytes, this.remote, this.id);
          } catch (error) {
            sink.trace({ type: 'error', error });
          }
          break;
        case 'ping':
          // RFC 5626 §4.4.1: "the server... MUST respond with a single CRLF (the "pong")"
          this.#socket.write(CRLF);
          sink.trace({ type: 'ping', flow: this.id });
          break;
        case 'pong':
          if (this.#pongTimer !== undefined) {
            // the answer to our keep-alive: the flow is alive
            this.#o.clock.clearTimeout(this.#pongTimer);
            this.#pongTimer = undefined;
            this.#framer.pongTaken();
            sink.trace({ type: 'pong', flow: this.id });
            this.#armKeepAlive(this.#keepAliveMs);
          }
          break;
        case 'error':
          sink.trace({
            type: 'dropped',
            reason: `stream framing: ${ev.error.message}`,
            source: this.remote,
            error: ev.error,
          });
          this.close('framing', ev.error);
          return;
      }
    }
  }

  #onDrain(): void {
    if (this.#paused && this.#state !== 'Closed') {
      this.#paused = false;
      this.#socket.resume();
    }
  }

  /**
   * Keeps the message deadline: armed when a chunk leaves part of a message in the framer, re-armed
   * when a message completed in that chunk (the part held is then a new message), cleared when
   * the framer holds nothing.
   */
  #watchPartial(completed: boolean): void {
    const partial = this.#framer.state === 'Headers' || this.#framer.state === 'Body';
    if (this.#messageTimer !== undefined && (!partial || completed)) {
      this.#o.clock.clearTimeout(this.#messageTimer);
      this.#messageTimer = undefined;
    }
    if (!partial || this.#messageTimer !== undefined || this.#o.messageTimeoutMs === Infinity) return;
    this.#messageTimer = this.#o.clock.setTimeout(() => {
      this.#messageTimer = undefined;
      const error = transportFailure(
        `connection ${this.id}: a message from ${this.remote.host}:${this.remote.port} took over ${this.#o.messageTimeoutMs} ms to arrive (${this.#framer.bufferedBytes} bytes so far); limit messageTimeoutMs`,
      );
      this.#o.sink().trace({ type: 'dropped', reason: error.message, source: this.remote, error });
      this.close('slow', error);
    }, this.#o.messageTimeoutMs);
  }

  /**
   * RFC 5626 §4.4.1 on a connection we opened: after `#keepAliveMs` without a byte either way,
   * a CRLFCRLF ping, then `pongTimeoutMs` for the CRLF pong, or the flow has failed and closes.
   */
  #armKeepAlive(ms: number): void {
    if (this.#state === 'Closed') return;
    this.#keepAliveTimer = this.#o.clock.setTimeout(() => {
      this.#keepAliveTimer = undefined;
      if (this.#state === 'Closed') return;
      const quiet = this.#o.clock.now() - this.#lastActivity;
      if (quiet < this.#keepAliveMs) return this.#armKeepAlive(this.#keepAliveMs - quiet);
      this.#lastActivity = this.#o.clock.now();
      this.#socket.write(CRLFCRLF);
      this.#pongTimer = this.#o.clock.setTimeout(() => {
        this.#pongTimer = undefined;
        const error = transportFailure(
          `connection ${this.id}: no pong from ${this.remote.host}:${this.remote.port} within ${this.#o.pongTimeoutMs} ms of a keep-alive ping (RFC 5626 §4.4.1); the flow has failed`,
        );
        this.#o.sink().trace({ type: 'dropped', reason: error.message, source: this.remote, error });
        this.close('keep-alive', error);
      }, this.#o.pongTimeoutMs);
    }, ms);
  }

  #armIdle(ms: number): void {
    if (ms === Infinity || this.#state === 'Closed') return;
    this.#idleTimer = this.#o.clock.setTimeout(() => {
      this.#idleTimer = undefined;
      const idle = this.#o.clock.now() - this.#lastActivity;
      if (idle >= this.#o.idleTimeoutMs) this.close('idle');
      else this.#armIdle(this.#o.idleTimeoutMs - idle);
    }, ms);
  }

  /**
   * Why an outbound connection never carried SIP, naming the peer and the cause: refused (or
   * unreachable), or a TLS handshake that failed, with {@link TLS_TRUST_HINT} when the peer's
   * certificate did not verify (RFC 5630 §3; verification stays on).
   */
  #connectFailure(): UaCstaError {
    const error = this.#closeError;
    const cause = error instanceof Error ? error : new Error(`connection closed (${this.#closeReason})`);
    const where = `${this.remote.host}:${this.remote.port}`;
    const code = (cause as { code?: unknown }).code;
    // a name mismatch (ERR_TLS_CERT_ALTNAME_INVALID) is not fixed by trusting a CA: no hint
    const certificate = typeof code === 'string' && CERT_ERRORS.has(code);
    if (this.#o.readyEvent === 'secureConnect' && (this.#tcpUp || certificate)) {
      const hint = certificate ? `; ${TLS_TRUST_HINT}` : '';
      return transportFailure(`TLS handshake with ${where} failed: ${cause.message}${hint}`, cause);
    }
    const protocol = this.#o.readyEvent === 'secureConnect' ? 'TLS' : 'TCP';
    return transportFailure(`cannot open a ${protocol} connection to ${where}: ${cause.message}`, cause);
  }

  /** Runs once, on `close()` or when the socket closes: forget the connection, tell the sink. */
  #finish(): void {
    if (this.#state === 'Closed') return;
    this.#state = 'Closed';
    if (this.#idleTimer !== undefined) this.#o.clock.clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    if (this.#messageTimer !== undefined) this.#o.clock.clearTimeout(this.#messageTimer);
    this.#messageTimer = undefined;
    if (this.#keepAliveTimer !== undefined) this.#o.clock.clearTimeout(this.#keepAliveTimer);
    this.#keepAliveTimer = undefined;
    if (this.#pongTimer !== undefined) this.#o.clock.clearTimeout(this.#pongTimer);
    this.#pongTimer = undefined;
    this.#framer.close();
    const early = this.#early;
    this.#early = [];
    if (early.length > 0) {
      const failure = this.#connectFailure();
      queueMicrotask(() => {
        for (const tell of early) tell(failure);
      });
    }
    this.#o.sink().trace({
      type: 'flow-closed',
      flow: this.id,
      remote: this.remote,
      reason: this.#closeReason,
      ...(this.#closeError === undefined ? {} : { error: this.#closeError }),
    });
    this.#o.onClosed(this);
  }
}
