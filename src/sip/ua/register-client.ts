/**
 * The registering side of RFC 3261 §10.2: a phone binds its Contact to its address-of-record
 * at a registrar, refreshes the binding before it expires and removes it with `Expires: 0`.
 *
 * @remarks
 * One Call-ID and From tag for every REGISTER of the client, the CSeq number one higher each
 * time (§10.2.4). A 401/407 is answered with credentials from the {@link DigestClient} (a
 * `stale=true` challenge again, up to the client's own limit); a 423 is retried once with the
 * registrar's `Min-Expires` (§10.2.8). The granted interval is the `expires` of our Contact in
 * the 200, else its `Expires`, else the one asked for; the refresh is sent at
 * `max(granted / 2, granted - refreshMarginSec)`. Time comes only from the injected clock.
 */

import { UaCstaError } from '../../errors.js';
import { systemClock, type Clock, type TimerHandle } from '../../util/clock.js';
import { createIdGenerator, type IdGenerator } from '../../util/ids.js';
import { withCredentials, type DigestClient } from '../auth/digest-client.js';
import type { SipEndpoint } from '../endpoint.js';
import { splitHeaderList } from '../dialog/dialog-id.js';
import { parseNameAddr } from '../message/headers.js';
import { createRequest } from '../message/serialize.js';
import type { NameAddr, SipRequest, SipResponse } from '../message/types.js';
import { sipUriEquals } from '../registrar/binding-store.js';
import type { TransportTarget } from '../transport/transport.js';
import { SipResponseError } from './response-error.js';
import { uriTarget } from './uri-target.js';

/** Options of {@link RegisterClient}. */
export interface RegisterClientOptions {
  readonly endpoint: SipEndpoint;
  /** The Request-URI of the REGISTER: the registrar's domain, e.g. `sip:pbx.example.com`. */
  readonly registrar: string;
  /** The address-of-record (To and From). */
  readonly aor: string;
  readonly displayName?: string;
  /** The contact to bind. */
  readonly contact: string;
  /** The interval asked for, in seconds. @defaultValue 3600 */
  readonly expiresSec?: number;
  /** Refresh this long before the expiry (but not before half the interval). @defaultValue 32 */
  readonly refreshMarginSec?: number;
  /** Answers 401/407 challenges. */
  readonly digest?: DigestClient;
  /** @defaultValue systemClock */
  readonly clock?: Clock;
  /** @defaultValue createIdGenerator() */
  readonly ids?: IdGenerator;
  /** Where to send. @defaultValue host:port and `;transport=` of `registrar` */
  readonly resolve?: (uri: string) => TransportTarget;
}

/** Defaults of {@link RegisterClientOptions}. */
export const REGISTER_CLIENT_DEFAULTS = { expiresSec: 3600, refreshMarginSec: 32 } as const;

/** What a {@link RegisterClient} reports. */
export type RegisterClientEvent =
  | { readonly type: 'registered'; readonly expiresSec: number }
  | { readonly type: 'refreshed'; readonly expiresSec: number }
  | { readonly type: 'unregistered' }
  /** A REGISTER failed (non-2xx, timeout, transport); `status` when a response or timeout said. */
  | { readonly type: 'failed'; readonly error: unknown; readonly status?: number };

/**
 * State of a register client.
 *
 * ```text
 *   Unregistered ──register()/200──▶ Registered ──refresh 200──▶ Registered
 *        ▲   │ failure                   │ unregister()   │ refresh failed
 *        │   ▼                           ▼                ▼
 *        └─ Failed ◀─────────────── Unregistered        Failed        close() → Closed
 * ```
 */
export type RegisterClientState = 'Unregistered' | 'Registered' | 'Failed' | 'Closed';

/** Most 401/407 answered for one REGISTER (a fresh challenge, then stale ones). */
const MAX_CHALLENGES = 3;

/**
 * Registers one contact and keeps it registered.
 *
 * @example
 * const reg = new RegisterClient({ endpoint, clock, registrar: 'sip:pbx.invalid',
 *   aor: 'sip:1001@pbx.invalid', contact: 'sip:1001@192.0.2.5:5060', digest });
 * reg.on((e) => log(e));
 * await reg.register();     // 200: refreshes itself from now on
 * await reg.unregister();   // Expires: 0
 */
export class RegisterClient {
  readonly #endpoint: SipEndpoint;
  readonly #registrar: string;
  readonly #aor: string;
  readonly #from: NameAddr;
  readonly #contact: string;
  readonly #expiresSec: number;
  readonly #marginSec: number;
  readonly #digest: DigestClient | undefined;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #target: TransportTarget;
  readonly #callId: string;
  readonly #listeners = new Set<(e: RegisterClientEvent) => void>();
  #cseq = 0;
  #timer: TimerHandle | undefined;
  #state: RegisterClientState = 'Unregistered';
  #grantedSec = 0;

  /** @throws `ERR_INVALID_ARG` for a bad interval or registrar URI. */
  constructor(options: RegisterClientOptions) {
    this.#endpoint = options.endpoint;
    this.#registrar = options.registrar;
    this.#aor = options.aor;
    this.#contact = options.contact;
    this.#expiresSec = options.expiresSec ?? REGISTER_CLIENT_DEFAULTS.expiresSec;
    this.#marginSec = options.refreshMarginSec ?? REGISTER_CLIENT_DEFAULTS.refreshMarginSec;
    if (!Number.isInteger(this.#expiresSec) || this.#expiresSec < 1)
      throw new UaCstaError('ERR_INVALID_ARG', 'expiresSec must be a positive integer');
    if (!(this.#marginSec >= 0))
      throw new UaCstaError('ERR_INVALID_ARG', 'refreshMarginSec must be >= 0');
    this.#digest = options.digest;
    this.#clock = options.clock ?? systemClock;
    this.#ids = options.ids ?? createIdGenerator();
    const fallback = this.#endpoint.transports[0]?.protocol ?? 'udp';
    this.#target = (options.resolve ?? ((uri) => uriTarget(uri, fallback)))(options.registrar);
    this.#callId = this.#ids.callId();
    this.#from = {
      displayName: options.displayName,
      uri: options.aor,
      params: { tag: this.#ids.tag() },
    };
  }

  get state(): RegisterClientState {
    return this.#state;
  }

  /** The interval the registrar granted last; 0 when not registered. */
  get expiresSec(): number {
    return this.#state === 'Registered' ? this.#grantedSec : 0;
  }

  /** Adds a listener of {@link RegisterClientEvent}s; returns the unsubscriber. */
  on(listener: (e: RegisterClientEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Sends REGISTER and resolves with the granted interval once a 2xx came; refreshes go on by
   * themselves. Rejects `SIP_ERR_REJECTED` (a {@link SipResponseError}) for a final non-2xx,
   * `SIP_ERR_TIMEOUT`, `SIP_ERR_TRANSPORT`; every failure is also reported as `failed`.
   */
  async register(): Promise<number> {
    this.#open();
    const refresh = this.#state === 'Registered';
    return this.#register(refresh);
  }

  /** Removes the binding (`Expires: 0`) and stops refreshing. */
  async unregister(): Promise<void> {
    this.#open();
    this.#clear();
    const response = await this.#send(0).catch((error: unknown) => {
      this.#fail(error);
      throw error;
    });
    if (response.status >= 300) {
      const error = new SipResponseError('REGISTER', response);
      this.#fail(error);
      throw error;
    }
    this.#state = 'Unregistered';
    this.#grantedSec = 0;
    this.#emit({ type: 'unregistered' });
  }

  /** Stops refreshing; the binding stays until it expires (call `unregister()` first to remove it). */
  close(): void {
    this.#clear();
    this.#state = 'Closed';
  }

  #open(): void {
    if (this.#state === 'Closed')
      throw new UaCstaError('ERR_INVALID_STATE', 'the register client is closed');
  }

  async #register(refresh: boolean): Promise<number> {
    this.#clear();
    let response: SipResponse;
    try {
      response = await this.#send(this.#expiresSec);
      if (response.status === 423) {
        const min = Number(response.headers['min-expires']?.[0]);
        if (Number.isInteger(min) && min > this.#expiresSec) response = await this.#send(min);
      }
    } catch (error) {
      this.#fail(error);
      throw error;
    }
    if (this.#state === 'Closed') return 0;
    if (response.status >= 300) {
      const error = new SipResponseError('REGISTER', response);
      this.#fail(error);
      throw error;
    }
    const granted = this.#granted(response);
    this.#grantedSec = granted;
    this.#state = 'Registered';
    this.#emit({ type: refresh ? 'refreshed' : 'registered', expiresSec: granted });
    const afterSec = Math.max(granted / 2, granted - this.#marginSec);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#register(true).catch(() => {
        // reported as 'failed'
      });
    }, afterSec * 1000);
    return granted;
  }

  /** One REGISTER and its digest retries; resolves with the final response. */
  async #send(expiresSec: number): Promise<SipResponse> {
    // built with a Via to pass createRequest's checks; the endpoint puts its own on top instead
    const built = createRequest({
      method: 'REGISTER',
      uri: this.#registrar,
      via: [this.#endpoint.createVia(this.#target.protocol)],
      from: this.#from,
      to: { displayName: undefined, uri: this.#aor, params: {} },
      callId: this.#callId,
      cseq: ++this.#cseq,
      headers: { Contact: `<${this.#contact}>`, Expires: String(expiresSec) },
    });
    let request: SipRequest = { ...built, via: [] };
    let response = await this.#endpoint.sendRequest(request, this.#target);
    for (let i = 0; i < MAX_CHALLENGES; i++) {
      if ((response.status !== 401 && response.status !== 407) || this.#digest === undefined)
        break;
      const answer = this.#digest.answer(request, response);
      if (!answer.ok) break;
      request = withCredentials(request, answer.value, {
        cseq: ++this.#cseq,
        branch: this.#ids.branch(),
      });
      response = await this.#endpoint.sendRequest(request, this.#target);
    }
    return response;
  }

  /** Our contact's `expires` in the 2xx, else its `Expires`, else what we asked for. */
  #granted(response: SipResponse): number {
    for (const value of response.headers['contact'] ?? []) {
      for (const part of splitHeaderList(value)) {
        const a = parseNameAddr(part);
        if (a === undefined || !sipUriEquals(a.uri, this.#contact)) continue;
        const n = Number(a.params['expires']);
        if (Number.isInteger(n) && n >= 0) return n;
      }
    }
    const header = Number(response.headers['expires']?.[0]);
    return Number.isInteger(header) && header >= 0 ? header : this.#expiresSec;
  }

  #fail(error: unknown): void {
    this.#clear();
    if (this.#state !== 'Closed') this.#state = 'Failed';
    const status = (error as { status?: unknown } | undefined)?.status;
    this.#emit({ type: 'failed', error, ...(typeof status === 'number' ? { status } : {}) });
  }

  #clear(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #emit(event: RegisterClientEvent): void {
    for (const l of [...this.#listeners]) {
      try {
        l(event);
      } catch {
        // a failing listener must not stop the others or the refresh
      }
    }
  }
}

