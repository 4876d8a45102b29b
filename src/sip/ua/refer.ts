/**
 * REFER in a dialog (RFC 3515) and its implicit subscription (RFC 6665, minimal): the Refer-To
 * of a received REFER, the `message/sipfrag` (RFC 3420) bodies of the NOTIFYs that report how
 * the referred request fares, and the sender's view of that progress.
 *
 * @remarks
 * Only what a transfer needs: one implicit subscription per REFER, `Event: refer;id=<CSeq of
 * the REFER>` (RFC 3515 §2.4.6), `Subscription-State: active;expires=…` while the referred
 * request is pending and `terminated;reason=noresource` with its final status. No SUBSCRIBE
 * refreshes, no `Refer-Sub: false` (RFC 4488).
 */

import { readNameAddrs, type DialogId } from '../dialog/dialog-id.js';
import {
  parseReplaces,
  splitUriHeaders,
  uriHeader,
  type Replaces,
} from '../dialog/replaces.js';
import type { SipHeaderInit } from '../message/serialize.js';
import type { NameAddr, SipRequest, SipResponse } from '../message/types.js';

/** The Content-Type of REFER NOTIFY bodies (RFC 3515 §2.4.5). */
export const SIPFRAG = 'message/sipfrag;version=2.0';

/** The expiry we put in `Subscription-State: active` (RFC 3515 §2.4.4 leaves it to us). */
export const REFER_SUBSCRIPTION_EXPIRES_SEC = 60;

/** One NOTIFY of a REFER's implicit subscription, as the REFER's sender sees it. */
export interface ReferProgress {
  /** The status of the sipfrag's status line (`SIP/2.0 180 Ringing` → 180). */
  readonly status: number;
  readonly reason: string;
  /** The Subscription-State value (`active`, `pending`, `terminated`). */
  readonly state: string;
  /** True for the last NOTIFY (`terminated`): the subscription is over. */
  readonly final: boolean;
  readonly request: SipRequest;
}

/** Options of {@link DialogHandle.refer}. */
export interface ReferOptions {
  /**
   * A dialog the target should replace (attended transfer, RFC 3891): a dialog of ours (its id
   * is written as the target will see it) or a Replaces value; added to the Refer-To URI as
   * `?Replaces=…`.
   */
  readonly replaces?: { readonly dialog: { readonly id: DialogId } } | Replaces;
  /** Further headers of the REFER (e.g. Referred-By). */
  readonly headers?: SipHeaderInit;
  /** Called for each NOTIFY of the implicit subscription, in arrival order. */
  readonly onNotify?: (progress: ReferProgress) => void;
}

/** The sender's side of a REFER that was accepted. */
export interface ReferSubscription {
  /** The 2xx (normally 202 Accepted) to the REFER. */
  readonly response: SipResponse;
  /**
   * Resolves with the final NOTIFY (`terminated`), or `undefined` when the dialog ends first.
   * Never rejects.
   */
  readonly done: Promise<ReferProgress | undefined>;
  /** Every NOTIFY, the ones that came before the 2xx included; ends after the final one. */
  [Symbol.asyncIterator](): AsyncIterator<ReferProgress>;
}

/** A REFER received in a dialog, as its handler sees it. */
export interface IncomingRefer {
  readonly request: SipRequest;
  /** The Refer-To name-addr as written. */
  readonly referTo: NameAddr;
  /** The Refer-To URI without its `?` headers: where to send the INVITE. */
  readonly target: string;
  /** The Refer-To URI headers, unescaped (RFC 3261 §19.1.1): headers to put in that INVITE. */
  readonly uriHeaders: Readonly<Record<string, string>>;
  /** The Replaces carried in the Refer-To URI headers (RFC 3891 §7.2), parsed. */
  readonly replaces: Replaces | undefined;
  /** The Referred-By value as written (RFC 3892), if any. */
  readonly referredBy: string | undefined;
  /**
   * Sends a NOTIFY with `SIP/2.0 <status> <reason>` as sipfrag: `active` for a 1xx,
   * `terminated;reason=noresource` for a final status, after which no more can be sent.
   * NOTIFYs go out one after the other, after the 202 and the UA's first `100 Trying`.
   * Resolves with the NOTIFY's 2xx; rejects like `dialog.request`, and `ERR_INVALID_STATE`
   * after the final one.
   */
  notify(status: number, reason?: string): Promise<SipResponse>;
}

/** What `readRefer` finds wrong with a REFER; answered 400 with this reason phrase. */
export type ReferProblem = 'Missing Refer-To' | 'Multiple Refer-To' | 'Bad Refer-To';

/** The parsed parts of a REFER (RFC 3515 §2.4.1: exactly one Refer-To). */
export type ReadRefer =
  | {
      readonly ok: true;
      readonly referTo: NameAddr;
      readonly target: string;
      readonly uriHeaders: Readonly<Record<string, string>>;
      readonly replaces: Replaces | undefined;
    }
  | { readonly ok: false; readonly reason: ReferProblem };

/** Reads the Refer-To of a REFER. */
export function readRefer(request: SipRequest): ReadRefer {
  const values = request.headers['refer-to'];
  if (values === undefined || values.length === 0) return { ok: false, reason: 'Missing Refer-To' };
  const all = readNameAddrs(values);
  if (all.length > 1 || values.length > 1) return { ok: false, reason: 'Multiple Refer-To' };
  const referTo = all[0];
  if (referTo === undefined || !/^[a-z][a-z0-9+.-]*:/i.test(referTo.uri))
    return { ok: false, reason: 'Bad Refer-To' };
  const split = splitUriHeaders(referTo.uri);
  const raw = uriHeader(split, 'Replaces');
  return {
    ok: true,
    referTo,
    target: split.uri,
    uriHeaders: split.headers,
    replaces: raw === undefined ? undefined : parseReplaces(raw),
  };
}

/** The sipfrag body of a REFER NOTIFY: the status line of the referred request's response. */
export function sipfrag(status: number, reason: string): string {
  return `SIP/2.0 ${status} ${reason}\r\n`;
}

/** The status line of a sipfrag body, or `undefined` when it has none (RFC 3420). */
export function readSipfrag(body: Uint8Array): { status: number; reason: string } | undefined {
  const first = new TextDecoder().decode(body.subarray(0, 256)).split(/\r?\n/)[0] ?? '';
  const m = /^SIP\/2\.0 ([1-6]\d\d)(?: (.*))?$/.exec(first.trim());
  if (m === null) return undefined;
  return { status: Number(m[1]), reason: m[2] ?? '' };
}

/** The `id` parameter of an Event header value (`refer;id=3` → 3), if any. */
export function eventId(value: string | undefined): { event: string; id: string | undefined } {
  const parts = (value ?? '').split(';').map((p) => p.trim());
  let id: string | undefined;
  for (const p of parts.slice(1)) {
    const [k, v] = p.split('=');
    if (k?.trim().toLowerCase() === 'id') id = v?.trim();
  }
  return { event: (parts[0] ?? '').toLowerCase(), id };
}

/**
 * The sender's bookkeeping for one REFER: the NOTIFYs as a queue read by `onNotify`, the async
 * iterator and `done`.
 *
 * @internal
 */
export class ReferWatch {
  readonly id: number;
  readonly #onNotify: ((p: ReferProgress) => void) | undefined;
  readonly #seen: ReferProgress[] = [];
  readonly #waiters: ((r: IteratorResult<ReferProgress>) => void)[] = [];
  #ended = false;
  #resolveDone!: (p: ReferProgress | undefined) => void;
  readonly done: Promise<ReferProgress | undefined>;
  readonly #onError: (error: unknown) => void;

  constructor(
    id: number,
    onNotify: ((p: ReferProgress) => void) | undefined,
    onError: (e: unknown) => void,
  ) {
    this.id = id;
    this.#onNotify = onNotify;
    this.#onError = onError;
    this.done = new Promise((resolve) => {
      this.#resolveDone = resolve;
    });
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Takes one NOTIFY; the final one ends the watch. */
  push(p: ReferProgress): void {
    if (this.#ended) return;
    this.#seen.push(p);
    try {
      this.#onNotify?.(p);
    } catch (error) {
      this.#onError(error);
    }
    const w = this.#waiters.shift();
    if (w !== undefined) w({ done: false, value: this.#seen.shift()! });
    if (p.final) this.end(p);
  }

  /** Ends the watch (final NOTIFY, or the dialog ended). */
  end(last?: ReferProgress): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#resolveDone(last);
    if (this.#seen.length > 0) return;
    for (const w of this.#waiters.splice(0)) w({ done: true, value: undefined });
  }

  iterator(): AsyncIterator<ReferProgress> {
    return {
      next: () => {
        const v = this.#seen.shift();
        if (v !== undefined) return Promise.resolve({ done: false, value: v });
        if (this.#ended) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => this.#waiters.push(resolve));
      },
    };
  }
}
