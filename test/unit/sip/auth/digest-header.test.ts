import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseAuthHeader,
  parseDigestChallenges,
  parseDigestCredentials,
  serializeDigestChallenge,
  serializeDigestCredentials,
  toDigestAlgorithm,
} from '../../../../src/sip/auth/digest-header.js';

// RFC 7616 §3.9.1: the two challenges of the example, SHA-256 first.
const RFC_SHA256_CHALLENGE =
  'Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm=SHA-256, ' +
  'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';
const RFC_SHA256_CREDENTIALS =
  'Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, ' +
  'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", nc=00000001, ' +
  'cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, ' +
  'response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1", ' +
  'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"';

function code(r: { ok: boolean; error?: { code: string } }): string | undefined {
  return r.ok ? undefined : r.error?.code;
}

describe('parseDigestChallenges', () => {
  it('reads the RFC 7616 §3.9.1 challenge: realm, qop list, algorithm, nonce, opaque', () => {
    const r = parseDigestChallenges(RFC_SHA256_CHALLENGE);
    if (!r.ok) throw r.error;
    expect(r.value).toHaveLength(1);
    expect(r.value[0]).toMatchObject({
      realm: 'http-auth@example.org',
      qop: ['auth', 'auth-int'],
      algorithm: 'SHA-256',
      nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
      opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
      stale: false,
      domain: undefined,
    });
  });

  it('reads several challenges in one header value and skips other schemes (RFC 7235 §4.1)', () => {
    const r = parseDigestChallenges(
      'Newauth realm="apps", type=1, title="Login to \\"apps\\"", Basic realm="simple", ' +
        'Digest realm="pbx", nonce="n1", algorithm=SHA-256, Digest realm="pbx", nonce="n1", algorithm=MD5',
    );
    if (!r.ok) throw r.error;
    expect(r.value.map((c) => c.algorithm)).toEqual(['SHA-256', 'MD5']);
  });

  it('treats names and the scheme without regard to case and takes MD5 when algorithm is absent', () => {
    const r = parseDigestChallenges('DIGEST REALM="pbx", Nonce="abc", QOP="AUTH", Stale=TRUE');
    if (!r.ok) throw r.error;
    expect(r.value[0]).toMatchObject({
      realm: 'pbx',
      nonce: 'abc',
      qop: ['auth'],
      stale: true,
      algorithm: 'MD5',
    });
  });

  it('resolves quoted-pairs in quoted values and accepts bare values that are not tokens', () => {
    const r = parseDigestChallenges('Digest realm="a\\"b\\\\c", nonce=ab/c+d==, opaque = "x"');
    if (!r.ok) throw r.error;
    expect(r.value[0]).toMatchObject({ realm: 'a"b\\c', nonce: 'ab/c+d==', opaque: 'x' });
  });

  it('refuses a Digest challenge without a nonce or without a realm', () => {
    expect(code(parseDigestChallenges('Digest realm="pbx"'))).toBe('SIP_ERR_AUTH_HEADER');
    expect(code(parseDigestChallenges('Digest nonce="n"'))).toBe('SIP_ERR_AUTH_HEADER');
  });
});

describe('parseAuthHeader', () => {
  it('reads a token68 item and a parameter list after it', () => {
    const r = parseAuthHeader('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==, Digest realm="r", nonce="n"');
    if (!r.ok) throw r.error;
    expect(r.value[0]).toMatchObject({ scheme: 'Basic', token68: 'QWxhZGRpbjpvcGVuIHNlc2FtZQ==' });
    expect(r.value[1]).toMatchObject({
      scheme: 'Digest',
      token68: undefined,
      params: { realm: 'r', nonce: 'n' },
    });
  });

  it('refuses an unclosed quote, a repeated parameter, a parameter before any scheme and stray text', () => {
    expect(code(parseAuthHeader('Digest realm="pbx, nonce="n'))).toBe('SIP_ERR_AUTH_HEADER');
    expect(code(parseAuthHeader('Digest realm="a", REALM="b", nonce="n"'))).toBe(
      'SIP_ERR_AUTH_HEADER',
    );
    expect(code(parseAuthHeader('realm="a", nonce="n"'))).toBe('SIP_ERR_AUTH_HEADER');
    expect(code(parseAuthHeader('Digest realm="a" nonce="n"'))).toBe('SIP_ERR_AUTH_HEADER');
    expect(code(parseAuthHeader('Digest realm="a", nonce='))).toBe('SIP_ERR_AUTH_HEADER');
    expect(code(parseAuthHeader('   '))).toBe('SIP_ERR_AUTH_HEADER');
  });

  it('refuses a value over maxAuthHeaderBytes, counted in UTF-8 bytes', () => {
    const realm = 'ü'.repeat(60); // 120 bytes, 60 characters
    const value = `Digest realm="${realm}", nonce="n"`;
    expect(parseAuthHeader(value, { maxAuthHeaderBytes: 150 }).ok).toBe(true);
    expect(code(parseAuthHeader(value, { maxAuthHeaderBytes: 100 }))).toBe('SIP_ERR_AUTH_HEADER');
  });

  it('refuses more than maxAuthParams parameters', () => {
    const params = Array.from({ length: 33 }, (_, i) => `p${i}=v`).join(', ');
    expect(code(parseAuthHeader(`Digest ${params}`))).toBe('SIP_ERR_AUTH_HEADER');
    expect(parseAuthHeader(`Digest ${params}`, { maxAuthParams: 33 }).ok).toBe(true);
  });

  it('never throws on arbitrary text and answers every failure with SIP_ERR_AUTH_HEADER', () => {
    const alphabet = fc.constantFrom(...'Digest realm=",\\ \t=nonce/+;<>é'.split(''));
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: alphabet, maxLength: 300 })),
        (s) => {
          const r = parseAuthHeader(s);
          return r.ok ? r.value.length > 0 : r.error.code === 'SIP_ERR_AUTH_HEADER';
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('reads adversarial long input in linear time', () => {
    const inputs = [
      'Digest ' + 'a=b,'.repeat(1_000),
      'Digest realm="' + '\\"'.repeat(1_900) + '"',
      'Digest ' + ','.repeat(4_000),
      'x '.repeat(2_000),
    ];
    const t = performance.now();
    for (const s of inputs)
      parseAuthHeader(s, { maxAuthHeaderBytes: Infinity, maxAuthParams: Infinity });
    expect(performance.now() - t).toBeLessThan(200);
  });
});

describe('parseDigestCredentials', () => {
  it('reads the RFC 7616 §3.9.1 SHA-256 Authorization value', () => {
    const r = parseDigestCredentials(RFC_SHA256_CREDENTIALS);
    if (!r.ok) throw r.error;
    expect(r.value).toMatchObject({
      username: 'Mufasa',
      realm: 'http-auth@example.org',
      uri: '/dir/index.html',
      algorithm: 'SHA-256',
      nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v',
      nc: 1,
      cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ',
      qop: 'auth',
      response: '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1',
      opaque: 'FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS',
    });
  });

  it('refuses credentials missing a mandatory parameter, or with a qop but no cnonce or nc', () => {
    expect(
      code(parseDigestCredentials('Digest username="u", realm="r", nonce="n", uri="sip:a@b"')),
    ).toBe('SIP_ERR_AUTH_HEADER');
    const base = 'Digest username="u", realm="r", nonce="n", uri="sip:a@b", response="00"';
    expect(parseDigestCredentials(base).ok).toBe(true);
    expect(code(parseDigestCredentials(`${base}, qop=auth, nc=00000001`))).toBe(
      'SIP_ERR_AUTH_HEADER',
    );
    expect(code(parseDigestCredentials(`${base}, qop=auth, cnonce="c"`))).toBe(
      'SIP_ERR_AUTH_HEADER',
    );
  });

  it('reads nc as 8 hex digits and refuses any other form', () => {
    const base =
      'Digest username="u", realm="r", nonce="n", uri="sip:a@b", response="00", qop=auth, cnonce="c"';
    expect(parseDigestCredentials(`${base}, nc=0000001A`)).toMatchObject({
      ok: true,
      value: { nc: 26 },
    });
    expect(code(parseDigestCredentials(`${base}, nc=1`))).toBe('SIP_ERR_AUTH_HEADER');
    expect(code(parseDigestCredentials(`${base}, nc=0000000g`))).toBe('SIP_ERR_AUTH_HEADER');
  });

  it('refuses two credentials in one value and a scheme other than Digest', () => {
    const one = 'Digest username="u", realm="r", nonce="n", uri="sip:a@b", response="00"';
    expect(code(parseDigestCredentials(`${one}, ${one}`))).toBe('SIP_ERR_AUTH_HEADER');
    expect(code(parseDigestCredentials('Basic QWxh'))).toBe('SIP_ERR_AUTH_HEADER');
  });
});

describe('serializeDigestChallenge and serializeDigestCredentials', () => {
  it('write what the readers read back, escaping quotes and backslashes', () => {
    const challenge = serializeDigestChallenge({
      realm: 'pbx "main" \\ 1',
      nonce: 'n1',
      opaque: 'o',
      algorithm: 'SHA-256',
      qop: ['auth'],
      stale: true,
    });
    expect(challenge).toBe(
      'Digest realm="pbx \\"main\\" \\\\ 1", nonce="n1", opaque="o", stale=true, algorithm=SHA-256, qop="auth"',
    );
    expect(parseDigestChallenges(challenge)).toMatchObject({
      ok: true,
      value: [
        {
          realm: 'pbx "main" \\ 1',
          nonce: 'n1',
          opaque: 'o',
          stale: true,
          algorithm: 'SHA-256',
          qop: ['auth'],
        },
      ],
    });
    const credentials = serializeDigestCredentials({
      username: 'Müller "x"',
      realm: 'pbx',
      nonce: 'n1',
      uri: 'sip:1001@pbx',
      response: 'ab',
      algorithm: 'MD5',
      cnonce: 'c',
      qop: 'auth',
      nc: 10,
    });
    expect(credentials).toContain('qop=auth, nc=0000000a');
    expect(parseDigestCredentials(credentials)).toMatchObject({
      ok: true,
      value: { username: 'Müller "x"', uri: 'sip:1001@pbx', nc: 10, qop: 'auth', cnonce: 'c' },
    });
  });

  it('throw ERR_INVALID_ARG on CR, LF or NUL and on a non-token algorithm', () => {
    expect(() => serializeDigestChallenge({ realm: 'a\r\nX: y', nonce: 'n' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
    );
    expect(() =>
      serializeDigestChallenge({ realm: 'a', nonce: 'n', algorithm: 'SHA 256' }),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
    expect(() =>
      serializeDigestCredentials({
        username: 'u\0',
        realm: 'r',
        nonce: 'n',
        uri: 'sip:a@b',
        response: '0',
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
  });
});

describe('toDigestAlgorithm', () => {
  it('names the four supported algorithms in any case and nothing else', () => {
    expect(toDigestAlgorithm('md5')).toBe('MD5');
    expect(toDigestAlgorithm('sha-256-SESS')).toBe('SHA-256-sess');
    expect(toDigestAlgorithm('SHA-512-256')).toBeUndefined();
    expect(toDigestAlgorithm('AKAv1-MD5')).toBeUndefined();
  });
});
