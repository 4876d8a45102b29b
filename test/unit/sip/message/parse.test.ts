import { describe, expect, it } from 'vitest';
import { SIP_LIMITS } from '../../../../src/limits.js';
import {
  findHeaderEnd,
  parseSipMessage,
  resolveSipLimits,
} from '../../../../src/sip/message/parse.js';
import type { SipMessage, SipRequest } from '../../../../src/sip/message/types.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

/** An INFO as bytes; `over` replaces header lines by name, `body` is text written as UTF-8. */
function info(
  opts: {
    headers?: Record<string, string | null>;
    body?: string;
    contentLength?: string | null;
  } = {},
): Uint8Array {
  const body = enc.encode(opts.body ?? '');
  const base: Record<string, string | null> = {
    Via: 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9',
    'Max-Forwards': '70',
    From: '<sip:cti@example.com>;tag=1928301774',
    To: '<sip:1001@pbx.example.com>;tag=a6c85cf',
    'Call-ID': 'a84b4c76e66710@example.com',
    CSeq: '3 INFO',
    'Content-Type': 'application/csta+xml',
    ...opts.headers,
  };
  const lines = ['INFO sip:1001@pbx.example.com SIP/2.0'];
  for (const [name, value] of Object.entries(base))
    if (value !== null) lines.push(`${name}: ${value}`);
  const cl = opts.contentLength === undefined ? String(body.length) : opts.contentLength;
  if (cl !== null) lines.push(`Content-Length: ${cl}`);
  const head = enc.encode(lines.join('\r\n') + '\r\n\r\n');
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

function accept(bytes: Uint8Array, limits?: Parameters<typeof parseSipMessage>[1]): SipMessage {
  const r = parseSipMessage(bytes, limits);
  if (!r.ok) throw new Error(`expected a message, got ${r.error.code}: ${r.error.message}`);
  return r.value;
}

function request(bytes: Uint8Array): SipRequest {
  const m = accept(bytes);
  if (m.kind !== 'request') throw new Error('expected a request');
  return m;
}

describe('parseSipMessage: the header-section boundary', () => {
  it('finds the empty line on bytes and takes Content-Length bytes as the body', () => {
    const m = request(info({ body: '<x/>' }));
    expect(dec.decode(m.body)).toBe('<x/>');
    expect(m.method).toBe('INFO');
    expect(m.cseq).toEqual({ seq: 3, method: 'INFO' });
  });

  it('counts Content-Length in bytes: a UTF-8 body "Müller €" is 11 bytes and survives exactly', () => {
    const text = '<deviceID>Müller €</deviceID>';
    const bytes = info({ body: text });
    const m = request(bytes);
    expect(m.headers['content-length']).toEqual(['32']);
    expect(m.body.length).toBe(32);
    expect(text.length).toBe(29);
    expect(dec.decode(m.body)).toBe(text);
    expect([...m.body.subarray(10, 21)]).toEqual([...enc.encode('Müller €')]);
  });

  it('refuses a UTF-8 body whose Content-Length counts characters instead of bytes', () => {
    const r = parseSipMessage(info({ body: 'Müller €', contentLength: '8' }));
    // 8 < 11 bytes: the rest is discarded (RFC 3261 §18.3), so the body is cut, never mis-decoded silently
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.body.length).toBe(8);
    const short = parseSipMessage(info({ body: 'Müller €', contentLength: '12' }));
    if (short.ok) throw new Error('expected a 400');
    expect(short.error.status).toBe(400);
  });

  it('accepts bare LF line ends and an LF LF boundary', () => {
    const text =
      'OPTIONS sip:a@example.com SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:b@example.com>;tag=1\nTo: <sip:a@example.com>\nCall-ID: lf@h\nCSeq: 1 OPTIONS\nContent-Length: 2\n\nok';
    const m = request(enc.encode(text));
    expect(m.method).toBe('OPTIONS');
    expect(m.callId).toBe('lf@h');
    expect(dec.decode(m.body)).toBe('ok');
  });

  it('locates the boundary for CRLF CRLF, LF LF and the mixtures', () => {
    for (const [sep, bodyStart] of [
      ['\r\n\r\n', 8],
      ['\n\n', 6],
      ['\n\r\n', 7],
      ['\r\n\n', 7],
    ] as const) {
      const b = enc.encode(`A: b${sep}body`);
      expect(findHeaderEnd(b, 0, b.length), JSON.stringify(sep)).toBe(bodyStart);
    }
    const partial = enc.encode('A: b\r\n\r');
    expect(findHeaderEnd(partial, 0, partial.length)).toBe(-1 - 5);
  });

  it('ignores CRLF before the start line (RFC 3261 §7.5)', () => {
    const bytes = info();
    const padded = new Uint8Array(bytes.length + 4);
    padded.set(enc.encode('\r\n\r\n'), 0);
    padded.set(bytes, 4);
    expect(request(padded).method).toBe('INFO');
  });

  it('takes the body to the end of the datagram when Content-Length is absent (RFC 3261 §18.3)', () => {
    const m = request(info({ body: 'rest of datagram', contentLength: null }));
    expect(dec.decode(m.body)).toBe('rest of datagram');
  });

  it('discards bytes after Content-Length (RFC 3261 §18.3)', () => {
    const m = request(info({ body: 'abcdef', contentLength: '3' }));
    expect(dec.decode(m.body)).toBe('abc');
  });
});

describe('parseSipMessage: header fields', () => {
  it('expands compact forms to lower-case long names', () => {
    const text = [
      'INVITE sip:a@example.com SIP/2.0',
      'v: SIP/2.0/UDP h;branch=z9hG4bK1',
      'f: <sip:b@example.com>;tag=1',
      't: <sip:a@example.com>',
      'i: compact@h',
      'CSeq: 1 INVITE',
      'm: <sip:b@h>',
      'c: application/sdp',
      'k: timer',
      's: hello',
      'e: gzip',
      'o: presence',
      'u: dialog',
      'r: <sip:c@h>',
      'b: <sip:d@h>',
      'x: 1800',
      'y: abc',
      'l: 0',
      '',
      '',
    ].join('\r\n');
    const m = request(enc.encode(text));
    expect(m.callId).toBe('compact@h');
    expect(m.via[0]?.branch).toBe('z9hG4bK1');
    expect(m.from.params['tag']).toBe('1');
    expect(Object.keys(m.headers).sort()).toEqual(
      [
        'via',
        'from',
        'to',
        'call-id',
        'cseq',
        'contact',
        'content-type',
        'supported',
        'subject',
        'content-encoding',
        'event',
        'allow-events',
        'refer-to',
        'referred-by',
        'session-expires',
        'identity',
        'content-length',
      ].sort(),
    );
  });

  it('keeps header names that only look like known ones (C%6Fntact is not Contact)', () => {
    const m = request(info({ headers: { 'C%6Fntact': '<sip:x@h>' } }));
    expect(m.headers['c%6fntact']).toEqual(['<sip:x@h>']);
    expect(m.headers['contact']).toBeUndefined();
  });

  it('unfolds continuation lines into one SP (RFC 3261 §7.3.1)', () => {
    const m = request(info({ headers: { Subject: 'first\r\n  second\r\n\tthird' } }));
    expect(m.headers['subject']).toEqual(['first second third']);
  });

  it('decodes header text as UTF-8: display names keep their characters', () => {
    const m = request(info({ headers: { From: '"Jürgen Müller €" <sip:jm@example.com>;tag=9' } }));
    expect(m.from.displayName).toBe('Jürgen Müller €');
    expect(m.from.uri).toBe('sip:jm@example.com');
  });

  it('reads Via lists, ports, IPv6 references and parameters', () => {
    const m = request(
      info({
        headers: {
          Via: 'SIP/2.0/tcp [2001:db8::1]:5061;branch=z9hG4bKa;rport;received=2001:db8::9, SIP/2.0/UDP h2',
        },
      }),
    );
    expect(m.via).toEqual([
      {
        transport: 'TCP',
        host: '[2001:db8::1]',
        port: 5061,
        branch: 'z9hG4bKa',
        params: { branch: 'z9hG4bKa', rport: '', received: '2001:db8::9' },
      },
      { transport: 'UDP', host: 'h2', port: undefined, branch: undefined, params: {} },
    ]);
  });

  it('treats __proto__ and constructor from the wire as plain names', () => {
    const m = request(
      info({
        headers: { ['__proto__']: 'x', constructor: 'y', From: '<sip:a@h>;tag=1;__proto__=2' },
      }),
    );
    expect(m.headers['__proto__']).toEqual(['x']);
    expect(m.headers['constructor']).toEqual(['y']);
    expect(m.from.params['__proto__']).toBe('2');
    expect(m.headers['toString']).toBeUndefined();
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });

  it('reads a response with its reason phrase', () => {
    const text =
      'SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:b@h>;tag=1\r\nTo: <sip:a@h>;tag=2\r\nCall-ID: r@h\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n';
    const m = accept(enc.encode(text));
    expect(m.kind).toBe('response');
    if (m.kind !== 'response') return;
    expect(m.status).toBe(486);
    expect(m.reason).toBe('Busy Here');
  });
});

describe('parseSipMessage: unreadable input', () => {
  it.each([
    ['nothing', ''],
    ['only CRLF', '\r\n\r\n'],
    ['text', 'hello world\r\n\r\n'],
    ['no version', 'INVITE sip:a@h\r\nVia: SIP/2.0/UDP h\r\n\r\n'],
    ['HTTP', 'GET / HTTP/1.1\r\nHost: h\r\n\r\n'],
    ['a four-digit status', 'SIP/2.0 2000 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n'],
  ])('drops %s as SIP_ERR_PARSE', (_, text) => {
    const r = parseSipMessage(enc.encode(text));
    if (r.ok) throw new Error('expected an error');
    expect(r.error.code).toBe('SIP_ERR_PARSE');
    expect(r.error.status).toBeUndefined();
  });

  it('drops a request without Via: no response could be routed', () => {
    const r = parseSipMessage(info({ headers: { Via: null } }));
    if (r.ok) throw new Error('expected an error');
    expect(r.error.code).toBe('SIP_ERR_PARSE');
    expect(r.error.status).toBeUndefined();
  });
});

describe('parseSipMessage: limits', () => {
  it('refuses a message above maxMessageBytes', () => {
    const r = parseSipMessage(info({ body: 'x'.repeat(200) }), { maxMessageBytes: 300 });
    if (r.ok) throw new Error('expected an error');
    expect(r.error.code).toBe('SIP_ERR_LIMIT');
    expect(r.error.limit).toBe('maxMessageBytes');
    expect(r.error.limitValue).toBe(300);
  });

  it('refuses a header section above maxHeaderSectionBytes', () => {
    const r = parseSipMessage(info({ headers: { Subject: 'y'.repeat(400) } }), {
      maxHeaderSectionBytes: 400,
    });
    if (r.ok) throw new Error('expected an error');
    expect(r.error.code).toBe('SIP_ERR_LIMIT');
    expect(r.error.limit).toBe('maxHeaderSectionBytes');
  });

  it('refuses more header lines than maxHeaderCount', () => {
    const many: Record<string, string> = {};
    for (let i = 0; i < 130; i++) many[`X-H${i}`] = String(i);
    const r = parseSipMessage(info({ headers: many }));
    if (r.ok) throw new Error('expected an error');
    expect(r.error.code).toBe('SIP_ERR_LIMIT');
    expect(r.error.limit).toBe('maxHeaderCount');
    expect(r.error.limitValue).toBe(SIP_LIMITS.maxHeaderCount);
    expect(parseSipMessage(info({ headers: many }), { maxHeaderCount: 200 }).ok).toBe(true);
  });

  it('refuses a body above maxBodyBytes, by Content-Length or by the bytes present', () => {
    const byLength = parseSipMessage(info({ body: 'z'.repeat(100) }), { maxBodyBytes: 99 });
    if (byLength.ok) throw new Error('expected an error');
    expect(byLength.error.code).toBe('SIP_ERR_LIMIT');
    expect(byLength.error.limit).toBe('maxBodyBytes');
    const byBytes = parseSipMessage(info({ body: 'z'.repeat(100), contentLength: null }), {
      maxBodyBytes: 99,
    });
    if (byBytes.ok) throw new Error('expected an error');
    expect(byBytes.error.limit).toBe('maxBodyBytes');
    expect(parseSipMessage(info({ body: 'z'.repeat(100) }), { maxBodyBytes: 100 }).ok).toBe(true);
  });

  it('lifts a limit only with Infinity and refuses nonsense limits as programmer misuse', () => {
    expect(resolveSipLimits({ maxBodyBytes: Infinity }).maxBodyBytes).toBe(Infinity);
    expect(resolveSipLimits()).toBe(SIP_LIMITS);
    for (const bad of [-1, 1.5, Number.NaN, '10' as unknown as number]) {
      expect(() => parseSipMessage(info(), { maxBodyBytes: bad })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
      );
    }
  });
});
