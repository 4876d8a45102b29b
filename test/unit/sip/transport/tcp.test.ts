import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { TcpTransport } from '../../../../src/sip/transport/node/tcp.js';
import type {
  TransportTarget,
  TransportTraceEvent,
} from '../../../../src/sip/transport/transport.js';
import { manualClock } from '../../../../src/util/clock.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const frame = (tag: string, body = ''): Uint8Array =>
  enc.encode(
    `OPTIONS sip:${tag}@example.invalid SIP/2.0\r\nContent-Length: ${enc.encode(body).length}\r\n\r\n${body}`,
  );

/** A fallback target nobody listens on: replies must go on their flow or nowhere. */
const NOWHERE = { protocol: 'tcp', host: '127.0.0.1', port: 1 } as const;

const opened: TcpTransport[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});

async function open(options: Parameters<typeof TcpTransport.listen>[0] = {}) {
  const t = await TcpTransport.listen({ port: 0, ...options });
  opened.push(t);
  const got: { text: string; source: TransportTarget; flow: string | undefined }[] = [];
  const traces: TransportTraceEvent[] = [];
  t.attach({
    receive: (bytes, source, flow) => got.push({ text: dec.decode(bytes), source, flow }),
    trace: (e) => traces.push(e),
  });
  return {
    t,
    got,
    traces,
    target: { protocol: 'tcp' as const, host: '127.0.0.1', port: t.local.port },
  };
}

const until = async (check: () => boolean, what = 'condition'): Promise<void> => {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

describe('TcpTransport', () => {
  it(
    'answers on the connection a message came on, and reuses it for requests to an alias',
    { timeout: 5_000 },
    async () => {
      const a = await open();
      const b = await open();
      a.t.send(frame('one'), b.target);
      await until(() => b.got.length === 1);
      const flow = b.got[0]!.flow!;
      expect(flow).toMatch(/^tcp-\d+$/);
      expect(b.got[0]!.source.port).not.toBe(a.t.local.port); // an ephemeral port
      // a response: on the flow, whatever the target says
      b.t.send(frame('reply'), { protocol: 'tcp', host: '127.0.0.1', port: 1 }, { flow });
      // a request to A's listening address: reused once the Via sent-by is an alias of the flow
      b.t.alias(flow, { host: '127.0.0.1', port: a.t.local.port });
      b.t.send(frame('request'), a.target);
      await until(() => a.got.length === 2);
      expect(a.got.map((g) => g.text.split(' ')[1])).toEqual([
        'sip:reply@example.invalid',
        'sip:request@example.invalid',
      ]);
      expect(new Set(a.got.map((g) => g.flow)).size).toBe(1);
      expect([a.t.connections, b.t.connections]).toEqual([1, 1]);
    },
  );

  it(
    'opens a new connection to the target when the flow has closed (RFC 3261 §18.2.2)',
    { timeout: 5_000 },
    async () => {
      const a = await open();
      const b = await open();
      const raw = connect({ host: '127.0.0.1', port: b.t.local.port });
      raw.write(frame('raw'));
      await until(() => b.got.length === 1);
      const flow = b.got[0]!.flow!;
      raw.destroy();
      await until(() => b.t.connections === 0, 'the close');
      b.t.send(frame('late-response'), a.target, { flow });
      await until(() => a.got.length === 1);
      expect(a.got[0]!.text).toContain('late-response');
    },
  );

  it(
    'reports a refused connection to onError, after send returned',
    { timeout: 5_000 },
    async () => {
      const a = await open();
      const closed = await open();
      const port = closed.t.local.port;
      await closed.t.close();
      const errors: unknown[] = [];
      a.t.send(
        frame('x'),
        { protocol: 'tcp', host: '127.0.0.1', port },
        { onError: (e) => errors.push(e) },
      );
      expect(errors).toEqual([]);
      await until(() => errors.length === 1);
      expect(errors[0]).toMatchObject({ code: 'SIP_ERR_TRANSPORT' });
      await until(() => a.t.connections === 0);
    },
  );

  it(
    'closes a connection idle for idleTimeoutMs, measured on the injected clock',
    { timeout: 5_000 },
    async () => {
      const clock = manualClock();
      const a = await open();
      const b = await open({ clock, idleTimeoutMs: 1_000 });
      a.t.send(frame('hello'), b.target);
      await until(() => b.got.length === 1);
      clock.tick(600);
      a.t.send(frame('again'), b.target);
      await until(() => b.got.length === 2);
      clock.tick(600);
      expect(b.t.connections).toBe(1);
      clock.tick(400);
      expect(b.t.connections).toBe(0);
      expect(b.traces).toContainEqual(
        expect.objectContaining({ type: 'flow-closed', reason: 'idle' }),
      );
      await until(() => a.t.connections === 0, 'the peer to see the close');
    },
  );

  it(
    'pauses reading while the peer does not read, and resumes when it drains',
    { timeout: 20_000 },
    async () => {
      const b = await open({ highWaterBytes: 64 * 1024 });
      const raw = connect({ host: '127.0.0.1', port: b.t.local.port });
      await new Promise<void>((r) => raw.once('connect', () => r()));
      raw.pause(); // the peer stops reading
      const big = 'x'.repeat(60_000);
      let handled = 0;
      b.t.attach({
        receive: (_bytes, _source, flow) => {
          handled++;
          b.t.send(frame('reply', big), NOWHERE, { flow });
        },
        trace: () => {},
      });
      const total = 600;
      const pad = 'p'.repeat(4_000); // so that the requests arrive over many reads
      for (let i = 0; i < total; i++) raw.write(frame(`r${i}`, pad));
      await new Promise((r) => setTimeout(r, 300));
      expect(handled).toBeGreaterThan(0);
      expect(handled).toBeLessThan(total);
      let read = 0;
      raw.on('data', (d: Buffer) => (read += d.length));
      raw.resume();
      await until(() => handled === total, 'every request');
      await until(() => read >= total * 60_000, 'every reply');
      raw.destroy();
    },
  );

  it(
    'closes a connection whose unsent bytes pass maxWriteBufferBytes',
    { timeout: 20_000 },
    async () => {
      const b = await open({ maxWriteBufferBytes: 256 * 1024 });
      const raw = connect({ host: '127.0.0.1', port: b.t.local.port });
      raw.on('error', () => {});
      await new Promise<void>((r) => raw.once('connect', () => r()));
      raw.pause();
      const failures: unknown[] = [];
      b.t.attach({
        receive: (_bytes, _source, flow) => {
          try {
            b.t.send(frame('reply', 'y'.repeat(60_000)), NOWHERE, { flow });
          } catch (e) {
            failures.push(e);
          }
        },
        trace: (e) => b.traces.push(e),
      });
      for (let i = 0; i < 600; i++) raw.write(frame(`r${i}`));
      await until(
        () => b.traces.some((e) => e.type === 'flow-closed' && e.reason === 'limit'),
        'the close',
      );
      expect(failures[0]).toMatchObject({ code: 'SIP_ERR_TRANSPORT' });
      raw.destroy();
    },
  );

  it('refuses connections over maxConnections', { timeout: 5_000 }, async () => {
    const b = await open({ maxConnections: 1 });
    const one = connect({ host: '127.0.0.1', port: b.t.local.port });
    one.write(frame('one'));
    await until(() => b.got.length === 1);
    const two = connect({ host: '127.0.0.1', port: b.t.local.port });
    two.on('error', () => {});
    const closed = new Promise<void>((r) => two.once('close', () => r()));
    await closed;
    expect(b.t.connections).toBe(1);
    one.destroy();
  });

  it(
    'closes every connection on close(), once; then refuses to send',
    { timeout: 5_000 },
    async () => {
      const a = await open();
      const b = await open();
      a.t.send(frame('one'), b.target);
      await until(() => b.got.length === 1);
      const closing = b.t.close();
      expect(b.t.close()).toBe(closing);
      await closing;
      expect(b.t.connections).toBe(0);
      expect(() => b.t.send(frame('x'), a.target)).toThrow(
        expect.objectContaining({ code: 'SIP_ERR_CLOSED' }),
      );
      await until(() => a.t.connections === 0, 'the peer to see the close');
    },
  );

  it('rejects bad options with ERR_INVALID_ARG', async () => {
    await expect(TcpTransport.listen({ port: -1 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
    });
    await expect(TcpTransport.listen({ port: 0, idleTimeoutMs: 0 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
    });
  });
});
