/**
 * `InProcessExchange`: a {@link CallSignalling} for many simulated phones in one process, with
 * no sockets. Phones call each other by extension; the exchange plays what SIP would do between
 * them (180 on offer, 200, BYE, CANCEL, 3xx, REFER with and without Replaces, re-INVITE hold,
 * DTMF), for tests and demos.
 *
 * @remarks
 * Every input is delivered in a microtask of its own, in the order the exchange produced it, and
 * never from inside the command that caused it (the port's rule, `call-signalling.ts`).
 */

import { UaCstaError } from '../errors.js';
import type { CallEndCause, CallRejectReason, CallSignalling, CallSignallingInput, PlaceCallRequest } from './call-signalling.js';
import { userPart } from './device-address.js';

/** Options of {@link InProcessExchange}. */
export interface InProcessExchangeOptions {
  /** Host part of the phones' addresses (`sip:1001@DOMAIN`). @defaultValue 'example.test' */
  readonly domain?: string;
}

type LegState = 'setup' | 'early' | 'confirmed' | 'ended';

interface Leg {
  readonly id: string;
  readonly owner: Endpoint;
  readonly line: number;
  readonly direction: 'out' | 'in';
  peer: Leg | undefined;
  state: LegState;
  /** Outcome of a call placed on behalf of a REFER: reported to the transferor. */
  outcome: ((ok: boolean) => void) | undefined;
}

interface Endpoint {
  readonly addresses: readonly string[];
  receiver: ((input: CallSignallingInput) => void) | undefined;
}

const REJECT_CAUSE: Record<CallRejectReason, CallEndCause> = {
  busy: 'busy',
  decline: 'rejected',
  doNotDisturb: 'doNotDisturb',
  unavailable: 'noAnswer',
};

/** Joins simulated phones by extension, in process. */
export class InProcessExchange {
  readonly domain: string;
  readonly #byExtension = new Map<string, { endpoint: Endpoint; line: number }>();
  readonly #legs = new Map<string, Leg>();
  #nextLeg = 1;

  constructor(options: InProcessExchangeOptions = {}) {
    this.domain = options.domain ?? 'example.test';
    if (typeof this.domain !== 'string' || this.domain === '' || /[\s@;]/.test(this.domain))
      throw new UaCstaError('ERR_INVALID_ARG', 'domain must be a host name');
  }

  /** The address of `extension` on this exchange (`sip:1001@example.test`). */
  addressOf(extension: string): string {
    return `sip:${extension}@${this.domain}`;
  }

  /**
   * Connects a phone with one line per extension (first is line 0) and returns its signalling.
   * Throws `ERR_INVALID_ARG` for an extension already taken.
   */
  connect(extensions: string | readonly string[]): CallSignalling {
    const list = typeof extensions === 'string' ? [extensions] : [...extensions];
    if (list.length === 0) throw new UaCstaError('ERR_INVALID_ARG', 'at least one extension is required');
    for (const ext of list) {
      if (typeof ext !== 'string' || !/^[\w.+*#-]+$/.test(ext)) throw new UaCstaError('ERR_INVALID_ARG', `'${String(ext)}' is not an extension`);
      if (this.#byExtension.has(ext)) throw new UaCstaError('ERR_INVALID_ARG', `extension ${ext} is taken`);
    }
    const endpoint: Endpoint = { addresses: list.map((e) => this.addressOf(e)), receiver: undefined };
    list.forEach((ext, line) => this.#byExtension.set(ext, { endpoint, line }));
    return this.#signalling(endpoint);
  }

  /** Legs not yet ended (for leak checks in tests). */
  get activeLegs(): number {
    let n = 0;
    for (const leg of this.#legs.values()) if (leg.state !== 'ended') n++;
    return n;
  }

  #signalling(endpoint: Endpoint): CallSignalling {
    const own = (id: string): Leg | undefined => {
      const leg = this.#legs.get(id);
      return leg !== undefined && leg.owner === endpoint && leg.state !== 'ended' ? leg : undefined;
    };
    return {
      address: endpoint.addresses[0]!,
      lines: endpoint.addresses,
      onInput: (receiver) => {
        endpoint.receiver = receiver;
        return () => {
          if (endpoint.receiver === receiver) endpoint.receiver = undefined;
        };
      },
      place: (request: PlaceCallRequest) => {
        const line = request.line ?? 0;
        const leg = this.#newLeg(endpoint, line, 'out');
        this.#route(leg, request.to, request.from ?? endpoint.addresses[line] ?? endpoint.addresses[0]!, {
          ...(request.autoAnswer === true ? { autoAnswer: true } : {}),
        });
        return leg.id;
      },
      answer: (id) => {
        const leg = own(id);
        if (leg === undefined || leg.direction !== 'in' || leg.state === 'confirmed') return;
        const peer = leg.peer;
        leg.state = 'confirmed';
        if (peer === undefined || peer.state === 'ended') return;
        peer.state = 'confirmed';
        this.#post(peer.owner, { type: 'answered', leg: peer.id, remote: this.#addressOfLeg(leg) });
        const outcome = peer.outcome;
        peer.outcome = undefined;
        outcome?.(true);
      },
      reject: (id, reason) => {
        const leg = own(id);
        if (leg === undefined || leg.direction !== 'in' || leg.state === 'confirmed') return;
        this.#end(leg);
        if (leg.peer !== undefined) this.#fail(leg.peer, REJECT_CAUSE[reason]);
      },
      release: (id) => {
        const leg = own(id);
        if (leg === undefined) return;
        const peer = leg.peer;
        const confirmed = leg.state === 'confirmed';
        this.#end(leg);
        if (peer === undefined || peer.state === 'ended') return;
        if (confirmed || leg.direction === 'out') {
          this.#end(peer);
          this.#post(peer.owner, { type: 'released', leg: peer.id, cause: confirmed ? 'normal' : 'cancelled' });
        } else this.#fail(peer, 'rejected');
      },
      hold: (id) => this.#reinvite(own(id), 'heldByRemote'),
      retrieve: (id) => this.#reinvite(own(id), 'retrievedByRemote'),
      deflect: (id, to) => {
        const leg = own(id);
        if (leg === undefined || leg.direction !== 'in' || leg.state === 'confirmed') return;
        const caller = leg.peer;
        this.#end(leg);
        if (caller === undefined || caller.state === 'ended') return;
        caller.peer = undefined;
        const target = this.#lookup(to);
        if (target === undefined) {
          this.#fail(caller, 'notFound');
          return;
        }
        this.#post(caller.owner, { type: 'diverted', leg: caller.id, to: target.endpoint.addresses[target.line]! });
        this.#route(caller, to, this.#addressOfLeg(caller), { divertedFrom: this.#addressOfLeg(leg) });
      },
      transfer: (id, to) => {
        const leg = own(id);
        const transferee = leg?.peer;
        if (leg === undefined || leg.state !== 'confirmed' || transferee === undefined || transferee.state !== 'confirmed') {
          if (leg !== undefined) this.#post(endpoint, { type: 'transferResult', leg: leg.id, ok: false, sipStatus: 481 });
          return;
        }
        const newLeg = this.#newLeg(transferee.owner, transferee.line, 'out');
        newLeg.outcome = (ok) => this.#post(endpoint, { type: 'transferResult', leg: leg.id, ok, ...(ok ? {} : { sipStatus: 503 }) });
        this.#post(transferee.owner, { type: 'referred', leg: transferee.id, newLeg: newLeg.id, to, attended: false });
        this.#route(newLeg, to, this.#addressOfLeg(transferee), { referredBy: this.#addressOfLeg(leg) });
      },
      transferConsulted: (id, consultId) => {
        const leg = own(id);
        const consult = own(consultId);
        const transferee = leg?.peer;
        const target = consult?.peer;
        if (leg === undefined || consult === undefined || transferee === undefined || target === undefined || target.state === 'ended' || transferee.state === 'ended') {
          if (leg !== undefined) this.#post(endpoint, { type: 'transferResult', leg: leg.id, ok: false, sipStatus: 481 });
          return;
        }
        const newOut = this.#newLeg(transferee.owner, transferee.line, 'out');
        const newIn = this.#newLeg(target.owner, target.line, 'in');
        newOut.peer = newIn;
        newIn.peer = newOut;
        newOut.outcome = (ok) => this.#post(endpoint, { type: 'transferResult', leg: leg.id, ok, ...(ok ? {} : { sipStatus: 503 }) });
        const targetAddress = this.#addressOfLeg(target);
        this.#post(transferee.owner, { type: 'referred', leg: transferee.id, newLeg: newOut.id, to: targetAddress, attended: true });
        this.#post(target.owner, {
          type: 'offered',
          leg: newIn.id,
          from: this.#addressOfLeg(transferee),
          to: targetAddress,
          replaces: target.id,
          referredBy: this.#addressOfLeg(leg),
          line: target.line,
        });
      },
      sendDigits: (id, digits) => {
        const leg = own(id);
        if (leg === undefined || leg.state !== 'confirmed' || leg.peer === undefined || leg.peer.state !== 'confirmed') return;
        this.#post(leg.peer.owner, { type: 'digits', leg: leg.peer.id, digits });
      },
    };
  }

  /** Offers the call of outgoing `caller` to the phone `to` names, or fails it (404). */
  #route(caller: Leg, to: string, from: string, extra: { divertedFrom?: string; referredBy?: string; autoAnswer?: boolean }): void {
    const target = this.#lookup(to);
    if (target === undefined) {
      this.#fail(caller, 'notFound');
      return;
    }
    const callee = this.#newLeg(target.endpoint, target.line, 'in');
    caller.peer = callee;
    callee.peer = caller;
    this.#post(target.endpoint, {
      type: 'offered',
      leg: callee.id,
      from,
      to: target.endpoint.addresses[target.line]!,
      line: target.line,
      ...(extra.divertedFrom === undefined ? {} : { divertedFrom: extra.divertedFrom }),
      ...(extra.referredBy === undefined ? {} : { referredBy: extra.referredBy }),
      ...(extra.autoAnswer === true ? { autoAnswer: true } : {}),
    });
    // the callee rings unless it refused, diverted or answered while handling the offer (180)
    queueMicrotask(() => {
      if (callee.state === 'setup' && caller.peer === callee && caller.state !== 'ended') {
        callee.state = 'early';
        caller.state = 'early';
        this.#post(caller.owner, { type: 'alerting', leg: caller.id });
      }
    });
  }

  #reinvite(leg: Leg | undefined, type: 'heldByRemote' | 'retrievedByRemote'): void {
    if (leg === undefined || leg.state !== 'confirmed' || leg.peer === undefined || leg.peer.state !== 'confirmed') return;
    this.#post(leg.peer.owner, { type, leg: leg.peer.id });
  }

  #fail(leg: Leg, cause: CallEndCause): void {
    if (leg.state === 'ended') return;
    this.#end(leg);
    const status = cause === 'busy' ? 486 : cause === 'notFound' ? 404 : cause === 'rejected' ? 603 : cause === 'doNotDisturb' ? 480 : 480;
    this.#post(leg.owner, { type: 'failed', leg: leg.id, cause, sipStatus: status });
    const outcome = leg.outcome;
    leg.outcome = undefined;
    outcome?.(false);
  }

  #end(leg: Leg): void {
    leg.state = 'ended';
    this.#legs.delete(leg.id);
  }

  #newLeg(owner: Endpoint, line: number, direction: 'out' | 'in'): Leg {
    const leg: Leg = { id: `x${this.#nextLeg++}`, owner, line, direction, peer: undefined, state: 'setup', outcome: undefined };
    this.#legs.set(leg.id, leg);
    return leg;
  }

  #addressOfLeg(leg: Leg): string {
    return leg.owner.addresses[leg.line] ?? leg.owner.addresses[0]!;
  }

  #lookup(to: string): { endpoint: Endpoint; line: number } | undefined {
    const user = userPart(to);
    return this.#byExtension.get(user);
  }

  #post(endpoint: Endpoint, input: CallSignallingInput): void {
    queueMicrotask(() => {
      try {
        endpoint.receiver?.(input);
      } catch {
        // a phone that throws on an input must not break the exchange for the others
      }
    });
  }
}
