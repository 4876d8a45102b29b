/**
 * SIP digest authentication (RFC 3261 §22, RFC 7616, RFC 8760): the authentication headers, the
 * client that answers 401/407 challenges, and the server that issues challenges and verifies
 * credentials.
 *
 * @remarks
 * MD5, MD5-sess, SHA-256 and SHA-256-sess with `qop=auth` (and `auth-int` and RFC 2069 answers on
 * the client side). Hashing is `util/hash.ts`, so this folder runs in browsers too. Above it sits
 * the UA core, which decides which requests to challenge and sends the retries.
 */

export {
  DIGEST_ALGORITHMS,
  parseAuthHeader,
  parseDigestChallenges,
  parseDigestCredentials,
  serializeDigestChallenge,
  serializeDigestCredentials,
  toDigestAlgorithm,
  toDigestChallenge,
  type AuthHeaderLimits,
  type AuthItem,
  type DigestAlgorithm,
  type DigestChallenge,
  type DigestChallengeInit,
  type DigestCredentials,
  type DigestCredentialsInit,
} from './digest-header.js';
export {
  computeDigestResponse,
  computeHa1,
  digestHash,
  hashOf,
  isSessionAlgorithm,
  type DigestHash,
  type DigestResponseInput,
} from './digest.js';
export {
  DIGEST_CLIENT_DEFAULTS,
  DigestClient,
  withCredentials,
  type DigestAuthorization,
  type DigestClientOptions,
  type DigestCredentialsSupplier,
  type DigestPreference,
  type DigestUserCredentials,
  type RetryOptions,
} from './digest-client.js';
export {
  DIGEST_SERVER_DEFAULTS,
  DigestServer,
  type AuthPolicy,
  type CredentialLookup,
  type DigestFailureReason,
  type DigestIdentity,
  type DigestServerOptions,
  type DigestVerdict,
  type StoredCredentials,
} from './digest-server.js';
