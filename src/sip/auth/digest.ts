/**
 * The digest computation shared by the client and the server: `H(A1)`, `H(A2)` and the
 * request-digest of RFC 7616 §3.4.1–3.4.3, for MD5, MD5-sess, SHA-256 and SHA-256-sess.
 *
 * @remarks
 * RFC 7616 §3.4.1:
 *
 *     response = <"> < KD ( H(A1), unq(nonce) ":" nc ":" unq(cnonce) ":" unq(qop) ":" H(A2) ) <">
 *     KD(secret, data) = H(concat(secret, ":", data))
 *
 * and, for a server that sent no `qop` (RFC 2069 compatibility, RFC 2617 §3.2.2.1):
 * `KD(H(A1), unq(nonce) ":" H(A2))`. §3.4.2: `A1 = unq(username) ":" unq(realm) ":" passwd`, and
 * for a `-sess` algorithm `A1 = H(unq(username) ":" unq(realm) ":" passwd) ":" unq(nonce-prime)
 * ":" unq(cnonce-prime)`. §3.4.3: `A2 = Method ":" request-uri`, with `":" H(entity-body)` added
 * for `qop=auth-int`. In SIP the method is the request's method and the request-uri is its
 * Request-URI (RFC 3261 §22.4). Hashes are written as lower-case hex.
 */
import { md5Hex, sha256Hex, type HashInput } from '../../util/hash.js';
import type { DigestAlgorithm } from './digest-header.js';

/** The hash function behind an algorithm: `'MD5'` for MD5 and MD5-sess, else `'SHA-256'`. */
export type DigestHash = 'MD5' | 'SHA-256';

/** The hash function of `algorithm`. */
export function hashOf(algorithm: DigestAlgorithm): DigestHash {
  return algorithm === 'MD5' || algorithm === 'MD5-sess' ? 'MD5' : 'SHA-256';
}

/** True for the `-sess` variants, whose `H(A1)` also covers the nonce and the cnonce. */
export function isSessionAlgorithm(algorithm: DigestAlgorithm): boolean {
  return algorithm.endsWith('-sess');
}

/** `H(data)` in lower-case hex with the hash of `hash`. */
export function digestHash(hash: DigestHash, data: HashInput): string {
  return hash === 'MD5' ? md5Hex(data) : sha256Hex(data);
}

/**
 * `H(username ":" realm ":" password)`: what a registrar may store instead of the password, and
 * the `H(A1)` of the non-`-sess` algorithms.
 */
export function computeHa1(
  hash: DigestHash,
  username: string,
  realm: string,
  password: string,
): string {
  return digestHash(hash, `${username}:${realm}:${password}`);
}

/** Everything a request-digest depends on, besides the stored `H(user:realm:password)`. */
export interface DigestResponseInput {
  readonly algorithm: DigestAlgorithm;
  /** `H(username ":" realm ":" password)` with the algorithm's hash (see {@link computeHa1}). */
  readonly ha1: string;
  readonly nonce: string;
  /** `undefined` for an RFC 2069 answer (no qop); then `nc` and `cnonce` are not used. */
  readonly qop: 'auth' | 'auth-int' | undefined;
  /** The nonce-count exactly as written on the wire (8 hex digits). */
  readonly nc: string;
  readonly cnonce: string;
  /** The request's method. */
  readonly method: string;
  /** The `digest-uri`: the Request-URI. */
  readonly uri: string;
  /** The body, for `qop=auth-int` only. */
  readonly body?: Uint8Array;
}

/**
 * The request-digest (the `response` parameter) of RFC 7616 §3.4.1, in lower-case hex.
 *
 * @example
 * // RFC 7616 §3.9.1, SHA-256:
 * computeDigestResponse({ algorithm: 'SHA-256',
 *   ha1: computeHa1('SHA-256', 'Mufasa', 'http-auth@example.org', 'Circle of Life'),
 *   nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v', qop: 'auth', nc: '00000001',
 *   cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ', method: 'GET', uri: '/dir/index.html' });
 * // '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1'
 */
export function computeDigestResponse(input: DigestResponseInput): string {
  const hash = hashOf(input.algorithm);
  const ha1 = isSessionAlgorithm(input.algorithm)
    ? digestHash(hash, `${input.ha1}:${input.nonce}:${input.cnonce}`)
    : input.ha1;
  const a2 =
    input.qop === 'auth-int'
      ? `${input.method}:${input.uri}:${digestHash(hash, input.body ?? new Uint8Array(0))}`
      : `${input.method}:${input.uri}`;
  const ha2 = digestHash(hash, a2);
  return input.qop === undefined
    ? digestHash(hash, `${ha1}:${input.nonce}:${ha2}`)
    : digestHash(hash, `${ha1}:${input.nonce}:${input.nc}:${input.cnonce}:${input.qop}:${ha2}`);
}
