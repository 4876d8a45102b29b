import { request } from 'node:http';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { WsTransport } from '../../../../src/sip/transport/node/ws.js';
import type {
  TransportTarget,
  TransportTraceEvent,
} from '../../../../src/sip/transport/transport.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const frame = (tag: string, body = ''): Uint8Array =>
  enc.encode(
    `OPTIONS sip:${tag}@example.invalid SIP/2.0\r\nContent-Length: ${enc.encode(body).length}\r\n\r\n${body}`,
  );

const opened: WsTransport[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  await Promise.all(opened.splice(0).map((t) => t.close()));
});

async function open(options: Parameters<typeof WsTransport.listen>[0] = {}) {
  const t = await WsTransport.listen({ port: 0, ...options });
  opened.push(t);
  const got: { bytes: Uint8Array; source: TransportTarget; flow: string | undefined }[] = [];
  const traces: TransportTraceEvent[] = [];
  t.attach({
    receive: (bytes, source, flow) => got.push({ bytes, source, flow }),
    trace: (e) => traces.push(e),
  });
  return {
    t,
    got,
    traces,
    target: { protocol: 'ws' as const, host: '127.0.0.1', port: t.local.port },
  };
}

async function rawClient(port: number, protocols: string[] = ['sip'], maxPayload?: number) {
  const ws = new WebSocket(
    `ws://127.0.0.1:${port}/`,
    protocols,
    maxPayload === undefined ? {} : { maxPayload },
  );
  sockets.push(ws);
  const got: { data: Buffer; isBinary: boolean }[] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => got.push({ data, isBinary }));
  ws.on('error', () => {});
  const closed = new Promise<number>((r) => ws.once('close', (code: number) => r(code)));
  return {
    ws,
    got,
    closed,
    opened: new Promise<void>((r, j) => {
      ws.once('open', () => r());
      ws.once('error', j);
    }),
  };
}

const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 600 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error('timed out');
};

describe('WsTransport', () => {
  it(
    'takes text and binary frames as bytes, one message each, and answers on the flow',
    { timeout: 5_000 },
    async () => {
      const s = await open();
      const c = await rawClient(s.t.local.port);
      await c.opened;
      expect(c.ws.protocol).toBe('sip');
      c.ws.send(dec.decode(frame('text', 'Müller €')));
      c.ws.send(frame('binary'), { binary: true });
      await until(() => s.got.length === 2);
      expect(dec.decode(s.got[0]!.bytes)).toContain('Müller €');
      expect(dec.decode(s.got[1]!.bytes)).toContain('sip:binary@');
      expect(s.got[0]!.flow).toBe(s.got[1]!.flow);
      // RFC 7118 §5: text frames for UTF-8, binary frames for the rest
      s.t.send(
        frame('utf8', 'Grüße'),
        { protocol: 'ws', host: '192.0.2.1', port: 1 },
        { flow: s.got[0]!.flow },
      );
      s.t.send(
        Uint8Array.of(...frame('raw'), 0xff),
        { protocol: 'ws', host: '192.0.2.1', port: 1 },
        { flow: s.got[0]!.flow },
      );
      await until(() => c.got.length === 2);
      expect(c.got.map((g) => g.isBinary)).toEqual([false, true]);
      expect(c.got[0]!.data.toString('utf8')).toContain('Grüße');
    },
  );

  it(
    'closes a connection that does not negotiate the sip subprotocol (RFC 7118 §4.1)',
    { timeout: 5_000 },
    async () => {
      const s = await open();
      const c = await rawClient(s.t.local.port, []);
      expect(await c.closed).toBe(1002);
      expect(s.traces).toContainEqual(
        expect.objectContaining({
          type: 'dropped',
          reason: expect.stringContaining('subprotocol'),
        }),
      );
      expect(s.t.connections).toBe(0);
    },
  );

  it(
    'closes a connection whose message passes maxPayloadBytes (1009)',
    { timeout: 5_000 },
    async () => {
      const s = await open({ maxPayloadBytes: 1_000 });
      const c = await rawClient(s.t.local.port);
      await c.opened;
      c.ws.send(frame('big', 'x'.repeat(2_000)));
      expect(await c.closed).toBe(1009);
      expect(s.got).toEqual([]);
    },
  );

  it('answers a plain HTTP request with 426', { timeout: 5_000 }, async () => {
    const s = await open();
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: s.t.local.port, path: '/' }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(426);
  });

  it(
    'connects out without a listener, with an .invalid sent-by, and is reached back by alias',
    { timeout: 5_000 },
    async () => {
      const s = await open();
      const client = await WsTransport.listen({ listen: false });
      opened.push(client);
      const clientGot: string[] = [];
      client.attach({ receive: (b) => clientGot.push(dec.decode(b)), trace: () => {} });
      expect(client.sentBy.host).toMatch(/^[0-9a-f]{16}\.invalid$/);
      expect(client.sentBy.port).toBeUndefined();
      client.send(frame('register'), s.target);
      client.send(frame('second'), s.target); // queued until open, same connection
      await until(() => s.got.length === 2);
      const flow = s.got[0]!.flow!;
      expect(s.got[1]!.flow).toBe(flow);
      s.t.alias(flow, { host: client.sentBy.host, port: 80 });
      s.t.send(frame('to-client'), { protocol: 'ws', host: client.sentBy.host, port: 80 });
      await until(() => clientGot.length === 1);
      expect(clientGot[0]).toContain('sip:to-client@');
      expect([s.t.connections, client.connections]).toEqual([1, 1]);
      await client.close();
      await until(() => s.t.connections === 0);
      // a WebSocket client is reachable over its connection only
      expect(() =>
        s.t.send(frame('late'), { protocol: 'ws', host: client.sentBy.host, port: 80 }, { flow }),
      ).toThrow(expect.objectContaining({ code: 'SIP_ERR_TRANSPORT' }));
    },
  );

  it('reports a connection that cannot open to onError', { timeout: 5_000 }, async () => {
    const gone = await open();
    const port = gone.t.local.port;
    await gone.t.close();
    const client = await WsTransport.listen({ listen: false });
    opened.push(client);
    client.attach({ receive: () => {}, trace: () => {} });
    const errors: unknown[] = [];
    client.send(
      frame('x'),
      { protocol: 'ws', host: '127.0.0.1', port },
      { onError: (e) => errors.push(e) },
    );
    await until(() => errors.length === 1);
    expect(errors[0]).toMatchObject({ code: 'SIP_ERR_TRANSPORT' });
  });

  it('refuses a WSS listener without certificates, and sends after close', async () => {
    await expect(WsTransport.listen({ secure: true, port: 0 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
    });
    const s = await open();
    await s.t.close();
    expect(() => s.t.send(frame('x'), s.target)).toThrow(
      expect.objectContaining({ code: 'SIP_ERR_CLOSED' }),
    );
  });
});
