import { createHash } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { computeDigestResponse, computeHa1 } from '../../../../src/sip/auth/digest.js';
import { DigestClient, withCredentials } from '../../../../src/sip/auth/digest-client.js';
import { parseDigestCredentials } from '../../../../src/sip/auth/digest-header.js';
import { parseSipMessage } from '../../../../src/sip/message/parse.js';
import { serializeSipMessage } from '../../../../src/sip/message/serialize.js';
import type { SipRequest } from '../../../../src/sip/message/types.js';
import type { IdGenerator } from '../../../../src/util/ids.js';
import { challenged, param, request } from './messages.js';

// RFC 7616 §3.9.1, the published example.
const RFC = {
  username: 'Mufasa',
  password: 'Circle of Life',
  realm: 'http-auth@example.org',
  nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
  cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
  opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
  method: 'GET',
  uri: '/dir/index.html',
  // The response values printed in RFC 7616 §3.9.1.
  sha256Response: '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
  md5Response: '8ca523f5e9506fed4657c9700eebdbec',
} as const;

const rfcChallenge = (algorithm: string): string =>
  `Digest realm="${RFC.realm}", qop="auth, auth-int", algorithm=${algorithm}, nonce="${RFC.nonce}", opaque="${RFC.opaque}"`;

/** An id generator whose cnonces (callId) are the given strings, in order. */
function fixedCnonces(...cnonces: string[]): IdGenerator {
  let i = 0;
  return {
    branch: () => 'z9hG4bKtest',
    tag: () => 'tag',
    callId: () => cnonces[Math.min(i++, cnonces.length - 1)]!,
  };
}

const mufasa = () => ({ username: RFC.username, password: RFC.password });

/** The RFC's HTTP request as a request object: only method, uri and body matter to the digest. */
const rfcRequest: SipRequest = { ...request(), method: RFC.method, uri: RFC.uri };

/** H() by node:crypto, to cross-check the implementation independently. */
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

function credentialsOf(value: string | undefined) {
  const r = parseDigestCredentials(value ?? '');
  if (!r.ok) throw r.error;
  return r.value;
}

describe('the RFC 7616 §3.9.1 example', () => {
  it('computes the published SHA-256 and MD5 responses', () => {
    const common = {
      nonce: RFC.nonce,
      qop: 'auth',
      nc: '00000001',
      cnonce: RFC.cnonce,
      method: RFC.method,
      uri: RFC.uri,
    } as const;
    expect(
      computeDigestResponse({
        ...common,
        algorithm: 'SHA-256',
        ha1: computeHa1('SHA-256', RFC.username, RFC.realm, RFC.password),
      }),
    ).toBe(RFC.sha256Response);
    expect(
      computeDigestResponse({
        ...common,
        algorithm: 'MD5',
        ha1: computeHa1('MD5', RFC.username, RFC.realm, RFC.password),
      }),
    ).toBe(RFC.md5Response);
  });

  it('answers the two challenges of the example with SHA-256 and the published response', () => {
    const client = new DigestClient({ credentials: mufasa, ids: fixedCnonces(RFC.cnonce) });
    const a = client.answer(
      rfcRequest,
      challenged(rfcRequest, 401, [rfcChallenge('SHA-256'), rfcChallenge('MD5')]),
    );
    if (!a.ok) throw a.error;
    expect(a.value.header).toBe('authorization');
    expect(a.value.values).toHaveLength(1);
    expect(credentialsOf(a.value.values[0])).toMatchObject({
      username: 'Mufasa',
      realm: RFC.realm,
      uri: RFC.uri,
      algorithm: 'SHA-256',
      nonce: RFC.nonce,
      nc: 1,
      cnonce: RFC.cnonce,
      qop: 'auth',
      response: RFC.sha256Response,
      opaque: RFC.opaque,
    });
  });

  it('answers with MD5 and the published response when the client is limited to MD5', () => {
    const client = new DigestClient({
      credentials: mufasa,
      ids: fixedCnonces(RFC.cnonce),
      algorithms: ['MD5'],
    });
    const a = client.answer(
      rfcRequest,
      challenged(rfcRequest, 401, [rfcChallenge('SHA-256'), rfcChallenge('MD5')]),
    );
    if (!a.ok) throw a.error;
    expect(param(a.value.values[0]!, 'response')).toBe(RFC.md5Response);
    expect(param(a.value.values[0]!, 'algorithm')).toBe('MD5');
  });
});

describe('DigestClient.answer', () => {
  it('takes SHA-256 over MD5 even when MD5 is listed first, and the topmost with server-order', () => {
    const req = request();
    const response = challenged(req, 401, [
      'Digest realm="pbx", nonce="n1", algorithm=MD5, qop="auth"',
      'Digest realm="pbx", nonce="n1", algorithm=SHA-256, qop="auth"',
    ]);
    const strongest = new DigestClient({
      credentials: () => ({ username: 'u', password: 'p' }),
    }).answer(req, response);
    const topmost = new DigestClient({
      credentials: () => ({ username: 'u', password: 'p' }),
      preference: 'server-order',
    }).answer(req, response);
    if (!strongest.ok || !topmost.ok) throw new Error('expected answers');
    expect(param(strongest.value.values[0]!, 'algorithm')).toBe('SHA-256');
    expect(param(topmost.value.values[0]!, 'algorithm')).toBe('MD5');
  });

  it('answers a challenge without qop the RFC 2069 way: no cnonce, no nc, H(HA1:nonce:HA2)', () => {
    const req = request({ method: 'REGISTER', uri: 'sip:example.com' });
    const client = new DigestClient({
      credentials: () => ({ username: '1001', password: 'secret' }),
    });
    const a = client.answer(req, challenged(req, 401, ['Digest realm="example.com", nonce="abc"']));
    if (!a.ok) throw a.error;
    const c = credentialsOf(a.value.values[0]);
    expect(c).toMatchObject({
      qop: undefined,
      nc: undefined,
      cnonce: undefined,
      algorithm: 'MD5',
      uri: 'sip:example.com',
    });
    const ha1 = md5('1001:example.com:secret');
    const ha2 = md5('REGISTER:sip:example.com');
    expect(c.response).toBe(md5(`${ha1}:abc:${ha2}`));
  });

  it('computes MD5-sess and SHA-256-sess with H(A1) over the nonce and cnonce (RFC 7616 §3.4.2)', () => {
    for (const [algorithm, H] of [
      ['MD5-sess', md5],
      ['SHA-256-sess', sha256],
    ] as const) {
      const req = request({ method: 'INFO', toTag: 'b2' });
      const client = new DigestClient({
        credentials: () => ({ username: 'u', password: 'p' }),
        ids: fixedCnonces('c0ffee'),
      });
      const a = client.answer(
        req,
        challenged(req, 401, [`Digest realm="r", nonce="n", algorithm=${algorithm}, qop="auth"`]),
      );
      if (!a.ok) throw a.error;
      const c = credentialsOf(a.value.values[0]);
      const ha1 = H(`${H('u:r:p')}:n:c0ffee`);
      const ha2 = H(`INFO:${req.uri}`);
      expect(c.algorithm).toBe(algorithm);
      expect(c.response, algorithm).toBe(H(`${ha1}:n:00000001:c0ffee:auth:${ha2}`));
    }
  });

  it('answers qop=auth-int over the body when it is the only qop offered', () => {
    const req = request({ method: 'INFO', toTag: 'b2', body: '<MakeCall/>' });
    const client = new DigestClient({
      credentials: () => ({ username: 'u', password: 'p' }),
      ids: fixedCnonces('cn'),
    });
    const a = client.answer(
      req,
      challenged(req, 401, ['Digest realm="r", nonce="n", algorithm=MD5, qop="auth-int"']),
    );
    if (!a.ok) throw a.error;
    const c = credentialsOf(a.value.values[0]);
    const ha2 = md5(`INFO:${req.uri}:${md5('<MakeCall/>')}`);
    expect(c.qop).toBe('auth-int');
    expect(c.response).toBe(md5(`${md5('u:r:p')}:n:00000001:cn:auth-int:${ha2}`));
  });

  it('counts uses of one nonce: 00000001, 00000002, and preemptive credentials take the next count', () => {
    const client = new DigestClient({ credentials: () => ({ username: 'u', password: 'p' }) });
    const challenge = ['Digest realm="pbx", nonce="same", algorithm=SHA-256, qop="auth"'];
    const first = request({ method: 'INFO', cseq: 2, toTag: 'b2' });
    const second = request({ method: 'INFO', cseq: 3, toTag: 'b2' });
    const a1 = client.answer(first, challenged(first, 401, challenge));
    const a2 = client.answer(second, challenged(second, 401, challenge));
    if (!a1.ok || !a2.ok) throw new Error('expected answers');
    expect(param(a1.value.values[0]!, 'nc')).toBe('00000001');
    expect(param(a2.value.values[0]!, 'nc')).toBe('00000002');
    expect(param(a2.value.values[0]!, 'cnonce')).toBe(param(a1.value.values[0]!, 'cnonce'));
    const third = client.authorize(request({ method: 'INFO', cseq: 4, toTag: 'b2' }), {
      realm: 'pbx',
    });
    expect(third?.header).toBe('authorization');
    expect(param(third!.values[0]!, 'nc')).toBe('00000003');
    expect(client.authorize(first, { realm: 'other' })).toBeUndefined();
  });

  it('draws a fresh 128-bit cnonce for each new nonce', () => {
    const client = new DigestClient({ credentials: () => ({ username: 'u', password: 'p' }) });
    const cnonces = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const req = request({ cseq: i + 1 });
      const a = client.answer(
        req,
        challenged(req, 401, [`Digest realm="r", nonce="n${i}", qop="auth"`]),
      );
      if (!a.ok) throw a.error;
      cnonces.add(param(a.value.values[0]!, 'cnonce')!);
    }
    expect(cnonces.size).toBe(50);
    expect([...cnonces].every((c) => /^[0-9a-f]{32}$/.test(c))).toBe(true);
  });

  it('refuses to retry when the server challenges again the credentials it was just given (wrong password)', () => {
    const supplier = vi.fn(() => ({ username: 'u', password: 'wrong' }));
    const client = new DigestClient({ credentials: supplier });
    const req = request();
    const a = client.answer(
      req,
      challenged(req, 401, ['Digest realm="pbx", nonce="n1", qop="auth"']),
    );
    if (!a.ok) throw a.error;
    const retry = withCredentials(req, a.value, { cseq: 2, branch: 'z9hG4bKsecond' });
    const again = client.answer(
      retry,
      challenged(retry, 401, ['Digest realm="pbx", nonce="n2", qop="auth"']),
    );
    expect(again).toMatchObject({ ok: false, error: { code: 'SIP_ERR_AUTH_REFUSED' } });
    expect(supplier).toHaveBeenCalledTimes(1);
  });

  it('retries a stale=true challenge with the new nonce without asking for the password again', () => {
    const supplier = vi.fn(() => ({ username: 'u', password: 'p' }));
    const client = new DigestClient({ credentials: supplier, ids: fixedCnonces('c1', 'c2') });
    const req = request();
    const a = client.answer(
      req,
      challenged(req, 401, ['Digest realm="pbx", nonce="old", algorithm=SHA-256, qop="auth"']),
    );
    if (!a.ok) throw a.error;
    const retry = withCredentials(req, a.value, { cseq: 2, branch: 'z9hG4bKsecond' });
    const b = client.answer(
      retry,
      challenged(retry, 401, [
        'Digest realm="pbx", nonce="new", algorithm=SHA-256, qop="auth", stale=true',
      ]),
    );
    if (!b.ok) throw b.error;
    expect(supplier).toHaveBeenCalledTimes(1);
    const c = credentialsOf(b.value.values[0]);
    expect(c).toMatchObject({ nonce: 'new', nc: 1, cnonce: 'c2', username: 'u' });
    const ha1 = sha256('u:pbx:p');
    expect(c.response).toBe(sha256(`${ha1}:new:00000001:c2:auth:${sha256(`INVITE:${req.uri}`)}`));
  });

  it('stops after maxStaleRetries stale answers in a row, and on a stale answer that repeats the nonce', () => {
    const client = new DigestClient({
      credentials: () => ({ username: 'u', password: 'p' }),
      maxStaleRetries: 2,
    });
    let req = request();
    let r = client.answer(
      req,
      challenged(req, 401, ['Digest realm="pbx", nonce="n0", qop="auth"']),
    );
    for (let i = 1; i <= 3; i++) {
      if (!r.ok) throw r.error;
      req = withCredentials(req, r.value, { cseq: i + 1, branch: `z9hG4bK${i}` });
      r = client.answer(
        req,
        challenged(req, 401, [`Digest realm="pbx", nonce="n${i}", qop="auth", stale=true`]),
      );
      if (i <= 2) expect(r.ok, `stale retry ${i}`).toBe(true);
    }
    expect(r).toMatchObject({ ok: false, error: { code: 'SIP_ERR_AUTH_REFUSED' } });

    const fresh = request({ callId: 'call-2' });
    const a = client.answer(
      fresh,
      challenged(fresh, 401, ['Digest realm="pbx", nonce="x", qop="auth"']),
    );
    if (!a.ok) throw a.error;
    const retry = withCredentials(fresh, a.value, { cseq: 2, branch: 'z9hG4bKx' });
    expect(
      client.answer(
        retry,
        challenged(retry, 401, ['Digest realm="pbx", nonce="x", qop="auth", stale=true']),
      ),
    ).toMatchObject({
      ok: false,
      error: { code: 'SIP_ERR_AUTH_REFUSED' },
    });
  });

  it('counts stale retries per request: nonces that go stale one after another on later requests never hit the limit', () => {
    const client = new DigestClient({
      credentials: () => ({ username: 'u', password: 'p' }),
      maxStaleRetries: 1,
    });
    let req = request({ method: 'INFO', toTag: 'b2' });
    const a = client.answer(
      req,
      challenged(req, 401, ['Digest realm="pbx", nonce="n0", qop="auth"']),
    );
    if (!a.ok) throw a.error;
    for (let i = 1; i <= 5; i++) {
      // A later INFO reuses the latest nonce, which has expired meanwhile.
      const next = request({ method: 'INFO', toTag: 'b2', cseq: 10 * i });
      req = withCredentials(next, client.authorize(next)!, { cseq: 10 * i, branch: `z9hG4bK${i}` });
      const r = client.answer(
        req,
        challenged(req, 401, [`Digest realm="pbx", nonce="n${i}", qop="auth", stale=true`]),
      );
      expect(r.ok, `request ${i}`).toBe(true);
    }
  });

  it('says SIP_ERR_AUTH_NO_CREDENTIALS when the supplier has nothing for the realm', () => {
    const client = new DigestClient({
      credentials: (realm) => (realm === 'mine' ? { username: 'u', password: 'p' } : undefined),
    });
    const req = request();
    expect(
      client.answer(req, challenged(req, 401, ['Digest realm="theirs", nonce="n", qop="auth"'])),
    ).toMatchObject({
      ok: false,
      error: { code: 'SIP_ERR_AUTH_NO_CREDENTIALS' },
    });
  });

  it('says SIP_ERR_AUTH_UNSUPPORTED for algorithms or qops it cannot answer, and for no challenge at all', () => {
    const client = new DigestClient({ credentials: () => ({ username: 'u', password: 'p' }) });
    const req = request();
    for (const challenges of [
      ['Digest realm="r", nonce="n", algorithm=SHA-512-256, qop="auth"'],
      ['Digest realm="r", nonce="n", algorithm=MD5, qop="auth-conf"'],
      ['Digest realm="r", nonce="n", algorithm=MD5-sess'],
      ['Basic realm="r"'],
      [],
    ]) {
      expect(client.answer(req, challenged(req, 401, challenges)), challenges.join()).toMatchObject(
        {
          ok: false,
          error: { code: 'SIP_ERR_AUTH_UNSUPPORTED' },
        },
      );
    }
  });

  it('reads the good challenge when another header line is unreadable, and fails only when none is', () => {
    const client = new DigestClient({ credentials: () => ({ username: 'u', password: 'p' }) });
    const req = request();
    expect(
      client.answer(
        req,
        challenged(req, 401, ['Digest realm="r', 'Digest realm="r", nonce="n", qop="auth"']),
      ).ok,
    ).toBe(true);
    expect(client.answer(req, challenged(req, 401, ['Digest realm="r']))).toMatchObject({
      ok: false,
      error: { code: 'SIP_ERR_AUTH_HEADER' },
    });
  });

  it('refuses a response with more than maxChallenges challenges', () => {
    const client = new DigestClient({
      credentials: () => ({ username: 'u', password: 'p' }),
      limits: { maxChallenges: 2 },
    });
    const req = request();
    const many = ['a', 'b', 'c'].map((r) => `Digest realm="${r}", nonce="n"`);
    expect(client.answer(req, challenged(req, 401, many))).toMatchObject({
      ok: false,
      error: { code: 'SIP_ERR_AUTH_HEADER' },
    });
  });

  it('answers a 407 with Proxy-Authorization and keeps the credentials already given to another proxy', () => {
    const client = new DigestClient({
      credentials: (realm) => ({ username: `u-${realm}`, password: 'p' }),
    });
    const req = request();
    const a = client.answer(
      req,
      challenged(req, 407, ['Digest realm="proxy1", nonce="n1", qop="auth"']),
    );
    if (!a.ok) throw a.error;
    expect(a.value.header).toBe('proxy-authorization');
    const retry = withCredentials(req, a.value, { cseq: 2, branch: 'z9hG4bK2' });
    const b = client.answer(
      retry,
      challenged(retry, 407, ['Digest realm="proxy2", nonce="n2", qop="auth"']),
    );
    if (!b.ok) throw b.error;
    expect(b.value.realms).toEqual(['proxy2']);
    expect(b.value.values.map((v) => param(v, 'realm'))).toEqual(['proxy2', 'proxy1']);
  });

  it('answers one challenge per realm when a 401 carries two realms (RFC 3261 §22.3)', () => {
    const client = new DigestClient({
      credentials: (realm) => ({ username: realm, password: 'p' }),
    });
    const req = request();
    const a = client.answer(
      req,
      challenged(req, 401, [
        'Digest realm="a", nonce="n", qop="auth"',
        'Digest realm="b", nonce="m", qop="auth"',
      ]),
    );
    if (!a.ok) throw a.error;
    expect(a.value.realms).toEqual(['a', 'b']);
    expect(a.value.values.map((v) => param(v, 'username'))).toEqual(['a', 'b']);
  });

  it('throws ERR_INVALID_ARG when given a response that is not a 401 or 407', () => {
    const client = new DigestClient({ credentials: () => undefined });
    const req = request();
    const ok = { ...challenged(req, 401, []), status: 200 };
    expect(() => client.answer(req, ok)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
    );
  });
});

describe('a challenged in-dialog INFO', () => {
  it('is answered with the Request-URI as digest-uri and INFO in A2, in a retry that keeps the dialog', () => {
    // The phone challenges an INFO inside the CSTA dialog; the wire bytes are what a phone sends.
    const info = request({
      method: 'INFO',
      uri: 'sip:1001@192.0.2.10:5060;transport=udp',
      cseq: 7,
      toTag: 'phone-tag',
      headers: { 'Content-Type': 'application/csta+xml' },
      body: '<MakeCall xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"/>',
    });
    const wire =
      'SIP/2.0 401 Unauthorized\r\n' +
      'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKfirst\r\n' +
      'From: <sip:cti@example.com>;tag=a1\r\n' +
      'To: <sip:1001@example.com>;tag=phone-tag\r\n' +
      'Call-ID: call-1@192.0.2.1\r\n' +
      'CSeq: 7 INFO\r\n' +
      'WWW-Authenticate: Digest realm="phone", nonce="6a1b", algorithm=MD5, qop="auth"\r\n' +
      'Content-Length: 0\r\n\r\n';
    const parsed = parseSipMessage(new TextEncoder().encode(wire));
    if (!parsed.ok || parsed.value.kind !== 'response') throw new Error('expected a response');
    const client = new DigestClient({
      credentials: () => ({ username: 'admin', password: 'pw' }),
      ids: fixedCnonces('cn'),
    });
    const a = client.answer(info, parsed.value);
    if (!a.ok) throw a.error;
    const retry = withCredentials(info, a.value, { cseq: 8, branch: 'z9hG4bKretry' });

    expect(retry.cseq).toEqual({ seq: 8, method: 'INFO' });
    expect(retry.via[0]?.branch).toBe('z9hG4bKretry');
    expect(retry.callId).toBe(info.callId);
    expect(retry.from.params['tag']).toBe('a1');
    expect(retry.to.params['tag']).toBe('phone-tag');
    expect(retry.body).toBe(info.body);
    expect(info.headers['authorization']).toBeUndefined();
    expect(info.cseq.seq).toBe(7);

    const out = parseSipMessage(serializeSipMessage(retry));
    if (!out.ok || out.value.kind !== 'request')
      throw new Error('expected the retry to serialize and parse');
    const c = credentialsOf(out.value.headers['authorization']?.[0]);
    expect(c.uri).toBe('sip:1001@192.0.2.10:5060;transport=udp');
    const ha2 = md5('INFO:sip:1001@192.0.2.10:5060;transport=udp');
    expect(c.response).toBe(md5(`${md5('admin:phone:pw')}:6a1b:00000001:cn:auth:${ha2}`));
  });
});
