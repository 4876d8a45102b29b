/**
 * A request whose connection cannot be opened fails at once with `SIP_ERR_TRANSPORT` naming the
 * cause, instead of waiting for Timer B (RFC 3261 §17.1.1.2: "the client transaction SHOULD
 * inform the TU that a transport failure has occurred"; §18.4): a TLS server whose certificate
 * does not verify (verification is on by default, RFC 5630 §3), and a TCP port nobody listens on.
 */

import { createServer } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SipEndpoint } from '../../../src/sip/endpoint.js';
import { TcpTransport } from '../../../src/sip/transport/node/tcp.js';
import { TlsTransport } from '../../../src/sip/transport/node/tls.js';
import { WsTransport } from '../../../src/sip/transport/node/ws.js';
import type { Transport } from '../../../src/sip/transport/transport.js';
import { UserAgent } from '../../../src/sip/ua/user-agent.js';
import { manualClock } from '../../../src/util/clock.js';
import { makeCertificate, type TestCertificate } from './support.js';

let cert: TestCertificate;
beforeAll(() => {
  cert = makeCertificate();
});

const endpoints: SipEndpoint[] = [];
afterEach(async () => {
  await Promise.all(endpoints.splice(0).map((e) => e.close()));
});

/**
 * A UA on `transport` whose SIP timers never fire (a manual clock nobody moves): the only way a
 * request can fail is the transport failure reported up the stack.
 */
function agent(transport: Transport, name: string): UserAgent {
  const clock = manualClock();
  const endpoint = new SipEndpoint({ transports: [transport], clock });
  endpoints.push(endpoint);
  const scheme = transport.protocol === 'tls' ? 'sips' : 'sip';
  const hostPort = `127.0.0.1:${transport.local.port}`;
  return new UserAgent({
    endpoint,
    clock,
    aor: `${scheme}:${name}@${hostPort}`,
    contact: `${scheme}:${name}@${hostPort}${transport.protocol === 'tls' || transport.protocol === 'udp' ? '' : `;transport=${transport.protocol}`}`,
  });
}

/** `promise`'s outcome, or a failure when it takes longer than `ms` of real time. */
async function within<T>(promise: Promise<T>, ms: number): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  try {
    return { ok: true, value: await Promise.race([promise, late]) };
  } catch (error) {
    if (error instanceof Error && error.message.startsWith('still pending')) throw error;
    return { ok: false, error };
  } finally {
    clearTimeout(timer);
  }
}

async function tlsServer(): Promise<string> {
  const transport = await TlsTransport.listen({ host: '127.0.0.1', port: 0, server: cert });
  const ua = agent(transport, 'phone');
  ua.onInvite(() => ({ status: 200 }));
  return `sips:phone@127.0.0.1:${transport.local.port}`;
}

describe('a connection that cannot be opened fails the request at once', () => {
  it('TLS to a self-signed certificate: SIP_ERR_TRANSPORT within a second, naming the handshake and the fix', async () => {
    const target = await tlsServer();
    const port = target.split(':').at(-1);
    // no client.ca: the system roots do not include the test's self-signed certificate
    const ua = agent(await TlsTransport.listen({ host: '127.0.0.1', port: 0, server: cert }), 'controller');
    const outcome = await within(ua.invite(target), 1_000);
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: Error & { code?: string } }).error;
    expect(error.code).toBe('SIP_ERR_TRANSPORT');
    expect(error.message).toContain(`TLS handshake with 127.0.0.1:${port} failed: self-signed certificate`);
    expect(error.message).toContain("trust its CA with the transport's client.ca option");
  });

  it('TLS with the server certificate as the trusted CA: the INVITE succeeds', async () => {
    const target = await tlsServer();
    const transport = await TlsTransport.listen({ host: '127.0.0.1', port: 0, server: cert, client: { ca: cert.cert } });
    const ua = agent(transport, 'controller');
    const outcome = await within(ua.invite(target), 5_000);
    expect(outcome.ok).toBe(true);
    if (outcome.ok) expect(outcome.value.state).toBe('Confirmed');
  });

  it('TCP to a closed port: SIP_ERR_TRANSPORT within a second, naming the refusal', async () => {
    // a port that was free a moment ago and has no listener now
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const ua = agent(await TcpTransport.listen({ host: '127.0.0.1', port: 0 }), 'controller');
    const outcome = await within(ua.invite(`sip:phone@127.0.0.1:${port};transport=tcp`), 1_000);
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: Error & { code?: string } }).error;
    expect(error.code).toBe('SIP_ERR_TRANSPORT');
    expect(error.message).toContain(`cannot open a TCP connection to 127.0.0.1:${port}`);
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('a non-INVITE request (OPTIONS out of dialog) over refused TCP fails the same way', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const ua = agent(await TcpTransport.listen({ host: '127.0.0.1', port: 0 }), 'controller');
    const outcome = await within(ua.request('OPTIONS', `sip:phone@127.0.0.1:${port};transport=tcp`), 1_000);
    expect(outcome.ok).toBe(false);
    expect((outcome as { error: { code?: string } }).error.code).toBe('SIP_ERR_TRANSPORT');
  });

  it('WebSocket to a closed port: SIP_ERR_TRANSPORT within a second (RFC 7118)', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const ua = agent(await WsTransport.listen({ host: '127.0.0.1', port: 0 }), 'controller');
    const outcome = await within(ua.request('OPTIONS', `sip:phone@127.0.0.1:${port};transport=ws`), 1_000);
    expect(outcome.ok).toBe(false);
    expect((outcome as { error: { code?: string } }).error.code).toBe('SIP_ERR_TRANSPORT');
  });
});
