/**
 * The transaction layer: creates the four kinds of transaction, matches every incoming message
 * to one, and hands the rest to the transaction user (the UA core).
 *
 * @remarks
 * RFC 3261 §17.1.3 (matching responses to client transactions), §17.2.3 (matching requests to
 * server transactions, with the RFC 2543 fallback), §8.2.2.2 (merged requests), §18.1.2 (stray
 * responses go to the core); RFC 6026 (2xx to INVITE and the Accepted state).
 *
 * Client transactions are keyed by branch and CSeq method, and a response must also carry the
 * transaction's CSeq number: npm `sip` ignored that number, so an INFO that reused a branch got
 * the previous INFO's CSTA response (research/libfit.md §1.6). All timers of the layer share one
 * timer of the injected clock through a {@link TimerQueue}. A UDP non-INVITE server transaction
 * in Completed is replaced in the table by a compact record of its key, the serialized final
 * response, its target and its Timer J deadline, in one FIFO swept by one queue entry, so the
 * transaction object itself is collected (research/performance.md, G9).
 */

import { UaCstaError } from '../../errors.js';
import { systemClock, type Clock, type TimerHandle } from '../../util/clock.js';
import { BRANCH_MAGIC_COOKIE, createIdGenerator, type IdGenerator } from '../../util/ids.js';
import { createTimerQueue, type TimerQueue } from '../../util/timer-queue.js';
import type { SipMessage, SipRequest, SipResponse, Via } from '../message/types.js';
import { buildResponse, formatVia } from './build.js';
import { ClientInviteTransaction } from './client-invite.js';
import { ClientNonInviteTransaction } from './client-non-invite.js';
import { ServerInviteTransaction } from './server-invite.js';
import { ServerNonInviteTransaction, type LingerRecord } from './server-non-invite.js';
import { resolveTimers, type TimerOptions, type TimerSets } from './timers.js';
import type {
  ClientTransactionUser,
  SendFn,
  SerializeFn,
  ServerTransactionUser,
  TransactionEnvironment,
  TransactionError,
  TransactionTraceEvent,
} from './transaction.js';

/** A client transaction of either kind. */
export type ClientTransaction<T = unknown> =
  ClientInviteTransaction<T> | ClientNonInviteTransaction<T>;

/** A server transaction of either kind; the TU answers with `respond(response)`. */
export type ServerTransaction<T = unknown> =
  ServerInviteTransaction<T> | ServerNonInviteTransaction<T>;

/**
 * The transaction user of the layer: the UA core, for everything that is not a response to a
 * request it sent (those go to the {@link ClientTransactionUser} given to `sendRequest`).
 *
 * @remarks
 * The layer catches and traces an exception thrown by any of these; it never breaks the layer.
 */
export interface TransactionUser<T> {
  /**
   * A new request, with the server transaction that answers it. Retransmissions, merged
   * requests (answered 482 by the layer) and ACKs never arrive here.
   */
  onRequest(request: SipRequest, transaction: ServerTransaction<T>): void;
  /**
   * An ACK for the UA core: the ACK for a 2xx, which is its own transaction and matches none
   * (RFC 3261 §17.2.3), or an ACK matched to an INVITE server transaction in Accepted (RFC 6026
   * §7.1).
   */
  onAck(ack: SipRequest, source: T, reliable: boolean): void;
  /**
   * A response that matches no client transaction (RFC 3261 §18.1.2): typically a 2xx to INVITE
   * retransmitted after Timer M, which the UA core acknowledges again (RFC 3261 §13.2.2.4).
   */
  onStrayResponse(response: SipResponse, source: T): void;
  /**
   * A server transaction failed after its request was handed over: Timer H (no ACK for a
   * non-2xx final response, `SIP_ERR_TIMEOUT`) or a transport error (`SIP_ERR_TRANSPORT`).
   */
  onServerError(transaction: ServerTransaction<T>, error: TransactionError): void;
}

/** Options of {@link TransactionLayer}. */
export interface TransactionLayerOptions<T> {
  /** Passes a serialized message to the transport; throws when it cannot. */
  readonly send: SendFn<T>;
  /** Serializes a message; called once per message sent (retransmissions resend the bytes). */
  readonly serialize: SerializeFn;
  /** Receives new requests, ACKs for the core, stray responses and server-side failures. */
  readonly user: TransactionUser<T>;
  /**
   * Time for every transaction timer, multiplexed onto one timer of this clock.
   * @defaultValue `systemClock`
   */
  readonly clock?: Clock;
  /** T1, T2, T4 and the 100 (Trying) delay; see {@link TimerOptions}. */
  readonly timers?: TimerOptions;
  /**
   * Makes the To tag of the 482 the layer sends to a merged request.
   * @defaultValue `createIdGenerator()`
   */
  readonly ids?: IdGenerator;
  /** Sees dropped input and exceptions thrown by transaction users. */
  readonly trace?: (event: TransactionTraceEvent) => void;
  /**
   * What a lingering record (a non-INVITE server transaction in Completed over UDP, kept for
   * Timer J: 32 s) keeps of the target it resends to. A target that refers back to its
   * transaction (an error callback) would keep the transaction, its request and the received
   * datagram alive that long: ~2 KiB per INFO, 0.6 GB at 10k INFO/s. @defaultValue the target
   */
  readonly lingerTarget?: (target: T) => T;
}

/**
 * What {@link TransactionLayer.receive} did with a message:
 * - `'request'`: a new request, passed to `onRequest` with its server transaction;
 * - `'retransmission'`: a retransmitted request, absorbed (the last response, if any, resent);
 * - `'merged'`: a merged request (RFC 3261 §8.2.2.2), answered 482 by the layer;
 * - `'ack'`: an ACK passed to `onAck`;
 * - `'response'`: a response passed to its client transaction's TU;
 * - `'absorbed'`: a message matched to a transaction that consumed it (ACK to a non-2xx,
 *   response retransmission);
 * - `'stray'`: a response that matches no transaction, passed to `onStrayResponse`;
 * - `'dropped'`: unusable or arriving after `close()`; traced.
 */
export type ReceiveOutcome =
  'request' | 'retransmission' | 'merged' | 'ack' | 'response' | 'absorbed' | 'stray' | 'dropped';

/**
 * State of a {@link TransactionLayer}.
 *
 * ```text
 *   Open ──close()──▶ Closed
 * ```
 */
export type TransactionLayerState = 'Open' | 'Closed';

const SEP = '\u0000';

/** sent-by of a Via, compared as RFC 3261 §17.2.3 asks: host case-insensitively, port as given. */
function sentBy(via: Via): string {
  return `${via.host.toLowerCase()}:${via.port ?? ''}`;
}

/** The To tag of a message, `''` when there is none. */
function toTag(message: SipMessage): string {
  return message.to.params['tag'] ?? '';
}

/**
 * The key of the server transaction a request belongs to (RFC 3261 §17.2.3). `method` is the
 * request's, or `'INVITE'` for an ACK or a CANCEL being matched to its INVITE.
 *
 * @remarks
 * With the magic cookie: branch, sent-by and method. Without it (RFC 2543 peers): Request-URI,
 * To tag (`withToTag`), From tag, Call-ID, CSeq and the top Via.
 */
function serverKey(
  request: SipRequest,
  top: Via,
  branch: string | undefined,
  method: string,
  withToTag: string,
): string {
  if (branch !== undefined && branch.startsWith(BRANCH_MAGIC_COOKIE)) {
    return flat(branch + SEP + sentBy(top) + SEP + method);
  }
  return [
    'rfc2543',
    request.uri,
    withToTag,
    request.from.params['tag'] ?? '',
    request.callId,
    String(request.cseq.seq),
    method,
    formatVia(top),
  ].join(SEP);
}

/**
 * `s` as one flat string that shares no characters with the message it was cut from.
 *
 * @remarks
 * A key made by concatenation is a rope over slices of the parsed header text; kept in the
 * server table for Timer J (32 s on UDP), it would keep that whole text alive (~1 KiB per
 * lingering transaction). Taking a substring of a rope makes V8 copy the rope's characters into
 * one new string first, so the result refers to that copy only.
 */
function flat(s: string): string {
  return (SEP + s).slice(1);
}

/** The key of RFC 3261 §8.2.2.2: From tag, Call-ID and CSeq. */
function mergeKey(request: SipRequest): string {
  return (
    (request.from.params['tag'] ?? '') +
    SEP +
    request.callId +
    SEP +
    request.cseq.seq +
    SEP +
    request.cseq.method
  );
}

/**
 * A non-INVITE server transaction in Completed over an unreliable transport, reduced to what
 * RFC 3261 §17.2.2 still needs of it: its key, the final response's bytes, where they go, and
 * Timer J as one entry of the layer's timer queue. It never refers to the transaction, which the
 * collector can take once the TU lets go of it; a request matching `key` resends `bytes` and is
 * absorbed (research/performance.md, G9).
 *
 * Timer J has one duration per layer, so records expire in the order they were made: they form
 * one FIFO list, swept by a single entry of the timer queue armed at the head's deadline, rather
 * than a queue entry and a closure each.
 */
class Lingering<T> implements LingerRecord {
  gone = false;
  next: Lingering<T> | undefined = undefined;
  readonly key: string;
  readonly merge: string | undefined;
  /**
   * The response as its buffer and range rather than a view: a view is one more object per
   * record on the heap for 32 s, and a resend (a retransmitted request) is rare.
   */
  readonly buffer: ArrayBufferLike;
  readonly offset: number;
  readonly length: number;
  readonly target: T;
  readonly deadline: number;
  constructor(
    key: string,
    merge: string | undefined,
    bytes: Uint8Array,
    target: T,
    deadline: number,
  ) {
    this.key = key;
    this.merge = merge;
    this.buffer = bytes.buffer;
    this.offset = bytes.byteOffset;
    this.length = bytes.byteLength;
    this.target = target;
    this.deadline = deadline;
  }

  /** The final response, to resend. */
  bytes(): Uint8Array {
    return new Uint8Array(this.buffer, this.offset, this.length);
  }
}

/**
 * The RFC 3261 §17 transaction layer of one SIP element.
 *
 * @typeParam T - the transport's address type; the layer only passes it back to `send`
 *
 * @example
 * const layer = new TransactionLayer<Peer>({ send, serialize, user: core, clock });
 * const tx = layer.sendRequest(info, peer, false, {
 *   onResponse: (r) => …, onTimeout: (e) => …, onTransportError: (e) => …,
 * });
 * transport.onMessage = (message, source, reliable) => layer.receive(message, source, reliable);
 */
export class TransactionLayer<T = unknown> {
  private readonly clients = new Map<string, ClientTransaction<T>>();
  private readonly servers = new Map<string, ServerTransaction<T> | Lingering<T>>();
  private readonly merges = new Map<string, ServerTransaction<T> | Lingering<T>>();
  private readonly queue: TimerQueue;
  private readonly env: TransactionEnvironment<T>;
  private readonly timerSets: TimerSets;
  private readonly user: TransactionUser<T>;
  private readonly ids: IdGenerator;
  private readonly serverUser: ServerTransactionUser<ServerTransaction<T>>;
  private readonly lingerTarget: ((target: T) => T) | undefined;
  private current: TransactionLayerState = 'Open';
  /** Lingering records in deadline order, live ones counted, and the sweep's queue entry. */
  private lingerHead: Lingering<T> | undefined = undefined;
  private lingerTail: Lingering<T> | undefined = undefined;
  private lingerCount = 0;
  private sweepHandle: TimerHandle | undefined = undefined;
  private sweepAt = Infinity;
  private readonly sweepFn = (): void => this.sweep();

  /** @throws `ERR_INVALID_ARG` for a missing callback or a bad timer value. */
  constructor(options: TransactionLayerOptions<T>) {
    if (typeof options.send !== 'function')
      throw new UaCstaError('ERR_INVALID_ARG', 'send must be a function');
    if (typeof options.serialize !== 'function')
      throw new UaCstaError('ERR_INVALID_ARG', 'serialize must be a function');
    if (typeof options.user !== 'object' || options.user === null)
      throw new UaCstaError('ERR_INVALID_ARG', 'user must be an object');
    this.timerSets = resolveTimers(options.timers);
    this.queue = createTimerQueue(options.clock ?? systemClock);
    this.user = options.user;
    this.ids = options.ids ?? createIdGenerator();
    this.lingerTarget = options.lingerTarget;
    const trace = options.trace;
    this.env = {
      clock: this.queue,
      send: options.send,
      serialize: options.serialize,
      trace: trace === undefined ? () => {} : trace,
    };
    this.serverUser = {
      onError: (tx, error) => this.guard(() => this.user.onServerError(tx, error)),
    };
  }

  /** `'Open'` until {@link TransactionLayer.close}. */
  get state(): TransactionLayerState {
    return this.current;
  }

  /**
   * Sends a request in a new client transaction (RFC 3261 §17.1) and returns it.
   *
   * @remarks
   * The request's top Via must carry a branch that starts with `z9hG4bK` (make it with
   * `IdGenerator.branch()`), unique among the layer's live client transactions. An ACK is never
   * sent this way: the INVITE client transaction builds the ACK to a non-2xx response, and the
   * UA core sends the ACK to a 2xx straight to the transport (RFC 3261 §13.2.2.4).
   *
   * @param target - the next hop, passed back to `send` untouched
   * @param reliable - whether that transport is reliable (no retransmissions; Timers D and K zero)
   * @throws `ERR_INVALID_ARG` for an ACK, a missing or non-RFC 3261 branch, a CSeq method that is
   * not the request's, or a branch in use; `ERR_INVALID_STATE` after `close()`.
   */
  sendRequest(
    request: SipRequest,
    target: T,
    reliable: boolean,
    user: ClientTransactionUser,
  ): ClientTransaction<T> {
    if (this.current === 'Closed')
      throw new UaCstaError('ERR_INVALID_STATE', 'the transaction layer is closed');
    const method = request.method;
    if (method === 'ACK') {
      throw new UaCstaError(
        'ERR_INVALID_ARG',
        'an ACK has no client transaction; the UA core sends the ACK to a 2xx itself',
      );
    }
    const branch = request.via[0]?.branch;
    if (
      branch === undefined ||
      !branch.startsWith(BRANCH_MAGIC_COOKIE) ||
      branch.length <= BRANCH_MAGIC_COOKIE.length
    ) {
      throw new UaCstaError(
        'ERR_INVALID_ARG',
        `the top Via needs a branch starting with ${BRANCH_MAGIC_COOKIE}; got ${String(branch)}`,
      );
    }
    if (request.cseq.method !== method) {
      throw new UaCstaError(
        'ERR_INVALID_ARG',
        `CSeq method ${request.cseq.method} is not the request method ${method}`,
      );
    }
    const key = branch + SEP + method;
    if (this.clients.has(key)) {
      throw new UaCstaError(
        'ERR_INVALID_ARG',
        `branch ${branch} is in use by a live ${method} client transaction`,
      );
    }
    const options = {
      env: this.env,
      target,
      reliable,
      timers: reliable ? this.timerSets.reliable : this.timerSets.unreliable,
      request,
      user,
      onTerminated: () => {
        if (this.clients.get(key) === tx) this.clients.delete(key);
      },
    };
    const tx: ClientTransaction<T> =
      method === 'INVITE'
        ? new ClientInviteTransaction<T>(options)
        : new ClientNonInviteTransaction<T>(options);
    this.clients.set(key, tx);
    tx.start();
    return tx;
  }

  /**
   * Passes a message from the transport to the transaction it belongs to, or to the TU.
   *
   * @param source - where it came from; a new server transaction sends its responses there
   * @param reliable - whether it came over a reliable transport
   */
  receive(message: SipMessage, source: T, reliable: boolean): ReceiveOutcome {
    if (this.current === 'Closed') return this.drop('the transaction layer is closed', message);
    return message.kind === 'request'
      ? this.receiveRequest(message, source, reliable)
      : this.receiveResponse(message, source);
  }

  /**
   * The INVITE server transaction a CANCEL refers to (RFC 3261 §9.2: the matching rules of
   * §17.2.3 with the method ignored), if it is still live.
   */
  findInviteForCancel(cancel: SipRequest): ServerInviteTransaction<T> | undefined {
    const top = cancel.via[0];
    if (top === undefined) return undefined;
    const tx = this.servers.get(serverKey(cancel, top, top.branch, 'INVITE', toTag(cancel)));
    return tx instanceof ServerInviteTransaction ? tx : undefined;
  }

  /** Live transactions and pending timers; for tests, metrics and leak checks. */
  stats(): { readonly client: number; readonly server: number; readonly timers: number } {
    // Each lingering record stands for its Timer J; the one sweep entry is not a timer of its own.
    const timers =
      this.queue.size() - (this.sweepHandle === undefined ? 0 : 1) + this.lingerCount;
    return { client: this.clients.size, server: this.servers.size, timers };
  }

  /**
   * Ends every transaction without telling its TU, cancels every timer, and drops all later
   * input. Idempotent.
   */
  close(): void {
    if (this.current === 'Closed') return;
    this.current = 'Closed';
    for (const tx of [...this.clients.values()]) tx.destroy();
    for (const tx of [...this.servers.values()]) {
      if (tx instanceof Lingering) tx.gone = true;
      else tx.destroy();
    }
    this.clients.clear();
    this.servers.clear();
    this.merges.clear();
    this.queue.clear();
    this.sweepHandle = undefined;
    for (let r = this.lingerHead; r !== undefined; r = r.next) r.gone = true;
    this.lingerHead = this.lingerTail = undefined;
    this.lingerCount = 0;
  }

  private receiveResponse(response: SipResponse, source: T): ReceiveOutcome {
    const top = response.via[0];
    if (top === undefined) return this.drop('response without a Via', response);
    const branch = top.branch;
    // §17.1.3: the branch of the top Via and the CSeq method select the transaction.
    const tx =
      branch === undefined ? undefined : this.clients.get(branch + SEP + response.cseq.method);
    if (tx === undefined) {
      this.guard(() => this.user.onStrayResponse(response, source));
      return 'stray';
    }
    // Beyond §17.1.3: the CSeq number must be the request's too, so a response to an earlier
    // request that reused the branch is never taken for this one (libfit.md §1.6).
    if (response.cseq.seq !== tx.cseq)
      return this.drop(`CSeq ${response.cseq.seq} is not the transaction's ${tx.cseq}`, response);
    return tx.receiveResponse(response) ? 'response' : 'absorbed';
  }

  private receiveRequest(request: SipRequest, source: T, reliable: boolean): ReceiveOutcome {
    const top = request.via[0];
    if (top === undefined) return this.drop('request without a Via', request);
    const branch = top.branch;
    if (request.method === 'ACK') return this.receiveAck(request, top, branch, source, reliable);

    const key = serverKey(request, top, branch, request.method, toTag(request));
    const existing = this.servers.get(key);
    if (existing instanceof Lingering) {
      try {
        this.env.send(existing.bytes(), existing.target, false);
      } catch (cause) {
        // As the transaction would on a failed send (§17.2.4): it ends. Its TU let go of it.
        this.forget(existing);
        this.drop(`could not resend the final response: ${String(cause)}`, request);
      }
      return 'retransmission';
    }
    if (existing !== undefined) {
      existing.receiveRetransmission();
      return 'retransmission';
    }

    // §8.2.2.2: "If the request has no tag in the To header field, the UAS core MUST check the
    // request against ongoing transactions. If the From tag, Call-ID, and CSeq exactly match
    // those associated with an ongoing transaction, but the request does not match that
    // transaction (based on the matching rules in Section 17.2.3), the UAS core SHOULD generate
    // a 482 (Loop Detected) response and pass it to the server transaction."
    const merge = toTag(request) === '' ? mergeKey(request) : undefined;
    const merged = merge !== undefined && this.merges.has(merge);
    const tx = this.createServer(request, key, merged ? undefined : merge, source, reliable);
    if (merged) {
      tx.respond(buildResponse(request, 482, 'Loop Detected', this.ids.tag()));
      return 'merged';
    }
    this.guard(() => this.user.onRequest(request, tx));
    return 'request';
  }

  private receiveAck(
    ack: SipRequest,
    top: Via,
    branch: string | undefined,
    source: T,
    reliable: boolean,
  ): ReceiveOutcome {
    let tx: ServerTransaction<T> | Lingering<T> | undefined;
    if (branch !== undefined && branch.startsWith(BRANCH_MAGIC_COOKIE)) {
      tx = this.servers.get(serverKey(ack, top, branch, 'INVITE', ''));
    } else {
      // §17.2.3, RFC 2543: "the To tag of the ACK matches the To tag of the response sent by
      // the server transaction". The INVITE had no To tag (initial) or the same one (re-INVITE).
      const initial = this.servers.get(serverKey(ack, top, branch, 'INVITE', ''));
      tx =
        initial instanceof ServerInviteTransaction && initial.responseToTag === ack.to.params['tag']
          ? initial
          : this.servers.get(serverKey(ack, top, branch, 'INVITE', toTag(ack)));
    }
    if (tx instanceof ServerInviteTransaction && tx.receiveAck() === 'absorbed') return 'absorbed';
    this.guard(() => this.user.onAck(ack, source, reliable));
    return 'ack';
  }

  private createServer(
    request: SipRequest,
    key: string,
    merge: string | undefined,
    source: T,
    reliable: boolean,
  ): ServerTransaction<T> {
    let parked: Lingering<T> | undefined;
    const options = {
      env: this.env,
      target: source,
      reliable,
      timers: reliable ? this.timerSets.reliable : this.timerSets.unreliable,
      request,
      user: this.serverUser,
      onTerminated: () => {
        if (parked !== undefined) return this.forget(parked);
        if (this.servers.get(key) === tx) this.servers.delete(key);
        if (merge !== undefined && this.merges.get(merge) === tx) this.merges.delete(merge);
      },
      linger:
        reliable || request.method === 'INVITE'
          ? undefined
          : (bytes: Uint8Array, ms: number): LingerRecord => {
              parked = this.park(tx, key, merge, bytes, source, ms);
              return parked;
            },
    };
    const tx: ServerTransaction<T> =
      request.method === 'INVITE'
        ? new ServerInviteTransaction<T>(options)
        : new ServerNonInviteTransaction<T>(options);
    this.servers.set(key, tx);
    if (merge !== undefined) this.merges.set(merge, tx);
    tx.start();
    return tx;
  }

  /** Replaces `tx`, now Completed, by a {@link Lingering} record that Timer J removes. */
  private park(
    tx: ServerTransaction<T>,
    key: string,
    merge: string | undefined,
    bytes: Uint8Array,
    target: T,
    ms: number,
  ): Lingering<T> {
    const kept = this.lingerTarget === undefined ? target : this.lingerTarget(target);
    const record = new Lingering<T>(key, merge, bytes, kept, this.queue.now() + ms);
    if (this.servers.get(key) === tx) this.servers.set(key, record);
    if (merge !== undefined && this.merges.get(merge) === tx) this.merges.set(merge, record);
    const tail = this.lingerTail;
    if (tail !== undefined && tail.deadline > record.deadline) {
      // Not expected (one Timer J per layer, a monotonic clock); keep the list sorted anyway.
      let at = this.lingerHead;
      if (at === undefined || at.deadline > record.deadline) {
        record.next = at;
        this.lingerHead = record;
      } else {
        while (at.next !== undefined && at.next.deadline <= record.deadline) at = at.next;
        record.next = at.next;
        at.next = record;
      }
    } else {
      if (tail === undefined) this.lingerHead = record;
      else tail.next = record;
      this.lingerTail = record;
    }
    this.lingerCount++;
    this.armSweep();
    return record;
  }

  /** Arms the sweep at the head's deadline, unless it already is. */
  private armSweep(): void {
    const head = this.lingerHead;
    if (head === undefined) return;
    if (this.sweepHandle !== undefined) {
      if (this.sweepAt <= head.deadline) return;
      this.queue.clearTimeout(this.sweepHandle);
    }
    this.sweepAt = head.deadline;
    this.sweepHandle = this.queue.setTimeout(this.sweepFn, head.deadline - this.queue.now());
  }

  /** Timer J of every record that is due: they end. */
  private sweep(): void {
    this.sweepHandle = undefined;
    const now = this.queue.now();
    let r = this.lingerHead;
    while (r !== undefined && r.deadline <= now) {
      const next = r.next;
      r.next = undefined;
      this.forget(r);
      r = next;
    }
    this.lingerHead = r;
    if (r === undefined) this.lingerTail = undefined;
    this.armSweep();
  }

  /**
   * Ends a lingering record: Timer J fired, or its transaction was ended. The record stays in the
   * list, inert, until its deadline.
   */
  private forget(record: Lingering<T>): void {
    if (record.gone) return;
    record.gone = true;
    this.lingerCount--;
    if (this.servers.get(record.key) === record) this.servers.delete(record.key);
    const merge = record.merge;
    if (merge !== undefined && this.merges.get(merge) === record) this.merges.delete(merge);
  }

  private drop(reason: string, message: SipMessage): 'dropped' {
    this.env.trace({ type: 'dropped', reason, message });
    return 'dropped';
  }

  private guard(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.env.trace({ type: 'user-error', error });
    }
  }
}
