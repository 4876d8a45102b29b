/**
 * Hostile stream clients over real TCP: a "slow loris" that trickles a request one byte at a time
 * keeps its connection active, so only a per-message deadline (`messageTimeoutMs`) ends it; a
 * fast client whose writes end in the middle of messages is never mistaken for one; a header
 * flood closes the connection at the header limit; the server keeps serving other clients.
 */

import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { SipEndpoint, SipEndpointTraceEvent } from '../../../src/sip/endpoint.js';
import { createResponse } from '../../../src/sip/message/serialize.js';
import { TcpTransport } from '../../../src/sip/transport/node/tcp.js';
import { manualClock, type ManualClock } from '../../../src/util/clock.js';
import { endpoint, until, utf8 } from './support.js';

const MESSAGE_TIMEOUT_MS = 10_000;

interface Server {
  readonly endpoint: SipEndpoint;
  readonly events: SipEndpointTraceEvent[];
  readonly port: number;
  readonly clock: ManualClock;
  readonly answered: number[];
}

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function server(): Promise<Server> {
  const clock = manualClock(1_000);
  const transport = await TcpTransport.listen({
    port: 0,
    clock,
    messageTimeoutMs: MESSAGE_TIMEOUT_MS,
    limits: { maxHeaderSectionBytes: 4_096 },
  });
  const made = endpoint([transport], { clock });
  const answered: number[] = [];
  made.endpoint.onRequest((request, tx) => {
    answered.push(request.cseq.seq);
    tx.respond(createResponse(request, 200, 'OK', { toTag: 'srv' }));
  });
  open.push(made.endpoint);
  return { ...made, port: transport.local.port, clock, answered };
}

function options(port: number, seq: number, extraHeaders: string[] = []): Uint8Array {
  return utf8.encode(
    [
      `OPTIONS sip:phone@127.0.0.1:${port};transport=tcp SIP/2.0`,
      `Via: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bKloris${seq}`,
      'Max-Forwards: 70',
      'From: <sip:ctl@example.invalid>;tag=l1',
      'To: <sip:phone@example.invalid>',
      `Call-ID: loris-${seq}`,
      `CSeq: ${seq} OPTIONS`,
      ...extraHeaders,
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n'),
  );
}

interface Client {
  readonly socket: Socket;
  closed: boolean;
  received: string;
}

async function client(port: number): Promise<Client> {
  const socket = connect({ host: '127.0.0.1', port, noDelay: true });
  open.push({ close: () => socket.destroy() });
  const c: Client = { socket, closed: false, received: '' };
  socket.on('data', (d: Buffer) => (c.received += d.toString('utf8')));
  socket.on('close', () => (c.closed = true));
  socket.on('error', () => undefined);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  return c;
}

/** Writes and waits until the server has read the bytes (its trace or answers move on). */
async function write(c: Client, bytes: Uint8Array): Promise<void> {
  await new Promise<void>((r) => c.socket.write(bytes, () => r()));
  // the server reads on its next turn of the event loop; a short real wait covers it
  await new Promise((r) => setTimeout(r, 20));
}

const closedSlow = (events: readonly SipEndpointTraceEvent[]): boolean =>
  events.some(
    (e) => e.type === 'transport' && e.event.type === 'flow-closed' && e.event.reason === 'slow',
  );

describe('a request trickled one byte at a time (slow loris)', () => {
  it('is cut off when the message is not complete within messageTimeoutMs, although bytes keep coming', async () => {
    const s = await server();
    const c = await client(s.port);
    const request = options(s.port, 1);
    // one byte per simulated second: the connection is never idle, the message never ends
    for (let i = 0; i < 12; i += 1) {
      await write(c, request.subarray(i, i + 1));
      s.clock.tick(1_000);
      if (c.closed) break;
    }
    await until(() => c.closed, 2_000, 'the slow connection to be closed');
    expect(closedSlow(s.events)).toBe(true);
    expect(s.answered).toEqual([]);
    const dropped = s.events.find(
      (e) => e.type === 'transport' && e.event.type === 'dropped' && /messageTimeoutMs/.test(e.event.reason),
    );
    expect(dropped).toBeDefined();
  });

  it('leaves the server serving other clients', async () => {
    const s = await server();
    const loris = await client(s.port);
    await write(loris, options(s.port, 7).subarray(0, 20));
    s.clock.tick(MESSAGE_TIMEOUT_MS);
    await until(() => loris.closed, 2_000, 'the slow connection to be closed');
    const good = await client(s.port);
    await write(good, options(s.port, 8));
    await until(() => good.received.includes('SIP/2.0 200 OK'), 2_000, 'the 200 to the good client');
    expect(good.closed).toBe(false);
    expect(s.answered).toEqual([8]);
  });
});

describe('a fast client whose writes end in the middle of messages', () => {
  it('is not cut off: each completed message restarts the deadline', async () => {
    const s = await server();
    const c = await client(s.port);
    const messages = [1, 2, 3, 4].map((seq) => options(s.port, seq));
    const stream = new Uint8Array(messages.reduce((n, m) => n + m.length, 0));
    let at = 0;
    for (const m of messages) {
      stream.set(m, at);
      at += m.length;
    }
    // four writes, each ending half-way through the next message, 9 s apart: every message
    // takes under 10 s from its first byte, although some part of one is always pending
    const cuts = messages.map((_, i) => {
      const start = messages.slice(0, i).reduce((n, m) => n + m.length, 0);
      return start + Math.floor((messages[i]?.length ?? 0) / 2);
    });
    let from = 0;
    for (const cut of [...cuts.slice(1), stream.length]) {
      await write(c, stream.subarray(from, cut));
      from = cut;
      s.clock.tick(9_000);
    }
    await until(() => s.answered.length === 4, 2_000, 'four answers');
    expect(s.answered).toEqual([1, 2, 3, 4]);
    expect(c.closed).toBe(false);
    expect(closedSlow(s.events)).toBe(false);
  });
});

describe('a header flood', () => {
  it('closes the connection at maxHeaderSectionBytes and answers nothing', async () => {
    const s = await server();
    const c = await client(s.port);
    const flood = Array.from({ length: 400 }, (_, i) => `X-Flood-${i}: ${'y'.repeat(20)}`);
    await write(c, options(s.port, 9, flood));
    await until(() => c.closed, 2_000, 'the flooding connection to be closed');
    expect(s.answered).toEqual([]);
    expect(c.received).toBe('');
  });
});
