import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TlsTransport } from '../../../../src/sip/transport/node/tls.js';
import type { TransportTraceEvent } from '../../../../src/sip/transport/transport.js';
import { makeCertificate, type TestCertificate } from '../../../integration/sip/support.js';

const enc = new TextEncoder();
const frame = (tag: string): Uint8Array =>
  enc.encode(`OPTIONS sip:${tag}@example.invalid SIP/2.0\r\nContent-Length: 0\r\n\r\n`);

let cert: TestCertificate;
beforeAll(() => {
  cert = makeCertificate();
});

const opened: TlsTransport[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((t) => t.close()));
});

async function open(client: Parameters<typeof TlsTransport.listen>[0]['client']) {
  const t = await TlsTransport.listen({ port: 0, server: cert, client });
  opened.push(t);
  const got: string[] = [];
  const traces: TransportTraceEvent[] = [];
  t.attach({
    receive: (bytes) => got.push(new TextDecoder().decode(bytes)),
    trace: (e) => traces.push(e),
  });
  return {
    t,
    got,
    traces,
    target: { protocol: 'tls' as const, host: '127.0.0.1', port: t.local.port },
  };
}

const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 600 && !check(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!check()) throw new Error('timed out');
};

describe('TlsTransport', () => {
  it('carries messages to a peer whose certificate it trusts', { timeout: 10_000 }, async () => {
    const a = await open({ ca: cert.cert });
    const b = await open({ ca: cert.cert });
    a.t.send(frame('one'), b.target);
    await until(() => b.got.length === 1);
    expect(b.got[0]).toContain('sip:one@');
  });

  it(
    'reports a certificate it does not trust to onError and never delivers',
    { timeout: 10_000 },
    async () => {
      const a = await open({}); // the system roots only: our self-signed certificate fails
      const b = await open({ ca: cert.cert });
      const errors: unknown[] = [];
      a.t.send(frame('x'), b.target, { onError: (e) => errors.push(e) });
      await until(() => errors.length === 1);
      expect(errors[0]).toMatchObject({ code: 'SIP_ERR_TRANSPORT' });
      expect(b.got).toEqual([]);
      await until(() => b.traces.some((e) => e.type === 'error'));
    },
  );

  it('needs server settings', async () => {
    await expect(TlsTransport.listen({ port: 0 } as never)).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
    });
  });
});
