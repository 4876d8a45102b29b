/**
 * The non-INVITE client transaction (RFC 3261 §17.1.2).
 *
 * @remarks
 * Sends a request such as INFO, BYE or OPTIONS, retransmits it over unreliable transports on
 * Timer E, gives up on Timer F, and lingers in Completed for Timer K to absorb retransmitted
 * responses. Timer E doubles up to T2 in Trying and stays at T2 in Proceeding; npm `sip` missed
 * that cap (research/libfit.md §1.5).
 */

import type { SipRequest, SipResponse } from '../message/types.js';
import {
  Transaction,
  assertNever,
  timeoutError,
  transportError,
  type ClientTransactionUser,
  type TransactionBaseOptions,
} from './transaction.js';

/**
 * State of a non-INVITE client transaction.
 *
 * ```text
 *                     │ request from TU: send it; start E (unreliable only) and F
 *                     ▼
 *  Timer E: resend, +─────────+  1xx: to TU   +────────────+  Timer E: resend, E = T2
 *  E = min(2E, T2)  │ Trying  │──────────────▶│ Proceeding │  1xx: to TU
 *                   +─────────+               +────────────+
 *                     │ 200-699: to TU           │ 200-699: to TU
 *                     ▼                          │
 *                   +───────────+◀───────────────┘
 *                   │ Completed │  response retransmission: absorbed
 *                   +───────────+
 *                     │ Timer K (T4; 0 on reliable transports)
 *                     ▼
 *                   +────────────+◀── Timer F, or transport error (Trying, Proceeding): inform TU
 *                   │ Terminated │
 *                   +────────────+
 * ```
 */
export type ClientNonInviteState = 'Trying' | 'Proceeding' | 'Completed' | 'Terminated';

type TimerName = 'E' | 'F' | 'K';

/** The legal moves of {@link ClientNonInviteState}. */
export const CLIENT_NON_INVITE_TRANSITIONS: Readonly<
  Record<ClientNonInviteState, readonly ClientNonInviteState[]>
> = {
  Trying: ['Proceeding', 'Completed', 'Terminated'],
  Proceeding: ['Completed', 'Terminated'],
  Completed: ['Terminated'],
  Terminated: [],
};

const OWNERS: Readonly<Record<TimerName, readonly ClientNonInviteState[]>> = {
  E: ['Trying', 'Proceeding'],
  F: ['Trying', 'Proceeding'],
  K: ['Completed'],
};

/** What a client transaction is built with. */
export interface ClientTransactionOptions<T> extends TransactionBaseOptions<T> {
  /** The request; its top Via carries the branch and its CSeq the number and method. */
  readonly request: SipRequest;
  readonly user: ClientTransactionUser;
}

/**
 * A non-INVITE client transaction: one request, its retransmissions, its responses.
 *
 * @remarks
 * Built by the transaction layer, which calls {@link ClientNonInviteTransaction.start} once it
 * can route responses to it. Keeps the serialized request only until the final response.
 */
export class ClientNonInviteTransaction<T = unknown> extends Transaction<
  ClientNonInviteState,
  TimerName,
  T
> {
  /** The request method (also the CSeq method). */
  readonly method: string;
  /** The CSeq number; a response with another number is not this transaction's. */
  readonly cseq: number;
  private readonly user: ClientTransactionUser;
  private request: SipRequest | undefined;
  private bytes: Uint8Array | undefined;
  private intervalE: number;

  constructor(options: ClientTransactionOptions<T>) {
    super('non-INVITE client', 'Trying', CLIENT_NON_INVITE_TRANSITIONS, OWNERS, options);
    this.method = options.request.method;
    this.cseq = options.request.cseq.seq;
    this.user = options.user;
    this.request = options.request;
    this.intervalE = options.timers.timerE;
  }

  /** Sends the request and starts Timers E and F (RFC 3261 §17.1.2.2). Call once. */
  start(): void {
    this.enter('Trying');
  }

  /**
   * Handles a response matched to this transaction (RFC 3261 §17.1.3).
   *
   * @returns whether the response was passed to the TU (false: absorbed or too late)
   */
  receiveResponse(response: SipResponse): boolean {
    switch (this.state) {
      case 'Trying':
      case 'Proceeding':
        if (response.status < 200) {
          if (this.state === 'Trying') this.transition('Proceeding');
        } else {
          this.transition('Completed');
        }
        this.notify(() => this.user.onResponse(response));
        return true;
      case 'Completed':
      case 'Terminated':
        return false;
      default:
        return assertNever(this.state);
    }
  }

  /** Reports a transport failure found after the send (RFC 3261 §17.1.4). */
  transportError(cause: unknown): void {
    if (this.state === 'Trying' || this.state === 'Proceeding') this.fail(cause);
  }

  protected enter(state: ClientNonInviteState): void {
    switch (state) {
      case 'Trying': {
        const request = this.request;
        if (request === undefined) return;
        this.bytes = this.env.serialize(request);
        this.request = undefined;
        const failure = this.sendBytes(this.bytes);
        if (failure !== undefined) return this.fail(failure);
        if (!this.reliable) this.startTimer('E', this.intervalE, () => this.onTimerE());
        this.startTimer('F', this.timers.timerF, () => this.onTimerF());
        return;
      }
      case 'Proceeding':
        return;
      case 'Completed':
        this.bytes = undefined;
        if (this.timers.timerK === 0) return this.transition('Terminated');
        this.startTimer('K', this.timers.timerK, () => this.transition('Terminated'));
        return;
      case 'Terminated':
        this.bytes = undefined;
        return;
      default:
        return assertNever(state);
    }
  }

  private onTimerE(): void {
    const bytes = this.bytes;
    if (bytes === undefined) return;
    const failure = this.sendBytes(bytes);
    if (failure !== undefined) return this.fail(failure);
    // §17.1.2.2: in Trying E doubles up to T2; "If Timer E fires while in the "Proceeding"
    // state, ... Timer E MUST be reset with a value of T2 seconds."
    this.intervalE =
      this.state === 'Trying' ? Math.min(2 * this.intervalE, this.timers.T2) : this.timers.T2;
    this.startTimer('E', this.intervalE, () => this.onTimerE());
  }

  private onTimerF(): void {
    this.transition('Terminated');
    const error = timeoutError('F', this.timers.timerF, `no final response to ${this.method}`);
    this.notify(() => this.user.onTimeout(error));
  }

  private fail(cause: unknown): void {
    this.transition('Terminated');
    const error = transportError(cause);
    this.notify(() => this.user.onTransportError(error));
  }
}
