/**
 * The client side of SIP digest authentication: answering a 401 or 407 with credentials.
 *
 * @remarks
 * RFC 3261 §22.2–22.3, RFC 7616 §3.4, RFC 8760. Phones challenge INVITE and every INFO (research
 * peers.md), so the answer works for any method, in or out of a dialog: the digest-uri is the
 * Request-URI and A2 uses the request's method (RFC 3261 §22.4).
 *
 * What the client does with a challenge:
 * - It reads every `WWW-Authenticate` (401) or `Proxy-Authenticate` (407) value, several
 *   challenges per value or several values, and answers one challenge per realm (RFC 3261
 *   §22.3: "the UAC MUST include an Authorization header field value for each realm").
 * - Per realm it takes the strongest algorithm it supports, SHA-256 before MD5. RFC 8760 §2.4
 *   lets the UAC "use the topmost header field that it supports unless a local policy dictates
 *   otherwise"; ranking by strength is that local policy, because challenges are not integrity
 *   protected and an on-path attacker could otherwise move MD5 to the top (RFC 8760 §3).
 *   `preference: 'server-order'` restores the topmost rule.
 * - `qop=auth` is preferred, `auth-int` is used when it is the only one offered, and a challenge
 *   without `qop` gets an RFC 2069 answer (no cnonce, no nc).
 * - The cnonce carries 128 random bits from {@link IdGenerator}; the nonce-count is kept per
 *   nonce and increases on every use.
 * - It never loops. The request that drew the challenge says whether it already carried
 *   credentials for the realm; if it did and the challenge is not `stale=true`, the server
 *   refused them (wrong username or password) and the answer is `SIP_ERR_AUTH_REFUSED`. A stale
 *   challenge with a new nonce is answered again from the cached `H(A1)`, without calling the
 *   credentials supplier, at most `maxStaleRetries` times in a row.
 */
import { UaCstaError } from '../../errors.js';
import { AUTH_LIMITS, type AuthLimits } from '../../limits.js';
import { createIdGenerator, type IdGenerator } from '../../util/ids.js';
import { err, ok, type Result } from '../../util/result.js';
import { newRecord } from '../message/headers.js';
import type { SipRequest, SipResponse, Via } from '../message/types.js';
import {
  computeDigestResponse,
  computeHa1,
  hashOf,
  isSessionAlgorithm,
  type DigestHash,
} from './digest.js';
import {
  DIGEST_ALGORITHMS,
  parseDigestChallenges,
  parseDigestCredentials,
  serializeDigestCredentials,
  toDigestAlgorithm,
  type DigestAlgorithm,
  type DigestChallenge,
} from './digest-header.js';

/** A username and password for a realm. */
export interface DigestUserCredentials {
  readonly username: string;
  readonly password: string;
}

/**
 * Gives the username and password for a realm, or `undefined` when it has none. Called once per
 * fresh challenge, never for a `stale=true` retry.
 */
export type DigestCredentialsSupplier = (realm: string) => DigestUserCredentials | undefined;

/** How the client picks among several challenges of one realm. */
export type DigestPreference = 'strongest' | 'server-order';

/** Options of {@link DigestClient}. */
export interface DigestClientOptions {
  /** Gives the username and password for a realm. */
  credentials: DigestCredentialsSupplier;
  /** The source of cnonces. @defaultValue `createIdGenerator()` (crypto random) */
  ids?: IdGenerator;
  /** Algorithms the client may answer with; drop `'MD5'` to refuse MD5. @defaultValue all four */
  algorithms?: readonly DigestAlgorithm[];
  /**
   * `'strongest'`: SHA-256 over MD5 whatever the order; `'server-order'`: the topmost challenge
   * the client supports (RFC 8760 §2.4). @defaultValue 'strongest'
   */
  preference?: DigestPreference;
  /** Consecutive `stale=true` answers retried for one request. @defaultValue 2 */
  maxStaleRetries?: number;
  /** Overrides of {@link AUTH_LIMITS} (`maxAuthHeaderBytes`, `maxAuthParams`, `maxChallenges`, `maxClientNonces`). */
  limits?: Partial<AuthLimits>;
}

/** Defaults of {@link DigestClientOptions}. */
export const DIGEST_CLIENT_DEFAULTS = {
  preference: 'strongest',
  maxStaleRetries: 2,
} as const;

/** Credentials to put on the retried request. */
export interface DigestAuthorization {
  /** `authorization` after a 401, `proxy-authorization` after a 407. */
  readonly header: 'authorization' | 'proxy-authorization';
  /**
   * Every value of that header for the retried request: one per answered realm, plus the
   * request's earlier values for realms this response did not challenge (a second proxy's 407
   * must not drop the first proxy's credentials).
   */
  readonly values: readonly string[];
  /** The realms answered by this call. */
  readonly realms: readonly string[];
}

/** Per-nonce state: the nonce-count and what the answer needs again on the next use. */
interface NonceState {
  readonly key: string;
  readonly header: DigestAuthorization['header'];
  readonly realm: string;
  readonly nonce: string;
  readonly opaque: string | undefined;
  readonly algorithm: DigestAlgorithm;
  readonly qop: 'auth' | 'auth-int' | undefined;
  readonly username: string;
  readonly ha1: string;
  readonly cnonce: string;
  /**
   * How many `stale=true` retries in a row led to this nonce since it was last sent on a new
   * request (a new request starts a new chain).
   */
  staleDepth: number;
  nc: number;
}

interface Secret {
  readonly username: string;
  readonly ha1: string;
}

interface Choice {
  readonly challenge: DigestChallenge;
  readonly algorithm: DigestAlgorithm;
  readonly qop: 'auth' | 'auth-int' | undefined;
}

const STRENGTH: Readonly<Record<DigestAlgorithm, number>> = {
  MD5: 1,
  'MD5-sess': 1,
  'SHA-256': 2,
  'SHA-256-sess': 2,
};

function invalid(message: string): never {
  throw new UaCstaError('ERR_INVALID_ARG', message);
}

function requireCount(n: number, what: string): number {
  if (!(Number.isInteger(n) && n >= 0) && n !== Infinity) {
    invalid(`${what} must be a non-negative integer or Infinity; got ${String(n)}`);
  }
  return n;
}

/**
 * Answers 401 and 407 responses with digest credentials, keeping per-nonce counts.
 *
 * @example
 * const auth = new DigestClient({ credentials: (realm) => ({ username: '1001', password: 'secret' }) });
 * // on a 401/407 to `info`:
 * const a = auth.answer(info, response);
 * if (!a.ok) return fail(a.error);                  // SIP_ERR_AUTH_REFUSED, …
 * send(withCredentials(info, a.value, { cseq: dialog.nextCSeq(), branch: ids.branch() }));
 */
export class DigestClient {
  readonly #credentials: DigestCredentialsSupplier;
  readonly #ids: IdGenerator;
  readonly #algorithms: ReadonlySet<DigestAlgorithm>;
  readonly #preference: DigestPreference;
  readonly #maxStaleRetries: number;
  readonly #limits: AuthLimits;
  /** Nonce states, least recently used first. */
  readonly #nonces = new Map<string, NonceState>();
  /** `H(A1)` per realm and hash, least recently used first, for stale retries. */
  readonly #secrets = new Map<string, Secret>();
  /** The latest nonce state per header and realm, for preemptive credentials. */
  readonly #latest = new Map<string, NonceState>();

  constructor(options: DigestClientOptions) {
    if (typeof options?.credentials !== 'function') invalid('credentials must be a function');
    this.#credentials = options.credentials;
    this.#ids = options.ids ?? createIdGenerator();
    const algorithms = options.algorithms ?? DIGEST_ALGORITHMS;
    for (const a of algorithms) {
      if (!DIGEST_ALGORITHMS.includes(a)) invalid(`unknown digest algorithm ${JSON.stringify(a)}`);
    }
    if (algorithms.length === 0) invalid('algorithms must name at least one algorithm');
    this.#algorithms = new Set(algorithms);
    const preference = options.preference ?? DIGEST_CLIENT_DEFAULTS.preference;
    if (preference !== 'strongest' && preference !== 'server-order') {
      invalid(
        `preference must be 'strongest' or 'server-order'; got ${JSON.stringify(preference)}`,
      );
    }
    this.#preference = preference;
    this.#maxStaleRetries = requireCount(
      options.maxStaleRetries ?? DIGEST_CLIENT_DEFAULTS.maxStaleRetries,
      'maxStaleRetries',
    );
    const l = options.limits ?? {};
    this.#limits = {
      maxAuthHeaderBytes: requireCount(
        l.maxAuthHeaderBytes ?? AUTH_LIMITS.maxAuthHeaderBytes,
        'maxAuthHeaderBytes',
      ),
      maxAuthParams: requireCount(l.maxAuthParams ?? AUTH_LIMITS.maxAuthParams, 'maxAuthParams'),
      maxChallenges: requireCount(l.maxChallenges ?? AUTH_LIMITS.maxChallenges, 'maxChallenges'),
      maxServerNonces: requireCount(
        l.maxServerNonces ?? AUTH_LIMITS.maxServerNonces,
        'maxServerNonces',
      ),
      maxClientNonces: Math.max(
        1,
        requireCount(l.maxClientNonces ?? AUTH_LIMITS.maxClientNonces, 'maxClientNonces'),
      ),
    };
  }

  /**
   * Builds the credentials for retrying `request` after `response`, a 401 or 407 to it.
   *
   * @remarks
   * Fails (as a value: the response is untrusted input) with
   * - `SIP_ERR_AUTH_REFUSED` when `request` already carried credentials for a challenged realm and
   *   the challenge is not `stale=true`, or is stale but repeats the nonce just used, or the
   *   stale retries for this request exceed `maxStaleRetries`;
   * - `SIP_ERR_AUTH_NO_CREDENTIALS` when the supplier has nothing for any challenged realm;
   * - `SIP_ERR_AUTH_UNSUPPORTED` when no challenge has an algorithm and qop the client supports;
   * - `SIP_ERR_AUTH_HEADER` when no challenge can be read, or there are more than `maxChallenges`.
   *
   * Throws `ERR_INVALID_ARG` when `response` is not a 401 or 407.
   */
  answer(request: SipRequest, response: SipResponse): Result<DigestAuthorization, UaCstaError> {
    if (response.status !== 401 && response.status !== 407) {
      invalid(`answer() takes a 401 or 407 response; got ${String(response.status)}`);
    }
    const proxy = response.status === 407;
    const header = proxy ? 'proxy-authorization' : 'authorization';
    const read = this.#readChallenges(
      response.headers[proxy ? 'proxy-authenticate' : 'www-authenticate'] ?? [],
    );
    if (!read.ok) return read;

    const byRealm = new Map<string, DigestChallenge[]>();
    for (const c of read.value) {
      const list = byRealm.get(c.realm);
      if (list === undefined) byRealm.set(c.realm, [c]);
      else list.push(c);
    }

    const previous = previousCredentials(request, header, this.#limits);
    const values: string[] = [];
    const realms: string[] = [];
    let unsupported = 0;
    let missing = 0;
    for (const [realm, list] of byRealm) {
      const choice = this.#choose(list);
      if (choice === undefined) {
        unsupported++;
        continue;
      }
      const used = previous.get(realm);
      let staleDepth = 0;
      let secret: Secret | undefined;
      if (used !== undefined) {
        if (!choice.challenge.stale) {
          return err(
            new UaCstaError(
              'SIP_ERR_AUTH_REFUSED',
              `realm ${JSON.stringify(realm)} challenged again the credentials of ${JSON.stringify(used.username)} without stale=true`,
            ),
          );
        }
        if (choice.challenge.nonce === used.nonce) {
          return err(
            new UaCstaError(
              'SIP_ERR_AUTH_REFUSED',
              `realm ${JSON.stringify(realm)} answered stale=true with the nonce just used`,
            ),
          );
        }
        const before = this.#nonces.get(nonceKey(header, realm, used.nonce));
        staleDepth = (before?.staleDepth ?? 0) + 1;
        if (staleDepth > this.#maxStaleRetries) {
          return err(
            new UaCstaError(
              'SIP_ERR_AUTH_REFUSED',
              `realm ${JSON.stringify(realm)} answered stale=true ${staleDepth} times in a row; limit is ${this.#maxStaleRetries}`,
            ),
          );
        }
        secret = this.#cachedSecret(realm, hashOf(choice.algorithm), used.username);
      }
      secret ??= this.#suppliedSecret(realm, hashOf(choice.algorithm));
      if (secret === undefined) {
        missing++;
        continue;
      }
      const state = this.#state(header, choice, secret, staleDepth);
      values.push(this.#use(state, request));
      realms.push(realm);
    }

    if (realms.length === 0) {
      return err(
        missing > 0
          ? new UaCstaError(
              'SIP_ERR_AUTH_NO_CREDENTIALS',
              `no credentials for realm ${[...byRealm.keys()].map((r) => JSON.stringify(r)).join(', ')}`,
            )
          : new UaCstaError(
              'SIP_ERR_AUTH_UNSUPPORTED',
              `${unsupported} realm(s) challenged with no supported algorithm and qop (supported: ${[...this.#algorithms].join(', ')}; qop auth, auth-int)`,
            ),
      );
    }
    for (const [realm, p] of previous) if (!realms.includes(realm)) values.push(p.value);
    return ok({ header, values, realms });
  }

  /**
   * Credentials for a new request, sent before any challenge, from the latest nonce the client
   * holds for `realm` (or for any realm when not given), with the next nonce-count.
   *
   * @remarks
   * RFC 7616 §3.4: a client may reuse a nonce with an increasing nonce-count. Phones that
   * challenge every INFO then need no extra round trip while their nonce lasts; when it has
   * expired they answer `stale=true` and {@link DigestClient.answer} retries. Returns `undefined`
   * when the client holds no nonce for the realm.
   */
  authorize(
    request: SipRequest,
    options: { realm?: string; header?: DigestAuthorization['header'] } = {},
  ): DigestAuthorization | undefined {
    const header = options.header ?? 'authorization';
    let state: NonceState | undefined;
    if (options.realm !== undefined) state = this.#latest.get(`${header}\n${options.realm}`);
    else for (const s of this.#latest.values()) if (s.header === header) state = s;
    if (state === undefined || !this.#nonces.has(state.key)) return undefined;
    state.staleDepth = 0;
    return { header, values: [this.#use(state, request)], realms: [state.realm] };
  }

  /** Forgets every nonce and cached `H(A1)` (say, after the user changed the password). */
  clear(): void {
    this.#nonces.clear();
    this.#secrets.clear();
    this.#latest.clear();
  }

  #readChallenges(values: readonly string[]): Result<DigestChallenge[], UaCstaError> {
    const out: DigestChallenge[] = [];
    let firstError: UaCstaError | undefined;
    for (const v of values) {
      const r = parseDigestChallenges(v, this.#limits);
      if (!r.ok) {
        // One unreadable header line does not spoil the others.
        firstError ??= r.error;
        continue;
      }
      for (const c of r.value) {
        if (out.length >= this.#limits.maxChallenges) {
          return err(
            new UaCstaError(
              'SIP_ERR_AUTH_HEADER',
              `response carries more than ${this.#limits.maxChallenges} challenges; limit is ${this.#limits.maxChallenges}`,
            ),
          );
        }
        out.push(c);
      }
    }
    if (out.length === 0) {
      return err(
        firstError ??
          new UaCstaError('SIP_ERR_AUTH_UNSUPPORTED', 'response carries no Digest challenge'),
      );
    }
    return ok(out);
  }

  /** The challenge of one realm to answer, or `undefined` when none is supported. */
  #choose(list: readonly DigestChallenge[]): Choice | undefined {
    let best: Choice | undefined;
    for (const challenge of list) {
      const algorithm = toDigestAlgorithm(challenge.algorithm);
      if (algorithm === undefined || !this.#algorithms.has(algorithm)) continue;
      let qop: Choice['qop'];
      if (challenge.qop.length === 0) {
        // RFC 2069 answers have no cnonce, which a -sess H(A1) needs.
        if (isSessionAlgorithm(algorithm)) continue;
        qop = undefined;
      } else if (challenge.qop.includes('auth')) qop = 'auth';
      else if (challenge.qop.includes('auth-int')) qop = 'auth-int';
      else continue;
      const choice: Choice = { challenge, algorithm, qop };
      if (this.#preference === 'server-order') return choice;
      if (best === undefined || STRENGTH[algorithm] > STRENGTH[best.algorithm]) best = choice;
    }
    return best;
  }

  #cachedSecret(realm: string, hash: DigestHash, username: string): Secret | undefined {
    const s = this.#secrets.get(`${realm}\n${hash}`);
    return s !== undefined && s.username === username ? s : undefined;
  }

  #suppliedSecret(realm: string, hash: DigestHash): Secret | undefined {
    const c = this.#credentials(realm);
    if (c === undefined) return undefined;
    if (typeof c.username !== 'string' || typeof c.password !== 'string') {
      invalid(
        'the credentials supplier must return { username: string, password: string } or undefined',
      );
    }
    const secret: Secret = {
      username: c.username,
      ha1: computeHa1(hash, c.username, realm, c.password),
    };
    const key = `${realm}\n${hash}`;
    this.#secrets.delete(key);
    this.#secrets.set(key, secret);
    evictOldest(this.#secrets, this.#limits.maxClientNonces);
    return secret;
  }

  /** The state for the chosen challenge's nonce: the existing one (same secret), or a new one. */
  #state(
    header: DigestAuthorization['header'],
    choice: Choice,
    secret: Secret,
    staleDepth: number,
  ): NonceState {
    const c = choice.challenge;
    const key = nonceKey(header, c.realm, c.nonce);
    const existing = this.#nonces.get(key);
    if (
      existing !== undefined &&
      existing.algorithm === choice.algorithm &&
      existing.qop === choice.qop &&
      existing.username === secret.username &&
      existing.ha1 === secret.ha1 &&
      existing.opaque === c.opaque
    ) {
      existing.staleDepth = staleDepth;
      return existing;
    }
    const state: NonceState = {
      key,
      header,
      realm: c.realm,
      nonce: c.nonce,
      opaque: c.opaque,
      algorithm: choice.algorithm,
      qop: choice.qop,
      username: secret.username,
      ha1: secret.ha1,
      cnonce: this.#ids.callId(),
      staleDepth,
      // The server counts per nonce, whatever the cnonce: carry the count over.
      nc: existing?.nc ?? 0,
    };
    return state;
  }

  /** Counts one use of `state` and writes the credentials for `request`. */
  #use(state: NonceState, request: SipRequest): string {
    state.nc++;
    this.#nonces.delete(state.key);
    this.#nonces.set(state.key, state);
    evictOldest(this.#nonces, this.#limits.maxClientNonces);
    this.#latest.delete(`${state.header}\n${state.realm}`);
    this.#latest.set(`${state.header}\n${state.realm}`, state);
    evictOldest(this.#latest, this.#limits.maxClientNonces);
    const withQop = state.qop !== undefined;
    const nc = state.nc.toString(16).padStart(8, '0');
    const response = computeDigestResponse({
      algorithm: state.algorithm,
      ha1: state.ha1,
      nonce: state.nonce,
      qop: state.qop,
      nc,
      cnonce: state.cnonce,
      method: request.method,
      uri: request.uri,
      body: request.body,
    });
    return serializeDigestCredentials({
      username: state.username,
      realm: state.realm,
      nonce: state.nonce,
      uri: request.uri,
      response,
      // Always named, even for MD5 (RFC 7616 §3.4: when absent it "is assumed to be MD5").
      algorithm: state.algorithm,
      ...(withQop ? { cnonce: state.cnonce, qop: state.qop, nc: state.nc } : {}),
      ...(state.opaque !== undefined ? { opaque: state.opaque } : {}),
    });
  }
}

function nonceKey(header: string, realm: string, nonce: string): string {
  return `${header}\n${realm}\n${nonce}`;
}

function evictOldest<V>(map: Map<string, V>, max: number): void {
  while (map.size > max) {
    const first = map.keys().next();
    if (first.done === true) return;
    map.delete(first.value);
  }
}

/** The request's credentials of one header by realm: what nonce and user each one used. */
function previousCredentials(
  request: SipRequest,
  header: DigestAuthorization['header'],
  limits: AuthLimits,
): Map<string, { nonce: string; username: string; value: string }> {
  const out = new Map<string, { nonce: string; username: string; value: string }>();
  for (const value of request.headers[header] ?? []) {
    const c = parseDigestCredentials(value, limits);
    if (c.ok && !out.has(c.value.realm)) {
      out.set(c.value.realm, { nonce: c.value.nonce, username: c.value.username, value });
    }
  }
  return out;
}

/** What {@link withCredentials} changes besides the credentials. */
export interface RetryOptions {
  /**
   * The CSeq number of the new request: one more than the challenged request's within a dialog
   * or a registration (RFC 3261 §8.1.3.5: "its CSeq header field value ... incremented by one").
   */
  readonly cseq: number;
  /** A fresh branch for the top Via: the retry is a new transaction. */
  readonly branch: string;
}

/**
 * The request to send after a challenge: `request` with the credentials of `auth`, a new CSeq
 * number and a new top-Via branch; Call-ID, From and To (tags included) stay the same (RFC 3261
 * §22.2: "the same Call-ID", and §8.1.3.5).
 *
 * @remarks
 * The request is copied, never changed. Raw `via` and `cseq` entries of `headers`, which
 * `serializeSipMessage` ignores in favour of the typed fields, are dropped from the copy so they
 * cannot disagree with them.
 */
export function withCredentials(
  request: SipRequest,
  auth: DigestAuthorization,
  options: RetryOptions,
): SipRequest {
  if (!Number.isInteger(options.cseq) || options.cseq < 0 || options.cseq > 2 ** 31 - 1) {
    invalid(`cseq must be an integer 0-2**31-1; got ${String(options.cseq)}`);
  }
  if (typeof options.branch !== 'string' || options.branch.length === 0)
    invalid('branch must be a non-empty string');
  const headers = newRecord<readonly string[]>();
  for (const name in request.headers) {
    if (name === 'via' || name === 'cseq') continue;
    headers[name] = request.headers[name]!;
  }
  headers[auth.header] = [...auth.values];
  const [top, ...rest] = request.via;
  const via: Via[] =
    top === undefined
      ? []
      : [
          { ...top, branch: options.branch, params: { ...top.params, branch: options.branch } },
          ...rest,
        ];
  return {
    ...request,
    via,
    cseq: { seq: options.cseq, method: request.method },
    headers,
  };
}
