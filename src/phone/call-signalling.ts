/**
 * `CallSignalling`: the port between the pure simulated phone and whatever carries its calls.
 *
 * @remarks
 * The phone (ECMA-269 §6 call model, `phone/`) decides; the signalling carries. Two bindings
 * implement this port: the in-process exchange (`phone/in-process-exchange.ts`, phones calling
 * each other by extension with no sockets) and real SIP (`phone/sip/`, RFC 3261 INVITE with an
 * SDP offer, RFC 3515 REFER, RFC 3891 Replaces, RFC 4733 / INFO digits).
 *
 * The port speaks of **legs**: one leg is one two-party call between this phone and one remote
 * party (a SIP INVITE dialog, or its attempt). Leg ids are opaque strings unique within one
 * `CallSignalling`; the signalling chooses them (the return of {@link CallSignalling.place}, the
 * `leg` of an `offered` input). A leg id is never reused.
 *
 * Commands are fire-and-forget: each returns at once, and what happened comes back later as
 * {@link CallSignallingInput}s (the phone's model never waits on the network). A command on a
 * leg the signalling no longer knows is ignored. Inputs must not be delivered synchronously from
 * inside a command call (queue them to a microtask at least), so the phone can finish the state
 * change the command belongs to first.
 *
 * Stability: this interface is shared by several bindings. It only grows by optional members.
 */

/**
 * Why a leg ended or failed, as the signalling sees it. The phone maps it to an ECMA-269
 * `EventCause` (digest §4.1.5). SIP bindings map status codes: 486/600 → `busy`, 603 →
 * `rejected`, 404/604 → `notFound`, 480/408 → `noAnswer`, 487 → `cancelled`,
 * 410/484/485 → `invalidNumber`, 5xx → `networkCongestion`; BYE → `normal`.
 */
export type CallEndCause =
  | 'normal'
  | 'busy'
  | 'rejected'
  | 'notFound'
  | 'invalidNumber'
  | 'noAnswer'
  | 'cancelled'
  | 'doNotDisturb'
  | 'networkCongestion'
  | 'transferred'
  | 'redirected'
  | 'error';

/** Why the phone refuses an offered leg (a SIP binding answers 486, 603, 480). */
export type CallRejectReason = 'busy' | 'decline' | 'doNotDisturb' | 'unavailable';

/** What {@link CallSignalling.place} is asked to call. */
export interface PlaceCallRequest {
  /**
   * The called party: an extension (`1002`), a `tel:` URI or a `sip:`/`sips:` URI. The
   * signalling resolves it (the exchange by extension, SIP through its proxy or directly).
   */
  readonly to: string;
  /** Calling identity to present, when not the phone's own address (a line's address). */
  readonly from?: string;
  /** The phone's line (appearance) index that places the call; 0 when the device has one line. */
  readonly line?: number;
  /** Ask the far end to answer at once (SIP: `Call-Info: ;answer-after=0`); for intercom/tests. */
  readonly autoAnswer?: boolean;
}

/** Inputs the signalling delivers to the phone. */
export type CallSignallingInput =
  /**
   * A new incoming call (SIP: INVITE received). The phone answers it with `answer`, `reject`,
   * `deflect`, or lets it ring. `replaces` names a leg of this phone that the new leg takes over
   * (RFC 3891 INVITE with Replaces, the target side of an attended transfer): the phone
   * connects the new leg at once and ends the old one, without ringing.
   */
  | {
      readonly type: 'offered';
      readonly leg: string;
      /** The calling party's address as received (From). */
      readonly from: string;
      /** The called address as received (Request-URI / To). */
      readonly to: string;
      /** The calling party's display name, when given. */
      readonly fromName?: string;
      /** A network-wide identity of the call (SIP Call-ID), for correlation and traces. */
      readonly callId?: string;
      /** The address the call was last diverted from (SIP History-Info / Diversion), if any. */
      readonly divertedFrom?: string;
      /** The local leg this one replaces (RFC 3891). */
      readonly replaces?: string;
      /** The party that asked the caller to make this call (RFC 3892 Referred-By). */
      readonly referredBy?: string;
      /** Line (appearance) the call was addressed to, when the signalling can tell. */
      readonly line?: number;
      /** The caller asked for immediate answer (SIP `answer-after=0`). */
      readonly autoAnswer?: boolean;
    }
  /** The far end rings (SIP: 180, or 183). */
  | { readonly type: 'alerting'; readonly leg: string }
  /** The far end answered (SIP: 200 to the INVITE; ACK sent). */
  | { readonly type: 'answered'; readonly leg: string; readonly remote?: string }
  /** A connected or ringing leg ended from the far end or the network (SIP: BYE, CANCEL). */
  | { readonly type: 'released'; readonly leg: string; readonly cause: CallEndCause }
  /** An outgoing leg failed before it was answered (SIP: 4xx–6xx, timeout). */
  | { readonly type: 'failed'; readonly leg: string; readonly cause: CallEndCause; readonly sipStatus?: number }
  /** An outgoing leg was redirected and now goes to `to` (SIP: 3xx followed). */
  | { readonly type: 'diverted'; readonly leg: string; readonly to: string }
  /** The far end put the leg on hold (SIP: re-INVITE with sendonly/inactive). */
  | { readonly type: 'heldByRemote'; readonly leg: string }
  /** The far end took the leg off hold (SIP: re-INVITE with sendrecv). */
  | { readonly type: 'retrievedByRemote'; readonly leg: string }
  /**
   * The outcome of `transfer` or `transferConsulted` on `leg` (SIP: the REFER's final response
   * if it failed, else the NOTIFY with `message/sipfrag`). On success the phone releases its
   * transferred legs itself.
   */
  | { readonly type: 'transferResult'; readonly leg: string; readonly ok: boolean; readonly sipStatus?: number }
  /**
   * The far end of `leg` asked this phone to call `to` in its place (SIP: REFER received and
   * accepted; the signalling itself places the new leg `newLeg`, which then reports `alerting`,
   * `answered`, `failed` as any outgoing leg). The phone ends `leg` once `newLeg` is answered.
   */
  | {
      readonly type: 'referred';
      readonly leg: string;
      readonly newLeg: string;
      readonly to: string;
      /** The REFER named a dialog to replace (attended transfer, RFC 3891) rather than a bare target. */
      readonly attended?: boolean;
    }
  /** Digits received from the far end (RFC 4733 events or `application/dtmf-relay` INFO). */
  | { readonly type: 'digits'; readonly leg: string; readonly digits: string };

/** The signalling side of one simulated phone (one device, all its lines). */
export interface CallSignalling {
  /** The phone's own address as the network knows it (`sip:1001@192.0.2.1:5060`, or `1001`). */
  readonly address: string;

  /**
   * The addresses of every line of the phone, first is {@link CallSignalling.address}; absent
   * for a one-line phone. An offered leg's `line` indexes this list.
   */
  readonly lines?: readonly string[];

  /**
   * Sets the receiver of inputs (one receiver; a new one replaces the old). Returns the function
   * that removes it. Inputs that arrive with no receiver are dropped.
   */
  onInput(receiver: (input: CallSignallingInput) => void): () => void;

  /** Places a call (SIP: INVITE with an SDP offer). Returns the new leg's id. */
  place(request: PlaceCallRequest): string;

  /** Answers an offered leg (SIP: 200 with an SDP answer). */
  answer(leg: string): void;

  /** Refuses an offered leg (SIP: 486 busy, 603 decline, 480 for DND or unavailable). */
  reject(leg: string, reason: CallRejectReason): void;

  /**
   * Ends a leg in any state: CANCEL while an outgoing leg rings, BYE once connected, a final
   * refusal for an offered leg not yet answered.
   */
  release(leg: string): void;

  /** Puts a connected leg on hold (SIP: re-INVITE with `a=sendonly`). */
  hold(leg: string): void;

  /** Takes a held leg off hold (SIP: re-INVITE with `a=sendrecv`). */
  retrieve(leg: string): void;

  /** Sends an offered, not yet answered leg elsewhere (SIP: 302 with Contact `to`). */
  deflect(leg: string, to: string): void;

  /**
   * Blind transfer: asks the far end of `leg` to call `to` (SIP: REFER with Refer-To `to`,
   * RFC 3515). The outcome comes as `transferResult`.
   */
  transfer(leg: string, to: string): void;

  /**
   * Attended transfer: asks the far end of `leg` to call the far end of `consultLeg`, replacing
   * `consultLeg` (SIP: REFER with Refer-To carrying `Replaces`, RFC 3891). The outcome comes as
   * `transferResult` on `leg`.
   */
  transferConsulted(leg: string, consultLeg: string): void;

  /** Sends DTMF digits on a connected leg (`0-9 * # A-D`; RFC 4733 or INFO dtmf-relay). */
  sendDigits(leg: string, digits: string): void;

  /**
   * Optional: tells the media side which legs are joined in a local conference (the phone mixes
   * them). Called with every conferenced leg after each change; an empty list ends mixing.
   */
  mix?(legs: readonly string[]): void;
}
