import { describe, expect, it, vi } from 'vitest';
import { computeHa1 } from '../../../../src/sip/auth/digest.js';
import {
  DigestClient,
  withCredentials,
  type DigestClientOptions,
} from '../../../../src/sip/auth/digest-client.js';
import {
  parseDigestChallenges,
  serializeDigestCredentials,
} from '../../../../src/sip/auth/digest-header.js';
import {
  DigestServer,
  type DigestServerOptions,
  type StoredCredentials,
} from '../../../../src/sip/auth/digest-server.js';
import type { SipRequest } from '../../../../src/sip/message/types.js';
import { manualClock } from '../../../../src/util/clock.js';
import { createIdGenerator, seededRandom } from '../../../../src/util/ids.js';
import { param, request, responseWith } from './messages.js';

const REALM = 'pbx.example.com';
const USERS: Record<string, string> = { '1001': 'secret-1001', cti: 'controller-pw' };

function setup(
  server: Partial<DigestServerOptions> = {},
  client: Partial<DigestClientOptions> = {},
) {
  const clock = manualClock(1_000);
  const lookup = vi.fn(
    async (username: string, realm: string): Promise<StoredCredentials | undefined> => {
      const password = realm === REALM ? USERS[username] : undefined;
      return password === undefined ? undefined : { password };
    },
  );
  const auth = new DigestServer({
    realm: REALM,
    lookup,
    clock,
    ids: createIdGenerator(seededRandom(7)),
    ...server,
  });
  const supplier = vi.fn((realm: string) =>
    realm === REALM ? { username: 'cti', password: 'controller-pw' } : undefined,
  );
  const ua = new DigestClient({ credentials: supplier, ...client });
  let cseq = 1;
  /** Sends `req` through verify; on a challenge, answers it and verifies the retry. */
  async function roundTrip(req: SipRequest) {
    const first = await auth.verify(req);
    if (first.ok) return { first, retry: req, second: first };
    const a = ua.answer(req, responseWith(req, first));
    if (!a.ok) throw a.error;
    const retry = withCredentials(req, a.value, { cseq: ++cseq, branch: `z9hG4bK${cseq}` });
    return { first, retry, second: await auth.verify(retry) };
  }
  return { clock, lookup, auth, supplier, ua, roundTrip };
}

describe('DigestServer.challenge', () => {
  it('offers SHA-256 then MD5, one challenge each, with one nonce, an opaque and qop="auth"', () => {
    const { auth } = setup();
    const c = auth.challenge();
    expect(c.status).toBe(401);
    expect(c.reasonPhrase).toBe('Unauthorized');
    const values = c.headers['www-authenticate'] ?? [];
    expect(values).toHaveLength(2);
    const parsed = values.map((v) => {
      const r = parseDigestChallenges(v);
      if (!r.ok) throw r.error;
      return r.value[0]!;
    });
    expect(parsed.map((p) => p.algorithm)).toEqual(['SHA-256', 'MD5']);
    expect(parsed.every((p) => p.realm === REALM && p.stale === false)).toBe(true);
    expect(parsed.every((p) => p.qop.length === 1 && p.qop[0] === 'auth')).toBe(true);
    expect(parsed[0]!.nonce).toBe(parsed[1]!.nonce);
    expect(parsed[0]!.opaque).toBeDefined();
    expect(parsed[0]!.opaque).toBe(parsed[1]!.opaque);
    expect(auth.challenge().headers['www-authenticate']?.[0]).not.toBe(values[0]);
  });
});

describe('DigestServer.verify with DigestClient', () => {
  it('challenges a request without credentials, then accepts the SHA-256 answer', async () => {
    const { roundTrip } = setup();
    const { first, second } = await roundTrip(request({ method: 'INVITE' }));
    expect(first).toMatchObject({ ok: false, status: 401, reason: 'missing' });
    expect(second).toEqual({
      ok: true,
      identity: { username: 'cti', realm: REALM, algorithm: 'SHA-256' },
    });
  });

  it('accepts an MD5 answer from a client that only does MD5', async () => {
    const { roundTrip } = setup({}, { algorithms: ['MD5'] });
    const { second } = await roundTrip(request({ method: 'REGISTER', uri: 'sip:pbx.example.com' }));
    expect(second).toEqual({
      ok: true,
      identity: { username: 'cti', realm: REALM, algorithm: 'MD5' },
    });
  });

  it('verifies against a stored H(A1) instead of a password', async () => {
    const { roundTrip } = setup({
      lookup: async (username) =>
        username === 'cti'
          ? { ha1: computeHa1('SHA-256', 'cti', REALM, 'controller-pw'), algorithm: 'SHA-256' }
          : undefined,
    });
    const { second } = await roundTrip(request());
    expect(second).toMatchObject({ ok: true, identity: { username: 'cti', algorithm: 'SHA-256' } });
  });

  it('answers a wrong password with a fresh 401, not stale, and the client refuses to loop', async () => {
    const { auth, ua, supplier } = setup();
    supplier.mockImplementation(() => ({ username: 'cti', password: 'guess' }));
    const req = request();
    const first = await auth.verify(req);
    if (first.ok) throw new Error('expected a challenge');
    const a = ua.answer(req, responseWith(req, first));
    if (!a.ok) throw a.error;
    const retry = withCredentials(req, a.value, { cseq: 2, branch: 'z9hG4bK2' });
    const second = await auth.verify(retry);
    expect(second).toMatchObject({ ok: false, status: 401, reason: 'wrong-response' });
    if (second.ok) return;
    expect(param(second.headers['www-authenticate']![0]!, 'stale')).toBeUndefined();
    expect(ua.answer(retry, responseWith(retry, second))).toMatchObject({
      ok: false,
      error: { code: 'SIP_ERR_AUTH_REFUSED' },
    });
  });

  it('answers an unknown user like a wrong password: 401 with a fresh challenge', async () => {
    const { roundTrip, supplier } = setup();
    supplier.mockImplementation(() => ({ username: 'nobody', password: 'x' }));
    const { second } = await roundTrip(request());
    expect(second).toMatchObject({ ok: false, status: 401, reason: 'unknown-user' });
  });

  it('answers an expired nonce with stale=true, and the client retries transparently with the new one', async () => {
    const { auth, ua, clock, supplier } = setup({ nonceLifetimeMs: 60_000 });
    const req = request({ method: 'INFO', toTag: 'b2' });
    const first = await auth.verify(req);
    if (first.ok) throw new Error('expected a challenge');
    const a = ua.answer(req, responseWith(req, first));
    if (!a.ok) throw a.error;
    const retry = withCredentials(req, a.value, { cseq: 2, branch: 'z9hG4bK2' });
    expect(await auth.verify(retry)).toMatchObject({ ok: true });

    clock.tick(60_001);
    // The next INFO reuses the nonce preemptively; it has expired.
    const next = request({ method: 'INFO', toTag: 'b2', cseq: 3 });
    const pre = ua.authorize(next, { realm: REALM });
    if (pre === undefined) throw new Error('expected preemptive credentials');
    const sent = withCredentials(next, pre, { cseq: 3, branch: 'z9hG4bK3' });
    const stale = await auth.verify(sent);
    expect(stale).toMatchObject({ ok: false, status: 401, reason: 'stale' });
    if (stale.ok) return;
    expect(stale.headers['www-authenticate']!.every((v) => param(v, 'stale') === 'true')).toBe(
      true,
    );

    const b = ua.answer(sent, responseWith(sent, stale));
    if (!b.ok) throw b.error;
    const again = withCredentials(sent, b.value, { cseq: 4, branch: 'z9hG4bK4' });
    expect(await auth.verify(again)).toMatchObject({ ok: true, identity: { username: 'cti' } });
    expect(supplier).toHaveBeenCalledTimes(1);
  });

  it('does not say stale=true for an expired nonce when the digest is wrong', async () => {
    const { auth, ua, clock, supplier } = setup({ nonceLifetimeMs: 60_000 });
    supplier.mockImplementation(() => ({ username: 'cti', password: 'guess' }));
    const req = request();
    const first = await auth.verify(req);
    if (first.ok) throw new Error('expected a challenge');
    const a = ua.answer(req, responseWith(req, first));
    if (!a.ok) throw a.error;
    clock.tick(120_000);
    expect(
      await auth.verify(withCredentials(req, a.value, { cseq: 2, branch: 'z9hG4bK2' })),
    ).toMatchObject({
      ok: false,
      reason: 'wrong-response',
    });
  });

  it('refuses a replayed request: the same nonce-count twice, or a lower one', async () => {
    const { auth, roundTrip, ua } = setup();
    const { retry, second } = await roundTrip(request({ method: 'INFO', toTag: 'b2' }));
    expect(second.ok).toBe(true);
    const replay = await auth.verify(retry);
    expect(replay).toMatchObject({ ok: false, status: 401, reason: 'replay' });

    // nc 2 then nc 3 accepted; then nc 2 again refused.
    const r2 = request({ method: 'INFO', toTag: 'b2', cseq: 10 });
    const r3 = request({ method: 'INFO', toTag: 'b2', cseq: 11 });
    const c2 = withCredentials(r2, ua.authorize(r2)!, { cseq: 10, branch: 'z9hG4bK10' });
    const c3 = withCredentials(r3, ua.authorize(r3)!, { cseq: 11, branch: 'z9hG4bK11' });
    expect(param(c3.headers['authorization']![0]!, 'nc')).toBe('00000003');
    expect(await auth.verify(c3)).toMatchObject({ ok: true });
    expect(await auth.verify(c2)).toMatchObject({ ok: false, reason: 'replay' });
  });

  it('refuses a nonce it did not make, and one whose bytes were changed', async () => {
    const { auth, roundTrip } = setup();
    const { retry } = await roundTrip(request());
    const value = retry.headers['authorization']![0]!;
    const nonce = param(value, 'nonce')!;
    const tampered = nonce.slice(0, -1) + (nonce.endsWith('0') ? '1' : '0');
    for (const n of ['forged', tampered, nonce.toUpperCase()]) {
      const forged = {
        ...retry,
        headers: { ...retry.headers, authorization: [value.replace(nonce, n)] },
      };
      expect(await auth.verify(forged), n).toMatchObject({
        ok: false,
        status: 401,
        reason: 'nonce',
      });
    }
  });

  it('refuses a nonce made by a server with another secret', async () => {
    const a = setup({ secret: 'one' });
    // Same random source, so the same opaque: only the secret differs.
    const b = new DigestServer({
      realm: REALM,
      lookup: async () => ({ password: 'controller-pw' }),
      secret: 'two',
      clock: a.clock,
      ids: createIdGenerator(seededRandom(7)),
    });
    const { retry, second } = await a.roundTrip(request());
    expect(second.ok).toBe(true);
    expect(await b.verify(retry)).toMatchObject({ ok: false, reason: 'nonce' });
  });

  it('keeps at most maxServerNonces nonces and answers an evicted one with stale=true', async () => {
    const { auth, ua } = setup({ limits: { maxServerNonces: 3 } });
    const req = request();
    const first = await auth.verify(req);
    if (first.ok) throw new Error('expected a challenge');
    for (let i = 0; i < 5; i++) auth.challenge();
    expect(auth.trackedNonces).toBe(3);
    const a = ua.answer(req, responseWith(req, first));
    if (!a.ok) throw a.error;
    expect(
      await auth.verify(withCredentials(req, a.value, { cseq: 2, branch: 'z9hG4bK2' })),
    ).toMatchObject({
      ok: false,
      reason: 'stale',
    });
  });

  it('drops expired nonces from its table when it issues new ones', () => {
    const { auth, clock } = setup({ nonceLifetimeMs: 1_000 });
    for (let i = 0; i < 10; i++) auth.challenge();
    expect(auth.trackedNonces).toBe(10);
    clock.tick(1_001);
    auth.challenge();
    expect(auth.trackedNonces).toBe(1);
  });

  it('answers 403 without a challenge when the policy refuses the identity, and passes it the request', async () => {
    const policy = vi.fn(
      (identity: { username: string }, req: SipRequest) =>
        identity.username === 'cti' && req.uri.startsWith('sip:1002@'),
    );
    const { roundTrip } = setup({ policy });
    const { second } = await roundTrip(request({ uri: 'sip:1001@192.0.2.10' }));
    expect(second).toEqual({
      ok: false,
      status: 403,
      reasonPhrase: 'Forbidden',
      reason: 'forbidden',
      headers: {},
    });
    expect(policy).toHaveBeenCalledWith(
      { username: 'cti', realm: REALM, algorithm: 'SHA-256' },
      expect.objectContaining({ method: 'INVITE' }),
    );
    const allowed = await setup({ policy }).roundTrip(request({ uri: 'sip:1002@192.0.2.11' }));
    expect(allowed.second.ok).toBe(true);
  });

  it('challenges an in-dialog INFO and accepts the answer', async () => {
    const { roundTrip } = setup();
    const info = request({
      method: 'INFO',
      uri: 'sip:cti@192.0.2.1:5060;transport=tcp',
      toTag: 'b2',
      cseq: 5,
      headers: { 'Content-Type': 'application/csta+xml' },
      body: '<MonitorStart/>',
    });
    const { first, retry, second } = await roundTrip(info);
    expect(first).toMatchObject({ ok: false, status: 401 });
    expect(retry.method).toBe('INFO');
    expect(param(retry.headers['authorization']![0]!, 'uri')).toBe(
      'sip:cti@192.0.2.1:5060;transport=tcp',
    );
    expect(second).toMatchObject({ ok: true, identity: { username: 'cti' } });
  });

  it('refuses credentials whose digest-uri is not the Request-URI', async () => {
    const { auth, roundTrip } = setup();
    const { retry } = await roundTrip(request());
    const moved = { ...retry, uri: 'sip:1002@192.0.2.10:5060' };
    expect(await auth.verify(moved)).toMatchObject({ ok: false, reason: 'uri' });
  });

  it('works as a proxy: 407 with Proxy-Authenticate, Proxy-Authorization read', async () => {
    const { roundTrip } = setup({ proxy: true });
    const { first, retry, second } = await roundTrip(request());
    expect(first).toMatchObject({
      ok: false,
      status: 407,
      reasonPhrase: 'Proxy Authentication Required',
    });
    if (first.ok) return;
    expect(first.headers['proxy-authenticate']).toHaveLength(2);
    expect(retry.headers['proxy-authorization']).toHaveLength(1);
    expect(second.ok).toBe(true);
  });

  it('treats credentials for another realm as missing and unreadable ones as malformed', async () => {
    const { auth } = setup();
    const other = serializeDigestCredentials({
      username: 'u',
      realm: 'elsewhere',
      nonce: 'n',
      uri: 'sip:x@y',
      response: '00',
    });
    expect(await auth.verify(request({ headers: { Authorization: other } }))).toMatchObject({
      ok: false,
      reason: 'missing',
    });
    expect(
      await auth.verify(request({ headers: { Authorization: 'Digest username="u' } })),
    ).toMatchObject({
      ok: false,
      status: 401,
      reason: 'malformed',
    });
    const noQop = serializeDigestCredentials({
      username: 'u',
      realm: REALM,
      nonce: 'n',
      uri: 'sip:x@y',
      response: '00',
    });
    expect(await auth.verify(request({ headers: { Authorization: noQop } }))).toMatchObject({
      ok: false,
      reason: 'malformed',
    });
  });

  it('refuses an algorithm it did not offer and an opaque it did not send', async () => {
    const { auth, roundTrip } = setup({ algorithms: ['SHA-256'] });
    const { retry } = await roundTrip(request());
    const value = retry.headers['authorization']![0]!;
    const md5 = {
      ...retry,
      headers: {
        ...retry.headers,
        authorization: [value.replace('algorithm=SHA-256', 'algorithm=MD5')],
      },
    };
    expect(await auth.verify(md5)).toMatchObject({ ok: false, reason: 'algorithm' });
    const opaque = param(value, 'opaque')!;
    const changed = {
      ...retry,
      headers: { ...retry.headers, authorization: [value.replace(opaque, 'other')] },
    };
    expect(await auth.verify(changed)).toMatchObject({ ok: false, reason: 'opaque' });
  });

  it('rejects when the credential lookup fails, rather than answering for it', async () => {
    const { auth, ua } = setup({ lookup: async () => Promise.reject(new Error('database down')) });
    const req = request();
    const first = await auth.verify(req);
    if (first.ok) throw new Error('expected a challenge');
    const a = ua.answer(req, responseWith(req, first));
    if (!a.ok) throw a.error;
    await expect(
      auth.verify(withCredentials(req, a.value, { cseq: 2, branch: 'z9hG4bK2' })),
    ).rejects.toThrow('database down');
  });

  it('throws ERR_INVALID_ARG for options it cannot use', () => {
    const lookup = async () => undefined;
    expect(() => new DigestServer({ realm: 'a\r\nb', lookup })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
    );
    expect(() => new DigestServer({ realm: 'r', lookup, algorithms: [] })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
    );
    expect(() => new DigestServer({ realm: 'r', lookup, nonceLifetimeMs: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
    );
  });
});
