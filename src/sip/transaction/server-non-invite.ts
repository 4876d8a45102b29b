/**
 * The non-INVITE server transaction (RFC 3261 §17.2.2).
 *
 * @remarks
 * Sends the TU's responses to a request such as INFO, absorbs retransmissions of the request
 * (resending the last response, byte for byte), and lingers in Completed for Timer J. Only the
 * serialized last response is kept, never the request or response objects. Created by a
 * `TransactionLayer`, a transaction entering Completed over UDP hands its bytes and Timer J
 * to the layer, which keeps only a compact record (research/performance.md, G9); the object then
 * reads Completed until Timer J fires, and Terminated after.
 * Over a reliable transport Timer J is zero and the transaction ends with its final response.
 */

import { UaCstaError } from '../../errors.js';
import type { SipRequest, SipResponse } from '../message/types.js';
import {
  Transaction,
  assertNever,
  checkResponse,
  transportError,
  type ServerTransactionUser,
  type TransactionBaseOptions,
} from './transaction.js';

/**
 * State of a non-INVITE server transaction.
 *
 * ```text
 *                   │ request received: pass to TU
 *                   ▼
 *               +────────+  request retransmission: absorbed
 *               │ Trying │
 *               +────────+
 *   1xx from TU: │      │ 200-699 from TU: send
 *   send         ▼      │
 *       +────────────+  │  1xx from TU: send
 *       │ Proceeding │  │  request retransmission: resend the last 1xx
 *       +────────────+  │
 *   200-699 from │      │
 *   TU: send     ▼      ▼
 *               +───────────+  request retransmission: resend the final response
 *               │ Completed │
 *               +───────────+
 *                   │ Timer J (64*T1; 0 on reliable transports)
 *                   ▼
 *               +────────────+◀── transport error (Proceeding, Completed): inform TU
 *               │ Terminated │
 *               +────────────+
 * ```
 */
export type ServerNonInviteState = 'Trying' | 'Proceeding' | 'Completed' | 'Terminated';

type TimerName = 'J';

/** The legal moves of {@link ServerNonInviteState}. */
export const SERVER_NON_INVITE_TRANSITIONS: Readonly<
  Record<ServerNonInviteState, readonly ServerNonInviteState[]>
> = {
  Trying: ['Proceeding', 'Completed', 'Terminated'],
  Proceeding: ['Completed', 'Terminated'],
  Completed: ['Terminated'],
  Terminated: [],
};

const OWNERS: Readonly<Record<TimerName, readonly ServerNonInviteState[]>> = {
  J: ['Completed'],
};

/** What a server transaction is built with. */
export interface ServerTransactionOptions<T, X> extends TransactionBaseOptions<T> {
  /** The request that created the transaction. */
  readonly request: SipRequest;
  readonly user: ServerTransactionUser<X>;
  /**
   * Takes over Completed on an unreliable transport: given the final response's bytes and
   * Timer J, the layer keeps a compact record that absorbs retransmissions until Timer J fires,
   * and the transaction object itself can be collected. Returns that record; its `gone` turns
   * true when Timer J fires or the record is dropped.
   */
  readonly linger?: (bytes: Uint8Array, ms: number) => LingerRecord;
}

/** What a transaction that handed its Completed state to the layer sees of the record. */
export interface LingerRecord {
  /** Timer J fired, or the layer dropped the record (close, transport error). */
  readonly gone: boolean;
}

/**
 * A non-INVITE server transaction: the TU answers through
 * {@link ServerNonInviteTransaction.respond}.
 */
export class ServerNonInviteTransaction<T = unknown> extends Transaction<
  ServerNonInviteState,
  TimerName,
  T
> {
  /** The request method. */
  readonly method: string;
  /** The request's CSeq number. */
  readonly cseq: number;
  private readonly user: ServerTransactionUser<ServerNonInviteTransaction<T>>;
  private last: Uint8Array | undefined;
  private readonly linger: ((bytes: Uint8Array, ms: number) => LingerRecord) | undefined;
  private parked: LingerRecord | undefined;

  constructor(options: ServerTransactionOptions<T, ServerNonInviteTransaction<T>>) {
    super('non-INVITE server', 'Trying', SERVER_NON_INVITE_TRANSITIONS, OWNERS, options);
    this.method = options.request.method;
    this.cseq = options.request.cseq.seq;
    this.user = options.user;
    this.linger = options.linger;
  }

  /**
   * The current state. A transaction whose Completed state the layer keeps as a compact record
   * reads Terminated once that record is gone (Timer J fired, or the layer closed).
   */
  override get state(): ServerNonInviteState {
    const s = super.state;
    return s === 'Completed' && this.parked !== undefined && this.parked.gone ? 'Terminated' : s;
  }

  /** Enters Trying. Call once, after the request was registered. */
  start(): void {
    this.enter('Trying');
  }

  /**
   * Sends a response from the TU (RFC 3261 §17.2.2): a 1xx keeps the transaction open, a final
   * response completes it. The response is serialized once; retransmissions resend the bytes.
   *
   * @throws `ERR_INVALID_STATE` after a final response; `ERR_INVALID_ARG` for a response that
   * does not belong to this request.
   */
  respond(response: SipResponse): void {
    const s = this.state;
    if (s !== 'Trying' && s !== 'Proceeding') {
      throw new UaCstaError(
        'ERR_INVALID_STATE',
        `${this.method} server transaction is ${s}; a final response was already sent`,
      );
    }
    checkResponse(response, this.method, this.cseq);
    const bytes = this.env.serialize(response);
    this.last = bytes;
    const failure = this.sendBytes(bytes);
    if (failure !== undefined) return this.fail(failure);
    if (response.status >= 200) this.transition('Completed');
    else if (s === 'Trying') this.transition('Proceeding');
  }

  /**
   * Handles a retransmission of the request (RFC 3261 §17.2.2): absorbed in Trying, answered
   * with the last response in Proceeding and Completed.
   *
   * @returns whether a response was resent
   */
  receiveRetransmission(): boolean {
    switch (this.state) {
      case 'Trying':
      case 'Terminated':
        return false;
      case 'Proceeding':
      case 'Completed': {
        const bytes = this.last;
        if (bytes === undefined) return false;
        const failure = this.sendBytes(bytes);
        if (failure !== undefined) this.fail(failure);
        return failure === undefined;
      }
      default:
        return assertNever(this.state);
    }
  }

  /** Reports a transport failure found after the send (RFC 3261 §17.2.4). */
  transportError(cause: unknown): void {
    if (this.state !== 'Terminated') this.fail(cause);
  }

  protected enter(state: ServerNonInviteState): void {
    switch (state) {
      case 'Trying':
      case 'Proceeding':
        return;
      case 'Completed':
        if (this.timers.timerJ === 0) return this.transition('Terminated');
        if (this.linger !== undefined && this.last !== undefined) {
          // The layer absorbs retransmissions and runs Timer J from here on.
          this.parked = this.linger(this.last, this.timers.timerJ);
          this.last = undefined;
          return;
        }
        this.startTimer('J', this.timers.timerJ, () => this.transition('Terminated'));
        return;
      case 'Terminated':
        this.last = undefined;
        return;
      default:
        return assertNever(state);
    }
  }

  private fail(cause: unknown): void {
    this.transition('Terminated');
    const error = transportError(cause);
    this.notify(() => this.user.onError(this, error));
  }
}
