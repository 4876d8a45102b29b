/**
 * Sends are gathered per event-loop turn and leave back to back at its end (UDP: a batch of
 * datagrams; TCP: one corked write), so that a peer wakes once per burst of answers. What must
 * not change: every message arrives, in the order sent, nothing waits past the turn, `close()`
 * still sends what was queued before it, and a send that fails is reported.
 */

import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { UaCstaError } from '../../../src/errors.js';
import { SipStreamFramer } from '../../../src/sip/message/framer.js';
import { TcpTransport } from '../../../src/sip/transport/node/tcp.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import type { Transport } from '../../../src/sip/transport/transport.js';
import { until } from './support.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A SIP-shaped message numbered `n` (the framer needs Content-Length). */
function message(n: number): Uint8Array {
  return enc.encode(
    `OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK${n}\r\n` +
      `Call-ID: ${n}\r\nCSeq: ${n} OPTIONS\r\nContent-Length: 0\r\n\r\n`,
  );
}
const numberOf = (text: string): number => Number(/Call-ID: (\d+)/.exec(text)?.[1]);

async function udpPeer(): Promise<{ socket: Socket; port: number; got: number[] }> {
  const socket = createSocket('udp4');
  const got: number[] = [];
  socket.on('message', (m) => got.push(numberOf(dec.decode(m))));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  socket.setRecvBufferSize(4 * 1024 * 1024); // the default queue holds only ~256 small datagrams
  cleanup.push(() => new Promise<void>((r) => socket.close(() => r())));
  return { socket, port: socket.address().port, got };
}

describe('UDP send batching', () => {
  it('delivers 500 datagrams sent in one turn, in order, with a batch limit of 64', async () => {
    const peer = await udpPeer();
    const udp = await UdpTransport.listen({ port: 0 });
    cleanup.push(() => udp.close());
    for (let i = 0; i < 500; i++) udp.send(message(i), { protocol: 'udp', host: '127.0.0.1', port: peer.port });
    await until(() => peer.got.length === 500);
    expect(peer.got).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it('sends nothing before the end of the turn, and everything right after it', async () => {
    const peer = await udpPeer();
    const udp = await UdpTransport.listen({ port: 0 });
    cleanup.push(() => udp.close());
    const sent: number[] = [];
    // a datagram on loopback is in the peer's queue as soon as sendmsg returns: a peer reading
    // in the same turn sees nothing yet, one turn later (setImmediate after ours) sees all
    for (let i = 0; i < 3; i++) udp.send(message(i), { protocol: 'udp', host: '127.0.0.1', port: peer.port });
    await new Promise<void>((r) => setImmediate(() => { sent.push(peer.got.length); r(); }));
    await until(() => peer.got.length === 3);
    expect(peer.got).toEqual([0, 1, 2]);
    expect(sent).toEqual([0]);
  });

  it('close() sends what was queued before it', async () => {
    const peer = await udpPeer();
    const udp = await UdpTransport.listen({ port: 0 });
    for (let i = 0; i < 10; i++) udp.send(message(i), { protocol: 'udp', host: '127.0.0.1', port: peer.port });
    await udp.close();
    await until(() => peer.got.length === 10);
    expect(peer.got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(() => udp.send(message(10), { protocol: 'udp', host: '127.0.0.1', port: peer.port })).toThrow(UaCstaError);
  });

  it('reports a send the kernel refuses to onError (broadcast without SO_BROADCAST: EACCES)', async () => {
    const udp = await UdpTransport.listen({ port: 0 });
    cleanup.push(() => udp.close());
    const failed = new Promise<UaCstaError>((resolve) =>
      udp.send(message(1), { protocol: 'udp', host: '255.255.255.255', port: 9 }, { onError: resolve }),
    );
    const error = await failed;
    expect(error.code).toBe('SIP_ERR_TRANSPORT');
    expect(error.message).toMatch(/255\.255\.255\.255:9/);
  });

  it('refuses a bad port at once and a bad maxSendBatch option', async () => {
    const udp = await UdpTransport.listen({ port: 0 });
    cleanup.push(() => udp.close());
    expect(() => udp.send(message(1), { protocol: 'udp', host: '127.0.0.1', port: 0 })).toThrow(/port 0/);
    await expect(UdpTransport.listen({ port: 0, maxSendBatch: 0 })).rejects.toThrow(/maxSendBatch/);
  });
});

describe('TCP write gathering', () => {
  async function tcpPeer(): Promise<{ port: number; got: number[] }> {
    const got: number[] = [];
    const server: Server = createServer((socket) => {
      const framer = new SipStreamFramer();
      socket.on('data', (d: Uint8Array) => {
        for (const ev of framer.push(d)) if (ev.type === 'message') got.push(numberOf(dec.decode(ev.bytes)));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    cleanup.push(() => new Promise<void>((r) => server.close(() => r())));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return { port: address.port, got };
  }

  it('delivers 200 messages written in one turn, in order', async () => {
    const peer = await tcpPeer();
    const tcp: Transport = await TcpTransport.listen({ port: 0 });
    cleanup.push(() => tcp.close());
    const target = { protocol: 'tcp' as const, host: '127.0.0.1', port: peer.port };
    tcp.send(message(0), target);
    await until(() => peer.got.length === 1);
    for (let i = 1; i <= 200; i++) tcp.send(message(i), target);
    await until(() => peer.got.length === 201);
    expect(peer.got).toEqual(Array.from({ length: 201 }, (_, i) => i));
  });

  it('close() hands what was written in the same turn to the kernel before it closes', async () => {
    const peer = await tcpPeer();
    const tcp: Transport = await TcpTransport.listen({ port: 0 });
    const target = { protocol: 'tcp' as const, host: '127.0.0.1', port: peer.port };
    tcp.send(message(0), target);
    await until(() => peer.got.length === 1);
    for (let i = 1; i <= 20; i++) tcp.send(message(i), target);
    await tcp.close();
    await until(() => peer.got.length === 21);
    expect(peer.got).toEqual(Array.from({ length: 21 }, (_, i) => i));
  });
});
