import { describe, expect, it } from 'vitest';
import { SipStreamFramer, type SipStreamEvent } from '../../../../src/sip/message/framer.js';
import { parseSipMessage } from '../../../../src/sip/message/parse.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

function message(cseq: number, body: string, extra = ''): Uint8Array {
  const b = enc.encode(body);
  const head =
    `INFO sip:1001@pbx.example.com SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.10:5060;branch=z9hG4bK${cseq}\r\n` +
    `Max-Forwards: 70\r\nFrom: <sip:cti@example.com>;tag=1\r\nTo: <sip:1001@pbx.example.com>;tag=2\r\n` +
    `Call-ID: stream@example.com\r\nCSeq: ${cseq} INFO\r\nContent-Type: application/csta+xml\r\n${extra}` +
    `Content-Length: ${b.length}\r\n\r\n`;
  return concat(enc.encode(head), b);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Pushes the chunks through one framer and returns every event. */
function frameAll(chunks: readonly Uint8Array[], framer = new SipStreamFramer()): SipStreamEvent[] {
  return chunks.flatMap((c) => framer.push(c));
}

function frames(events: readonly SipStreamEvent[]): Uint8Array[] {
  return events.flatMap((e) => (e.type === 'message' ? [e.bytes] : []));
}

const wire = message(
  3,
  '<?xml version="1.0"?><MakeCall><callingDevice>Müller €</callingDevice></MakeCall>',
);

describe('SipStreamFramer', () => {
  it('frames one message split at every byte offset exactly once and identically', () => {
    const whole = frames(frameAll([wire]));
    expect(whole).toHaveLength(1);
    expect([...whole[0]!]).toEqual([...wire]);
    for (let cut = 1; cut < wire.length; cut++) {
      const got = frameAll([wire.subarray(0, cut), wire.subarray(cut)]);
      expect(
        got.map((e) => e.type),
        `cut at ${cut}`,
      ).toEqual(['message']);
      expect([...frames(got)[0]!], `cut at ${cut}`).toEqual([...wire]);
    }
  });

  it('frames a message fed one byte at a time', () => {
    const chunks = Array.from(wire, (b) => Uint8Array.of(b));
    const got = frames(frameAll(chunks));
    expect(got).toHaveLength(1);
    expect([...got[0]!]).toEqual([...wire]);
  });

  it('frames pipelined messages in one chunk, in order, each parseable', () => {
    const msgs = [
      message(1, 'a'),
      message(2, ''),
      message(3, 'Müller €'),
      message(4, 'x'.repeat(1000)),
    ];
    const got = frames(frameAll([concat(...msgs)]));
    expect(got.map((f) => [...f])).toEqual(msgs.map((m) => [...m]));
    const parsed = got.map((f) => parseSipMessage(f));
    expect(parsed.map((p) => p.ok && p.value.cseq.seq)).toEqual([1, 2, 3, 4]);
    const third = parsed[2]!;
    expect(third.ok && dec.decode(third.value.body)).toBe('Müller €');
  });

  it('frames pipelined messages split at every offset', () => {
    const both = concat(message(1, 'first'), message(2, 'second'));
    for (let cut = 1; cut < both.length; cut++) {
      const got = frames(frameAll([both.subarray(0, cut), both.subarray(cut)]));
      expect(got.length, `cut at ${cut}`).toBe(2);
      expect(dec.decode(got[1]!).endsWith('second')).toBe(true);
    }
  });

  it('returns frames that later pushes never change', () => {
    const framer = new SipStreamFramer();
    const [first] = framer.push(message(1, 'one'));
    const snapshot = first?.type === 'message' ? [...first.bytes] : [];
    framer.push(message(2, 'two-two-two'));
    expect(first?.type === 'message' && [...first.bytes]).toEqual(snapshot);
  });

  it('reports a CRLF CRLF keep-alive as a ping and a lone CRLF as a pong (RFC 5626 §4.4.1)', () => {
    const framer = new SipStreamFramer();
    expect(framer.push(enc.encode('\r\n\r\n'))).toEqual([{ type: 'ping' }]);
    expect(
      framer
        .push(concat(enc.encode('\r\n\r\n'), message(5, 'x'), enc.encode('\r\n\r\n')))
        .map((e) => e.type),
    ).toEqual(['ping', 'message', 'ping']);
    expect(new SipStreamFramer().push(enc.encode('\r\n'))).toEqual([{ type: 'pong' }]);
    expect(framer.state).toBe('Idle');
  });

  it('answers a ping split across pushes: the first half reads as a pong, the pair as a ping', () => {
    const framer = new SipStreamFramer();
    expect(framer.push(enc.encode('\r'))).toEqual([]);
    expect(framer.push(enc.encode('\n\r\n'))).toEqual([{ type: 'ping' }]);
    expect(framer.push(enc.encode('\r\n'))).toEqual([{ type: 'pong' }]);
    expect(framer.push(enc.encode('\r\n'))).toEqual([{ type: 'ping' }]);
  });

  it('ignores a CRLF before a message (RFC 3261 §7.5)', () => {
    const got = frameAll([concat(enc.encode('\r\n'), wire)]);
    expect(got.map((e) => e.type)).toEqual(['pong', 'message']);
    expect([...frames(got)[0]!]).toEqual([...wire]);
  });

  it('checks the body limit against Content-Length before the body arrives', () => {
    const framer = new SipStreamFramer({ maxBodyBytes: 1000 });
    const head = enc.encode(
      'INFO sip:a@h SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:b@h>;tag=1\r\nTo: <sip:a@h>\r\n' +
        'Call-ID: big@h\r\nCSeq: 1 INFO\r\nContent-Length: 1001\r\n\r\n',
    );
    const events = framer.push(head);
    expect(events).toHaveLength(1);
    const ev = events[0]!;
    if (ev.type !== 'error') throw new Error('expected an error');
    expect(ev.error.code).toBe('SIP_ERR_LIMIT');
    expect(ev.error.limit).toBe('maxBodyBytes');
    expect(framer.state).toBe('Failed');
    expect(framer.bufferedBytes).toBe(0);
    // sticky: the connection is to be closed, nothing more is framed
    expect(framer.push(message(2, 'x')).map((e) => e.type)).toEqual(['error']);
  });

  it('refuses a huge Content-Length without waiting for it', () => {
    const text = 'INFO sip:a@h SIP/2.0\r\nl: 99999999999999999999999\r\n\r\n';
    const [ev] = new SipStreamFramer().push(enc.encode(text));
    expect(ev?.type === 'error' && ev.error.code).toBe('SIP_ERR_LIMIT');
  });

  it('refuses a header section longer than maxHeaderSectionBytes without buffering more', () => {
    const framer = new SipStreamFramer({ maxHeaderSectionBytes: 256 });
    const flood = enc.encode('INFO sip:a@h SIP/2.0\r\nX-Flood: ' + 'y'.repeat(10_000));
    const events = framer.push(flood);
    const ev = events[0]!;
    if (ev.type !== 'error') throw new Error('expected an error');
    expect(ev.error.code).toBe('SIP_ERR_LIMIT');
    expect(ev.error.limit).toBe('maxHeaderSectionBytes');
  });

  it('delivers the messages before a flood, then the error', () => {
    const framer = new SipStreamFramer({ maxHeaderSectionBytes: 1024 });
    const events = framer.push(
      concat(message(1, 'ok'), enc.encode('INFO sip:a@h SIP/2.0\r\nX: ' + 'z'.repeat(2000))),
    );
    expect(events.map((e) => e.type)).toEqual(['message', 'error']);
  });

  it('refuses a message without Content-Length on a stream (RFC 3261 §18.3)', () => {
    const text =
      'INFO sip:a@h SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nCall-ID: x@h\r\n\r\nbody';
    const [ev] = new SipStreamFramer().push(enc.encode(text));
    if (ev?.type !== 'error') throw new Error('expected an error');
    expect(ev.error.code).toBe('SIP_ERR_PARSE');
    expect(ev.error.reasonPhrase).toBe('Missing Content-Length');
  });

  it('refuses a bad or contradictory Content-Length', () => {
    for (const cl of ['Content-Length: -1', 'Content-Length: 1x', 'Content-Length: 1\r\nl: 2']) {
      const [ev] = new SipStreamFramer().push(enc.encode(`INFO sip:a@h SIP/2.0\r\n${cl}\r\n\r\n`));
      expect(ev?.type === 'error' && ev.error.code, cl).toBe('SIP_ERR_PARSE');
    }
  });

  it('reads Content-Length in any case, compact, and folded', () => {
    for (const cl of ['content-LENGTH : 2', 'L:2', 'Content-Length:\r\n 2']) {
      const bytes = enc.encode(`INFO sip:a@h SIP/2.0\r\n${cl}\r\n\r\nokNEXT`);
      const [ev] = new SipStreamFramer().push(bytes);
      expect(ev?.type === 'message' && dec.decode(ev.bytes).endsWith('\r\n\r\nok'), cl).toBe(true);
    }
  });

  it('stays linear: 64 pipelined messages fed in 7-byte chunks', () => {
    const msgs = Array.from({ length: 64 }, (_, i) => message(i + 1, 'b'.repeat(600)));
    const all = concat(...msgs);
    const chunks: Uint8Array[] = [];
    for (let i = 0; i < all.length; i += 7) chunks.push(all.subarray(i, i + 7));
    const got = frames(frameAll(chunks));
    expect(got).toHaveLength(64);
    expect(got.every((f, i) => f.length === msgs[i]!.length)).toBe(true);
  });

  it('throws ERR_INVALID_STATE on push after close()', () => {
    const framer = new SipStreamFramer();
    framer.close();
    framer.close();
    expect(framer.state).toBe('Closed');
    expect(() => framer.push(wire)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
  });
});

describe('SipStreamFramer on the pinging side (RFC 5626 §4.4.1)', () => {
  it('reads two pongs that arrive apart as two pongs once each was taken, not as one ping', () => {
    const client = new SipStreamFramer();
    expect(client.push(enc.encode('\r\n'))).toEqual([{ type: 'pong' }]);
    client.pongTaken();
    expect(client.push(enc.encode('\r\n'))).toEqual([{ type: 'pong' }]);
    // without pongTaken the second CRLF completes a CRLFCRLF: a ping, as a server must read it
    const server = new SipStreamFramer();
    server.push(enc.encode('\r\n'));
    expect(server.push(enc.encode('\r\n'))).toEqual([{ type: 'ping' }]);
  });
});
