/**
 * The INVITE client transaction (RFC 3261 §17.1.1, as updated by RFC 6026 §8.4).
 *
 * @remarks
 * Sends an INVITE, retransmits it over unreliable transports on Timer A (doubling, no cap), gives
 * up on Timer B while no response came, acknowledges a non-2xx final response itself and absorbs
 * its retransmissions for Timer D. A 2xx moves it to Accepted (RFC 6026), where every further 2xx
 * goes to the TU for Timer M; the ACK for a 2xx is the UA core's (RFC 3261 §13.2.2.4).
 */

import type { SipRequest, SipResponse } from '../message/types.js';
import { buildAck } from './build.js';
import type { ClientTransactionOptions } from './client-non-invite.js';
import {
  Transaction,
  assertNever,
  timeoutError,
  transportError,
  type ClientTransactionUser,
} from './transaction.js';

/**
 * State of an INVITE client transaction.
 *
 * ```text
 *                      │ INVITE from TU: send it; start A (unreliable only) and B
 *                      ▼
 *                  +─────────+  Timer A: resend, A = 2A (no cap)
 *                  │ Calling │
 *                  +─────────+
 *                   │    │  │ 1xx: to TU
 *                   │    │  ▼
 *                   │    │ +────────────+
 *                   │    │ │ Proceeding │  1xx: to TU
 *                   │    │ +────────────+
 *   300-699: send   │    │  │         │ 2xx: to TU
 *   ACK, to TU      │    │  │ 300-699:└─────────────┐
 *                   │    │  │ send ACK, to TU       │
 *                   ▼    │  ▼                       ▼
 *             +───────────+│                  +──────────+
 *             │ Completed ││ 2xx: to TU       │ Accepted │  2xx: to TU (RFC 6026)
 *             +───────────+└─────────────────▶+──────────+
 *   300-699: resend ACK │                         │ Timer M (64*T1)
 *   Timer D (≥ 32 s;    │                         │
 *   0 on reliable)      ▼                         ▼
 *                  +────────────+◀────────────────┘
 *                  │ Terminated │◀── Timer B (Calling only), or transport error
 *                  +────────────+    (Calling, Proceeding, Completed): inform TU
 * ```
 */
export type ClientInviteState = 'Calling' | 'Proceeding' | 'Completed' | 'Accepted' | 'Terminated';

type TimerName = 'A' | 'B' | 'D' | 'M';

/** The legal moves of {@link ClientInviteState}. */
export const CLIENT_INVITE_TRANSITIONS: Readonly<
  Record<ClientInviteState, readonly ClientInviteState[]>
> = {
  Calling: ['Proceeding', 'Completed', 'Accepted', 'Terminated'],
  Proceeding: ['Completed', 'Accepted', 'Terminated'],
  Completed: ['Terminated'],
  Accepted: ['Terminated'],
  Terminated: [],
};

const OWNERS: Readonly<Record<TimerName, readonly ClientInviteState[]>> = {
  // §17.1.1.2: Timer B fires only "if the client transaction is still in the Calling state".
  A: ['Calling'],
  B: ['Calling'],
  D: ['Completed'],
  M: ['Accepted'],
};

/**
 * An INVITE client transaction.
 *
 * @remarks
 * Keeps the INVITE object only until the final response (it needs it to build the ACK), the
 * serialized INVITE only until then as well, and the serialized ACK for Timer D.
 */
export class ClientInviteTransaction<T = unknown> extends Transaction<
  ClientInviteState,
  TimerName,
  T
> {
  /** Always `'INVITE'`. */
  readonly method = 'INVITE';
  /** The CSeq number; a response with another number is not this transaction's. */
  readonly cseq: number;
  private readonly user: ClientTransactionUser;
  private request: SipRequest | undefined;
  private bytes: Uint8Array | undefined;
  private ackBytes: Uint8Array | undefined;
  private intervalA: number;

  constructor(options: ClientTransactionOptions<T>) {
    super('INVITE client', 'Calling', CLIENT_INVITE_TRANSITIONS, OWNERS, options);
    this.cseq = options.request.cseq.seq;
    this.user = options.user;
    this.request = options.request;
    this.intervalA = options.timers.timerA;
  }

  /** Sends the INVITE and starts Timers A and B (RFC 3261 §17.1.1.2). Call once. */
  start(): void {
    this.enter('Calling');
  }

  /**
   * Handles a response matched to this transaction (RFC 3261 §17.1.3).
   *
   * @returns whether the response was passed to the TU (false: absorbed or too late)
   */
  receiveResponse(response: SipResponse): boolean {
    const status = response.status;
    switch (this.state) {
      case 'Calling':
      case 'Proceeding':
        if (status < 200) {
          if (this.state === 'Calling') this.transition('Proceeding');
        } else if (status < 300) {
          this.transition('Accepted');
        } else {
          const request = this.request;
          if (request !== undefined)
            this.ackBytes = this.env.serialize(buildAck(request, response));
          this.transition('Completed');
        }
        this.notify(() => this.user.onResponse(response));
        return true;
      case 'Completed':
        // §17.1.1.2: "Any retransmissions of the final response that are received while in
        // the "Completed" state MUST cause the ACK to be re-passed to the transport layer for
        // retransmission, but the newly generated ACK MUST NOT be passed up to the TU."
        if (status >= 300) this.sendAck();
        return false;
      case 'Accepted':
        // RFC 6026 §8.4: "Any 2xx responses that match this client transaction and that are
        // received while in the "Accepted" state MUST be passed up to the TU."
        if (status >= 200 && status < 300) {
          this.notify(() => this.user.onResponse(response));
          return true;
        }
        return false;
      case 'Terminated':
        return false;
      default:
        return assertNever(this.state);
    }
  }

  /** Reports a transport failure found after the send (RFC 3261 §17.1.4). */
  transportError(cause: unknown): void {
    const s = this.state;
    if (s === 'Calling' || s === 'Proceeding' || s === 'Completed') this.fail(cause);
  }

  protected enter(state: ClientInviteState): void {
    switch (state) {
      case 'Calling': {
        const request = this.request;
        if (request === undefined) return;
        this.bytes = this.env.serialize(request);
        const failure = this.sendBytes(this.bytes);
        if (failure !== undefined) return this.fail(failure);
        if (!this.reliable) this.startTimer('A', this.intervalA, () => this.onTimerA());
        this.startTimer('B', this.timers.timerB, () => this.onTimerB());
        return;
      }
      case 'Proceeding':
        // §17.1.1.2: "In the "Proceeding" state, the client transaction SHOULD NOT retransmit
        // the request any longer." Timer A is owned by Calling and was cancelled on leaving it.
        return;
      case 'Completed':
        this.request = undefined;
        this.bytes = undefined;
        if (!this.sendAck()) return;
        if (this.timers.timerD === 0) return this.transition('Terminated');
        this.startTimer('D', this.timers.timerD, () => this.transition('Terminated'));
        return;
      case 'Accepted':
        this.request = undefined;
        this.bytes = undefined;
        this.startTimer('M', this.timers.timerM, () => this.transition('Terminated'));
        return;
      case 'Terminated':
        this.request = undefined;
        this.bytes = undefined;
        this.ackBytes = undefined;
        return;
      default:
        return assertNever(state);
    }
  }

  /** Sends the ACK; false when the transport failed (the transaction is then Terminated). */
  private sendAck(): boolean {
    const ack = this.ackBytes;
    if (ack === undefined) return true;
    const failure = this.sendBytes(ack);
    if (failure === undefined) return true;
    this.fail(failure);
    return false;
  }

  private onTimerA(): void {
    const bytes = this.bytes;
    if (bytes === undefined) return;
    const failure = this.sendBytes(bytes);
    if (failure !== undefined) return this.fail(failure);
    // §17.1.1.2: Timer A doubles on every firing, with no upper bound (unlike E and G).
    this.intervalA *= 2;
    this.startTimer('A', this.intervalA, () => this.onTimerA());
  }

  private onTimerB(): void {
    this.transition('Terminated');
    const error = timeoutError('B', this.timers.timerB, 'no response to INVITE');
    this.notify(() => this.user.onTimeout(error));
  }

  private fail(cause: unknown): void {
    this.transition('Terminated');
    const error = transportError(cause);
    this.notify(() => this.user.onTransportError(error));
  }
}
