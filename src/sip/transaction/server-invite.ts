/**
 * The INVITE server transaction (RFC 3261 §17.2.1, as updated by RFC 6026 §7.1 and §8.7).
 *
 * @remarks
 * Sends a 100 (Trying) when the TU is slow, the TU's responses, and retransmits a non-2xx final
 * response on Timer G (doubling up to T2; npm `sip` had no cap, research/libfit.md §1.5) until
 * the ACK arrives or Timer H gives up. A 2xx moves it to Accepted (RFC 6026): the 2xx and its
 * retransmissions come from the TU (RFC 3261 §13.3.1.4), retransmitted INVITEs are absorbed,
 * ACKs go to the TU, and Timer L ends it.
 */

import { UaCstaError } from '../../errors.js';
import type { SipRequest, SipResponse } from '../message/types.js';
import { buildResponse } from './build.js';
import type { ServerTransactionOptions } from './server-non-invite.js';
import {
  Transaction,
  assertNever,
  checkResponse,
  timeoutError,
  transportError,
  type ServerTransactionUser,
} from './transaction.js';

/**
 * State of an INVITE server transaction.
 *
 * ```text
 *                  │ INVITE received: pass to TU; send 100 (Trying) after
 *                  │ trying100Ms (200 ms) unless the TU answered first
 *                  ▼
 *           +────────────+  1xx from TU: send
 *           │ Proceeding │  INVITE retransmission: resend the last 1xx
 *           +────────────+
 *  300-699 from  │      │ 2xx from TU: send
 *  TU: send      ▼      ▼
 *     +───────────+   +──────────+  2xx from TU: send (RFC 6026)
 *     │ Completed │   │ Accepted │  INVITE retransmission: absorbed
 *     +───────────+   +──────────+  ACK: to TU
 *  Timer G: resend, │       │
 *  G = min(2G, T2)  │ ACK   │ Timer L (64*T1)
 *  INVITE retrans.: ▼       │
 *  resend   +───────────+   │
 *           │ Confirmed │   │  ACK: absorbed
 *           +───────────+   │
 *  Timer I (T4; │           │
 *  0 reliable)  ▼           ▼
 *           +────────────+◀── Timer H (Completed): inform TU;
 *           │ Terminated │    transport error (Proceeding, Completed): inform TU
 *           +────────────+
 * ```
 */
export type ServerInviteState =
  'Proceeding' | 'Completed' | 'Confirmed' | 'Accepted' | 'Terminated';

type TimerName = 'trying' | 'G' | 'H' | 'I' | 'L';

/** The legal moves of {@link ServerInviteState}. */
export const SERVER_INVITE_TRANSITIONS: Readonly<
  Record<ServerInviteState, readonly ServerInviteState[]>
> = {
  Proceeding: ['Completed', 'Accepted', 'Terminated'],
  Completed: ['Confirmed', 'Terminated'],
  Confirmed: ['Terminated'],
  Accepted: ['Terminated'],
  Terminated: [],
};

const OWNERS: Readonly<Record<TimerName, readonly ServerInviteState[]>> = {
  trying: ['Proceeding'],
  G: ['Completed'],
  H: ['Completed'],
  I: ['Confirmed'],
  L: ['Accepted'],
};

/** What an INVITE server transaction does with an ACK matched to it. */
export type AckDisposition = 'absorbed' | 'to-tu';

/** An INVITE server transaction: the TU answers through {@link ServerInviteTransaction.respond}. */
export class ServerInviteTransaction<T = unknown> extends Transaction<
  ServerInviteState,
  TimerName,
  T
> {
  /** Always `'INVITE'`. */
  readonly method = 'INVITE';
  /** The INVITE's CSeq number. */
  readonly cseq: number;
  /** The To tag of the final response sent, once there is one (RFC 2543 ACK matching). */
  responseToTag: string | undefined;
  private readonly user: ServerTransactionUser<ServerInviteTransaction<T>>;
  private request: SipRequest | undefined;
  private last: Uint8Array | undefined;
  private intervalG: number;

  constructor(options: ServerTransactionOptions<T, ServerInviteTransaction<T>>) {
    super('INVITE server', 'Proceeding', SERVER_INVITE_TRANSITIONS, OWNERS, options);
    this.cseq = options.request.cseq.seq;
    this.user = options.user;
    this.request = options.request;
    this.intervalG = options.timers.timerG;
  }

  /** Enters Proceeding and arms the 100 (Trying). Call once, after the INVITE was registered. */
  start(): void {
    this.enter('Proceeding');
  }

  /**
   * Sends a response from the TU (RFC 3261 §17.2.1, RFC 6026 §8.7). In Accepted only a 2xx is
   * allowed: the TU's 2xx retransmissions pass through.
   *
   * @throws `ERR_INVALID_STATE` when the state allows no such response; `ERR_INVALID_ARG` for a
   * response that does not belong to this INVITE.
   */
  respond(response: SipResponse): void {
    const s = this.state;
    const status = response.status;
    const is2xx = status >= 200 && status < 300;
    if (s !== 'Proceeding' && !(s === 'Accepted' && is2xx)) {
      throw new UaCstaError(
        'ERR_INVALID_STATE',
        `INVITE server transaction is ${s}; it cannot send a ${status}`,
      );
    }
    checkResponse(response, 'INVITE', this.cseq);
    const bytes = this.env.serialize(response);
    if (s === 'Accepted') {
      // RFC 6026 §8.7: "While in the "Accepted" state, if the TU passes a 2xx response, the
      // server transaction MUST pass the response to the transport layer for transmission."
      const failure = this.sendBytes(bytes);
      if (failure !== undefined) this.reportTransportError(failure);
      return;
    }
    this.request = undefined;
    this.stopTimer('trying');
    this.last = bytes;
    if (status >= 200) this.responseToTag = response.to.params['tag'];
    const failure = this.sendBytes(bytes);
    if (failure !== undefined) return this.fail(failure);
    if (is2xx) this.transition('Accepted');
    else if (status >= 300) this.transition('Completed');
  }

  /**
   * Handles a retransmission of the INVITE: resend the last 1xx in Proceeding or the final
   * response in Completed; absorb it otherwise (RFC 3261 §17.2.1; RFC 6026 §7.1: in Accepted
   * retransmissions "are not passed onto the TU").
   *
   * @returns whether a response was resent
   */
  receiveRetransmission(): boolean {
    switch (this.state) {
      case 'Proceeding':
      case 'Completed': {
        const bytes = this.last;
        if (bytes === undefined) return false;
        const failure = this.sendBytes(bytes);
        if (failure !== undefined) this.fail(failure);
        return failure === undefined;
      }
      case 'Confirmed':
      case 'Accepted':
      case 'Terminated':
        return false;
      default:
        return assertNever(this.state);
    }
  }

  /**
   * Handles an ACK matched to this transaction: in Completed it confirms the non-2xx final
   * response; in Accepted it belongs to the TU (RFC 6026 §7.1: "Any ACKs received from the
   * network while in the "Accepted" state MUST be passed directly to the TU and not absorbed").
   */
  receiveAck(): AckDisposition {
    switch (this.state) {
      case 'Completed':
        this.transition('Confirmed');
        return 'absorbed';
      case 'Accepted':
        return 'to-tu';
      case 'Proceeding':
      case 'Confirmed':
      case 'Terminated':
        return 'absorbed';
      default:
        return assertNever(this.state);
    }
  }

  /** Reports a transport failure found after the send (RFC 3261 §17.2.4). */
  transportError(cause: unknown): void {
    const s = this.state;
    if (s === 'Proceeding' || s === 'Completed') this.fail(cause);
    else if (s === 'Accepted') this.reportTransportError(cause);
  }

  protected enter(state: ServerInviteState): void {
    switch (state) {
      case 'Proceeding': {
        const delay = this.timers.trying100Ms;
        if (delay === 0) this.sendTrying();
        else if (Number.isFinite(delay)) this.startTimer('trying', delay, () => this.sendTrying());
        return;
      }
      case 'Completed':
        if (!this.reliable) this.startTimer('G', this.intervalG, () => this.onTimerG());
        this.startTimer('H', this.timers.timerH, () => this.onTimerH());
        return;
      case 'Confirmed':
        this.last = undefined;
        if (this.timers.timerI === 0) return this.transition('Terminated');
        this.startTimer('I', this.timers.timerI, () => this.transition('Terminated'));
        return;
      case 'Accepted':
        this.last = undefined;
        this.startTimer('L', this.timers.timerL, () => this.transition('Terminated'));
        return;
      case 'Terminated':
        this.request = undefined;
        this.last = undefined;
        return;
      default:
        return assertNever(state);
    }
  }

  /**
   * RFC 3261 §17.2.1: "The server transaction MUST generate a 100 (Trying) response unless it
   * knows that the TU will generate a provisional or final response within 200 ms".
   */
  private sendTrying(): void {
    const request = this.request;
    if (request === undefined || this.state !== 'Proceeding') return;
    this.respond(buildResponse(request, 100, 'Trying'));
  }

  private onTimerG(): void {
    const bytes = this.last;
    if (bytes === undefined) return;
    const failure = this.sendBytes(bytes);
    if (failure !== undefined) return this.fail(failure);
    // §17.2.1: "... reset with a value of MIN(2*T1, T2)", and so on: doubling, capped at T2.
    this.intervalG = Math.min(2 * this.intervalG, this.timers.T2);
    this.startTimer('G', this.intervalG, () => this.onTimerG());
  }

  private onTimerH(): void {
    this.transition('Terminated');
    const error = timeoutError('H', this.timers.timerH, 'no ACK for the final response to INVITE');
    this.notify(() => this.user.onError(this, error));
  }

  private fail(cause: unknown): void {
    this.transition('Terminated');
    this.reportTransportError(cause);
  }

  private reportTransportError(cause: unknown): void {
    const error = transportError(cause);
    this.notify(() => this.user.onError(this, error));
  }
}
