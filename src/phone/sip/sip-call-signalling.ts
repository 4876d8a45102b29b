/**
 * {@link CallSignalling} over SIP: the simulated phone's calls as RFC 3261 INVITE sessions with
 * an SDP offer/answer (RFC 3264), hold and retrieve by re-INVITE (§8.4), deflection by 302
 * (RFC 3261 §21.3.3), transfers by REFER (RFC 3515) with Replaces (RFC 3891), and digits as RFC
 * 4733 events or `application/dtmf-relay` INFO.
 *
 * @remarks
 * One instance serves one phone and owns its {@link UserAgent}'s INVITE handler: an INVITE with
 * an SDP body is a call; any other INVITE (CSTA, or no body) is handed to `onOtherInvite`, the
 * uaCSTA session acceptor, so one address takes both (ECMA TR/87 §7: the CSTA dialog is a
 * separate INVITE dialog without media).
 *
 * Status codes map to causes as the port documents: 486/600 busy, 603 rejected, 404/604
 * notFound, 480/408 noAnswer, 487 cancelled, 410/484/485 invalidNumber, 5xx networkCongestion.
 * Inputs are delivered on a microtask, never from inside a command.
 */

import { UaCstaError } from '../../errors.js';
import { readNameAddrs } from '../../sip/dialog/dialog-id.js';
import type { SipRequest, SipResponse } from '../../sip/message/types.js';
import type { IncomingInvite } from '../../sip/ua/incoming-invite.js';
import type { IncomingRefer, ReferSubscription } from '../../sip/ua/refer.js';
import type {
  DialogHandle,
  InviteHandler,
  InviteOptions,
  RequestAnswer,
  UserAgent,
} from '../../sip/ua/user-agent.js';
import { systemClock, type Clock, type TimerHandle } from '../../util/clock.js';
import type {
  CallEndCause,
  CallRejectReason,
  CallSignalling,
  CallSignallingInput,
  PlaceCallRequest,
} from '../call-signalling.js';
import { uriUser } from './endpoint-router.js';
import { callTarget, type DialPlan } from './phone-address.js';
import { dtmfRelayBody, readDtmfRelay, type AudioSource } from './rtp-packet.js';
import { RtpStream } from './rtp.js';
import {
  acceptAnswer,
  answerOffer,
  audioOf,
  effectiveDirection,
  parseSdp,
  writeSdp,
  type MediaDirection,
  type NegotiatedMedia,
  type SessionDescription,
} from './sdp.js';

/** The SDP media type (RFC 4566 §8.1). */
export const SDP_CONTENT_TYPE = 'application/sdp';
/** The INFO body type of digits relayed out of band. */
export const DTMF_RELAY_CONTENT_TYPE = 'application/dtmf-relay';

/** Redirects followed for one call (3xx), a loop guard. */
export const MAX_REDIRECTS = 3;
/** How long a REFER waits for the NOTIFY with the outcome before it counts as failed. */
export const TRANSFER_TIMEOUT_MS = 32_000;

/** What the signalling logs (the CLI prints it). */
export type SipCallLogEvent =
  | { readonly type: 'call-out'; readonly leg: string; readonly to: string }
  | { readonly type: 'call-in'; readonly leg: string; readonly from: string }
  | { readonly type: 'connected'; readonly leg: string }
  | { readonly type: 'ended'; readonly leg: string; readonly cause: CallEndCause; readonly status?: number }
  | { readonly type: 'hold'; readonly leg: string; readonly by: 'local' | 'remote' }
  | { readonly type: 'retrieve'; readonly leg: string; readonly by: 'local' | 'remote' }
  | { readonly type: 'conference'; readonly legs: readonly string[] };

/** A further line (appearance, SIP account) of a multi-line phone: its own user agent and address. */
export interface SipLineBinding {
  readonly ua: UserAgent;
  /** The line's device ID, e.g. `sip:1000-2@127.0.0.1`. */
  readonly address: string;
}

/** Options of {@link SipCallSignalling}. */
export interface SipCallSignallingOptions {
  /** The user agent of line 0. */
  readonly ua: UserAgent;
  /** The phone's address (its device ID, line 0's), e.g. `sip:1000@127.0.0.1`. */
  readonly address: string;
  /**
   * Lines 1… of a multi-line phone, each a SIP account of its own (digest §1.5 item 8: one
   * deviceID per line; Yealink lists every account). Calls offered to a line's user agent come
   * with that `line`; `place({ line })` calls from it. @defaultValue none (one line)
   */
  readonly otherLines?: readonly SipLineBinding[];
  /** The host to bind RTP on and to write in SDP. */
  readonly mediaHost: string;
  /** Where dialled numbers go. */
  readonly dialPlan: DialPlan;
  /** What RTP carries; `none` binds no socket and offers port 9 (discard). @defaultValue `'none'` */
  readonly media?: AudioSource | 'none';
  /** How digits go: RFC 4733 events when the peer offered them, else INFO. @defaultValue `'rfc4733'` */
  readonly dtmf?: 'rfc4733' | 'info';
  /** Other INVITEs (uaCSTA sessions); without one they are answered 488. */
  readonly onOtherInvite?: InviteHandler;
  /** @defaultValue systemClock */
  readonly clock?: Clock;
  /** Random 32-bit values (SDP session ids, RTP SSRCs). @defaultValue crypto */
  readonly random32?: () => number;
  readonly log?: (event: SipCallLogEvent) => void;
}

type LegState = 'calling' | 'offered' | 'connected' | 'ended';

/** One two-party call of the phone. */
interface Leg {
  readonly id: string;
  readonly outgoing: boolean;
  /** The line (index into the phone's lines) the leg belongs to. */
  readonly line: number;
  state: LegState;
  dialog: DialogHandle | undefined;
  /** Cancels our INVITE while it rings. */
  abort: AbortController | undefined;
  /** Gives the answer to an offered INVITE. */
  settle: ((answer: RequestAnswer) => void) | undefined;
  /** The peer's offer, for an offered leg. */
  offer: SessionDescription | undefined;
  rtp: RtpStream | undefined;
  readonly sessionId: string;
  version: number;
  /** What we ask for: `sendrecv`, or `sendonly` while we hold. */
  wanted: MediaDirection;
  media: NegotiatedMedia | undefined;
  heldByRemote: boolean;
  alerted: boolean;
  /** The REFER subscription of a transfer we asked for. */
  transfer: { timer: TimerHandle | undefined; done: boolean } | undefined;
  /** The REFER this outgoing leg was placed for, to report its outcome by NOTIFY. */
  referredBy: { readonly leg: Leg; readonly refer: IncomingRefer } | undefined;
}

/** Reads the state afresh (after an await, where the compiler's narrowing no longer holds). */
const isEnded = (leg: Leg): boolean => leg.state === 'ended';

const cryptoRandom32 = (): number => crypto.getRandomValues(new Uint32Array(1))[0]!;

/** The cause of a final non-2xx status to our INVITE (see the port). */
export function causeOfStatus(status: number): CallEndCause {
  if (status === 486 || status === 600) return 'busy';
  if (status === 603) return 'rejected';
  if (status === 404 || status === 604) return 'notFound';
  if (status === 480 || status === 408) return 'noAnswer';
  if (status === 487) return 'cancelled';
  if (status === 410 || status === 484 || status === 485) return 'invalidNumber';
  if (status >= 500 && status < 600) return 'networkCongestion';
  return 'error';
}

/** The status of our refusal (see the port: 486 busy, 603 decline, 480 DND or unavailable). */
export function statusOfReject(reason: CallRejectReason): number {
  switch (reason) {
    case 'busy':
      return 486;
    case 'decline':
      return 603;
    case 'doNotDisturb':
    case 'unavailable':
      return 480;
  }
}

const mediaTypeOf = (m: SipRequest | SipResponse): string =>
  (m.headers['content-type']?.[0] ?? '').split(';')[0]!.trim().toLowerCase();

const decoder = new TextDecoder();
const text = (m: SipRequest | SipResponse): string => decoder.decode(m.body);

/** True when two addresses have the same user part (`sip:1000-2@h` names line `1000-2`). */
function sameUser(a: string, b: string): boolean {
  const ua = uriUser(a) ?? a.trim();
  const ub = (/^(sips?|tel):/i.test(b.trim()) ? uriUser(b) : b.trim()) ?? b.trim();
  return ua === ub;
}

/** A calling identity as a URI: a bare number at the dial plan's domain (RFC 3325 §9.2 wants a URI). */
function preferredIdentity(from: string, plan: DialPlan): string {
  return callTarget(from, plan) ?? from;
}

/** The first URI of a name-addr header (Diversion, Referred-By), if readable. */
function firstUri(m: SipRequest, name: string): string | undefined {
  try {
    return readNameAddrs(m.headers[name])[0]?.uri;
  } catch {
    return undefined;
  }
}

/**
 * The SIP carrier of one simulated phone.
 *
 * @example
 * const signalling = new SipCallSignalling({ ua, address: 'sip:1000@127.0.0.1',
 *   mediaHost: '127.0.0.1', dialPlan: { domain: '127.0.0.1:5060' } });
 * signalling.onInput((input) => phone.signal(input));
 * const leg = signalling.place({ to: '1001' });
 */
export class SipCallSignalling implements CallSignalling {
  readonly address: string;
  /** Every line's address when the phone has several (the port's `lines`), else `undefined`. */
  readonly lines: readonly string[] | undefined;
  /** The user agent and address of each line, line 0 first. */
  readonly #lines: readonly SipLineBinding[];
  readonly #host: string;
  readonly #plan: DialPlan;
  readonly #media: AudioSource | 'none';
  readonly #dtmf: 'rfc4733' | 'info';
  readonly #other: InviteHandler | undefined;
  readonly #clock: Clock;
  readonly #random32: () => number;
  readonly #log: ((event: SipCallLogEvent) => void) | undefined;
  readonly #legs = new Map<string, Leg>();
  readonly #unInvite: (() => void)[];
  /** The legs joined in a local conference (signalling only, see {@link SipCallSignalling.mix}). */
  #conference: readonly string[] = [];
  #receiver: ((input: CallSignallingInput) => void) | undefined;
  #next = 0;

  constructor(options: SipCallSignallingOptions) {
    this.address = options.address;
    this.#lines = [{ ua: options.ua, address: options.address }, ...(options.otherLines ?? [])];
    this.lines = this.#lines.length > 1 ? this.#lines.map((l) => l.address) : undefined;
    this.#host = options.mediaHost;
    this.#plan = options.dialPlan;
    this.#media = options.media ?? 'none';
    this.#dtmf = options.dtmf ?? 'rfc4733';
    this.#other = options.onOtherInvite;
    this.#clock = options.clock ?? systemClock;
    this.#random32 = options.random32 ?? cryptoRandom32;
    this.#log = options.log;
    this.#unInvite = this.#lines.map((l, line) =>
      l.ua.onInvite((request, dialog, invite) => this.#onInvite(line, request, dialog, invite)),
    );
  }

  /** The legs not yet ended, with their state, for traces and tests. */
  get legs(): ReadonlyArray<{ readonly id: string; readonly state: LegState; readonly media?: NegotiatedMedia }> {
    return [...this.#legs.values()].map((l) => ({
      id: l.id,
      state: l.state,
      ...(l.media === undefined ? {} : { media: l.media }),
    }));
  }

  /** The RTP stream of a leg, when media is on. */
  rtpOf(leg: string): RtpStream | undefined {
    return this.#legs.get(leg)?.rtp;
  }

  /** The dialog of a leg, once it has one. */
  dialogOf(leg: string): DialogHandle | undefined {
    return this.#legs.get(leg)?.dialog;
  }

  onInput(receiver: (input: CallSignallingInput) => void): () => void {
    if (typeof receiver !== 'function') throw new UaCstaError('ERR_INVALID_ARG', 'receiver must be a function');
    this.#receiver = receiver;
    return () => {
      if (this.#receiver === receiver) this.#receiver = undefined;
    };
  }

  /**
   * Places a call from `request.line`, else from the line `request.from` names, else line 0.
   * A `from` that names no line is asked for as `P-Preferred-Identity` (RFC 3325 §9.2: the
   * network decides whether to assert it; our From stays the line's address of record).
   *
   * @throws `ERR_INVALID_ARG` for a target that is no address, or a line the phone lacks.
   */
  place(request: PlaceCallRequest): string {
    const target = callTarget(request.to, this.#plan);
    if (target === undefined) throw new UaCstaError('ERR_INVALID_ARG', `cannot call ${request.to}`);
    const fromLine = request.from === undefined ? -1 : this.#lines.findIndex((l) => sameUser(l.address, request.from!));
    const line = request.line ?? (fromLine >= 0 ? fromLine : 0);
    if (!Number.isInteger(line) || line < 0 || line >= this.#lines.length)
      throw new UaCstaError('ERR_INVALID_ARG', `the phone has no line ${String(request.line)}`);
    const extra: Record<string, string> = {};
    if (request.from !== undefined && fromLine < 0) extra['P-Preferred-Identity'] = `<${preferredIdentity(request.from, this.#plan)}>`;
    const leg = this.#newLeg(true, line);
    leg.state = 'calling';
    this.#log?.({ type: 'call-out', leg: leg.id, to: target });
    void this.#call(leg, target, request.autoAnswer === true, undefined, 0, extra);
    return leg.id;
  }

  answer(legId: string): void {
    const leg = this.#legs.get(legId);
    if (leg === undefined || leg.state !== 'offered' || leg.settle === undefined) return;
    const offer = leg.offer!;
    const answered = answerOffer(offer, this.#local(leg, leg.wanted));
    if (!answered.ok) {
      // checked when the INVITE came; kept for safety
      this.#settle(leg, { status: 488 });
      this.#end(leg, 'error', true);
      return;
    }
    leg.version++;
    leg.media = answered.value.media;
    leg.state = 'connected';
    this.#settle(leg, { status: 200, body: answered.value.sdp, contentType: SDP_CONTENT_TYPE });
    leg.rtp?.start(leg.media);
    this.#log?.({ type: 'connected', leg: leg.id });
  }

  reject(legId: string, reason: CallRejectReason): void {
    const leg = this.#legs.get(legId);
    if (leg === undefined || leg.state !== 'offered') return;
    this.#settle(leg, { status: statusOfReject(reason) });
    this.#end(leg, reason === 'busy' ? 'busy' : reason === 'doNotDisturb' ? 'doNotDisturb' : 'rejected', false);
  }

  release(legId: string): void {
    const leg = this.#legs.get(legId);
    if (leg === undefined || leg.state === 'ended') return;
    if (leg.state === 'offered') {
      this.#settle(leg, { status: 480 });
    } else if (leg.state === 'calling') {
      leg.abort?.abort(new UaCstaError('ERR_ABORTED', 'released by the phone'));
    } else if (leg.dialog !== undefined) {
      void leg.dialog.bye();
    }
    this.#end(leg, 'normal', false);
  }

  hold(legId: string): void {
    const leg = this.#legs.get(legId);
    if (leg === undefined || leg.state !== 'connected') return;
    leg.wanted = 'sendonly';
    this.#log?.({ type: 'hold', leg: leg.id, by: 'local' });
    void this.#reinvite(leg);
  }

  retrieve(legId: string): void {
    const leg = this.#legs.get(legId);
    if (leg === undefined || leg.state !== 'connected') return;
    leg.wanted = 'sendrecv';
    this.#log?.({ type: 'retrieve', leg: leg.id, by: 'local' });
    void this.#reinvite(leg);
  }

  deflect(legId: string, to: string): void {
    const leg = this.#legs.get(legId);
    if (leg === undefined || leg.state !== 'offered') return;
    const target = callTarget(to, this.#plan);
    if (target === undefined) throw new UaCstaError('ERR_INVALID_ARG', `cannot deflect to ${to}`);
    // RFC 3261 §21.3.3: 302 Moved Temporarily, the new target in Contact
    this.#settle(leg, {
      status: 302,
      headers: { Contact: `<${target}>`, Diversion: `<${this.#lines[leg.line]!.address}>;reason=deflection` },
    });
    this.#end(leg, 'redirected', false);
  }

  transfer(legId: string, to: string): void {
    const leg = this.#legs.get(legId);
    const target = callTarget(to, this.#plan);
    if (leg === undefined || leg.state !== 'connected' || leg.dialog === undefined) return;
    if (target === undefined) throw new UaCstaError('ERR_INVALID_ARG', `cannot transfer to ${to}`);
    void this.#refer(leg, target);
  }

  transferConsulted(legId: string, consultLegId: string): void {
    const leg = this.#legs.get(legId);
    const consult = this.#legs.get(consultLegId);
    if (leg?.dialog === undefined || consult?.dialog === undefined) return;
    if (leg.state !== 'connected' || consult.state !== 'connected') return;
    // RFC 3891 §7.2 / RFC 5589 §7: Refer-To the consulted party with Replaces naming our
    // dialog with it, as that party holds it
    void this.#refer(leg, consult.dialog.dialog.remoteUri.uri, consult.dialog);
  }

  sendDigits(legId: string, digits: string): void {
    const leg = this.#legs.get(legId);
    if (leg === undefined || leg.state !== 'connected' || leg.dialog === undefined) return;
    const event = leg.media?.telephoneEvent;
    if (this.#dtmf === 'rfc4733' && event !== undefined && leg.rtp !== undefined) {
      void leg.rtp.sendDigits(digits, event.pt);
      return;
    }
    void this.#infoDigits(leg, digits);
  }

  /**
   * Records the legs of a local conference (ECMA-269 §17.2.2 ConferenceCall). Signalling only:
   * each leg stays its own SIP dialog and, with media on, its own RTP stream carrying the
   * phone's source; the far ends do not hear each other (no audio mixer). Logged as
   * `conference`.
   */
  mix(legs: readonly string[]): void {
    this.#conference = legs.filter((l) => this.#legs.has(l));
    this.#log?.({ type: 'conference', legs: this.#conference });
  }

  /** The legs of the local conference (see {@link SipCallSignalling.mix}); empty when none. */
  get conference(): readonly string[] {
    return this.#conference.filter((l) => this.#legs.has(l));
  }

  /** Ends every leg (BYE, CANCEL, 480) and stops taking INVITEs. */
  async close(): Promise<void> {
    for (const off of this.#unInvite) off();
    const legs = [...this.#legs.values()];
    for (const leg of legs) this.release(leg.id);
    await Promise.allSettled(legs.map((l) => l.rtp?.close()));
  }

  // ---- outgoing ------------------------------------------------------------------------------

  async #call(
    leg: Leg,
    target: string,
    autoAnswer: boolean,
    replaces: string | undefined,
    redirects: number,
    extra: Readonly<Record<string, string>> = {},
  ): Promise<void> {
    await this.#openMedia(leg);
    if (leg.state === 'ended') return void leg.rtp?.close();
    const abort = new AbortController();
    leg.abort = abort;
    const headers: Record<string, string> = { ...extra };
    if (autoAnswer) headers['Call-Info'] = `<${target}>;answer-after=0`;
    if (replaces !== undefined) headers['Replaces'] = replaces;
    const options: InviteOptions = {
      body: writeSdp(this.#local(leg, leg.wanted)),
      contentType: SDP_CONTENT_TYPE,
      headers,
      signal: abort.signal,
      onRequest: (req, dialog) => this.#inDialog(leg, req, dialog),
      onProgress: (response) => {
        if (response.status >= 180 && !leg.alerted && leg.state === 'calling') {
          leg.alerted = true;
          this.#emit({ type: 'alerting', leg: leg.id });
        }
      },
    };
    let dialog: DialogHandle;
    try {
      dialog = await this.#lines[leg.line]!.ua.invite(target, options);
    } catch (error) {
      if (isEnded(leg)) return;
      const e = error as { code?: string; status?: number; contacts?: readonly string[] };
      if (e.code === 'SIP_ERR_REJECTED' && e.status !== undefined && e.status >= 300 && e.status < 400) {
        const next = e.contacts?.[0];
        if (next !== undefined && redirects < MAX_REDIRECTS) {
          // RFC 3261 §8.1.3.4: retry at the Contact of the 3xx
          this.#emit({ type: 'diverted', leg: leg.id, to: next });
          leg.alerted = false;
          return this.#call(leg, next, autoAnswer, replaces, redirects + 1, extra);
        }
      }
      const cause: CallEndCause =
        e.code === 'SIP_ERR_REJECTED' && e.status !== undefined
          ? causeOfStatus(e.status)
          : e.code === 'SIP_ERR_TIMEOUT'
            ? 'noAnswer'
            : e.code === 'ERR_ABORTED'
              ? 'cancelled'
              : 'networkCongestion';
      this.#emit({ type: 'failed', leg: leg.id, cause, ...(e.status === undefined ? {} : { sipStatus: e.status }) });
      this.#end(leg, cause, false, e.status);
      return;
    }
    leg.dialog = dialog;
    this.#watch(leg, dialog);
    if (isEnded(leg)) return void dialog.bye(); // released while the 2xx was coming
    const body = dialog.establishedBy;
    const parsed = body === undefined || mediaTypeOf(body) !== SDP_CONTENT_TYPE ? undefined : parseSdp(text(body));
    const accepted = parsed?.ok === true ? acceptAnswer(parsed.value, leg.wanted) : undefined;
    if (accepted === undefined || !accepted.ok) {
      // RFC 3261 §13.2.2.4: an unusable answer in the 2xx: ACK it, then end the session
      void dialog.bye();
      this.#emit({ type: 'failed', leg: leg.id, cause: 'error', sipStatus: 488 });
      this.#end(leg, 'error', false, 488);
      return;
    }
    leg.media = accepted.value;
    leg.state = 'connected';
    leg.rtp?.start(leg.media);
    this.#log?.({ type: 'connected', leg: leg.id });
    this.#emit({ type: 'answered', leg: leg.id, remote: dialog.dialog.remoteUri.uri });
  }

  /** Hold or retrieve: a re-INVITE offering `leg.wanted` (RFC 3264 §8.4). */
  async #reinvite(leg: Leg): Promise<void> {
    const dialog = leg.dialog;
    if (dialog === undefined) return;
    leg.version++;
    const offered = leg.wanted;
    try {
      const res = await dialog.request('INVITE', {
        body: writeSdp(this.#local(leg, offered)),
        contentType: SDP_CONTENT_TYPE,
      });
      const parsed = mediaTypeOf(res) === SDP_CONTENT_TYPE ? parseSdp(text(res)) : undefined;
      const accepted = parsed?.ok === true ? acceptAnswer(parsed.value, offered) : undefined;
      if (accepted?.ok === true) {
        leg.media = accepted.value;
        leg.rtp?.start(leg.media);
      }
    } catch {
      // a refused re-INVITE leaves the session as it was (RFC 3261 §14.1); a 481 ends it (watch)
    }
  }

  /**
   * Sends REFER (RFC 3515) and reports the outcome from the final NOTIFY of its subscription;
   * a dialog that ends first (the transferee hung up after accepting) counts as transferred.
   */
  async #refer(leg: Leg, referTo: string, replaces?: DialogHandle): Promise<void> {
    const dialog = leg.dialog!;
    const state = { timer: undefined as TimerHandle | undefined, done: false };
    leg.transfer = state;
    let subscription: ReferSubscription;
    try {
      subscription = await dialog.refer(referTo, {
        headers: { 'Referred-By': `<${this.#lines[leg.line]!.address}>` },
        ...(replaces === undefined ? {} : { replaces }),
      });
    } catch (error) {
      const status = (error as { status?: number }).status;
      this.#transferDone(leg, false, status);
      return;
    }
    if (!state.done)
      state.timer = this.#clock.setTimeout(() => this.#transferDone(leg, false, 408), TRANSFER_TIMEOUT_MS);
    const final = await subscription.done;
    if (final === undefined) this.#transferDone(leg, true, 200);
    else this.#transferDone(leg, final.status >= 200 && final.status < 300, final.status);
  }

  #transferDone(leg: Leg, ok: boolean, sipStatus?: number): void {
    const t = leg.transfer;
    if (t === undefined || t.done) return;
    t.done = true;
    if (t.timer !== undefined) this.#clock.clearTimeout(t.timer);
    this.#emit({ type: 'transferResult', leg: leg.id, ok, ...(sipStatus === undefined ? {} : { sipStatus }) });
  }

  async #infoDigits(leg: Leg, digits: string): Promise<void> {
    for (const digit of digits) {
      if (!/^[0-9*#A-Da-d]$/.test(digit)) continue;
      if (leg.state !== 'connected' || leg.dialog === undefined) return;
      try {
        await leg.dialog.request('INFO', { body: dtmfRelayBody(digit.toUpperCase(), 100), contentType: DTMF_RELAY_CONTENT_TYPE });
      } catch {
        return; // the peer does not take dtmf-relay, or the call ended
      }
    }
  }

  // ---- incoming ------------------------------------------------------------------------------

  #onInvite(line: number, request: SipRequest, dialog: DialogHandle, invite: IncomingInvite): RequestAnswer | Promise<RequestAnswer> {
    const type = mediaTypeOf(request);
    if (request.body.length === 0 || type !== SDP_CONTENT_TYPE) {
      if (this.#other !== undefined) return this.#other(request, dialog, invite);
      return { status: 488 };
    }
    const parsed = parseSdp(text(request));
    if (!parsed.ok) return { status: 488, reason: 'Not Acceptable Here (SDP)' };
    const audio = audioOf(parsed.value);
    const probe = answerOffer(parsed.value, { address: this.#host, port: 9, sessionId: '0', version: 0, wanted: 'sendrecv' });
    if (audio === undefined || !probe.ok) return { status: 488, headers: { Warning: '304 uacsta "Media type not available"' } };
    const leg = this.#newLeg(false, line);
    leg.state = 'offered';
    leg.offer = parsed.value;
    leg.dialog = dialog;
    const replacedLeg = invite.replacedDialog === undefined ? undefined : this.#legOfDialog(invite.replacedDialog);
    const answer = new Promise<RequestAnswer>((resolve) => {
      leg.settle = resolve;
    });
    dialog.onRequest((req, d) => this.#inDialog(leg, req, d));
    this.#watch(leg, dialog);
    invite.cancelled.addEventListener('abort', () => {
      if (leg.state !== 'offered') return;
      leg.settle = undefined;
      this.#emit({ type: 'released', leg: leg.id, cause: 'cancelled' });
      this.#end(leg, 'cancelled', false);
    }, { once: true });
    const from = request.from.uri;
    this.#log?.({ type: 'call-in', leg: leg.id, from });
    const callInfo = request.headers['call-info']?.join(',') ?? '';
    const divertedFrom = firstUri(request, 'diversion');
    const referredBy = firstUri(request, 'referred-by');
    const input: CallSignallingInput = {
      type: 'offered',
      leg: leg.id,
      from,
      to: request.to.uri,
      callId: request.callId,
      ...(request.from.displayName ? { fromName: request.from.displayName } : {}),
      ...(divertedFrom === undefined ? {} : { divertedFrom }),
      ...(replacedLeg === undefined ? {} : { replaces: replacedLeg.id }),
      ...(referredBy === undefined ? {} : { referredBy }),
      ...(/answer-after\s*=\s*0/i.test(callInfo) ? { autoAnswer: true } : {}),
      ...(this.#lines.length > 1 ? { line } : {}),
    };
    void this.#openMedia(leg).then(() => {
      if (leg.state !== 'offered') return;
      this.#deliver(input);
      // the phone rings unless it decided at once (DND, busy, auto-answer, replaces)
      if (leg.state === 'offered') invite.progress(180);
    });
    return answer;
  }

  /** Requests inside a call's dialog: re-INVITE, INFO digits, REFER, NOTIFY, UPDATE. */
  async #inDialog(leg: Leg, request: SipRequest, dialog: DialogHandle): Promise<RequestAnswer> {
    leg.dialog ??= dialog;
    switch (request.method) {
      case 'INVITE':
        return this.#onReinvite(leg, request);
      case 'INFO': {
        const type = mediaTypeOf(request);
        if (type === DTMF_RELAY_CONTENT_TYPE) {
          const digit = readDtmfRelay(text(request));
          if (digit !== undefined) this.#emit({ type: 'digits', leg: leg.id, digits: digit });
          return { status: 200 };
        }
        if (request.body.length === 0) return { status: 200 };
        return { status: 415, headers: { Accept: DTMF_RELAY_CONTENT_TYPE } };
      }
      default:
        return { status: 200 };
    }
  }

  #onReinvite(leg: Leg, request: SipRequest): RequestAnswer {
    if (leg.state !== 'connected') return { status: 491 };
    let direction: MediaDirection = leg.wanted;
    if (request.body.length > 0) {
      if (mediaTypeOf(request) !== SDP_CONTENT_TYPE) return { status: 415, headers: { Accept: SDP_CONTENT_TYPE } };
      const parsed = parseSdp(text(request));
      if (!parsed.ok) return { status: 488 };
      leg.version++;
      const answered = answerOffer(parsed.value, this.#local(leg, leg.wanted));
      if (!answered.ok) return { status: 488 };
      const audio = audioOf(parsed.value)!;
      const remoteDir = effectiveDirection(audio);
      const held = remoteDir === 'sendonly' || remoteDir === 'inactive';
      leg.media = answered.value.media;
      leg.rtp?.start(leg.media);
      if (held !== leg.heldByRemote) {
        leg.heldByRemote = held;
        this.#log?.({ type: held ? 'hold' : 'retrieve', leg: leg.id, by: 'remote' });
        this.#emit({ type: held ? 'heldByRemote' : 'retrievedByRemote', leg: leg.id });
      }
      return { status: 200, body: answered.value.sdp, contentType: SDP_CONTENT_TYPE };
    }
    // an offer-less re-INVITE: our offer goes in the 2xx, the answer in the ACK (RFC 3264 §5)
    leg.version++;
    direction = leg.wanted;
    return { status: 200, body: writeSdp(this.#local(leg, direction)), contentType: SDP_CONTENT_TYPE };
  }

  /**
   * We are the transferee (RFC 3515 §2.4.2): accept, call the Refer-To target (with its
   * Replaces, RFC 3891 §7.2), and report that call's progress by NOTIFY.
   */
  #onRefer(leg: Leg, refer: IncomingRefer): RequestAnswer {
    if (leg.state !== 'connected' || !/^sips?:/i.test(refer.target)) return { status: 603, reason: 'Declined' };
    const newLeg = this.#newLeg(true, leg.line);
    newLeg.state = 'calling';
    newLeg.referredBy = { leg, refer };
    this.#log?.({ type: 'call-out', leg: newLeg.id, to: refer.target });
    const replaces = refer.uriHeaders['Replaces'] ?? refer.uriHeaders['replaces'];
    queueMicrotask(() => {
      this.#deliver({ type: 'referred', leg: leg.id, newLeg: newLeg.id, to: refer.target, ...(replaces === undefined ? {} : { attended: true }) });
      void this.#call(newLeg, refer.target, false, replaces, 0);
    });
    return { status: 202 };
  }

  // ---- legs ----------------------------------------------------------------------------------

  #newLeg(outgoing: boolean, line: number): Leg {
    const leg: Leg = {
      id: `L${++this.#next}`,
      outgoing,
      line,
      state: 'calling',
      dialog: undefined,
      abort: undefined,
      settle: undefined,
      offer: undefined,
      rtp: undefined,
      sessionId: String(this.#random32() >>> 1),
      version: 1,
      wanted: 'sendrecv',
      media: undefined,
      heldByRemote: false,
      alerted: false,
      transfer: undefined,
      referredBy: undefined,
    };
    this.#legs.set(leg.id, leg);
    return leg;
  }

  #legOfDialog(dialog: DialogHandle): Leg | undefined {
    for (const leg of this.#legs.values()) if (leg.dialog === dialog) return leg;
    return undefined;
  }

  async #openMedia(leg: Leg): Promise<void> {
    if (this.#media === 'none' || leg.rtp !== undefined) return;
    try {
      leg.rtp = await RtpStream.open({
        host: this.#host,
        source: this.#media,
        clock: this.#clock,
        random32: this.#random32,
        onDigit: (digit) => this.#emit({ type: 'digits', leg: leg.id, digits: digit }),
      });
    } catch {
      // no socket: the call goes on without media (SDP offers port 9)
    }
  }

  #local(leg: Leg, direction: MediaDirection) {
    return {
      address: this.#host,
      port: leg.rtp?.port ?? 9,
      sessionId: leg.sessionId,
      version: leg.version,
      direction,
      wanted: direction,
    };
  }

  /** Reports the end of a dialog the far end or the network ended. */
  #watch(leg: Leg, dialog: DialogHandle): void {
    dialog.onRefer((refer) => this.#onRefer(leg, refer));
    dialog.onTerminated((t) => {
      if (leg.state === 'ended' || leg.state === 'offered' || leg.state === 'calling') return;
      if (t.reason === 'bye-sent' || t.reason === 'closed') return this.#end(leg, 'normal', false);
      const cause: CallEndCause = t.reason === 'bye-received' ? 'normal' : 'error';
      // a transferee that hangs up after accepting our REFER completed the transfer
      if (leg.transfer !== undefined && !leg.transfer.done) this.#transferDone(leg, true, 200);
      this.#emit({ type: 'released', leg: leg.id, cause });
      this.#end(leg, cause, false);
    });
  }

  #settle(leg: Leg, answer: RequestAnswer): void {
    const settle = leg.settle;
    leg.settle = undefined;
    settle?.(answer);
  }

  #end(leg: Leg, cause: CallEndCause, emit: boolean, status?: number): void {
    if (leg.state === 'ended') return;
    leg.state = 'ended';
    this.#legs.delete(leg.id);
    if (leg.transfer?.timer !== undefined) this.#clock.clearTimeout(leg.transfer.timer);
    void leg.rtp?.close();
    this.#log?.({ type: 'ended', leg: leg.id, cause, ...(status === undefined ? {} : { status }) });
    if (emit) this.#emit({ type: 'released', leg: leg.id, cause });
    const origin = leg.referredBy;
    leg.referredBy = undefined;
    // the referred call ended before it was answered: report the failure (RFC 3515 §2.4.5)
    origin?.refer.notify(status !== undefined && status >= 300 ? status : 487).catch(() => undefined);
  }

  /** Delivers an input on a microtask (the port forbids delivery from inside a command). */
  #emit(input: CallSignallingInput): void {
    queueMicrotask(() => this.#deliver(input));
    const leg = this.#legs.get(input.leg);
    const origin = leg?.referredBy;
    if (origin === undefined) return;
    if (input.type === 'alerting') origin.refer.notify(180).catch(() => undefined);
    if (input.type === 'answered') {
      leg!.referredBy = undefined;
      origin.refer.notify(200).catch(() => undefined);
    }
  }

  #deliver(input: CallSignallingInput): void {
    try {
      this.#receiver?.(input);
    } catch {
      // the phone's failure must not break the signalling
    }
  }
}
