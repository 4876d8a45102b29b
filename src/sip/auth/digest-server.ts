/**
 * The server side of SIP digest authentication: challenges, and verification of credentials.
 *
 * @remarks
 * RFC 3261 §22.1, §22.4; RFC 7616 §3.3 (challenge), §3.4 (credentials), §3.5 (nonce and stale),
 * §5.5 (replay); RFC 8760 §2.3 (a SIP server offering several algorithms sends one challenge per
 * algorithm, the preferred first).
 *
 * **Nonces.** A nonce is `hex(time) hex(64 random bits) hex(HMAC-SHA-256(secret, time random
 * realm)[0..16])`: the server can tell its own nonces from forged ones, and their age, without
 * remembering them. It also keeps a bounded table of the nonces it issued (oldest evicted first)
 * with the highest nonce-count seen for each, because replay protection needs state (RFC 7616
 * §5.5: the server "SHOULD check that the nc value is greater than any previous one"). A nonce that
 * is genuine but older than `nonceLifetimeMs`, or no longer in the table, is answered with
 * `stale=true`, provided the digest itself was right: RFC 7616 §3.3 "the server should only set
 * stale to TRUE if it receives a request for which the nonce is invalid but with a valid digest
 * for that nonce". A genuine client then retries with the new nonce without asking its user.
 *
 * **Results are values.** {@link DigestServer.verify} resolves `{ ok: true, identity }` or
 * `{ ok: false, status, headers }`, where `headers` holds the challenges to put in the 401/407
 * (none for 403). It rejects only when the credential lookup or the policy hook throws.
 */
import { UaCstaError } from '../../errors.js';
import { AUTH_LIMITS, type AuthLimits } from '../../limits.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { hmacSha256, timingSafeEqual, toHex } from '../../util/hash.js';
import { createIdGenerator, type IdGenerator } from '../../util/ids.js';
import type { SipRequest } from '../message/types.js';
import { computeDigestResponse, computeHa1, hashOf } from './digest.js';
import {
  DIGEST_ALGORITHMS,
  parseDigestCredentials,
  serializeDigestChallenge,
  toDigestAlgorithm,
  type DigestAlgorithm,
  type DigestCredentials,
} from './digest-header.js';

/** What the credential lookup knows of a user: the password, or only `H(user:realm:password)`. */
export type StoredCredentials =
  | { readonly password: string }
  | {
      /** `H(username ":" realm ":" password)` in lower-case hex. */
      readonly ha1: string;
      /** The algorithm `ha1` was computed for; its `-sess` twin uses the same value. */
      readonly algorithm: DigestAlgorithm;
    };

/** Finds what is stored for a user in a realm; `undefined` for an unknown user. */
export type CredentialLookup = (
  username: string,
  realm: string,
) => Promise<StoredCredentials | undefined> | StoredCredentials | undefined;

/** Who authenticated. */
export interface DigestIdentity {
  readonly username: string;
  readonly realm: string;
  readonly algorithm: DigestAlgorithm;
}

/**
 * Decides whether an authenticated identity may make this request ("which identity may open a
 * session to which device"); `false` is answered 403.
 */
export type AuthPolicy = (
  identity: DigestIdentity,
  request: SipRequest,
) => boolean | Promise<boolean>;

/** Why a request was not accepted; for traces and tests, not for the wire. */
export type DigestFailureReason =
  /** No credentials for this realm (the usual first request). */
  | 'missing'
  /** Credentials that cannot be read, or without the qop the challenge asked for. */
  | 'malformed'
  /** An algorithm that was not offered. */
  | 'algorithm'
  /** A nonce this server did not make (or made under another secret or realm). */
  | 'nonce'
  /** The `opaque` differs from the challenge's. */
  | 'opaque'
  /** The digest-uri differs from the Request-URI. */
  | 'uri'
  /** An unknown user, or stored credentials that cannot check this algorithm. */
  | 'unknown-user'
  /** The response digest is wrong: a wrong password, or a tampered request. */
  | 'wrong-response'
  /** A right digest for a nonce that expired or left the table: `stale=true`. */
  | 'stale'
  /** A right digest whose nonce-count is not above the last one seen: a replay (`stale=true`). */
  | 'replay'
  /** Authenticated, but the policy said no: 403. */
  | 'forbidden';

/** The outcome of {@link DigestServer.verify}. */
export type DigestVerdict =
  | { readonly ok: true; readonly identity: DigestIdentity }
  | {
      readonly ok: false;
      /** 401 (UAS, registrar), 407 (proxy mode), or 403 when the policy refused. */
      readonly status: 401 | 407 | 403;
      readonly reasonPhrase: string;
      readonly reason: DigestFailureReason;
      /**
       * Headers for the response: `WWW-Authenticate` (401) or `Proxy-Authenticate` (407), one
       * challenge per offered algorithm; empty for 403. Pass as `createResponse(..., { headers })`.
       */
      readonly headers: Readonly<Record<string, readonly string[]>>;
    };

/** Options of {@link DigestServer}. */
export interface DigestServerOptions {
  /** The protection space (RFC 7616 §3.3), typically the domain: `'pbx.example.com'`. */
  realm: string;
  /** Finds the stored credentials of a user. */
  lookup: CredentialLookup;
  /** Decides what an authenticated identity may do. @defaultValue allows everything */
  policy?: AuthPolicy;
  /** Answer 407 with `Proxy-Authenticate` and read `Proxy-Authorization`. @defaultValue false */
  proxy?: boolean;
  /**
   * Algorithms offered, one challenge each, in this order (RFC 8760 §2.3: preferred first).
   * @defaultValue ['SHA-256', 'MD5']
   */
  algorithms?: readonly DigestAlgorithm[];
  /** How long a nonce may be used. @defaultValue 300_000 (5 min) */
  nonceLifetimeMs?: number;
  /**
   * Whether the digest-uri must equal the Request-URI, character for character (RFC 2617
   * §3.2.2.5). @defaultValue true
   */
  checkUri?: boolean;
  /** Time source for nonce ages. @defaultValue systemClock */
  clock?: Clock;
  /** Randomness for nonces, the opaque value and the default secret. @defaultValue createIdGenerator() */
  ids?: IdGenerator;
  /**
   * Key of the nonce HMAC. Servers that share a secret accept each other's nonces (as stale
   * when not in their own table). @defaultValue 256 random bits from `ids`
   */
  secret?: string | Uint8Array;
  /** Overrides of {@link AUTH_LIMITS} (`maxServerNonces`, `maxAuthHeaderBytes`, `maxAuthParams`). */
  limits?: Partial<AuthLimits>;
}

/** Defaults of {@link DigestServerOptions}. */
export const DIGEST_SERVER_DEFAULTS = {
  algorithms: ['SHA-256', 'MD5'] as readonly DigestAlgorithm[],
  nonceLifetimeMs: 300_000,
  checkUri: true,
  proxy: false,
} as const;

interface NonceEntry {
  readonly issuedAt: number;
  /** Highest nonce-count accepted; 0 before the first use. */
  lastNc: number;
}

/** Hex digits of the time field of a nonce (48 bits: ms for 8,900 years). */
const TIME_HEX = 12;
/** Hex digits of the random field (64 bits). */
const RANDOM_HEX = 16;
/** Hex digits of the MAC field (128 bits of HMAC-SHA-256). */
const MAC_HEX = 32;
const NONCE_HEX = TIME_HEX + RANDOM_HEX + MAC_HEX;

function invalid(message: string): never {
  throw new UaCstaError('ERR_INVALID_ARG', message);
}

const allowAll: AuthPolicy = () => true;

/**
 * Challenges requests and verifies their digest credentials.
 *
 * @example
 * const auth = new DigestServer({
 *   realm: 'pbx.example.com', clock,
 *   lookup: async (user) => users.get(user),                    // { password } or { ha1, algorithm }
 *   policy: (id, req) => mayControl(id.username, req.uri),
 * });
 * const v = await auth.verify(request);
 * if (!v.ok) return send(createResponse(request, v.status, v.reasonPhrase, { toTag, headers: v.headers }));
 */
export class DigestServer {
  readonly realm: string;
  readonly #lookup: CredentialLookup;
  readonly #policy: AuthPolicy;
  readonly #proxy: boolean;
  readonly #algorithms: readonly DigestAlgorithm[];
  readonly #nonceLifetimeMs: number;
  readonly #checkUri: boolean;
  readonly #clock: Clock;
  readonly #ids: IdGenerator;
  readonly #secret: string | Uint8Array;
  readonly #opaque: string;
  readonly #maxNonces: number;
  readonly #headerLimits: { maxAuthHeaderBytes: number; maxAuthParams: number };
  /** Issued nonces in issue order (the clock is monotonic), so the oldest is first. */
  readonly #nonces = new Map<string, NonceEntry>();

  constructor(options: DigestServerOptions) {
    if (typeof options?.realm !== 'string') invalid('realm must be a string');
    if (typeof options.lookup !== 'function') invalid('lookup must be a function');
    if (options.policy !== undefined && typeof options.policy !== 'function')
      invalid('policy must be a function');
    this.realm = options.realm;
    this.#lookup = options.lookup;
    this.#policy = options.policy ?? allowAll;
    this.#proxy = options.proxy ?? DIGEST_SERVER_DEFAULTS.proxy;
    const algorithms = options.algorithms ?? DIGEST_SERVER_DEFAULTS.algorithms;
    if (algorithms.length === 0) invalid('algorithms must name at least one algorithm');
    for (const a of algorithms)
      if (!DIGEST_ALGORITHMS.includes(a)) invalid(`unknown digest algorithm ${JSON.stringify(a)}`);
    if (new Set(algorithms).size !== algorithms.length) invalid('algorithms must not repeat');
    this.#algorithms = [...algorithms];
    const lifetime = options.nonceLifetimeMs ?? DIGEST_SERVER_DEFAULTS.nonceLifetimeMs;
    if (!(lifetime > 0)) invalid(`nonceLifetimeMs must be > 0; got ${String(lifetime)}`);
    this.#nonceLifetimeMs = lifetime;
    this.#checkUri = options.checkUri ?? DIGEST_SERVER_DEFAULTS.checkUri;
    this.#clock = options.clock ?? systemClock;
    this.#ids = options.ids ?? createIdGenerator();
    this.#secret = options.secret ?? this.#ids.callId() + this.#ids.callId();
    if (this.#secret.length === 0) invalid('secret must not be empty');
    this.#opaque = this.#ids.tag();
    const l = options.limits ?? {};
    const maxNonces = l.maxServerNonces ?? AUTH_LIMITS.maxServerNonces;
    if (!(maxNonces >= 1)) invalid(`maxServerNonces must be >= 1; got ${String(maxNonces)}`);
    this.#maxNonces = maxNonces;
    this.#headerLimits = {
      maxAuthHeaderBytes: l.maxAuthHeaderBytes ?? AUTH_LIMITS.maxAuthHeaderBytes,
      maxAuthParams: l.maxAuthParams ?? AUTH_LIMITS.maxAuthParams,
    };
    // Fails now, not on the first request, when the realm cannot be written.
    serializeDigestChallenge({ realm: this.realm, nonce: 'x' });
  }

  /** Nonces currently tracked (for tests and metrics). */
  get trackedNonces(): number {
    return this.#nonces.size;
  }

  /**
   * A fresh challenge: status 401 (or 407 in proxy mode) and one `WWW-Authenticate` (or
   * `Proxy-Authenticate`) value per offered algorithm, all with the same new nonce.
   */
  challenge(options: { stale?: boolean } = {}): {
    readonly status: 401 | 407;
    readonly reasonPhrase: string;
    readonly headers: Readonly<Record<string, readonly string[]>>;
  } {
    const nonce = this.#issueNonce();
    const values = this.#algorithms.map((algorithm) =>
      serializeDigestChallenge({
        realm: this.realm,
        nonce,
        opaque: this.#opaque,
        algorithm,
        qop: ['auth'],
        stale: options.stale === true,
      }),
    );
    return this.#proxy
      ? {
          status: 407,
          reasonPhrase: 'Proxy Authentication Required',
          headers: { 'proxy-authenticate': values },
        }
      : { status: 401, reasonPhrase: 'Unauthorized', headers: { 'www-authenticate': values } };
  }

  /**
   * Checks the credentials of `request` for this realm.
   *
   * @remarks
   * In order: credentials for this realm present and readable, with `qop=auth`; an offered
   * algorithm; the `opaque`; the digest-uri equal to the Request-URI; a nonce this server made;
   * the stored credentials; the response digest (compared in constant time); then the nonce's
   * age and table entry (`stale=true` when expired or evicted) and the nonce-count (above the
   * last one seen, else a replay); finally the policy (403). Every failure but 403 carries a fresh
   * challenge. Rejects only when `lookup` or `policy` throws or rejects.
   */
  async verify(request: SipRequest): Promise<DigestVerdict> {
    const header = this.#proxy ? 'proxy-authorization' : 'authorization';
    let creds: DigestCredentials | undefined;
    let unreadable = false;
    for (const value of request.headers[header] ?? []) {
      const c = parseDigestCredentials(value, this.#headerLimits);
      if (!c.ok) {
        unreadable = true;
        continue;
      }
      if (c.value.realm === this.realm) {
        creds = c.value;
        break;
      }
    }
    if (creds === undefined) return this.#refuse(unreadable ? 'malformed' : 'missing');
    if (creds.qop !== 'auth' || creds.cnonce === undefined) return this.#refuse('malformed');
    const algorithm = toDigestAlgorithm(creds.algorithm);
    if (algorithm === undefined || !this.#algorithms.includes(algorithm))
      return this.#refuse('algorithm');
    if (creds.opaque !== this.#opaque) return this.#refuse('opaque');
    if (this.#checkUri && creds.uri !== request.uri) return this.#refuse('uri');
    const issuedAt = this.#nonceTime(creds.nonce);
    if (issuedAt === undefined) return this.#refuse('nonce');

    const stored = await this.#lookup(creds.username, creds.realm);
    let ha1: string;
    if (stored === undefined) return this.#refuse('unknown-user');
    if ('password' in stored && typeof stored.password === 'string') {
      ha1 = computeHa1(hashOf(algorithm), creds.username, creds.realm, stored.password);
    } else if (
      'ha1' in stored &&
      typeof stored.ha1 === 'string' &&
      hashOf(stored.algorithm) === hashOf(algorithm)
    ) {
      ha1 = stored.ha1.toLowerCase();
    } else {
      return this.#refuse('unknown-user');
    }
    const expected = computeDigestResponse({
      algorithm,
      ha1,
      nonce: creds.nonce,
      qop: 'auth',
      nc: creds.params['nc']!,
      cnonce: creds.cnonce,
      method: request.method,
      uri: creds.uri,
    });
    if (!timingSafeEqual(expected, creds.response.toLowerCase()))
      return this.#refuse('wrong-response');

    // The digest is right: from here on a refusal is stale=true, the client knows the password.
    const now = this.#clock.now();
    const entry = this.#nonces.get(creds.nonce);
    if (entry === undefined || now - issuedAt > this.#nonceLifetimeMs || issuedAt > now) {
      return this.#refuse('stale');
    }
    if (creds.nc === undefined || creds.nc <= entry.lastNc) return this.#refuse('replay');
    entry.lastNc = creds.nc;

    const identity: DigestIdentity = { username: creds.username, realm: creds.realm, algorithm };
    if (!(await this.#policy(identity, request))) {
      return {
        ok: false,
        status: 403,
        reasonPhrase: 'Forbidden',
        reason: 'forbidden',
        headers: {},
      };
    }
    return { ok: true, identity };
  }

  #refuse(reason: Exclude<DigestFailureReason, 'forbidden'>): DigestVerdict {
    const c = this.challenge({ stale: reason === 'stale' || reason === 'replay' });
    return {
      ok: false,
      status: c.status,
      reasonPhrase: c.reasonPhrase,
      reason,
      headers: c.headers,
    };
  }

  #mac(time: string, random: string): string {
    return toHex(hmacSha256(this.#secret, `${time}${random}:${this.realm}`)).slice(0, MAC_HEX);
  }

  #issueNonce(): string {
    const now = this.#clock.now();
    // Expired entries leave from the front (issue order), then the oldest beyond the bound.
    for (const [nonce, e] of this.#nonces) {
      if (now - e.issuedAt <= this.#nonceLifetimeMs && this.#nonces.size < this.#maxNonces) break;
      this.#nonces.delete(nonce);
    }
    const issuedAt = Math.max(0, Math.floor(now));
    const time = issuedAt.toString(16).padStart(TIME_HEX, '0').slice(-TIME_HEX);
    const random = this.#ids.tag();
    const nonce = time + random + this.#mac(time, random);
    this.#nonces.set(nonce, { issuedAt, lastNc: 0 });
    return nonce;
  }

  /** The issue time of a nonce this server made, or `undefined` for any other string. */
  #nonceTime(nonce: string): number | undefined {
    if (nonce.length !== NONCE_HEX) return undefined;
    for (let i = 0; i < NONCE_HEX; i++) {
      const c = nonce.charCodeAt(i);
      if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return undefined;
    }
    const time = nonce.slice(0, TIME_HEX);
    const random = nonce.slice(TIME_HEX, TIME_HEX + RANDOM_HEX);
    if (!timingSafeEqual(this.#mac(time, random), nonce.slice(TIME_HEX + RANDOM_HEX)))
      return undefined;
    return parseInt(time, 16);
  }
}
