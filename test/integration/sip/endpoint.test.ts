/**
 * The endpoint over the in-memory pair: the Via rules of RFC 3261 §18 and RFC 3581, the answers
 * it gives on its own (501 without a handler, 500 when the handler fails), and how
 * `sendRequest` settles (response, Timer F, abort, close).
 */

import { describe, expect, it } from 'vitest';
import { SipEndpoint } from '../../../src/sip/endpoint.js';
import { parseSipMessage } from '../../../src/sip/message/parse.js';
import { createResponse, serializeSipMessage } from '../../../src/sip/message/serialize.js';
import type { SipMessage, SipRequest, SipResponse } from '../../../src/sip/message/types.js';
import { createMemoryPair, type MemoryTransport } from '../../../src/sip/transport/memory.js';
import type { TransportTarget } from '../../../src/sip/transport/transport.js';
import { manualClock } from '../../../src/util/clock.js';
import { endpoint, info, text, utf8 } from './support.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A memory pair whose side `a` is a raw peer: the test writes its bytes and reads what it gets. */
function rawPeer(extra: Parameters<typeof endpoint>[1] = {}) {
  const [a, b] = createMemoryPair();
  const got: SipMessage[] = [];
  const dropped: string[] = [];
  a.attach({
    receive: (bytes) => {
      const r = parseSipMessage(bytes);
      if (r.ok) got.push(r.value);
    },
    trace: (e) => {
      if (e.type === 'dropped') dropped.push(e.reason);
    },
  });
  const made = endpoint([b], extra);
  const toEndpoint: TransportTarget = { protocol: 'memory', ...b.local };
  const send = (s: string): void => a.send(utf8.encode(s), toEndpoint);
  return { a, b, got, dropped, send, toEndpoint, ...made };
}

function rawInfo(via: string, seq = 1, method = 'INFO'): string {
  return [
    `${method} sip:phone@b.memory.invalid SIP/2.0`,
    `Via: ${via}`,
    'Max-Forwards: 70',
    'From: <sip:ctl@example.invalid>;tag=f1',
    'To: <sip:phone@example.invalid>;tag=t1',
    'Call-ID: ep-1',
    `CSeq: ${seq} ${method}`,
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n');
}

const respond200 = (request: SipRequest) => createResponse(request, 200, 'OK', { toTag: 'srv' });

describe('incoming requests (RFC 3261 §18.2, RFC 3581)', () => {
  it('adds received and fills rport, and answers to received:rport', async () => {
    const p = rawPeer();
    const seen: SipRequest[] = [];
    p.endpoint.onRequest((request, tx) => {
      seen.push(request);
      tx.respond(respond200(request));
    });
    p.send(rawInfo('SIP/2.0/MEMORY 192.0.2.9:5999;branch=z9hG4bKr1;rport'));
    await flush();
    await flush();
    expect(seen[0]!.via[0]!.params).toMatchObject({ received: 'a.memory.invalid', rport: '5060' });
    expect(p.got).toHaveLength(1);
    const response = p.got[0] as SipResponse;
    expect(response.status).toBe(200);
    expect(response.via[0]!.params).toMatchObject({
      received: 'a.memory.invalid',
      rport: '5060',
      branch: 'z9hG4bKr1',
    });
  });

  it('without rport answers to received and the sent-by port (RFC 3261 §18.2.2)', async () => {
    const p = rawPeer();
    p.endpoint.onRequest((request, tx) => tx.respond(respond200(request)));
    p.send(rawInfo('SIP/2.0/MEMORY 192.0.2.9:5999;branch=z9hG4bKr2'));
    await flush();
    await flush();
    // a.memory.invalid:5999 is not where the peer listens: the memory network drops it
    expect(p.got).toHaveLength(0);
    expect(p.events).toContainEqual(
      expect.objectContaining({
        type: 'sent',
        target: { protocol: 'memory', host: 'a.memory.invalid', port: 5999 },
      }),
    );
  });

  it('answers 501 while no handler is registered', async () => {
    const p = rawPeer();
    p.send(rawInfo('SIP/2.0/MEMORY a.memory.invalid:5060;branch=z9hG4bKr3'));
    await flush();
    await flush();
    expect((p.got[0] as SipResponse).status).toBe(501);
    expect(p.got[0]!.to.params['tag']).toBe('t1');
  });

  it('answers 500 when the handler throws or rejects, once, and traces it', async () => {
    const p = rawPeer();
    let n = 0;
    p.endpoint.onRequest(async (request, tx) => {
      n++;
      if (request.cseq.seq === 1) throw new Error('sync-looking failure');
      if (request.cseq.seq === 2) {
        await flush();
        throw new Error('async failure');
      }
      tx.respond(respond200(request));
      throw new Error('after answering');
    });
    for (const seq of [1, 2, 3])
      p.send(rawInfo(`SIP/2.0/MEMORY a.memory.invalid:5060;branch=z9hG4bKh${seq}`, seq));
    for (let i = 0; i < 5; i++) await flush();
    expect(n).toBe(3);
    const statusOf = new Map(p.got.map((m) => [m.cseq.seq, (m as SipResponse).status]));
    expect([1, 2, 3].map((seq) => statusOf.get(seq))).toEqual([500, 500, 200]);
    expect(p.got).toHaveLength(3);
    expect(p.events.filter((e) => e.type === 'user-error')).toHaveLength(3);
  });

  it('refuses a second handler and lets the first one go', () => {
    const p = rawPeer();
    const off = p.endpoint.onRequest(() => {});
    expect(() => p.endpoint.onRequest(() => {})).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_STATE' }),
    );
    off();
    expect(() => p.endpoint.onRequest(() => {})).not.toThrow();
  });

  it('drops a response whose top Via is not ours (RFC 3261 §18.1.2)', async () => {
    const p = rawPeer();
    const parsed = parseSipMessage(
      utf8.encode(rawInfo('SIP/2.0/MEMORY 198.51.100.1:5060;branch=z9hG4bKx')),
    );
    if (!parsed.ok || parsed.value.kind !== 'request') throw new Error('expected a request');
    const bytes = serializeSipMessage(createResponse(parsed.value, 200, 'OK'));
    p.a.send(bytes, p.toEndpoint);
    await flush();
    expect(p.endpoint.counters.dropped).toBe(1);
    expect(p.events.at(-1)).toMatchObject({
      type: 'dropped',
      reason: expect.stringContaining('not ours'),
    });
  });

  it('survives a trace hook that throws', async () => {
    const [a, b] = createMemoryPair();
    const ep = new SipEndpoint({
      transports: [b],
      trace: () => {
        throw new Error('bad hook');
      },
    });
    ep.onRequest((request, tx) => tx.respond(respond200(request)));
    const got: Uint8Array[] = [];
    a.attach({ receive: (bytes) => got.push(bytes), trace: () => {} });
    a.send(utf8.encode(rawInfo('SIP/2.0/MEMORY a.memory.invalid:5060;branch=z9hG4bKt')), {
      protocol: 'memory',
      ...b.local,
    });
    a.send(utf8.encode('garbage'), { protocol: 'memory', ...b.local });
    await flush();
    await flush();
    expect(got).toHaveLength(1);
    expect(ep.counters).toMatchObject({ received: 2, dropped: 1, errors: 0 });
  });
});

describe('sendRequest', () => {
  function pair(clock = manualClock()) {
    const [a, b] = createMemoryPair({ clock });
    const client = endpoint([a], { clock });
    const server = endpoint([b], { clock });
    const target: TransportTarget = { protocol: 'memory', ...b.local };
    return {
      a,
      b,
      clock,
      client: client.endpoint,
      server: server.endpoint,
      clientEvents: client.events,
      target,
    };
  }

  it('puts our Via on top with a fresh branch and rport, and resolves with the final response', async () => {
    const { client, server, target } = pair();
    const seen: SipRequest[] = [];
    const provisional: number[] = [];
    server.onRequest((request, tx) => {
      seen.push(request);
      tx.respond(createResponse(request, 180, 'Ringing'));
      tx.respond(createResponse(request, 202, 'Accepted', { toTag: 'srv', body: 'Grüße' }));
    });
    const response = await client.sendRequest(info(target, 5, 'x'), target, {
      onProvisional: (r) => provisional.push(r.status),
    });
    expect(response.status).toBe(202);
    expect(text(response.body)).toBe('Grüße');
    expect(provisional).toEqual([180]);
    const top = seen[0]!.via[0]!;
    expect(top).toMatchObject({ transport: 'MEMORY', host: 'a.memory.invalid', port: 5060 });
    expect(top.branch).toMatch(/^z9hG4bK[0-9a-f]{24}$/);
    expect('rport' in top.params).toBe(true);
  });

  it('never takes a response with the right branch but another CSeq', async () => {
    const clock = manualClock();
    const [a, b] = createMemoryPair({ clock });
    const client = endpoint([a], { clock });
    const requests: SipRequest[] = [];
    b.attach({
      receive: (bytes) => {
        const r = parseSipMessage(bytes);
        if (r.ok && r.value.kind === 'request') requests.push(r.value);
      },
      trace: () => {},
    });
    const target: TransportTarget = { protocol: 'memory', ...b.local };
    const pending = client.endpoint.sendRequest(info(target, 8), target);
    await flush();
    const request = requests[0]!;
    const stale: SipRequest = { ...request, cseq: { seq: 7, method: 'INFO' } };
    b.send(serializeSipMessage(createResponse(stale, 200, 'stale', { toTag: 'x' })), {
      protocol: 'memory',
      ...a.local,
    });
    b.send(serializeSipMessage(createResponse(request, 200, 'fresh', { toTag: 'x' })), {
      protocol: 'memory',
      ...a.local,
    });
    const response = await pending;
    expect(response.reason).toBe('fresh');
    expect(response.cseq.seq).toBe(8);
    expect(client.events).toContainEqual(
      expect.objectContaining({
        type: 'transaction',
        event: expect.objectContaining({ type: 'dropped' }),
      }),
    );
  });

  it('rejects with SIP_ERR_TIMEOUT when Timer F fires (RFC 3261 §17.1.2.2)', async () => {
    const { client, server, clock, target } = pair();
    server.onRequest(() => {}); // takes the request and never answers
    const outcome = client.sendRequest(info(target, 1), target).then(
      () => 'resolved',
      (e: { code: string }) => e.code,
    );
    for (let t = 0; t < 32_000; t += 500) {
      clock.tick(500);
      await flush();
    }
    expect(await outcome).toBe('SIP_ERR_TIMEOUT');
  });

  it('rejects with ERR_ABORTED on abort, and without sending when already aborted', async () => {
    const { client, server, target } = pair();
    server.onRequest(() => {});
    const ac = new AbortController();
    const pending = client.sendRequest(info(target, 1), target, { signal: ac.signal });
    ac.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    await expect(
      client.sendRequest(info(target, 2), target, { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });

  it('rejects misuse: INVITE, ACK, a protocol without transport', async () => {
    const { client, target } = pair();
    await expect(
      client.sendRequest({ ...info(target, 1), method: 'INVITE' }, target),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await expect(
      client.sendRequest({ ...info(target, 1), method: 'ACK' }, target),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await expect(
      client.sendRequest(info(target, 1), { ...target, protocol: 'udp' }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
  });

  it('close() rejects what is pending with SIP_ERR_CLOSED, is idempotent, and ends in Closed', async () => {
    const { client, server, target } = pair();
    server.onRequest(() => {});
    const pending = client.sendRequest(info(target, 1), target);
    expect(client.state).toBe('Open');
    const first = client.close();
    expect(client.state).toBe('Closing');
    expect(client.close()).toBe(first);
    await expect(pending).rejects.toMatchObject({ code: 'SIP_ERR_CLOSED' });
    await first;
    expect(client.state).toBe('Closed');
    expect((client.transports[0] as MemoryTransport).state).toBe('Closed');
    await expect(client.sendRequest(info(target, 2), target)).rejects.toMatchObject({
      code: 'SIP_ERR_CLOSED',
    });
    expect(() => client.createVia('memory')).not.toThrow();
  });
});

describe('createVia', () => {
  it('asks for rport only on unreliable transports (RFC 3581 §3)', () => {
    const [, b] = createMemoryPair();
    const [, r] = createMemoryPair({ reliable: true });
    expect('rport' in new SipEndpoint({ transports: [b] }).createVia('memory').params).toBe(true);
    expect('rport' in new SipEndpoint({ transports: [r] }).createVia('memory').params).toBe(false);
  });
});
