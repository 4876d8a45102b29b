/**
 * Interop with npm `sip` 0.0.6 (research/libfit.md §1.6) over UDP and TCP: our endpoint sends
 * INFO to a `sip.create` stack and answers the INFOs it sends. Its traps are stepped around:
 * its `publicAddress` is a name that is never a target (the host-equals-self trap), and its
 * bodies are latin1 strings, so UTF-8 is converted at the test's boundary.
 */

import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import sipModule from 'sip';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createResponse } from '../../../src/sip/message/serialize.js';
import type { SipRequest } from '../../../src/sip/message/types.js';
import type { SipEndpoint, SipEndpointTraceEvent } from '../../../src/sip/endpoint.js';
import { TcpTransport } from '../../../src/sip/transport/node/tcp.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import type { TransportTarget } from '../../../src/sip/transport/transport.js';
import { endpoint, info, text } from './support.js';

const BODY = '<MakeCall><callingDevice>Müller €</callingDevice></MakeCall>';
const ANSWER = '<MakeCallResponse><callID>Grüße €</callID></MakeCallResponse>';
const toLatin1 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
const fromLatin1 = (s: string | undefined): string =>
  Buffer.from(s ?? '', 'latin1').toString('utf8');

/** A message of npm `sip`: plain objects, the body a latin1 string. */
interface SipJsMessage {
  method?: string;
  uri?: string;
  status?: number;
  headers: Record<string, unknown>;
  content?: string;
}

/** The part of npm `sip`'s stack API the test uses (`src/sip/message/sip-module.d.ts` declares only the parser). */
interface SipJsStack {
  /** Sends a request (with `callback` for every response) or a response. */
  send(message: SipJsMessage, callback?: (response: SipJsMessage) => void): void;
  destroy(): void;
}

interface SipJsApi {
  create(
    options: { udp: boolean; tcp: boolean; port: number; address: string; publicAddress: string },
    handler: (request: SipJsMessage) => void,
  ): SipJsStack;
  makeResponse(
    request: SipJsMessage,
    status: number,
    reason: string,
    extension: { headers: Record<string, string>; content: string },
  ): SipJsMessage;
}

const sip = sipModule as unknown as SipJsApi;

/** A port free for both UDP and TCP on 127.0.0.1 (npm sip binds both on one port). */
async function freePort(): Promise<number> {
  for (;;) {
    const server = createServer();
    const port = await new Promise<number>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
    );
    const udp = createSocket('udp4');
    const ok = await new Promise<boolean>((resolve) => {
      udp.once('error', () => resolve(false));
      udp.bind(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((r) => udp.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
    if (ok) return port;
  }
}

let stack: SipJsStack;
let theirPort: number;
const theirRequests: SipJsMessage[] = [];
let ours: SipEndpoint;
let events: SipEndpointTraceEvent[];
const ourRequests: SipRequest[] = [];

beforeAll(async () => {
  theirPort = await freePort();
  stack = sip.create(
    {
      udp: true,
      tcp: true,
      port: theirPort,
      address: '127.0.0.1',
      publicAddress: 'sip-test.invalid',
    },
    (request) => {
      theirRequests.push(request);
      stack.send(
        sip.makeResponse(request, 200, 'OK', {
          headers: { 'content-type': 'application/csta+xml' },
          content: toLatin1(ANSWER),
        }),
      );
    },
  );
  const made = endpoint([
    await UdpTransport.listen({ host: '127.0.0.1', port: 0 }),
    await TcpTransport.listen({ host: '127.0.0.1', port: 0 }),
  ]);
  ours = made.endpoint;
  events = made.events;
  ours.onRequest((request, tx) => {
    ourRequests.push(request);
    tx.respond(
      createResponse(request, 200, 'OK', {
        toTag: 'ours',
        headers: { 'Content-Type': 'application/csta+xml' },
        body: ANSWER,
      }),
    );
  });
});

afterAll(async () => {
  stack.destroy();
  await ours.close();
});

describe.each(['udp', 'tcp'] as const)('npm sip over %s', (protocol) => {
  it('answers our INFOs with the right CSeq and body', { timeout: 10_000 }, async () => {
    const target: TransportTarget = { protocol, host: '127.0.0.1', port: theirPort };
    const before = theirRequests.length;
    for (let seq = 1; seq <= 20; seq++) {
      const response = await ours.sendRequest(
        info(target, seq, BODY, `to-npm-${protocol}`),
        target,
      );
      expect(response.status).toBe(200);
      expect(response.cseq.seq).toBe(seq);
      expect(text(response.body)).toBe(ANSWER);
    }
    const got = theirRequests.slice(before);
    expect(got.map((r) => (r.headers['cseq'] as { seq: number }).seq)).toEqual(
      Array.from({ length: 20 }, (_, i) => i + 1),
    );
    expect(fromLatin1(got[0]!.content)).toBe(BODY);
  });

  it('gets our answers to its INFOs', { timeout: 10_000 }, async () => {
    const before = ourRequests.length;
    const ourPort = ours.transports.find((t) => t.protocol === protocol)!.local.port;
    const transportParam = protocol === 'tcp' ? ';transport=tcp' : '';
    for (let seq = 1; seq <= 10; seq++) {
      const response = await new Promise<SipJsMessage>((resolve) => {
        stack.send(
          {
            method: 'INFO',
            uri: `sip:controller@127.0.0.1:${ourPort}${transportParam}`,
            headers: {
              to: { uri: `sip:controller@127.0.0.1:${ourPort}`, params: { tag: 'ours' } },
              from: { uri: 'sip:phone@sip-test.invalid', params: { tag: 'theirs' } },
              'call-id': `from-npm-${protocol}`,
              cseq: { method: 'INFO', seq },
              'max-forwards': 70,
              'content-type': 'application/csta+xml',
            },
            content: toLatin1(BODY),
          },
          (r) => {
            if ((r.status ?? 0) >= 200) resolve(r);
          },
        );
      });
      expect(response.status).toBe(200);
      expect((response.headers['cseq'] as { seq: number }).seq).toBe(seq);
      expect(fromLatin1(response.content)).toBe(ANSWER);
    }
    const got = ourRequests.slice(before);
    expect(got.map((r) => r.cseq.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(text(got[0]!.body)).toBe(BODY);
    // RFC 3261 §18.2.1: its sent-by is a name, so we added received
    expect(got[0]!.via[0]!.params['received']).toBe('127.0.0.1');
    expect(
      events.filter((e) => e.type === 'dropped' || e.type === 'error' || e.type === 'user-error'),
    ).toEqual([]);
  });
});

export {};
