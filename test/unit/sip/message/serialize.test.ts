import { describe, expect, it } from 'vitest';
import { parseSipMessage } from '../../../../src/sip/message/parse.js';
import {
  createRequest,
  createResponse,
  serializeErrorResponse,
  serializeSipMessage,
  type SipRequestInit,
} from '../../../../src/sip/message/serialize.js';
import type { SipMessage, SipRequest, Via } from '../../../../src/sip/message/types.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

const topVia: Via = {
  transport: 'UDP',
  host: '198.51.100.20',
  port: 5060,
  branch: 'z9hG4bK776asdhds',
  params: { branch: 'z9hG4bK776asdhds', rport: '' },
};

const infoInit: SipRequestInit = {
  method: 'INFO',
  uri: 'sip:1001@pbx.example.com',
  via: [topVia],
  from: { displayName: 'Müller', uri: 'sip:cti@cti.example.com', params: { tag: '1928301774' } },
  to: { displayName: undefined, uri: 'sip:1001@pbx.example.com', params: {} },
  callId: 'a84b4c76e66710@cti.example.com',
  cseq: 3,
  headers: {
    'Content-Type': 'application/csta+xml',
    'content-disposition': 'signal;handling=required',
  },
  body: '<deviceID>Müller €</deviceID>',
};

function parse(bytes: Uint8Array): SipMessage {
  const r = parseSipMessage(bytes);
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}

function parsedRequest(text: string): SipRequest {
  const m = parse(enc.encode(text));
  if (m.kind !== 'request') throw new Error('expected a request');
  return m;
}

describe('serializeSipMessage', () => {
  it('computes Content-Length from the body bytes, not its characters', () => {
    const bytes = serializeSipMessage(createRequest(infoInit));
    const text = dec.decode(bytes);
    expect(text).toContain('\r\nContent-Length: 32\r\n\r\n<deviceID>Müller €</deviceID>');
    expect(text.endsWith('</deviceID>')).toBe(true);
  });

  it('writes a request that parses back to the same fields (UTF-8 body and display name included)', () => {
    const req = createRequest(infoInit);
    const back = parse(serializeSipMessage(req));
    expect(back).toMatchObject({
      kind: 'request',
      method: 'INFO',
      uri: 'sip:1001@pbx.example.com',
      maxForwards: 70,
      via: [{ transport: 'UDP', host: '198.51.100.20', port: 5060, branch: 'z9hG4bK776asdhds' }],
      from: {
        displayName: 'Müller',
        uri: 'sip:cti@cti.example.com',
        params: { tag: '1928301774' },
      },
      to: { displayName: undefined, uri: 'sip:1001@pbx.example.com', params: {} },
      callId: 'a84b4c76e66710@cti.example.com',
      cseq: { seq: 3, method: 'INFO' },
    });
    expect(dec.decode(back.body)).toBe('<deviceID>Müller €</deviceID>');
    expect(back.headers['content-type']).toEqual(['application/csta+xml']);
    expect(back.headers['content-disposition']).toEqual(['signal;handling=required']);
  });

  it('writes the usual spelling of header names', () => {
    const text = dec.decode(
      serializeSipMessage(
        createRequest({
          ...infoInit,
          headers: { 'www-authenticate': 'x', 'p-asserted-identity': '<sip:a@h>' },
        }),
      ),
    );
    expect(text).toContain('\r\nCall-ID: ');
    expect(text).toContain('\r\nCSeq: 3 INFO\r\n');
    expect(text).toContain('\r\nWWW-Authenticate: x\r\n');
    expect(text).toContain('\r\nP-Asserted-Identity: <sip:a@h>\r\n');
  });

  it('re-serializes a parsed torture message (quoted display names, parameters) to the same fields', () => {
    const req = parsedRequest(
      'INVITE sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h:5070;branch=z9hG4bK1;received=192.0.2.1\r\n' +
        'From: "J \\"R\\" \\\\" <sip:b@example.com>;tag=9;x="a;b"\r\nTo: sip:a@example.com;user=phone\r\n' +
        'Call-ID: rt@h\r\nCSeq: 7 INVITE\r\nX-Thing: v\r\nContent-Length: 0\r\n\r\n',
    );
    const back = parse(serializeSipMessage(req));
    expect(back.from).toEqual(req.from);
    expect(back.to).toEqual(req.to);
    expect(back.via).toEqual(req.via);
    expect(back.headers['x-thing']).toEqual(['v']);
    expect(req.from.displayName).toBe('J "R" \\');
  });

  it.each([
    ['CRLF', 'a\r\nInjected: yes'],
    ['LF', 'a\nb'],
    ['CR', 'a\rb'],
    ['NUL', 'a\u0000b'],
  ])('refuses %s in a header value with ERR_INVALID_ARG', (_, value) => {
    expect(() => createRequest({ ...infoInit, headers: { Subject: value } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
    );
    const req = createRequest(infoInit);
    const forged = { ...req, headers: { ...req.headers, subject: [value] } };
    expect(() => serializeSipMessage(forged)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
    );
  });

  it('refuses CR, LF or NUL anywhere else text goes: reason phrase, display name, URI, Call-ID', () => {
    const req = createRequest(infoInit);
    const bad = [
      () => createResponse(req, 200, 'OK\r\nX: y'),
      () => createRequest({ ...infoInit, from: { ...infoInit.from, displayName: 'a\r\nb' } }),
      () => createRequest({ ...infoInit, uri: 'sip:a@h\r\nX: y' }),
      () => createRequest({ ...infoInit, callId: 'a\nb' }),
      () => createRequest({ ...infoInit, method: 'IN FO' }),
      () => createRequest({ ...infoInit, headers: { 'Bad Name': 'x' } }),
      () => createRequest({ ...infoInit, headers: { 'Content-Length': '5' } }),
      () => createRequest({ ...infoInit, cseq: 2 ** 31 }),
      () => createRequest({ ...infoInit, maxForwards: 256 }),
      () => createResponse(req, 99, 'Low'),
      () => createResponse(req, 200, 'OK', { toTag: 'a b' }),
      () => serializeSipMessage({ ...req, via: [{ ...topVia, params: { x: 'a;b' } }] }),
      () => serializeSipMessage({ ...req, via: [{ ...topVia, params: { x: '"open\\"' } }] }),
    ];
    for (const fn of bad) expect(fn).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG' }));
  });
});

describe('createResponse (RFC 3261 §8.2.6)', () => {
  const req = parsedRequest(
    'INFO sip:1001@pbx.example.com SIP/2.0\r\n' +
      'Via: SIP/2.0/UDP 198.51.100.20:5060;branch=z9hG4bK776asdhds;rport\r\n' +
      'Via: SIP/2.0/TCP proxy.example.com;branch=z9hG4bKp1\r\n' +
      'Max-Forwards: 69\r\nFrom: "CTI" <sip:cti@cti.example.com>;tag=1928301774\r\n' +
      'To: <sip:1001@pbx.example.com>\r\nCall-ID: a84b@cti.example.com\r\nCSeq: 3 INFO\r\n' +
      'Content-Type: application/csta+xml\r\nContent-Length: 0\r\n\r\n',
  );

  it('copies Via, From, To, Call-ID and CSeq, and adds the To tag', () => {
    const res = createResponse(req, 200, 'OK', {
      toTag: 'b7c',
      headers: { 'Content-Type': 'application/csta+xml' },
      body: '<ok/>',
    });
    expect(res.via).toEqual(req.via);
    expect(res.from).toEqual(req.from);
    expect(res.to).toEqual({ ...req.to, params: { tag: 'b7c' } });
    expect(res.callId).toBe(req.callId);
    expect(res.cseq).toEqual(req.cseq);
    const back = parse(serializeSipMessage(res));
    expect(back.kind === 'response' && back.status).toBe(200);
    expect(back.to.params['tag']).toBe('b7c');
    expect(back.via.map((v) => v.branch)).toEqual(['z9hG4bK776asdhds', 'z9hG4bKp1']);
    expect(dec.decode(back.body)).toBe('<ok/>');
  });

  it('does not alias the request: the response shares no object with it', () => {
    const res = createResponse(req, 200, 'OK', { toTag: 'b7c' });
    expect(res.via).not.toBe(req.via);
    res.via.forEach((v, i) => {
      expect(v).not.toBe(req.via[i]);
      expect(v.params).not.toBe(req.via[i]!.params);
    });
    expect(res.from).not.toBe(req.from);
    expect(res.from.params).not.toBe(req.from.params);
    expect(res.to).not.toBe(req.to);
    expect(res.to.params).not.toBe(req.to.params);
    expect(res.cseq).not.toBe(req.cseq);
    expect(res.headers).not.toBe(req.headers);
    // writing through the response (bypassing readonly) leaves the request as it was
    (res.to.params as Record<string, string>)['tag'] = 'changed';
    (res.via[0]!.params as Record<string, string>)['received'] = '203.0.113.9';
    (res.from.params as Record<string, string>)['x'] = 'y';
    expect(req.to.params['tag']).toBeUndefined();
    expect(req.via[0]!.params['received']).toBeUndefined();
    expect(req.from.params['x']).toBeUndefined();
  });

  it('keeps a To tag the request already has', () => {
    const inDialog = createRequest({
      ...infoInit,
      to: { displayName: undefined, uri: 'sip:1001@h', params: { tag: 'old' } },
    });
    expect(createResponse(inDialog, 200, 'OK', { toTag: 'new' }).to.params['tag']).toBe('old');
  });

  it('leaves out of the copy a display name that cannot be sent (NUL from a quoted-pair)', () => {
    const weird = parsedRequest(
      'OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n' +
        'From: <sip:b@example.com>;tag=1\r\nTo: "NUL:\\\u0000" <sip:a@example.com>\r\n' +
        'Call-ID: nul@h\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n',
    );
    expect(weird.to.displayName).toBe('NUL:\u0000');
    const res = createResponse(weird, 501, 'Not Implemented', { toTag: 't' });
    expect(res.to.displayName).toBeUndefined();
    expect(() => serializeSipMessage(res)).not.toThrow();
  });
});

describe('createRequest', () => {
  it('defaults Max-Forwards to 70, takes the CSeq method from the method and copies its input', () => {
    const req = createRequest(infoInit);
    expect(req.maxForwards).toBe(70);
    expect(req.cseq).toEqual({ seq: 3, method: 'INFO' });
    expect(req.via[0]).not.toBe(topVia);
    expect(req.via[0]).toEqual(topVia);
    expect(req.from).not.toBe(infoInit.from);
    const bytes = new Uint8Array([1, 2, 3]);
    const withBytes = createRequest({ ...infoInit, body: bytes });
    bytes[0] = 9;
    expect([...withBytes.body]).toEqual([1, 2, 3]);
  });
});

describe('serializeErrorResponse', () => {
  it('answers a refused request from its raw headers, To tag added', () => {
    const r = parseSipMessage(
      enc.encode(
        'OPTIONS sip:a@example.com SIP/2.0\r\nVia: SIP/2.0/UDP h1;branch=z9hG4bK1\r\nVia: SIP/2.0/TCP h2;branch=z9hG4bK2\r\n' +
          'From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>\r\nCall-ID: e@h\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n',
      ),
    );
    if (r.ok) throw new Error('expected an error');
    const reply = serializeErrorResponse(r.error, 'x1');
    expect(dec.decode(reply)).toBe(
      'SIP/2.0 400 CSeq Method Mismatch\r\nVia: SIP/2.0/UDP h1;branch=z9hG4bK1\r\nVia: SIP/2.0/TCP h2;branch=z9hG4bK2\r\n' +
        'From: <sip:b@example.com>;tag=1\r\nTo: <sip:a@example.com>;tag=x1\r\nCall-ID: e@h\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n',
    );
  });

  it('returns undefined when no response is due', () => {
    const r = parseSipMessage(enc.encode('garbage\r\n\r\n'));
    if (r.ok) throw new Error('expected an error');
    expect(serializeErrorResponse(r.error)).toBeUndefined();
  });
});

describe('byte pools', () => {
  it('cuts serialized messages (kept for Timer J) and bodies on their way (gone soon) from different slabs', () => {
    const response = createResponse(createRequest(infoInit), 200, 'OK', { toTag: 'b2', body: '<x/>', headers: { 'Content-Type': 'application/csta+xml' } });
    const bytes = serializeSipMessage(response);
    expect(dec.decode(bytes).endsWith('<x/>')).toBe(true);
    // a lingering response must not hold the slab its body copy was written to
    expect(bytes.buffer).not.toBe(response.body.buffer);
  });
});
