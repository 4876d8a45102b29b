import { readFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { UdpTransport } from '../../../../src/sip/transport/node/udp.js';
import type {
  TransportTarget,
  TransportTraceEvent,
} from '../../../../src/sip/transport/transport.js';

const opened: UdpTransport[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});

async function open(options: Parameters<typeof UdpTransport.listen>[0] = {}) {
  const t = await UdpTransport.listen({ port: 0, ...options });
  opened.push(t);
  const got: { bytes: Uint8Array; source: TransportTarget; flow: string | undefined }[] = [];
  const traces: TransportTraceEvent[] = [];
  t.attach({
    receive: (bytes, source, flow) => got.push({ bytes, source, flow }),
    trace: (e) => traces.push(e),
  });
  return { t, got, traces };
}

const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error('timed out');
};

function kernelMax(name: 'rmem_max' | 'wmem_max'): number | undefined {
  try {
    return Number(readFileSync(`/proc/sys/net/core/${name}`, 'utf8').trim());
  } catch {
    return undefined;
  }
}

describe('UdpTransport', () => {
  it(
    'binds the given host on port 0 and serves many peers on one socket',
    { timeout: 5_000 },
    async () => {
      const a = await open();
      const b = await open();
      const c = await open();
      expect(a.t.local.host).toBe('127.0.0.1');
      expect(a.t.local.port).toBeGreaterThan(0);
      expect(a.t.sentBy).toEqual(a.t.local);
      b.t.send(Uint8Array.of(1), { protocol: 'udp', ...a.t.local });
      c.t.send(Uint8Array.of(2), { protocol: 'udp', ...a.t.local });
      await until(() => a.got.length === 2);
      const sources = a.got.map((g) => g.source.port).sort();
      expect(sources).toEqual([b.t.local.port, c.t.local.port].sort());
      expect(a.got.every((g) => g.flow === undefined && g.source.protocol === 'udp')).toBe(true);
    },
  );

  it(
    'asks for 4 MiB socket buffers and gets what the kernel allows',
    { timeout: 5_000 },
    async () => {
      const { t } = await open();
      const sizes = t.bufferSizes();
      const rmax = kernelMax('rmem_max');
      const wmax = kernelMax('wmem_max');
      // Linux reserves twice the size asked for, capped at the maximum
      if (rmax !== undefined)
        expect(sizes.recv).toBeGreaterThanOrEqual(Math.min(4 * 1024 * 1024, rmax));
      if (wmax !== undefined)
        expect(sizes.send).toBeGreaterThanOrEqual(Math.min(4 * 1024 * 1024, wmax));
    },
  );

  it('drops and traces a datagram over maxMessageBytes', { timeout: 5_000 }, async () => {
    const a = await open({ maxMessageBytes: 100 });
    const raw = createSocket('udp4');
    raw.send(new Uint8Array(101), a.t.local.port, '127.0.0.1');
    raw.send(new Uint8Array(100), a.t.local.port, '127.0.0.1');
    await until(() => a.got.length === 1 && a.traces.length === 1);
    raw.close();
    expect(a.got[0]!.bytes.length).toBe(100);
    expect(a.traces[0]).toMatchObject({
      type: 'dropped',
      reason: expect.stringContaining('maxMessageBytes'),
    });
  });

  it('catches an exception of its sink and traces it', { timeout: 5_000 }, async () => {
    const a = await open();
    const traces: TransportTraceEvent[] = [];
    a.t.attach({
      receive: () => {
        throw new Error('sink');
      },
      trace: (e) => traces.push(e),
    });
    const b = await open();
    b.t.send(Uint8Array.of(1), { protocol: 'udp', ...a.t.local });
    await until(() => traces.length === 1);
    expect(traces[0]).toMatchObject({ type: 'error' });
  });

  it('rejects a port in use with SIP_ERR_TRANSPORT and bad options with ERR_INVALID_ARG', async () => {
    const a = await open();
    await expect(UdpTransport.listen({ port: a.t.local.port })).rejects.toMatchObject({
      code: 'SIP_ERR_TRANSPORT',
    });
    await expect(UdpTransport.listen({ port: 70_000 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
    });
    await expect(UdpTransport.listen({ port: 0, recvBufferSize: 0 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
    });
  });

  it('refuses a foreign protocol, a bad port, and sending after close; close is idempotent', async () => {
    const { t } = await open();
    expect(() =>
      t.send(Uint8Array.of(1), { protocol: 'tcp', host: '127.0.0.1', port: 5060 }),
    ).toThrow(expect.objectContaining({ code: 'SIP_ERR_TRANSPORT' }));
    expect(() => t.send(Uint8Array.of(1), { protocol: 'udp', host: '127.0.0.1', port: 0 })).toThrow(
      expect.objectContaining({ code: 'SIP_ERR_TRANSPORT' }),
    );
    const closing = t.close();
    expect(t.close()).toBe(closing);
    await closing;
    expect(t.state).toBe('Closed');
    expect(() => t.send(Uint8Array.of(1), { protocol: 'udp', host: '127.0.0.1', port: 9 })).toThrow(
      expect.objectContaining({ code: 'SIP_ERR_CLOSED' }),
    );
  });
});
