import { describe, expect, it } from 'vitest';
import { parseSipMessage } from '../../../../src/sip/message/parse.js';
import { isRfc3261Branch, MAX_CSEQ } from '../../../../src/sip/message/validate.js';

const enc = new TextEncoder();

/** A request as bytes: the start line, then header lines (null leaves the default out). */
function sipRequest(
  opts: { start?: string; headers?: Record<string, string | null> } = {},
): Uint8Array {
  const headers: Record<string, string | null> = {
    Via: 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9',
    'Max-Forwards': '70',
    From: '<sip:cti@example.com>;tag=1928301774',
    To: '<sip:1001@pbx.example.com>;tag=a6c85cf',
    'Call-ID': 'a84b4c76e66710@example.com',
    CSeq: '3 INFO',
    'Content-Length': '0',
    ...opts.headers,
  };
  const lines = [opts.start ?? 'INFO sip:1001@pbx.example.com SIP/2.0'];
  for (const [name, value] of Object.entries(headers))
    if (value !== null) lines.push(`${name}: ${value}`);
  return enc.encode(lines.join('\r\n') + '\r\n\r\n');
}

function sipResponse(statusLine: string, headers: Record<string, string> = {}): Uint8Array {
  const all: Record<string, string> = {
    Via: 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK74bf9',
    From: '<sip:cti@example.com>;tag=1928301774',
    To: '<sip:1001@pbx.example.com>;tag=a6c85cf',
    'Call-ID': 'a84b4c76e66710@example.com',
    CSeq: '3 INFO',
    'Content-Length': '0',
    ...headers,
  };
  return enc.encode(
    [statusLine, ...Object.entries(all).map(([n, v]) => `${n}: ${v}`)].join('\r\n') + '\r\n\r\n',
  );
}

/** Expects a semantic error with a status: returns the error for further checks. */
function rejected(bytes: Uint8Array, status: number, reasonPhrase?: string) {
  const r = parseSipMessage(bytes);
  if (r.ok) throw new Error(`expected ${status}, got a ${r.value.kind}`);
  expect(r.error.code).toBe('SIP_ERR_SEMANTIC');
  expect(r.error.status).toBe(status);
  if (reasonPhrase !== undefined) expect(r.error.reasonPhrase).toBe(reasonPhrase);
  expect(r.error.request?.headers['via']?.length).toBeGreaterThan(0);
  return r.error;
}

function dropped(bytes: Uint8Array) {
  const r = parseSipMessage(bytes);
  if (r.ok) throw new Error(`expected a drop, got a ${r.value.kind}`);
  expect(r.error.status).toBeUndefined();
  expect(r.error.request).toBeUndefined();
  return r.error;
}

describe('CSeq (RFC 3261 §8.1.1.5, §20.16)', () => {
  it('rejects a CSeq above 2**31 - 1 as a semantic error with status 400', () => {
    rejected(sipRequest({ headers: { CSeq: '2147483648 INFO' } }), 400, 'CSeq Number Too Large');
    rejected(sipRequest({ headers: { CSeq: '99999999999999999999999999999 INFO' } }), 400);
  });

  it('accepts the largest CSeq, 2**31 - 1, and leading zeros', () => {
    const r = parseSipMessage(sipRequest({ headers: { CSeq: `${MAX_CSEQ} INFO` } }));
    expect(r.ok && r.value.cseq.seq).toBe(2 ** 31 - 1);
    const z = parseSipMessage(sipRequest({ headers: { CSeq: '0009 INFO' } }));
    expect(z.ok && z.value.cseq.seq).toBe(9);
  });

  it('rejects a CSeq method that differs from the request method with 400', () => {
    rejected(sipRequest({ headers: { CSeq: '3 INVITE' } }), 400, 'CSeq Method Mismatch');
    rejected(sipRequest({ headers: { CSeq: '3 info' } }), 400, 'CSeq Method Mismatch');
  });

  it.each(['-1 INFO', '+3 INFO', '3INFO', '3', 'INFO', '0x10 INFO', '3 INFO extra', '١ INFO'])(
    'rejects CSeq %j as not digits-LWS-method with 400',
    (cseq) => {
      rejected(sipRequest({ headers: { CSeq: cseq } }), 400);
    },
  );
});

describe('Max-Forwards (RFC 3261 §20.22)', () => {
  it('rejects Max-Forwards 256 with 400', () => {
    rejected(sipRequest({ headers: { 'Max-Forwards': '256' } }), 400, 'Bad Max-Forwards Header');
  });

  it.each(['-1', '7a', '', '1e2', '0x10', '70 70'])('rejects Max-Forwards %j with 400', (mf) => {
    rejected(sipRequest({ headers: { 'Max-Forwards': mf } }), 400);
  });

  it('accepts 0 and 255 and reads leading zeros', () => {
    for (const [text, value] of [
      ['0', 0],
      ['255', 255],
      ['0068', 68],
    ] as const) {
      const r = parseSipMessage(sipRequest({ headers: { 'Max-Forwards': text } }));
      expect(r.ok && r.value.kind === 'request' && r.value.maxForwards).toBe(value);
    }
  });

  it('accepts a request without Max-Forwards (RFC 2543 peers) and records undefined', () => {
    const r = parseSipMessage(sipRequest({ headers: { 'Max-Forwards': null } }));
    if (!r.ok || r.value.kind !== 'request') throw new Error('expected a request');
    expect(r.value.maxForwards).toBeUndefined();
  });
});

describe('mandatory and single-valued header fields (RFC 3261 §8.1.1, §7.3.1)', () => {
  it.each(['From', 'To', 'Call-ID', 'CSeq'])(
    'answers a request without %s with 400 naming it',
    (name) => {
      const e = rejected(sipRequest({ headers: { [name]: null } }), 400);
      expect(e.reasonPhrase).toBe(`Missing ${name} Header`);
    },
  );

  it('names every missing header at once', () => {
    rejected(sipRequest({ headers: { From: null, To: null } }), 400, 'Missing From, To Headers');
  });

  it('answers a duplicate single-valued header with 400', () => {
    const bytes = enc.encode(
      new TextDecoder()
        .decode(sipRequest())
        .replace('CSeq: 3 INFO\r\n', 'CSeq: 3 INFO\r\nCSeq: 4 INFO\r\n'),
    );
    rejected(bytes, 400, 'Duplicate CSeq Header');
  });

  it('answers a malformed header line and a malformed From with 400', () => {
    rejected(sipRequest({ headers: { 'Bad Name': 'x' } }), 400, 'Malformed Header Line');
    rejected(
      sipRequest({ headers: { From: '"unclosed <sip:a@h>;tag=1' } }),
      400,
      'Bad From Header',
    );
    rejected(sipRequest({ headers: { To: '<sip:a@h' } }), 400, 'Bad To Header');
    rejected(sipRequest({ headers: { 'Call-ID': 'a b' } }), 400, 'Bad Call-ID Header');
    rejected(
      sipRequest({ headers: { Via: 'SIP/2.0/UDP h;;branch=z9hG4bK1' } }),
      400,
      'Bad Via Header',
    );
    rejected(sipRequest({ headers: { Subject: 'a\rInjected: b' } }), 400, 'Malformed Header Line');
  });
});

describe('Content-Length on a datagram (RFC 3261 §18.3)', () => {
  it.each(['-1', '1.0', 'abc', '0x0', ''])('answers Content-Length %j with 400', (cl) => {
    rejected(sipRequest({ headers: { 'Content-Length': cl } }), 400);
  });

  it('answers a Content-Length above the bytes present with 400', () => {
    rejected(
      sipRequest({ headers: { 'Content-Length': '10' } }),
      400,
      'Body Shorter Than Content-Length',
    );
  });
});

describe('start line', () => {
  it('answers SIP/3.0 with 505 (RFC 3261 §21.5.7)', () => {
    rejected(
      sipRequest({ start: 'INFO sip:1001@pbx.example.com SIP/3.0' }),
      505,
      'Version Not Supported',
    );
  });

  it('answers extra SP, trailing SP, <> and LWS in the Request-URI with 400', () => {
    rejected(
      sipRequest({ start: 'INFO  sip:1001@pbx.example.com SIP/2.0' }),
      400,
      'Bad Request-Line',
    );
    rejected(
      sipRequest({ start: 'INFO sip:1001@pbx.example.com SIP/2.0 ' }),
      400,
      'Bad Request-Line',
    );
    rejected(
      sipRequest({ start: 'INFO <sip:1001@pbx.example.com> SIP/2.0' }),
      400,
      'Bad Request-URI',
    );
    rejected(
      sipRequest({ start: 'INFO sip:1001@pbx.example.com; lr SIP/2.0' }),
      400,
      'Bad Request-URI',
    );
    rejected(
      sipRequest({ start: 'INFO sip:1001@pbx.example.com?Route=x SIP/2.0' }),
      400,
      'Bad Request-URI',
    );
  });

  it('answers a Request-URI scheme it does not serve with 416 (RFC 3261 §8.2.2.1)', () => {
    rejected(
      sipRequest({ start: 'INFO http://example.com/ SIP/2.0' }),
      416,
      'Unsupported URI Scheme',
    );
    for (const uri of ['sip:1001@h', 'SIPS:1001@h', 'tel:+4930123']) {
      expect(parseSipMessage(sipRequest({ start: `INFO ${uri} SIP/2.0` })).ok, uri).toBe(true);
    }
  });

  it('drops responses that break a rule instead of answering them', () => {
    expect(dropped(sipResponse('SIP/2.0 099 Too Low')).code).toBe('SIP_ERR_SEMANTIC');
    expect(dropped(sipResponse('SIP/2.0 700 Too High')).code).toBe('SIP_ERR_SEMANTIC');
    expect(dropped(sipResponse('SIP/3.0 200 OK')).code).toBe('SIP_ERR_SEMANTIC');
    expect(dropped(sipResponse('SIP/2.0 200 OK', { CSeq: '2147483648 INFO' })).code).toBe(
      'SIP_ERR_SEMANTIC',
    );
    expect(parseSipMessage(sipResponse('SIP/2.0 100 Trying')).ok).toBe(true);
    expect(parseSipMessage(sipResponse('SIP/2.0 699 Last')).ok).toBe(true);
  });
});

describe('Via branch (RFC 3261 §8.1.1.7, §17.2.3)', () => {
  it('accepts a Via without branch and records it as undefined (RFC 2543)', () => {
    const r = parseSipMessage(sipRequest({ headers: { Via: 'SIP/2.0/UDP 192.0.2.10' } }));
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.via[0]?.branch).toBeUndefined();
    expect(isRfc3261Branch(r.value.via[0]?.branch)).toBe(false);
  });

  it('tells RFC 3261 branches from others', () => {
    expect(isRfc3261Branch('z9hG4bK776asdhds')).toBe(true);
    expect(isRfc3261Branch('z9hG4bK')).toBe(false);
    expect(isRfc3261Branch('390skdjuw')).toBe(false);
    expect(isRfc3261Branch(undefined)).toBe(false);
  });
});
