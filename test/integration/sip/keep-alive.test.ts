/**
 * RFC 5626 §4.4.1 keep-alives on the connections our TCP transport opens: a CRLFCRLF "ping"
 * after a quiet interval (a random 80–100 % of `keepAliveMs`), a CRLF "pong" expected within
 * `pongTimeoutMs` (10 s) or the flow has failed and is closed. Connections a peer opened to us
 * only answer pings. Real sockets on 127.0.0.1; time from a manual clock.
 */

import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpTransport } from '../../../src/sip/transport/node/tcp.js';
import type { TransportTraceEvent } from '../../../src/sip/transport/transport.js';
import { manualClock } from '../../../src/util/clock.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const enc = new TextEncoder();
const OPTIONS = enc.encode(
  'OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1;branch=z9hG4bKka\r\n' +
    'Call-ID: ka\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n',
);

/** A peer that records every byte it gets and answers pings with a pong when `answer` is true. */
async function peer(answer: boolean): Promise<{ port: number; received: () => string; sockets: Socket[] }> {
  let text = '';
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    socket.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (answer && d.toString('latin1').endsWith('\r\n\r\n\r\n\r\n')) socket.write('\r\n');
      else if (answer && d.toString('latin1') === '\r\n\r\n') socket.write('\r\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanup.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, received: () => text, sockets };
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 30));
/** Pings in what the peer got: every CRLFCRLF but the one that ends each of `messages`. */
const pings = (text: string, messages: number): number => text.split('\r\n\r\n').length - 1 - messages;

async function transport(keepAliveMs: number, pongTimeoutMs = 10_000) {
  const clock = manualClock(0);
  const traces: TransportTraceEvent[] = [];
  const tcp = await TcpTransport.listen({ port: 0, clock, keepAliveMs, pongTimeoutMs });
  tcp.attach({ receive: () => {}, trace: (e) => traces.push(e) });
  cleanup.push(() => tcp.close());
  return { tcp, clock, traces };
}

describe('RFC 5626 §4.4.1 keep-alive on connections we opened', () => {
  it('pings after a quiet interval of 80–100 % of keepAliveMs and keeps the flow while pongs come', async () => {
    const p = await peer(true);
    const { tcp, clock, traces } = await transport(1_000);
    tcp.send(OPTIONS, { protocol: 'tcp', host: '127.0.0.1', port: p.port });
    await settle();
    expect(p.received()).toContain('OPTIONS sip:x@127.0.0.1');
    clock.tick(799);
    await settle();
    expect(pings(p.received(), 1)).toBe(0); // no ping before 80 %
    clock.tick(201);
    await settle();
    expect(pings(p.received(), 1)).toBe(1);
    clock.tick(10_000); // the pong came: no failure
    await settle();
    expect(traces.filter((e) => e.type === 'flow-closed')).toEqual([]);
    expect(traces.filter((e) => e.type === 'pong').length).toBeGreaterThanOrEqual(1);
    clock.tick(1_000);
    await settle();
    expect(pings(p.received(), 1)).toBeGreaterThanOrEqual(2); // pinging on, each answered
    expect(traces.filter((e) => e.type === 'flow-closed')).toEqual([]);
  });

  it('does not ping while SIP traffic flows', async () => {
    const p = await peer(true);
    const { tcp, clock } = await transport(1_000);
    const target = { protocol: 'tcp' as const, host: '127.0.0.1', port: p.port };
    tcp.send(OPTIONS, target);
    await settle();
    for (let i = 0; i < 5; i++) {
      clock.tick(700);
      tcp.send(OPTIONS, target);
      await settle();
    }
    expect(pings(p.received(), 6)).toBe(0);
  });

  it('closes the flow when no pong comes within pongTimeoutMs, and says why', async () => {
    const p = await peer(false);
    const { tcp, clock, traces } = await transport(1_000, 10_000);
    tcp.send(OPTIONS, { protocol: 'tcp', host: '127.0.0.1', port: p.port });
    await settle();
    clock.tick(1_000);
    await settle();
    expect(pings(p.received(), 1)).toBe(1); // sent at 800–1,000 ms
    clock.tick(8_799); // 9,799 ms: less than 10 s after any such ping
    await settle();
    expect(traces.filter((e) => e.type === 'flow-closed')).toEqual([]);
    clock.tick(1_201); // 11,000 ms: at least 10 s after it
    await settle();
    const closed = traces.find((e) => e.type === 'flow-closed');
    expect(closed).toMatchObject({ type: 'flow-closed', reason: 'keep-alive' });
    const dropped = traces.find((e) => e.type === 'dropped');
    expect(dropped?.type === 'dropped' ? dropped.reason : '').toMatch(/no pong .* within 10000 ms .*RFC 5626/);
  });

  it('never pings on a connection the peer opened (it only answers pings)', async () => {
    const { tcp, clock } = await transport(1_000);
    let got = '';
    const { connect } = await import('node:net');
    const socket = connect(tcp.local.port, '127.0.0.1');
    cleanup.push(() => void socket.destroy());
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(OPTIONS);
    await settle();
    clock.tick(5_000);
    await settle();
    expect(got).toBe('');
    socket.write('\r\n\r\n'); // our ping to it
    await settle();
    expect(got).toBe('\r\n'); // its pong
  });
});
