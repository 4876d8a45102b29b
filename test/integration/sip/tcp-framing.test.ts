/**
 * Stream framing over a real TCP connection (RFC 3261 §18.3): a request split into two writes
 * at any offset is framed once and answered once; pipelined requests in one write are each
 * answered; a CRLFCRLF keep-alive gets a CRLF (RFC 5626 §4.4.1); a header section over the
 * limit closes the connection.
 */

import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SipEndpoint, SipEndpointTraceEvent } from '../../../src/sip/endpoint.js';
import { createResponse } from '../../../src/sip/message/serialize.js';
import { TcpTransport } from '../../../src/sip/transport/node/tcp.js';
import { endpoint, sleep, until, utf8 } from './support.js';

let server: SipEndpoint;
let events: SipEndpointTraceEvent[];
let port: number;
const seen = new Map<number, number>();

beforeAll(async () => {
  const made = endpoint([await TcpTransport.listen({ port: 0 })]);
  server = made.endpoint;
  events = made.events;
  port = server.transports[0]!.local.port;
  server.onRequest((request, tx) => {
    seen.set(request.cseq.seq, (seen.get(request.cseq.seq) ?? 0) + 1);
    tx.respond(
      createResponse(request, 200, 'OK', { toTag: 'srv', body: `ok ${request.cseq.seq}` }),
    );
  });
});

afterAll(() => server.close());

function wire(seq: number): Uint8Array {
  const body = utf8.encode(`<x>Müller € ${seq}</x>`);
  const head = [
    `INFO sip:phone@127.0.0.1:${port};transport=tcp SIP/2.0`,
    `Via: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKsplit${seq}`,
    'Max-Forwards: 70',
    'From: <sip:ctl@example.invalid>;tag=s1',
    'To: <sip:phone@example.invalid>;tag=s2',
    'Call-ID: split-1',
    `CSeq: ${seq} INFO`,
    'Content-Type: application/csta+xml',
    `Content-Length: ${body.length}`,
    '',
    '',
  ].join('\r\n');
  const h = utf8.encode(head);
  const out = new Uint8Array(h.length + body.length);
  out.set(h, 0);
  out.set(body, h.length);
  return out;
}

/** A raw client connection that collects what the server writes. */
async function client(): Promise<{ socket: Socket; received: () => string }> {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true });
  await new Promise<void>((r) => socket.once('connect', () => r()));
  let data = '';
  socket.on('data', (d: Buffer) => (data += d.toString('utf8')));
  return { socket, received: () => data };
}

const count = (s: string, what: string): number => s.split(what).length - 1;

describe('TCP framing over a real socket', () => {
  it(
    'frames a request split at every byte offset once, and answers it once',
    { timeout: 30_000 },
    async () => {
      const c = await client();
      const sample = wire(1);
      let seq = 0;
      for (let cut = 1; cut < sample.length; cut++) {
        seq++;
        const bytes = wire(seq);
        c.socket.write(bytes.subarray(0, cut));
        await new Promise<void>((r) => setImmediate(r)); // let the first part go out on its own
        c.socket.write(bytes.subarray(cut));
      }
      await until(() => count(c.received(), 'SIP/2.0 200 OK') === seq, 20_000, 'every answer');
      expect(seen.size).toBe(seq);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
      c.socket.destroy();
    },
  );

  it('answers 64 pipelined requests written at once, in order', { timeout: 10_000 }, async () => {
    const c = await client();
    const parts = Array.from({ length: 64 }, (_, i) => wire(10_000 + i));
    c.socket.write(Buffer.concat(parts));
    await until(() => count(c.received(), 'SIP/2.0 200 OK') === 64, 5_000, '64 answers');
    const order = [...c.received().matchAll(/CSeq: (\d+) INFO/g)].map((m) => Number(m[1]));
    expect(order).toEqual(Array.from({ length: 64 }, (_, i) => 10_000 + i));
    c.socket.destroy();
  });

  it('answers a CRLFCRLF ping with one CRLF', { timeout: 10_000 }, async () => {
    const c = await client();
    c.socket.write('\r\n\r\n');
    await until(() => c.received() === '\r\n', 5_000, 'the pong');
    await sleep(20);
    expect(c.received()).toBe('\r\n');
    expect(events.some((e) => e.type === 'transport' && e.event.type === 'ping')).toBe(true);
    c.socket.destroy();
  });

  it(
    'closes a connection whose header section passes the limit, and traces it',
    { timeout: 10_000 },
    async () => {
      const c = await client();
      const closed = new Promise<void>((r) => c.socket.once('close', () => r()));
      c.socket.on('error', () => {});
      c.socket.write(`INFO sip:x@127.0.0.1 SIP/2.0\r\nX-Flood: ${'a'.repeat(20_000)}`);
      await closed;
      expect(
        events.some(
          (e) =>
            e.type === 'transport' && e.event.type === 'dropped' && /framing/.test(e.event.reason),
        ),
      ).toBe(true);
    },
  );
});
