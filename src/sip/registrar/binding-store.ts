/**
 * The registrar's location service: bindings from an address-of-record to contact addresses,
 * built from REGISTER requests (RFC 3261 §10.3), with RFC 5626 instance ids.
 *
 * @remarks
 * Pure: it takes a parsed REGISTER and returns the status and headers to send; it does no I/O,
 * and the UA core sends the response. Authentication (§10.3 steps 3–4) happens before, with
 * `DigestServer`; the Request-URI domain check (step 1) and `Require` (step 2) are the core's.
 *
 * Steps 5–8 of §10.3, as done here:
 * - The AOR is the To URI in canonical form: "all URI parameters MUST be removed (including the
 *   user-param), and any escaped characters MUST be converted to their unescaped form".
 * - `Contact: *` must be alone and come with `Expires: 0`, else 400.
 * - Each contact's interval is its `expires` parameter, else the `Expires` header, else the
 *   default; an interval above zero, under one hour and under `minExpiresSec` is answered 423
 *   with `Min-Expires`; a longer one is shortened to `maxExpiresSec` (the registrar "MAY choose an
 *   expiration less than the requested expiration interval").
 * - Call-ID and CSeq: an existing binding with another Call-ID is updated (or removed for zero);
 *   with the same Call-ID only a higher CSeq updates it, "otherwise, the update MUST be aborted
 *   and the request fails". All changes are committed only if all succeed (step 7: "If any one
 *   of them fails ... the request MUST fail with a 500 (Server Error) response and all tentative
 *   binding updates MUST be removed").
 * - RFC 5626 §6: a contact with `+sip.instance` (and `reg-id`) replaces the binding with the same
 *   instance (and reg-id) even when its URI changed (the phone's address moved).
 * - The 200 lists every current binding of the AOR with its remaining `expires` (step 8).
 *
 * Bindings expire by the injected clock: one timer armed for the earliest expiry over an
 * indexed heap, so refreshing a binding costs O(log n) and leaves nothing behind.
 */
import { UaCstaError } from '../../errors.js';
import { REGISTRAR_LIMITS, type RegistrarLimits } from '../../limits.js';
import { systemClock, type Clock, type TimerHandle } from '../../util/clock.js';
import { parseNameAddr } from '../message/headers.js';
import { createResponse } from '../message/serialize.js';
import type { NameAddr, SipRequest, SipResponse } from '../message/types.js';

/** One binding of an address-of-record to a contact address. */
export interface Binding {
  /** The address-of-record, canonical (see {@link canonicalAor}). */
  readonly aor: string;
  /** The Contact value as registered, without its `expires` parameter. */
  readonly contact: NameAddr;
  /** The `+sip.instance` value without quotes, lower-cased (RFC 5626 §4.1); `undefined` when absent. */
  readonly instanceId: string | undefined;
  /** The `reg-id` (RFC 5626 §4.2); `undefined` when absent. */
  readonly regId: string | undefined;
  /** Call-ID and CSeq of the REGISTER that last wrote this binding (§10.3 step 7). */
  readonly callId: string;
  readonly cseq: number;
  /** The interval granted, in seconds. */
  readonly expiresSec: number;
  /** When the binding expires, on the store's clock. */
  readonly expiresAtMs: number;
  /** What the caller passed as `flow` with the REGISTER (the connection to reach the UA, RFC 5626). */
  readonly flow: unknown;
}

/** The events of a {@link BindingStore}. */
export interface BindingEvents {
  /** A new binding. */
  registered: (binding: Binding) => void;
  /** An existing binding rewritten by a later REGISTER (new interval, or a new URI for the same instance). */
  refreshed: (binding: Binding, previous: Binding) => void;
  /** A binding removed by `Expires: 0` or `Contact: *`. */
  removed: (binding: Binding) => void;
  /** A binding whose interval ran out. */
  expired: (binding: Binding) => void;
}

/** Something the store reports that is not an event: a listener that threw. */
export interface BindingStoreTraceEvent {
  readonly type: 'listener-error';
  readonly event: keyof BindingEvents;
  readonly error: unknown;
}

/** Options of {@link BindingStore}. */
export interface BindingStoreOptions {
  /** Time for expiry. @defaultValue systemClock */
  clock?: Clock;
  /** Shortest interval accepted below one hour; shorter ones get 423. @defaultValue 60 */
  minExpiresSec?: number;
  /** Longest interval granted; longer requests are shortened. @defaultValue 7200 */
  maxExpiresSec?: number;
  /** Interval when the REGISTER names none (RFC 3261 §10.3 step 7 "locally configured default"). @defaultValue 3600 */
  defaultExpiresSec?: number;
  /** Whether this registrar is responsible for an AOR (§10.3 step 5: else 404). @defaultValue accepts all */
  isLocalAor?: (aor: string) => boolean;
  /** Overrides of {@link REGISTRAR_LIMITS}. */
  limits?: Partial<RegistrarLimits>;
  /** Sees listener exceptions, which are otherwise swallowed. */
  trace?: (event: BindingStoreTraceEvent) => void;
}

/** Defaults of {@link BindingStoreOptions}. */
export const BINDING_STORE_DEFAULTS = {
  minExpiresSec: 60,
  maxExpiresSec: 7200,
  defaultExpiresSec: 3600,
} as const;

/** What to answer a REGISTER with. */
export type RegisterResult =
  | {
      readonly status: 200;
      readonly reasonPhrase: 'OK';
      readonly aor: string;
      /** Every current binding of the AOR, after this request. */
      readonly bindings: readonly Binding[];
      /** `contact`: one value per binding with its remaining `expires` (absent when none). */
      readonly headers: Readonly<Record<string, readonly string[]>>;
    }
  | {
      /** 400 bad Contact or Expires use, 404 foreign AOR, 423 interval too brief, 500 out-of-order CSeq, 503 over a limit. */
      readonly status: 400 | 404 | 423 | 500 | 503;
      readonly reasonPhrase: string;
      /** `min-expires` for a 423; otherwise empty. */
      readonly headers: Readonly<Record<string, readonly string[]>>;
    };

/** The state of a {@link BindingStore}: `'Closed'` after `close()`. */
export type BindingStoreState = 'Open' | 'Closed';

/** RFC 3261 §10.3 step 6: 423 is allowed only for intervals under one hour. */
const ONE_HOUR_SEC = 3600;
/** §20.19: "between 0 and (2**32)-1". */
const MAX_DELTA_SECONDS = 2 ** 32 - 1;

interface StoredBinding {
  binding: Binding;
  /** Position in the expiry heap. */
  heapIndex: number;
}

interface ParsedContact {
  readonly contact: NameAddr;
  readonly requestedSec: number;
  readonly instanceId: string | undefined;
  readonly regId: string | undefined;
}

function invalid(message: string): never {
  throw new UaCstaError('ERR_INVALID_ARG', message);
}

function requireSeconds(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_DELTA_SECONDS) {
    invalid(`${what} must be an integer 0-${MAX_DELTA_SECONDS}; got ${String(n)}`);
  }
  return n;
}

function requireLimit(n: number, what: string): number {
  if (!(n === Infinity || (Number.isInteger(n) && n >= 1))) {
    invalid(`${what} must be a positive integer or Infinity; got ${String(n)}`);
  }
  return n;
}

/**
 * Keeps the registrar's bindings and answers REGISTER requests.
 *
 * @example
 * const store = new BindingStore({ clock, minExpiresSec: 60 });
 * const off = store.on('registered', (b) => phones.attach(b.aor, b.contact.uri));
 * const r = store.register(register, { flow: source });
 * send(registerResponse(register, r, ids.tag()));
 */
export class BindingStore {
  readonly #clock: Clock;
  readonly #minExpiresSec: number;
  readonly #maxExpiresSec: number;
  readonly #defaultExpiresSec: number;
  readonly #isLocalAor: (aor: string) => boolean;
  readonly #maxAors: number;
  readonly #maxContactsPerAor: number;
  readonly #trace: (event: BindingStoreTraceEvent) => void;
  readonly #byAor = new Map<string, StoredBinding[]>();
  readonly #heap: StoredBinding[] = [];
  readonly #listeners: { [K in keyof BindingEvents]: Set<BindingEvents[K]> } = {
    registered: new Set(),
    refreshed: new Set(),
    removed: new Set(),
    expired: new Set(),
  };
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  #state: BindingStoreState = 'Open';

  constructor(options: BindingStoreOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#minExpiresSec = requireSeconds(
      options.minExpiresSec ?? BINDING_STORE_DEFAULTS.minExpiresSec,
      'minExpiresSec',
    );
    this.#maxExpiresSec = requireSeconds(
      options.maxExpiresSec ?? BINDING_STORE_DEFAULTS.maxExpiresSec,
      'maxExpiresSec',
    );
    this.#defaultExpiresSec = requireSeconds(
      options.defaultExpiresSec ?? BINDING_STORE_DEFAULTS.defaultExpiresSec,
      'defaultExpiresSec',
    );
    if (this.#maxExpiresSec < 1) invalid('maxExpiresSec must be at least 1');
    if (this.#minExpiresSec > this.#maxExpiresSec) {
      invalid(
        `minExpiresSec (${this.#minExpiresSec}) must not exceed maxExpiresSec (${this.#maxExpiresSec})`,
      );
    }
    this.#isLocalAor = options.isLocalAor ?? (() => true);
    this.#maxAors = requireLimit(options.limits?.maxAors ?? REGISTRAR_LIMITS.maxAors, 'maxAors');
    this.#maxContactsPerAor = requireLimit(
      options.limits?.maxContactsPerAor ?? REGISTRAR_LIMITS.maxContactsPerAor,
      'maxContactsPerAor',
    );
    this.#trace = options.trace ?? (() => {});
  }

  /** `'Open'`, or `'Closed'` after {@link BindingStore.close}. */
  get state(): BindingStoreState {
    return this.#state;
  }

  /** How many AORs and bindings are stored. */
  get size(): { readonly aors: number; readonly bindings: number } {
    return { aors: this.#byAor.size, bindings: this.#heap.length };
  }

  /**
   * Subscribes to an event; returns the function that unsubscribes. A listener that throws is
   * reported to `trace` and does not disturb the store or the other listeners.
   */
  on<K extends keyof BindingEvents>(type: K, listener: BindingEvents[K]): () => void {
    const set = this.#listeners[type] as Set<BindingEvents[K]> | undefined;
    if (set === undefined) invalid(`unknown event ${JSON.stringify(type)}`);
    if (typeof listener !== 'function') invalid('listener must be a function');
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /** The current bindings of an AOR (any spelling of it), in registration order. */
  bindings(aor: string): readonly Binding[] {
    const key = canonicalAor(aor);
    if (key === undefined) return [];
    return (this.#byAor.get(key) ?? []).map((s) => s.binding);
  }

  /**
   * Applies a REGISTER (RFC 3261 §10.3 steps 5–8) and says what to answer.
   *
   * @remarks
   * Nothing changes unless the result is 200. Events for the changes are emitted after the
   * change is complete, in Contact order. Throws `ERR_INVALID_ARG` when `request` is not a
   * REGISTER and `ERR_INVALID_STATE` after `close()`.
   *
   * @param context.flow - kept with each binding this request writes (how to reach the UA).
   */
  register(request: SipRequest, context: { flow?: unknown } = {}): RegisterResult {
    if (this.#state === 'Closed')
      throw new UaCstaError('ERR_INVALID_STATE', 'the binding store is closed');
    if (request.method !== 'REGISTER')
      invalid(`register() takes a REGISTER; got ${request.method}`);

    // Step 5: the address-of-record.
    const aor = canonicalAor(request.to.uri);
    if (aor === undefined) return fail(404, 'Not Found');
    if (!this.#isLocalAor(aor)) return fail(404, 'Not Found');

    // Step 6: the contacts and their intervals.
    const expiresHeader = request.headers['expires']?.[0];
    const headerSec =
      expiresHeader === undefined ? undefined : readDeltaSeconds(expiresHeader.trim());
    const values = request.headers['contact'] ?? [];
    const elements: string[] = [];
    for (const v of values) {
      const parts = splitContactList(v);
      if (parts === undefined) return fail(400, 'Bad Request (unreadable Contact)');
      elements.push(...parts);
      if (elements.length > this.#maxContactsPerAor && this.#maxContactsPerAor !== Infinity) {
        return fail(503, 'Service Unavailable (too many contacts)');
      }
    }
    const wildcard = elements.some((e) => e === '*');
    if (wildcard) {
      if (elements.length !== 1) return fail(400, 'Bad Request (Contact: * must be alone)');
      if (headerSec !== 0) return fail(400, 'Bad Request (Contact: * needs Expires: 0)');
      return this.#removeAll(aor, request);
    }
    const contacts: ParsedContact[] = [];
    for (const e of elements) {
      const contact = parseNameAddr(e);
      if (contact === undefined) return fail(400, 'Bad Request (unreadable Contact)');
      const paramSec =
        contact.params['expires'] === undefined
          ? undefined
          : readDeltaSeconds(contact.params['expires']);
      // §20.10 / §20.19: a malformed value is taken as the default (RFC 3261 says 3600).
      const requestedSec =
        contact.params['expires'] !== undefined
          ? (paramSec ?? this.#defaultExpiresSec)
          : expiresHeader !== undefined
            ? (headerSec ?? this.#defaultExpiresSec)
            : this.#defaultExpiresSec;
      if (requestedSec > 0 && requestedSec < ONE_HOUR_SEC && requestedSec < this.#minExpiresSec) {
        return {
          status: 423,
          reasonPhrase: 'Interval Too Brief',
          headers: { 'min-expires': [String(this.#minExpiresSec)] },
        };
      }
      const params = { ...contact.params };
      delete params['expires'];
      const instance = contact.params['+sip.instance'];
      contacts.push({
        contact: { displayName: contact.displayName, uri: contact.uri, params },
        requestedSec,
        instanceId: instance === undefined ? undefined : unquote(instance).toLowerCase(),
        regId: contact.params['reg-id'],
      });
    }
    if (contacts.length === 0) return this.#ok(aor);
    return this.#apply(aor, request, contacts, context.flow);
  }

  /** Cancels the expiry timer and forgets every binding, without events. Idempotent. */
  close(): void {
    if (this.#state === 'Closed') return;
    this.#state = 'Closed';
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#byAor.clear();
    this.#heap.length = 0;
  }

  // -------------------------------------------------------------------------------------------

  /** `Contact: *` with `Expires: 0`: remove every binding of the AOR, all or nothing. */
  #removeAll(aor: string, request: SipRequest): RegisterResult {
    const list = this.#byAor.get(aor) ?? [];
    for (const s of list) {
      const b = s.binding;
      if (b.callId === request.callId && request.cseq.seq <= b.cseq) {
        return fail(500, 'Server Internal Error (CSeq out of order)');
      }
    }
    const removed = list.map((s) => s.binding);
    for (const s of [...list]) this.#delete(s);
    this.#arm();
    for (const b of removed) this.#emit('removed', b);
    return this.#ok(aor);
  }

  #apply(
    aor: string,
    request: SipRequest,
    contacts: readonly ParsedContact[],
    flow: unknown,
  ): RegisterResult {
    const existing = this.#byAor.get(aor) ?? [];
    const now = this.#clock.now();
    // The tentative changes, in Contact order: an existing binding rewritten (`stored`) or a new
    // one; `next: null` removes. A contact listed twice in one request: the later entry wins.
    const plan: { readonly stored: StoredBinding | undefined; next: Binding | null }[] = [];
    for (const c of contacts) {
      const grantedSec = Math.min(c.requestedSec, this.#maxExpiresSec);
      const next: Binding | null =
        grantedSec === 0
          ? null
          : {
              aor,
              contact: c.contact,
              instanceId: c.instanceId,
              regId: c.regId,
              callId: request.callId,
              cseq: request.cseq.seq,
              expiresSec: grantedSec,
              expiresAtMs: now + grantedSec * 1000,
              flow,
            };
      const stored = findBinding(existing, c);
      if (stored !== undefined) {
        const b = stored.binding;
        if (b.callId === request.callId && request.cseq.seq <= b.cseq) {
          return fail(500, 'Server Internal Error (CSeq out of order)');
        }
        const entry = plan.find((e) => e.stored === stored);
        if (entry !== undefined) entry.next = next;
        else plan.push({ stored, next });
      } else {
        const entry = plan.find(
          (e) => e.stored === undefined && e.next !== null && sameBinding(e.next, c),
        );
        if (entry !== undefined) entry.next = next;
        else if (next !== null) plan.push({ stored: undefined, next });
      }
    }

    // Limits, on the tentative result.
    let count = existing.length;
    for (const e of plan) {
      if (e.stored === undefined && e.next !== null) count++;
      if (e.stored !== undefined && e.next === null) count--;
    }
    if (count > this.#maxContactsPerAor)
      return fail(503, 'Service Unavailable (too many contacts)');
    if (existing.length === 0 && count > 0 && this.#byAor.size >= this.#maxAors) {
      return fail(503, 'Service Unavailable (too many addresses-of-record)');
    }

    // Commit, then tell.
    const events: (readonly [keyof BindingEvents, Binding, Binding?])[] = [];
    for (const { stored, next } of plan) {
      if (stored === undefined) {
        if (next === null) continue;
        this.#insert(next);
        events.push(['registered', next]);
      } else if (next === null) {
        this.#delete(stored);
        events.push(['removed', stored.binding]);
      } else {
        const previous = stored.binding;
        stored.binding = next;
        this.#heapFix(stored.heapIndex);
        events.push(['refreshed', next, previous]);
      }
    }
    this.#arm();
    for (const [type, b, previous] of events) this.#emit(type, b, previous);
    return this.#ok(aor);
  }

  #ok(aor: string): RegisterResult {
    const now = this.#clock.now();
    const bindings = (this.#byAor.get(aor) ?? []).map((s) => s.binding);
    const headers: Record<string, readonly string[]> = {};
    if (bindings.length > 0) {
      headers['contact'] = bindings.map((b) =>
        contactText(b, Math.max(0, Math.ceil((b.expiresAtMs - now) / 1000))),
      );
    }
    return { status: 200, reasonPhrase: 'OK', aor, bindings, headers };
  }

  #emit(type: keyof BindingEvents, binding: Binding, previous?: Binding): void {
    for (const listener of [...this.#listeners[type]]) {
      try {
        (listener as (b: Binding, p?: Binding) => void)(binding, previous);
      } catch (error) {
        try {
          this.#trace({ type: 'listener-error', event: type, error });
        } catch {
          // A trace hook that throws is not allowed to break the store either.
        }
      }
    }
  }

  // Storage: per-AOR lists plus an indexed min-heap on expiresAtMs.

  #insert(binding: Binding): void {
    const s: StoredBinding = { binding, heapIndex: this.#heap.length };
    let list = this.#byAor.get(binding.aor);
    if (list === undefined) {
      list = [];
      this.#byAor.set(binding.aor, list);
    }
    list.push(s);
    this.#heap.push(s);
    this.#siftUp(s.heapIndex);
  }

  #delete(s: StoredBinding): void {
    const list = this.#byAor.get(s.binding.aor);
    if (list !== undefined) {
      const i = list.indexOf(s);
      if (i >= 0) list.splice(i, 1);
      if (list.length === 0) this.#byAor.delete(s.binding.aor);
    }
    const i = s.heapIndex;
    const last = this.#heap.pop();
    if (last !== undefined && last !== s) {
      this.#heap[i] = last;
      last.heapIndex = i;
      this.#heapFix(i);
    }
    s.heapIndex = -1;
  }

  #heapFix(i: number): void {
    this.#siftUp(i);
    const s = this.#heap[i];
    if (s !== undefined && s.heapIndex === i) this.#siftDown(i);
  }

  #siftUp(i: number): void {
    const h = this.#heap;
    const s = h[i];
    if (s === undefined) return;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (parent.binding.expiresAtMs <= s.binding.expiresAtMs) break;
      h[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    h[i] = s;
    s.heapIndex = i;
  }

  #siftDown(i: number): void {
    const h = this.#heap;
    const s = h[i];
    if (s === undefined) return;
    for (;;) {
      const l = 2 * i + 1;
      const left = h[l];
      if (left === undefined) break;
      const right = h[l + 1];
      const [c, child] =
        right !== undefined && right.binding.expiresAtMs < left.binding.expiresAtMs
          ? [l + 1, right]
          : [l, left];
      if (child.binding.expiresAtMs >= s.binding.expiresAtMs) break;
      h[i] = child;
      child.heapIndex = i;
      i = c;
    }
    h[i] = s;
    s.heapIndex = i;
  }

  /** Arms the one clock timer for the earliest expiry, if it changed. */
  #arm(): void {
    const first = this.#heap[0];
    const at = first === undefined ? Infinity : first.binding.expiresAtMs;
    if (at === this.#timerAt) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = at;
    if (first !== undefined) {
      this.#timer = this.#clock.setTimeout(
        () => this.#expire(),
        Math.max(0, at - this.#clock.now()),
      );
    }
  }

  #expire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    const expired: Binding[] = [];
    for (;;) {
      const first = this.#heap[0];
      if (first === undefined || first.binding.expiresAtMs > now) break;
      this.#delete(first);
      expired.push(first.binding);
    }
    this.#arm();
    for (const b of expired) this.#emit('expired', b);
  }
}

function fail(status: 400 | 404 | 500 | 503, reasonPhrase: string): RegisterResult {
  return { status, reasonPhrase, headers: {} };
}

/**
 * The response to send for a {@link RegisterResult}: `createResponse` with its status, reason and
 * headers, and `toTag` (every final response carries one, RFC 3261 §8.2.6.2).
 */
export function registerResponse(
  request: SipRequest,
  result: RegisterResult,
  toTag: string,
): SipResponse {
  return createResponse(request, result.status, result.reasonPhrase, {
    toTag,
    headers: result.headers,
  });
}

/** The existing binding a contact refers to: same instance (and reg-id), else same URI. */
function findBinding(list: readonly StoredBinding[], c: ParsedContact): StoredBinding | undefined {
  if (c.instanceId !== undefined) {
    const byInstance = list.find(
      (s) => s.binding.instanceId === c.instanceId && s.binding.regId === c.regId,
    );
    if (byInstance !== undefined) return byInstance;
  }
  return list.find(
    (s) =>
      (s.binding.instanceId === undefined ||
        c.instanceId === undefined ||
        s.binding.instanceId === c.instanceId) &&
      sipUriEquals(s.binding.contact.uri, c.contact.uri),
  );
}

function sameBinding(b: Binding, c: ParsedContact): boolean {
  if (c.instanceId !== undefined) return b.instanceId === c.instanceId && b.regId === c.regId;
  return b.instanceId === undefined && sipUriEquals(b.contact.uri, c.contact.uri);
}

function contactText(b: Binding, remainingSec: number): string {
  let s = `<${b.contact.uri}>`;
  for (const name in b.contact.params) {
    const v = b.contact.params[name]!;
    s += v === '' ? `;${name}` : `;${name}=${v}`;
  }
  return `${s};expires=${remainingSec}`;
}

/** `delta-seconds` (RFC 3261 §25.1: 1*DIGIT), 0–2**32-1; `undefined` when malformed. */
function readDeltaSeconds(s: string): number | undefined {
  if (s.length === 0 || s.length > 10) return undefined;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
    n = n * 10 + (c - 0x30);
  }
  return n > MAX_DELTA_SECONDS ? MAX_DELTA_SECONDS : n;
}

function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    return v.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return v;
}

/**
 * Splits one Contact header value at the commas that separate contacts: not inside a
 * quoted-string, nor inside `<…>`. `undefined` on an unclosed quote or bracket.
 */
function splitContactList(v: string): string[] | undefined {
  const out: string[] = [];
  let from = 0;
  let quoted = false;
  let angle = false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c) i++;
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) quoted = true;
    else if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    else if (c === 0x2c && !angle) {
      out.push(v.slice(from, i).trim());
      from = i + 1;
    }
  }
  if (quoted || angle) return undefined;
  out.push(v.slice(from).trim());
  return out.filter((p) => p.length > 0);
}

// ---------------------------------------------------------------------------------------------
// SIP URI comparison (RFC 3261 §19.1.4) and the canonical AOR (§10.3 step 5).

interface UriParts {
  readonly scheme: string;
  /** user[:password], escapes normalised; case-sensitive. */
  readonly userinfo: string | undefined;
  /** Lower case. */
  readonly host: string;
  readonly port: string | undefined;
  /** Names and values lower-cased, escapes normalised. */
  readonly params: ReadonlyMap<string, string>;
  /** `?` headers, names lower-cased, escapes normalised, sorted. */
  readonly headers: string;
}

const UNRESERVED = /[A-Za-z0-9\-_.!~*'()]/;

/** Decodes `%XX` escapes of unreserved characters and upper-cases the others' hex (§19.1.4). */
function normaliseEscapes(s: string): string {
  if (!s.includes('%')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s.charAt(i);
    if (ch === '%' && i + 2 < s.length && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      const decoded = String.fromCharCode(parseInt(s.slice(i + 1, i + 3), 16));
      out += UNRESERVED.test(decoded) ? decoded : `%${s.slice(i + 1, i + 3).toUpperCase()}`;
      i += 2;
    } else out += ch;
  }
  return out;
}

function parseSipUri(uri: string): UriParts | undefined {
  const colon = uri.indexOf(':');
  if (colon <= 0) return undefined;
  const scheme = uri.slice(0, colon).toLowerCase();
  if (scheme !== 'sip' && scheme !== 'sips') return undefined;
  let rest = uri.slice(colon + 1);
  let headers = '';
  const q = rest.indexOf('?');
  if (q >= 0) {
    headers = rest
      .slice(q + 1)
      .split('&')
      .map((h) => {
        const eq = h.indexOf('=');
        return eq < 0
          ? normaliseEscapes(h).toLowerCase()
          : `${normaliseEscapes(h.slice(0, eq)).toLowerCase()}=${normaliseEscapes(h.slice(eq + 1))}`;
      })
      .sort()
      .join('&');
    rest = rest.slice(0, q);
  }
  const at = rest.indexOf('@');
  const userinfo = at >= 0 ? normaliseEscapes(rest.slice(0, at)) : undefined;
  const hostAndParams = at >= 0 ? rest.slice(at + 1) : rest;
  const semi = hostAndParams.indexOf(';');
  const hostport = semi >= 0 ? hostAndParams.slice(0, semi) : hostAndParams;
  let host: string;
  let port: string | undefined;
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close < 0) return undefined;
    host = hostport.slice(0, close + 1);
    const after = hostport.slice(close + 1);
    if (after.length > 0) {
      if (!after.startsWith(':')) return undefined;
      port = after.slice(1);
    }
  } else {
    const pc = hostport.lastIndexOf(':');
    host = pc >= 0 ? hostport.slice(0, pc) : hostport;
    port = pc >= 0 ? hostport.slice(pc + 1) : undefined;
  }
  if (host.length === 0) return undefined;
  if (port !== undefined && !/^[0-9]{1,5}$/.test(port)) return undefined;
  const params = new Map<string, string>();
  if (semi >= 0) {
    for (const p of hostAndParams.slice(semi + 1).split(';')) {
      if (p.length === 0) continue;
      const eq = p.indexOf('=');
      const name = normaliseEscapes(eq < 0 ? p : p.slice(0, eq)).toLowerCase();
      const value = eq < 0 ? '' : normaliseEscapes(p.slice(eq + 1)).toLowerCase();
      if (!params.has(name)) params.set(name, value);
    }
  }
  return {
    scheme,
    userinfo,
    host: host.toLowerCase(),
    port: port === undefined ? undefined : String(Number(port)),
    params,
    headers,
  };
}

/** Parameters that make two URIs differ when only one of them has it (§19.1.4). */
const DECISIVE_PARAMS = ['user', 'ttl', 'method', 'maddr'];

/**
 * RFC 3261 §19.1.4 equality of two SIP or SIPS URIs: userinfo case-sensitive, host
 * case-insensitive, a port (or a `user`, `ttl`, `method` or `maddr` parameter) present in only one
 * never matches, parameters present in both must match, other one-sided parameters are ignored,
 * headers must match. Other schemes compare as exact strings.
 */
export function sipUriEquals(a: string, b: string): boolean {
  const x = parseSipUri(a);
  const y = parseSipUri(b);
  if (x === undefined || y === undefined) return a === b;
  if (x.scheme !== y.scheme || x.userinfo !== y.userinfo || x.host !== y.host || x.port !== y.port)
    return false;
  if (x.headers !== y.headers) return false;
  for (const [name, v] of x.params) {
    const w = y.params.get(name);
    if (w === undefined ? DECISIVE_PARAMS.includes(name) : w !== v) return false;
  }
  for (const name of y.params.keys())
    if (!x.params.has(name) && DECISIVE_PARAMS.includes(name)) return false;
  return true;
}

/**
 * The canonical address-of-record of a SIP or SIPS URI: scheme, user and host (lower case) and
 * port, with every parameter and header removed and escapes of unreserved characters decoded
 * (RFC 3261 §10.3 step 5); `undefined` for another scheme or a URI that cannot be read.
 *
 * @example
 * canonicalAor('SIP:1001@PBX.example.com;user=phone');   // 'sip:1001@pbx.example.com'
 */
export function canonicalAor(uri: string): string | undefined {
  const raw = uri.trim();
  const inner = raw.startsWith('<') && raw.endsWith('>') ? raw.slice(1, -1) : raw;
  const p = parseSipUri(inner);
  if (p === undefined) return undefined;
  const colon = p.userinfo?.indexOf(':') ?? -1;
  const user =
    p.userinfo === undefined ? undefined : colon >= 0 ? p.userinfo.slice(0, colon) : p.userinfo;
  return `${p.scheme}:${user === undefined ? '' : `${user}@`}${p.host}${p.port === undefined ? '' : `:${p.port}`}`;
}
