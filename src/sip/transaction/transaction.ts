/**
 * What the four transaction state machines share: the send and serialize seams, the errors they
 * report, and a base class with one guarded `transition(to)` and timers owned by states.
 *
 * @remarks
 * RFC 3261 §17. A transaction learns the time only from the injected {@link Clock}, reaches the
 * network only through the injected {@link SendFn}, and is told by its creator whether the
 * transport is reliable. Each timer is owned by the states it may run in; leaving those states
 * cancels it, so no timer outlives the state that needed it.
 */

import { UaCstaError } from '../../errors.js';
import type { Clock, TimerHandle } from '../../util/clock.js';
import type { SipMessage, SipResponse } from '../message/types.js';
import type { TransactionTimers } from './timers.js';

/**
 * Passes one serialized message to the transport.
 *
 * @remarks
 * `target` is opaque to the transaction layer: for a client transaction it is what the caller
 * passed to `sendRequest` (the resolved next hop); for a server transaction it is the `source`
 * the request arrived from, and the transport applies RFC 3261 §18.2.2 / RFC 3581 to it.
 * `reliable` repeats what the caller said about the transport. A transport that cannot send
 * throws; the transaction turns that into a transport error for its TU (RFC 3261 §17.1.4,
 * §17.2.4). A failure found later (a TCP connection refused after the write) is reported with
 * the transaction's `transportError(cause)`.
 */
export type SendFn<T> = (message: Uint8Array, target: T, reliable: boolean) => void;

/** Serializes a message once; the transaction keeps and resends the bytes. */
export type SerializeFn = (message: SipMessage) => Uint8Array;

/** What the transaction layer reports to `trace`: inputs it dropped and TU callbacks that threw. */
export type TransactionTraceEvent =
  | {
      readonly type: 'dropped';
      /** Why, e.g. `'no top Via'`. */
      readonly reason: string;
      readonly message: SipMessage;
    }
  | {
      /** A transaction-user callback threw; the transaction carried on. */
      readonly type: 'user-error';
      readonly error: unknown;
    };

/** The services a transaction uses; one object shared by all transactions of a layer. */
export interface TransactionEnvironment<T> {
  readonly clock: Clock;
  readonly send: SendFn<T>;
  readonly serialize: SerializeFn;
  readonly trace: (event: TransactionTraceEvent) => void;
}

/** Ends a switch over a union: a compile error when a member is not handled. */
export function assertNever(value: never): never {
  throw new UaCstaError('ERR_INVALID_STATE', `unhandled case: ${String(value)}`);
}

/** The RFC timer whose firing ended a transaction. */
export type TimeoutTimer = 'B' | 'F' | 'H';

/**
 * A transaction ended without its exchange completing: a timeout or a transport error.
 *
 * @remarks
 * RFC 3261 §8.1.3.1: the UAC core treats a transaction timeout as a 408 (Request Timeout) and a
 * transport error as a 503 (Service Unavailable); {@link TransactionError.status} carries that
 * status so the TU can map it without string matching.
 */
export class TransactionError extends UaCstaError {
  override readonly name: string = 'TransactionError';
  /** The status to act on (RFC 3261 §8.1.3.1): 408 for a timeout, 503 for a transport error. */
  readonly status: 408 | 503;
  /** For a timeout, the timer that fired; `undefined` for a transport error. */
  readonly timer: TimeoutTimer | undefined;
  constructor(
    code: 'SIP_ERR_TIMEOUT' | 'SIP_ERR_TRANSPORT',
    message: string,
    status: 408 | 503,
    timer: TimeoutTimer | undefined,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.status = status;
    this.timer = timer;
  }
}

/** The error for Timer B, F or H (code `SIP_ERR_TIMEOUT`, status 408). */
export function timeoutError(timer: TimeoutTimer, ms: number, what: string): TransactionError {
  return new TransactionError(
    'SIP_ERR_TIMEOUT',
    `Timer ${timer} fired after ${ms} ms: ${what}`,
    408,
    timer,
  );
}

/** The error for a failed send (code `SIP_ERR_TRANSPORT`, status 503), with the cause kept. */
export function transportError(cause: unknown): TransactionError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new TransactionError(
    'SIP_ERR_TRANSPORT',
    `the transport could not send: ${detail}`,
    503,
    undefined,
    { cause },
  );
}

/**
 * The TU of a client transaction: the UAC core or whoever sent the request.
 *
 * @remarks
 * Callbacks run after the transaction has changed state, so `transaction.state` reads the new
 * state inside them. An exception thrown by a callback is traced and never breaks the
 * transaction.
 */
export interface ClientTransactionUser {
  /**
   * A response for the TU: each provisional, the final response once, and for an INVITE every
   * 2xx (retransmissions and other forks too; RFC 6026 §8.4: the UA core sends their ACKs).
   */
  onResponse(response: SipResponse): void;
  /** Timer B or F fired with no final response; act as on a 408 (RFC 3261 §8.1.3.1). */
  onTimeout(error: TransactionError): void;
  /** The transport failed; act as on a 503 (RFC 3261 §8.1.3.1, §17.1.4). */
  onTransportError(error: TransactionError): void;
}

/**
 * The TU of a server transaction, for what happens after the request was handed over.
 *
 * @typeParam X - the transaction type passed back
 */
export interface ServerTransactionUser<X> {
  /**
   * Timer H fired with no ACK for a non-2xx final response (`SIP_ERR_TIMEOUT`, RFC 3261
   * §17.2.1), or the transport failed to send a response (`SIP_ERR_TRANSPORT`, §17.2.4).
   */
  onError(transaction: X, error: TransactionError): void;
}

/**
 * Checks a response the TU passes to a server transaction.
 *
 * @throws `ERR_INVALID_ARG` when the status is not 100–699 or the CSeq is not the request's.
 */
export function checkResponse(response: SipResponse, method: string, cseq: number): void {
  const { status } = response;
  if (!Number.isInteger(status) || status < 100 || status > 699) {
    throw new UaCstaError(
      'ERR_INVALID_ARG',
      `response status must be an integer in 100-699; got ${status}`,
    );
  }
  if (response.cseq.seq !== cseq || response.cseq.method !== method) {
    throw new UaCstaError(
      'ERR_INVALID_ARG',
      `response CSeq is ${response.cseq.seq} ${response.cseq.method}; ` +
        `the transaction's request has ${cseq} ${method}`,
    );
  }
}

/** What every transaction is built with. */
export interface TransactionBaseOptions<T> {
  readonly env: TransactionEnvironment<T>;
  /** Where messages go: the next hop for a client, the request's source for a server. */
  readonly target: T;
  /** Whether the transport is reliable (TCP, TLS, WS): no retransmissions, D/I/J/K are zero. */
  readonly reliable: boolean;
  /** The durations for this transport, from `resolveTimers()`. */
  readonly timers: TransactionTimers;
  /** Called once when the transaction reaches Terminated (the layer forgets it then). */
  readonly onTerminated?: () => void;
}

/**
 * Base of the four state machines: the state, its transition table, and state-owned timers.
 *
 * @typeParam S - the state union, which includes `'Terminated'`
 * @typeParam N - the names of the machine's timers (`'E' | 'F' | 'K'`…)
 * @typeParam T - the transport's target type, opaque here
 */
export abstract class Transaction<S extends string, N extends string, T> {
  /** Where this transaction's messages go. */
  readonly target: T;
  /** Whether the transport is reliable. */
  readonly reliable: boolean;
  protected readonly env: TransactionEnvironment<T>;
  protected readonly timers: TransactionTimers;
  private current: S;
  private readonly table: Readonly<Record<S, readonly S[]>>;
  private readonly owners: Readonly<Record<N, readonly S[]>>;
  private readonly label: string;
  private timerNames: N[] = [];
  private timerHandles: TimerHandle[] = [];
  private onTerminated: (() => void) | undefined;

  protected constructor(
    label: string,
    initial: S,
    table: Readonly<Record<S, readonly S[]>>,
    owners: Readonly<Record<N, readonly S[]>>,
    options: TransactionBaseOptions<T>,
  ) {
    this.label = label;
    this.current = initial;
    this.table = table;
    this.owners = owners;
    this.env = options.env;
    this.target = options.target;
    this.reliable = options.reliable;
    this.timers = options.timers;
    this.onTerminated = options.onTerminated;
  }

  /** The current state. */
  get state(): S {
    return this.current;
  }

  /**
   * Ends the transaction at once, cancelling its timers, without telling the TU; for a layer
   * that is closing. Does nothing when already Terminated.
   */
  destroy(): void {
    // reason: every state union here contains 'Terminated', which TypeScript cannot see in S.
    const terminated = 'Terminated' as unknown as S;
    if (this.current !== terminated) this.transition(terminated);
  }

  /** Runs the actions of entering `state` (send, start its timers). */
  protected abstract enter(state: S): void;

  /**
   * Moves to `to`: cancels the timers no longer owned, then enters `to`.
   *
   * @throws `ERR_INVALID_STATE` when the table has no such move; that is a bug, never input.
   */
  protected transition(to: S): void {
    const from = this.current;
    if (!this.table[from].includes(to)) {
      throw new UaCstaError(
        'ERR_INVALID_STATE',
        `${this.label} transaction cannot move from ${from} to ${to}`,
      );
    }
    for (let i = this.timerNames.length - 1; i >= 0; i--) {
      const name = this.timerNames[i];
      if (name !== undefined && !this.owners[name].includes(to)) this.stopAt(i);
    }
    this.current = to;
    if (to === 'Terminated') {
      const hook = this.onTerminated;
      this.onTerminated = undefined;
      hook?.();
    }
    this.enter(to);
  }

  /** Starts (or restarts) timer `name`; it must be owned by the current state. */
  protected startTimer(name: N, ms: number, fire: () => void): void {
    this.stopTimer(name);
    if (!this.owners[name].includes(this.current)) {
      throw new UaCstaError(
        'ERR_INVALID_STATE',
        `${this.label} transaction cannot run Timer ${name} in ${this.current}`,
      );
    }
    const handle = this.env.clock.setTimeout(() => {
      const i = this.timerHandles.indexOf(handle);
      if (i >= 0) {
        this.timerNames.splice(i, 1);
        this.timerHandles.splice(i, 1);
      }
      fire();
    }, ms);
    this.timerNames.push(name);
    this.timerHandles.push(handle);
  }

  /** Cancels timer `name` if it runs. */
  protected stopTimer(name: N): void {
    const i = this.timerNames.indexOf(name);
    if (i >= 0) this.stopAt(i);
  }

  /** Names of the timers that run now, in the order they were started; for tests and traces. */
  activeTimers(): readonly N[] {
    return [...this.timerNames];
  }

  private stopAt(i: number): void {
    const handle = this.timerHandles[i];
    if (handle !== undefined) this.env.clock.clearTimeout(handle);
    this.timerNames.splice(i, 1);
    this.timerHandles.splice(i, 1);
  }

  /**
   * Passes bytes to the transport. Returns `undefined` when sent, or what the transport threw;
   * the caller then handles the transport error as its state requires.
   */
  protected sendBytes(bytes: Uint8Array): unknown {
    try {
      this.env.send(bytes, this.target, this.reliable);
      return undefined;
    } catch (cause) {
      return cause ?? new Error('send failed');
    }
  }

  /** Runs a TU callback; an exception is traced and never reaches the state machine. */
  protected notify(call: () => void): void {
    try {
      call();
    } catch (error) {
      this.env.trace({ type: 'user-error', error });
    }
  }
}
