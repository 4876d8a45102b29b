/**
 * Bad input over a real UDP socket: a request that breaks RFC 3261 rules is answered with the
 * status and reason phrase that name the rule (RFC 3261 §8.2, §21.4.1; 416, 505), anything that
 * cannot be read is dropped, traced and counted, and the endpoint keeps working after 1,000
 * garbage datagrams.
 */

import { createSocket, type Socket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SipEndpoint, SipEndpointTraceEvent } from '../../../src/sip/endpoint.js';
import { createResponse } from '../../../src/sip/message/serialize.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import type { TransportTarget } from '../../../src/sip/transport/transport.js';
import { endpoint, info, sleep, text, until, utf8 } from './support.js';

let server: SipEndpoint;
let events: SipEndpointTraceEvent[];
let target: TransportTarget;
let peer: Socket;
const replies: string[] = [];
let handled = 0;

beforeAll(async () => {
  const made = endpoint([await UdpTransport.listen({ port: 0, maxMessageBytes: 4_000 })]);
  server = made.endpoint;
  events = made.events;
  server.onRequest((request, tx) => {
    handled++;
    tx.respond(createResponse(request, 200, 'OK', { toTag: 'srv' }));
  });
  target = { protocol: 'udp', host: '127.0.0.1', port: server.transports[0]!.local.port };
  peer = createSocket('udp4');
  await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
  peer.on('message', (m) => replies.push(text(m)));
});

afterAll(async () => {
  peer.close();
  await server.close();
});

function send(datagram: string | Uint8Array): void {
  peer.send(
    typeof datagram === 'string' ? utf8.encode(datagram) : datagram,
    target.port,
    '127.0.0.1',
  );
}

/** A request from the raw peer, with `rport` so the answer comes back to its socket (RFC 3581). */
function request(lines: { start?: string; cseq?: string; extra?: string } = {}): string {
  return [
    lines.start ?? `INFO sip:phone@127.0.0.1:${target.port} SIP/2.0`,
    'Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKgarbage1;rport',
    'Max-Forwards: 70',
    'From: <sip:ctl@example.invalid>;tag=g1',
    'To: <sip:phone@example.invalid>',
    'Call-ID: garbage-1',
    `CSeq: ${lines.cseq ?? '1 INFO'}`,
    ...(lines.extra === undefined ? [] : [lines.extra]),
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

async function nextReply(): Promise<string> {
  const n = replies.length;
  await until(() => replies.length > n, 5_000, 'a reply');
  return replies[n]!;
}

describe('bad datagrams', () => {
  it(
    'answers a CSeq method mismatch with 400 and the reason, via received and rport',
    { timeout: 10_000 },
    async () => {
      send(request({ cseq: '1 OPTIONS' }));
      const reply = await nextReply();
      expect(reply.startsWith('SIP/2.0 400 CSeq Method Mismatch\r\n')).toBe(true);
      expect(reply).toContain('Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKgarbage1;rport\r\n');
      expect(reply).toMatch(/\r\nTo: <sip:phone@example\.invalid>;tag=[0-9a-f]+\r\n/);
      expect(reply).toContain('\r\nCSeq: 1 OPTIONS\r\n');
      expect(
        events.some(
          (e) =>
            e.type === 'rejected' && e.status === 400 && e.reasonPhrase === 'CSeq Method Mismatch',
        ),
      ).toBe(true);
    },
  );

  it('answers 505 to SIP/3.0 and 416 to an unknown URI scheme', { timeout: 10_000 }, async () => {
    send(request({ start: `INFO sip:phone@127.0.0.1 SIP/3.0` }));
    expect((await nextReply()).split('\r\n')[0]).toBe('SIP/2.0 505 Version Not Supported');
    send(request({ start: 'INFO nope:phone@127.0.0.1 SIP/2.0' }));
    expect((await nextReply()).split('\r\n')[0]).toMatch(/^SIP\/2\.0 416 /);
  });

  it(
    'drops, traces and counts an unreadable datagram, and answers nothing',
    { timeout: 10_000 },
    async () => {
      const before = server.counters;
      const sent = replies.length;
      send('this is not SIP at all\r\n\r\n');
      await until(() => server.counters.dropped > before.dropped, 5_000, 'the drop');
      expect(server.counters.received).toBe(before.received + 1);
      expect(events.at(-1)).toMatchObject({ type: 'dropped', error: { code: 'SIP_ERR_PARSE' } });
      await sleep(30);
      expect(replies.length).toBe(sent);
    },
  );

  it('never answers an ACK, even a broken one', { timeout: 10_000 }, async () => {
    const before = server.counters.dropped;
    const sent = replies.length;
    send(request({ start: `ACK sip:phone@127.0.0.1:${target.port} SIP/2.0`, cseq: '1 INFO' }));
    await until(() => server.counters.dropped > before, 5_000, 'the drop');
    await sleep(30);
    expect(replies.length).toBe(sent);
  });

  it('drops an oversize datagram in the transport and traces it', { timeout: 10_000 }, async () => {
    const received = server.counters.received;
    send(request({ extra: `X-Pad: ${'a'.repeat(5_000)}` }));
    await until(
      () => events.some((e) => e.type === 'transport' && e.event.type === 'dropped'),
      5_000,
      'the trace',
    );
    expect(server.counters.received).toBe(received);
  });

  it('keeps working after 1,000 garbage datagrams', { timeout: 20_000 }, async () => {
    let state = 12345;
    const byte = (): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state >>> 24;
    };
    const valid = utf8.encode(request());
    const before = server.counters.received;
    for (let i = 0; i < 1_000; i++) {
      let d: Uint8Array;
      switch (i % 4) {
        case 0: // random bytes
          d = Uint8Array.from({ length: 1 + (byte() % 600) }, byte);
          break;
        case 1: // a request cut short
          d = valid.subarray(0, 1 + ((byte() * 3) % (valid.length - 1)));
          break;
        case 2: // a request with random bytes stamped into it
          d = valid.slice();
          for (let k = 0; k < 8; k++) d[(byte() * 7) % d.length] = byte();
          break;
        default: // line noise
          d = utf8.encode('\r\n'.repeat(1 + (byte() % 5)) + 'SIP/2.0 ' + String(byte()));
      }
      send(d);
      if (i % 100 === 99) await sleep(5); // stay inside the socket buffers
    }
    await until(() => server.counters.received >= before + 990, 10_000, 'the garbage to arrive');
    expect(server.counters.errors).toBe(0);
    expect(events.filter((e) => e.type === 'error' || e.type === 'user-error')).toEqual([]);
    const client = endpoint([await UdpTransport.listen({ port: 0 })]);
    try {
      const handledBefore = handled;
      const response = await client.endpoint.sendRequest(info(target, 7), target);
      expect(response.status).toBe(200);
      expect(handled).toBe(handledBefore + 1);
    } finally {
      await client.endpoint.close();
    }
  });
});
