/**
 * Helpers of the SIP integration tests: INFO builders, a self-signed certificate made with the
 * `openssl` CLI in a temporary folder, and endpoints on loopback for every transport.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  SipEndpoint,
  type SipEndpointOptions,
  type SipEndpointTraceEvent,
} from '../../../src/sip/endpoint.js';
import type { SipRequestInit } from '../../../src/sip/message/serialize.js';
import { TcpTransport } from '../../../src/sip/transport/node/tcp.js';
import { TlsTransport } from '../../../src/sip/transport/node/tls.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import { WsTransport } from '../../../src/sip/transport/node/ws.js';
import type {
  Transport,
  TransportProtocol,
  TransportTarget,
} from '../../../src/sip/transport/transport.js';

export const utf8 = new TextEncoder();
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** An INFO to `target` in a made-up dialog, without Via (the endpoint adds its own). */
export function info(
  target: TransportTarget,
  cseq: number,
  body = '',
  callId = 'info-dialog-1',
): Omit<SipRequestInit, 'via'> {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const transport = target.protocol === 'udp' ? '' : `;transport=${target.protocol}`;
  return {
    method: 'INFO',
    uri: `sip:phone@${host}:${target.port}${transport}`,
    from: {
      displayName: undefined,
      uri: 'sip:controller@example.invalid',
      params: { tag: 'ctl1' },
    },
    to: { displayName: undefined, uri: 'sip:phone@example.invalid', params: { tag: 'ph1' } },
    callId,
    cseq,
    headers: body === '' ? {} : { 'Content-Type': 'application/csta+xml' },
    body,
  };
}

/** A self-signed certificate for 127.0.0.1 and localhost, made by `openssl` in a temporary folder. */
export interface TestCertificate {
  readonly key: Buffer;
  readonly cert: Buffer;
}

export function makeCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'uacsta-tls-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore', timeout: 20_000 },
    );
    return { key: readFileSync(key), cert: readFileSync(cert) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A listening transport of `protocol` on 127.0.0.1, port 0. */
export async function listen(
  protocol: TransportProtocol,
  cert?: TestCertificate,
): Promise<Transport> {
  switch (protocol) {
    case 'udp':
      return UdpTransport.listen({ host: '127.0.0.1', port: 0 });
    case 'tcp':
      return TcpTransport.listen({ host: '127.0.0.1', port: 0 });
    case 'tls':
      if (cert === undefined) throw new Error('tls needs a certificate');
      return TlsTransport.listen({
        host: '127.0.0.1',
        port: 0,
        server: cert,
        client: { ca: cert.cert },
      });
    case 'ws':
      return WsTransport.listen({ host: '127.0.0.1', port: 0 });
    case 'wss':
      if (cert === undefined) throw new Error('wss needs a certificate');
      return WsTransport.listen({
        secure: true,
        host: '127.0.0.1',
        port: 0,
        tls: { server: cert, client: { ca: cert.cert } },
      });
    case 'memory':
      throw new Error('use createMemoryPair');
  }
}

/** The address at which `transport` is reached. */
export function targetOf(transport: Transport): TransportTarget {
  return { protocol: transport.protocol, host: transport.local.host, port: transport.local.port };
}

/** An endpoint over `transports` that records its trace. */
export function endpoint(
  transports: readonly Transport[],
  extra: Partial<SipEndpointOptions> = {},
): { endpoint: SipEndpoint; events: SipEndpointTraceEvent[] } {
  const events: SipEndpointTraceEvent[] = [];
  const ep = new SipEndpoint({ transports, trace: (e) => events.push(e), ...extra });
  return { endpoint: ep, events };
}

/** Resolves after `ms` of real time; for waiting on sockets. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it is true, failing after `timeoutMs`. */
export async function until(
  check: () => boolean,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}
