/**
 * Reading and writing the four authentication headers of SIP digest authentication:
 * `WWW-Authenticate` and `Proxy-Authenticate` (challenges), `Authorization` and
 * `Proxy-Authorization` (credentials).
 *
 * @remarks
 * RFC 3261 §22, §25.1 (`challenge`, `credentials`), RFC 7235 §2.1 (`auth-scheme`, `auth-param`,
 * `token68`, several challenges in one field), RFC 7616 §3.3–3.4 (the Digest parameters), RFC 8760
 * (SHA-256 in SIP).
 *
 * Readers take one header value (one line, unfolded) from untrusted input and return a
 * {@link Result}: they never throw, scan with indices (no regular expression touches input), and
 * enforce {@link AUTH_LIMITS} on bytes and parameters. Parameter names are case-insensitive and
 * lower-cased; quoted-string values are returned without quotes and with quoted-pairs resolved
 * (`"a\"b"` → `a"b`). Writers throw `ERR_INVALID_ARG` on text that cannot be sent (CR, LF, NUL;
 * a token parameter that is not a token): that is a caller's mistake, not input.
 */
import { UaCstaError } from '../../errors.js';
import { AUTH_LIMITS, type AuthLimits } from '../../limits.js';
import { err, ok, type Result } from '../../util/result.js';
import { isToken, newRecord, readQuoted, scanToken, skipWs } from '../message/headers.js';

/** The digest algorithms this stack computes (RFC 7616 §3.2 registry, RFC 8760 §2.2). */
export const DIGEST_ALGORITHMS = ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess'] as const;

/** One of {@link DIGEST_ALGORITHMS}. */
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

/**
 * The algorithm named by `name`, compared without regard to case (servers write `md5`), or
 * `undefined` for one this stack does not compute (`SHA-512-256`, `AKAv1-MD5`, …).
 */
export function toDigestAlgorithm(name: string): DigestAlgorithm | undefined {
  const lower = name.toLowerCase();
  for (const a of DIGEST_ALGORITHMS) if (a.toLowerCase() === lower) return a;
  return undefined;
}

/** One challenge or credential of any scheme, as RFC 7235 §2.1 frames it. */
export interface AuthItem {
  /** The auth-scheme as written (`Digest`, `Basic`, …); compare it without regard to case. */
  readonly scheme: string;
  /** The auth-params: names lower-cased, values unquoted with quoted-pairs resolved. */
  readonly params: Readonly<Record<string, string>>;
  /** The `token68` form (`Basic QWxh…`), when the item uses it instead of parameters. */
  readonly token68: string | undefined;
}

/** Limits of the readers in this module: a subset of {@link AuthLimits}. */
export type AuthHeaderLimits = Pick<AuthLimits, 'maxAuthHeaderBytes' | 'maxAuthParams'>;

/** A `WWW-Authenticate` or `Proxy-Authenticate` Digest challenge (RFC 7616 §3.3, RFC 3261 §25.1). */
export interface DigestChallenge {
  readonly realm: string;
  /** `domain`, when present: the space-separated URIs the challenge protects. */
  readonly domain: string | undefined;
  readonly nonce: string;
  readonly opaque: string | undefined;
  /**
   * The `algorithm` as written; `'MD5'` when absent (RFC 7616 §3.3: "If this is not present, it
   * is assumed to be "MD5""). See {@link toDigestAlgorithm}.
   */
  readonly algorithm: string;
  /** The `qop` options, lower-cased; empty when absent (an RFC 2069 server). */
  readonly qop: readonly string[];
  /** `stale=true` (any case): the nonce was stale, the credentials were not wrong. */
  readonly stale: boolean;
  /** Every parameter, for the ones not typed here (`charset`, `userhash`, vendor parameters). */
  readonly params: Readonly<Record<string, string>>;
}

/** An `Authorization` or `Proxy-Authorization` Digest credential (RFC 7616 §3.4, RFC 3261 §25.1). */
export interface DigestCredentials {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  /** The `digest-uri`: in SIP, the Request-URI of the request (RFC 3261 §22.4). */
  readonly uri: string;
  /** The request-digest, lower-case hex as sent (not lower-cased here). */
  readonly response: string;
  /** As written; `'MD5'` when absent. */
  readonly algorithm: string;
  readonly cnonce: string | undefined;
  readonly opaque: string | undefined;
  /** The chosen `qop`, lower-cased; `undefined` for an RFC 2069 answer. */
  readonly qop: string | undefined;
  /** The nonce-count as a number (`nc=0000000a` → 10); `undefined` when absent. */
  readonly nc: number | undefined;
  /** Every parameter. */
  readonly params: Readonly<Record<string, string>>;
}

const DQUOTE = 0x22;
const COMMA = 0x2c;
const EQUALS = 0x3d;

/** `token68` characters (RFC 7235 §2.1): ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/". */
function isToken68Char(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) ||
    ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5f ||
    c === 0x7e ||
    c === 0x2b ||
    c === 0x2f
  );
}

/**
 * End of an unquoted parameter value from `i`: the grammar says `token`, but deployed peers write
 * nonces and URIs bare (`nonce=ab/c+d=`, `uri=sip:1001@pbx`), so every visible character but `,`
 * and `"` is taken.
 */
function scanBareValue(s: string, i: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f || c === COMMA || c === DQUOTE) break;
    i++;
  }
  return i;
}

/** UTF-8 byte length of `s` (a lone surrogate counts 3, as TextEncoder writes U+FFFD). */
function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 4;
        i++;
      } else bytes += 3;
    } else bytes += 3;
  }
  return bytes;
}

function headerError(message: string): UaCstaError {
  return new UaCstaError('SIP_ERR_AUTH_HEADER', message);
}

function resolveLimits(limits: Partial<AuthHeaderLimits> | undefined): AuthHeaderLimits {
  return {
    maxAuthHeaderBytes: limits?.maxAuthHeaderBytes ?? AUTH_LIMITS.maxAuthHeaderBytes,
    maxAuthParams: limits?.maxAuthParams ?? AUTH_LIMITS.maxAuthParams,
  };
}

/**
 * Reads one authentication header value into its challenges or credentials, of any scheme.
 *
 * @remarks
 * RFC 7235 §2.1: `challenge = auth-scheme [ 1*SP ( token68 / #auth-param ) ]`, and a
 * `WWW-Authenticate` value may hold several challenges separated by commas, so a token that is
 * not followed by `=` starts a new item. Empty list elements (`,,`) are skipped, whitespace is
 * allowed around `=` (BWS). Each parameter name may appear once per item (RFC 7235 §2.1: "Each
 * parameter name MUST only occur once per challenge").
 *
 * Fails with `SIP_ERR_AUTH_HEADER` on a value over `maxAuthHeaderBytes` or with more than
 * `maxAuthParams` parameters, an unclosed quote, a parameter before any scheme, a repeated
 * parameter, or text that fits no rule.
 *
 * @example
 * parseAuthHeader('Digest realm="pbx", nonce="n1", Basic realm="x"');
 * // ok: [{ scheme: 'Digest', params: { realm: 'pbx', nonce: 'n1' } }, { scheme: 'Basic', … }]
 */
export function parseAuthHeader(
  value: string,
  limits?: Partial<AuthHeaderLimits>,
): Result<readonly AuthItem[], UaCstaError> {
  const lim = resolveLimits(limits);
  if (typeof value !== 'string') return err(headerError('header value is not a string'));
  const bytes = utf8Length(value);
  if (bytes > lim.maxAuthHeaderBytes) {
    return err(
      headerError(`authentication header is ${bytes} bytes; limit is ${lim.maxAuthHeaderBytes}`),
    );
  }
  const s = value;
  const n = s.length;
  const items: { scheme: string; params: Record<string, string>; token68: string | undefined }[] =
    [];
  let current: (typeof items)[number] | undefined;
  let paramCount = 0;
  let i = 0;
  for (;;) {
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== COMMA) break;
      i++;
    }
    if (i >= n) break;
    const nameEnd = scanToken(s, i);
    if (nameEnd === i) {
      return err(
        headerError(`expected a token at offset ${i}; found ${JSON.stringify(s.charAt(i))}`),
      );
    }
    let j = skipWs(s, nameEnd);
    const isParam = current !== undefined && j < n && s.charCodeAt(j) === EQUALS;
    if (!isParam) {
      if (j < n && s.charCodeAt(j) === EQUALS) {
        return err(
          headerError(`parameter ${s.slice(i, nameEnd)} at offset ${i} precedes any auth-scheme`),
        );
      }
      current = { scheme: s.slice(i, nameEnd), params: newRecord<string>(), token68: undefined };
      items.push(current);
      // token68: only when separated from the scheme by whitespace and followed by the end or a
      // comma; `realm=` followed by a value is a parameter, not a token68 with padding.
      if (j > nameEnd && j < n) {
        let k = j;
        while (k < n && isToken68Char(s.charCodeAt(k))) k++;
        const runEnd = k;
        while (k < n && s.charCodeAt(k) === EQUALS) k++;
        const after = skipWs(s, k);
        if (runEnd > j && (after >= n || s.charCodeAt(after) === COMMA)) {
          current.token68 = s.slice(j, k);
          i = after;
          continue;
        }
      }
      i = j;
      continue;
    }
    const name = s.slice(i, nameEnd).toLowerCase();
    j = skipWs(s, j + 1);
    let val: string;
    if (j < n && s.charCodeAt(j) === DQUOTE) {
      const q = readQuoted(s, j);
      if (q === undefined)
        return err(headerError(`unclosed quoted-string for ${name} at offset ${j}`));
      val = q.text;
      j = q.end;
    } else {
      const end = scanBareValue(s, j);
      if (end === j) return err(headerError(`parameter ${name} has no value at offset ${j}`));
      val = s.slice(j, end);
      j = end;
    }
    if (++paramCount > lim.maxAuthParams) {
      return err(
        headerError(
          `authentication header has more than ${lim.maxAuthParams} parameters; limit is ${lim.maxAuthParams}`,
        ),
      );
    }
    const params = current!.params;
    if (params[name] !== undefined) return err(headerError(`parameter ${name} appears twice`));
    params[name] = val;
    j = skipWs(s, j);
    if (j < n && s.charCodeAt(j) !== COMMA) {
      return err(
        headerError(
          `expected "," after ${name} at offset ${j}; found ${JSON.stringify(s.charAt(j))}`,
        ),
      );
    }
    i = j;
  }
  if (items.length === 0) return err(headerError('authentication header is empty'));
  return ok(items);
}

const isDigest = (item: AuthItem): boolean => item.scheme.toLowerCase() === 'digest';

/** The lower-cased, trimmed, non-empty elements of a comma-separated list (a `qop` value). */
function splitList(v: string): string[] {
  const out: string[] = [];
  for (const part of v.split(',')) {
    const t = part.trim().toLowerCase();
    if (t.length > 0) out.push(t);
  }
  return out;
}

/** Types a Digest {@link AuthItem} as a challenge; `realm` and `nonce` are mandatory. */
export function toDigestChallenge(item: AuthItem): Result<DigestChallenge, UaCstaError> {
  if (!isDigest(item)) return err(headerError(`scheme ${item.scheme} is not Digest`));
  const p = item.params;
  const realm = p['realm'];
  const nonce = p['nonce'];
  if (realm === undefined) return err(headerError('Digest challenge has no realm'));
  if (nonce === undefined) return err(headerError('Digest challenge has no nonce'));
  const qop = p['qop'];
  return ok({
    realm,
    domain: p['domain'],
    nonce,
    opaque: p['opaque'],
    algorithm: p['algorithm'] ?? 'MD5',
    qop: qop === undefined ? [] : splitList(qop),
    stale: (p['stale'] ?? '').toLowerCase() === 'true',
    params: p,
  });
}

/**
 * Reads the Digest challenges of one `WWW-Authenticate` or `Proxy-Authenticate` value, in order;
 * challenges of other schemes are skipped (the result may be empty).
 */
export function parseDigestChallenges(
  value: string,
  limits?: Partial<AuthHeaderLimits>,
): Result<readonly DigestChallenge[], UaCstaError> {
  const items = parseAuthHeader(value, limits);
  if (!items.ok) return items;
  const out: DigestChallenge[] = [];
  for (const item of items.value) {
    if (!isDigest(item)) continue;
    const c = toDigestChallenge(item);
    if (!c.ok) return c;
    out.push(c.value);
  }
  return ok(out);
}

/** Reads `nc`: exactly 8 hex digits (RFC 7616 §3.4: `nc-value = 8LHEX`). */
function readNonceCount(v: string): number | undefined {
  if (v.length !== 8) return undefined;
  let n = 0;
  for (let i = 0; i < 8; i++) {
    const c = v.charCodeAt(i) | 0x20;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x61 + 10 : -1;
    if (d < 0) return undefined;
    n = n * 16 + d;
  }
  return n;
}

/**
 * Reads one `Authorization` or `Proxy-Authorization` value as Digest credentials.
 *
 * @remarks
 * RFC 3261 §25.1 `credentials = ("Digest" LWS digest-response) / other-response`: one credential
 * per header value. Mandatory: `username`, `realm`, `nonce`, `uri`, `response`; with a `qop`, also
 * `cnonce` and `nc` (RFC 7616 §3.4: "cnonce ... MUST be sent if a qop directive is sent"), and
 * `nc` must be 8 hex digits. Fails with `SIP_ERR_AUTH_HEADER` otherwise, or for another scheme.
 * `username*` and `userhash` (RFC 7616 §3.4.4–3.4.5) are not read: SIP carries UTF-8 in
 * quoted-strings (RFC 3261 §25.1) and this stack does not hash user names.
 */
export function parseDigestCredentials(
  value: string,
  limits?: Partial<AuthHeaderLimits>,
): Result<DigestCredentials, UaCstaError> {
  const items = parseAuthHeader(value, limits);
  if (!items.ok) return items;
  if (items.value.length !== 1) {
    return err(headerError(`expected one credential; found ${items.value.length}`));
  }
  const item = items.value[0]!;
  if (!isDigest(item)) return err(headerError(`scheme ${item.scheme} is not Digest`));
  const p = item.params;
  for (const name of ['username', 'realm', 'nonce', 'uri', 'response'] as const) {
    if (p[name] === undefined) return err(headerError(`Digest credentials have no ${name}`));
  }
  const qopRaw = p['qop'];
  const qop = qopRaw === undefined ? undefined : qopRaw.trim().toLowerCase();
  const ncRaw = p['nc'];
  let nc: number | undefined;
  if (ncRaw !== undefined) {
    nc = readNonceCount(ncRaw);
    if (nc === undefined)
      return err(headerError(`nc must be 8 hex digits; got ${JSON.stringify(ncRaw.slice(0, 16))}`));
  }
  if (qop !== undefined && (p['cnonce'] === undefined || nc === undefined)) {
    return err(headerError('Digest credentials with a qop need cnonce and nc'));
  }
  return ok({
    username: p['username']!,
    realm: p['realm']!,
    nonce: p['nonce']!,
    uri: p['uri']!,
    response: p['response']!,
    algorithm: p['algorithm'] ?? 'MD5',
    cnonce: p['cnonce'],
    opaque: p['opaque'],
    qop,
    nc,
    params: p,
  });
}

// ---------------------------------------------------------------------------------------------
// Writers

function invalid(message: string): never {
  throw new UaCstaError('ERR_INVALID_ARG', message);
}

/** A quoted-string holding `v`, with `"` and `\` escaped (RFC 3261 §25.1 `quoted-pair`). */
function quoted(v: string, what: string): string {
  if (typeof v !== 'string') invalid(`${what} must be a string; got ${typeof v}`);
  let out = '"';
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x0d || c === 0x0a || c === 0x00) {
      invalid(`${what} contains CR, LF or NUL: ${JSON.stringify(v.slice(0, 60))}`);
    }
    out += c === DQUOTE || c === 0x5c ? '\\' + v.charAt(i) : v.charAt(i);
  }
  return out + '"';
}

function token(v: string, what: string): string {
  if (typeof v !== 'string' || !isToken(v))
    invalid(`${what} must be a token; got ${JSON.stringify(v)}`);
  return v;
}

/** What {@link serializeDigestChallenge} writes. */
export interface DigestChallengeInit {
  readonly realm: string;
  readonly nonce: string;
  readonly opaque?: string;
  readonly domain?: string;
  /** Written when given; RFC 8760 §2.3 asks a SIP server to name it even for MD5. */
  readonly algorithm?: string;
  /** `qop` options; written as one quoted list when non-empty. */
  readonly qop?: readonly string[];
  /** Written as `stale=true` only when true. */
  readonly stale?: boolean;
}

/**
 * Writes a Digest challenge (a `WWW-Authenticate` / `Proxy-Authenticate` value).
 *
 * @remarks
 * RFC 7616 §3.3: `realm`, `domain`, `nonce`, `opaque` and `qop` are quoted-strings, `algorithm`
 * and `stale` are tokens. Throws `ERR_INVALID_ARG` on CR, LF or NUL, or a non-token algorithm or
 * qop value.
 *
 * @example
 * serializeDigestChallenge({ realm: 'pbx', nonce: 'n1', algorithm: 'SHA-256', qop: ['auth'] });
 * // 'Digest realm="pbx", nonce="n1", algorithm=SHA-256, qop="auth"'
 */
export function serializeDigestChallenge(c: DigestChallengeInit): string {
  let s = `Digest realm=${quoted(c.realm, 'realm')}`;
  if (c.domain !== undefined) s += `, domain=${quoted(c.domain, 'domain')}`;
  s += `, nonce=${quoted(c.nonce, 'nonce')}`;
  if (c.opaque !== undefined) s += `, opaque=${quoted(c.opaque, 'opaque')}`;
  if (c.stale === true) s += ', stale=true';
  if (c.algorithm !== undefined) s += `, algorithm=${token(c.algorithm, 'algorithm')}`;
  if (c.qop !== undefined && c.qop.length > 0) {
    s += `, qop="${c.qop.map((q) => token(q, 'qop')).join(',')}"`;
  }
  return s;
}

/** What {@link serializeDigestCredentials} writes. */
export interface DigestCredentialsInit {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  readonly response: string;
  readonly algorithm?: string;
  readonly cnonce?: string;
  readonly opaque?: string;
  readonly qop?: string;
  /** The nonce-count; written as 8 lower-case hex digits. */
  readonly nc?: number;
}

/**
 * Writes Digest credentials (an `Authorization` / `Proxy-Authorization` value).
 *
 * @remarks
 * RFC 7616 §3.4 and RFC 3261 §25.1: `username`, `realm`, `nonce`, `uri`, `response`, `cnonce` and
 * `opaque` are quoted-strings; `algorithm`, `qop` and `nc` are tokens (`qop=auth`, not
 * `qop="auth"`, which some servers refuse). Throws `ERR_INVALID_ARG` on text that cannot be sent
 * or an `nc` outside 0–0xffffffff.
 *
 * @example
 * serializeDigestCredentials({ username: 'u', realm: 'pbx', nonce: 'n1', uri: 'sip:1001@pbx',
 *   response: '…', algorithm: 'SHA-256', qop: 'auth', nc: 1, cnonce: 'c1' });
 * // 'Digest username="u", realm="pbx", nonce="n1", uri="sip:1001@pbx", response="…",
 * //  algorithm=SHA-256, cnonce="c1", qop=auth, nc=00000001'
 */
export function serializeDigestCredentials(c: DigestCredentialsInit): string {
  let s =
    `Digest username=${quoted(c.username, 'username')}` +
    `, realm=${quoted(c.realm, 'realm')}` +
    `, nonce=${quoted(c.nonce, 'nonce')}` +
    `, uri=${quoted(c.uri, 'uri')}` +
    `, response=${quoted(c.response, 'response')}`;
  if (c.algorithm !== undefined) s += `, algorithm=${token(c.algorithm, 'algorithm')}`;
  if (c.cnonce !== undefined) s += `, cnonce=${quoted(c.cnonce, 'cnonce')}`;
  if (c.opaque !== undefined) s += `, opaque=${quoted(c.opaque, 'opaque')}`;
  if (c.qop !== undefined) s += `, qop=${token(c.qop, 'qop')}`;
  if (c.nc !== undefined) {
    if (!Number.isInteger(c.nc) || c.nc < 0 || c.nc > 0xffffffff) {
      invalid(`nc must be an integer 0-0xffffffff; got ${String(c.nc)}`);
    }
    s += `, nc=${c.nc.toString(16).padStart(8, '0')}`;
  }
  return s;
}
