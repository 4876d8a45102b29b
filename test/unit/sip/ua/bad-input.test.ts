/**
 * Bad input at the UA (RFC 3261 §8.2, §12.2.2, §9.2, §21): hand-written requests sent as bytes
 * to a UA over the memory pair; each gets the answer the RFC names, or is dropped where the RFC
 * says so. Nothing throws.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { SipEndpoint } from '../../../../src/sip/endpoint.js';
import { parseSipMessage } from '../../../../src/sip/message/parse.js';
import type { SipResponse } from '../../../../src/sip/message/types.js';
import { createMemoryPair } from '../../../../src/sip/transport/memory.js';
import type { Transport } from '../../../../src/sip/transport/transport.js';
import { UserAgent, type DialogHandle } from '../../../../src/sip/ua/user-agent.js';
import { manualClock } from '../../../../src/util/clock.js';
import { createIdGenerator, seededRandom } from '../../../../src/util/ids.js';
import { settle } from './ladder.js';

const enc = new TextEncoder();

interface Rig {
  readonly raw: Transport;
  readonly ua: UserAgent;
  readonly endpoint: SipEndpoint;
  readonly received: SipResponse[];
  /** The start line of every message the UA sent back, readable or not. */
  readonly startLines: string[];
  readonly dropped: string[];
  readonly errors: unknown[];
  send(lines: readonly string[], body?: string): Promise<SipResponse[]>;
}

let rig: Rig | undefined;
afterEach(async () => {
  const errors = rig?.errors ?? [];
  await rig?.endpoint.close();
  rig = undefined;
  expect(errors).toEqual([]);
});

function setup(): Rig {
  const clock = manualClock();
  const [raw, tb] = createMemoryPair();
  const received: SipResponse[] = [];
  const startLines: string[] = [];
  const dropped: string[] = [];
  const errors: unknown[] = [];
  raw.attach({
    receive: (bytes) => {
      startLines.push(new TextDecoder().decode(bytes).split('\r\n')[0]!);
      const m = parseSipMessage(bytes);
      if (m.ok && m.value.kind === 'response') received.push(m.value);
    },
    trace: () => {},
  });
  const ids = createIdGenerator(seededRandom(3));
  const endpoint = new SipEndpoint({
    transports: [tb],
    clock,
    ids,
    trace: (e) => {
      if (e.type === 'dropped') dropped.push(e.reason);
      if (e.type === 'error' || e.type === 'user-error') errors.push(e.error);
    },
  });
  const ua = new UserAgent({
    endpoint,
    clock,
    ids,
    aor: 'sip:b@b.memory.invalid:5060',
    contact: 'sip:b@b.memory.invalid:5060',
    trace: (e) => {
      if (e.type === 'user-error') errors.push(e.error);
      if (e.type === 'dropped') dropped.push(e.reason);
    },
  });
  let n = 0;
  const r: Rig = {
    raw,
    ua,
    endpoint,
    received,
    startLines,
    dropped,
    errors,
    async send(lines, body = '') {
      const before = received.length;
      const text = `${lines.join('\r\n')}\r\nContent-Length: ${enc.encode(body).length}\r\n\r\n${body}`;
      raw.send(enc.encode(text), { protocol: 'memory', ...tb.local });
      n++;
      await settle();
      return received.slice(before);
    },
  };
  rig = r;
  return r;
}

let branch = 0;
/** A request's lines; `omit` drops headers by name, `extra` adds lines. */
function request(
  method: string,
  opts: { omit?: string[]; extra?: string[]; cseq?: string; toTag?: string; callId?: string } = {},
): string[] {
  const lines = [
    `${method} sip:b@b.memory.invalid:5060 SIP/2.0`,
    `Via: SIP/2.0/MEMORY a.memory.invalid:5060;branch=z9hG4bKbad${++branch}`,
    'Max-Forwards: 70',
    'From: <sip:a@a.memory.invalid>;tag=fa',
    `To: <sip:b@b.memory.invalid>${opts.toTag === undefined ? '' : `;tag=${opts.toTag}`}`,
    `Call-ID: ${opts.callId ?? `bad-${branch}`}`,
    `CSeq: ${opts.cseq ?? `1 ${method}`}`,
    'Contact: <sip:a@a.memory.invalid:5060>',
  ];
  const omit = new Set((opts.omit ?? []).map((h) => h.toLowerCase()));
  return [...lines.filter((l) => !omit.has(l.slice(0, l.indexOf(':')).toLowerCase())), ...(opts.extra ?? [])];
}

const status = (r: SipResponse): string => `${r.status} ${r.reason}`;

describe('requests the UA refuses (RFC 3261 §8.2)', () => {
  it('answers an INVITE without Contact 400 "Missing Contact"', async () => {
    const r = setup();
    r.ua.onInvite(() => ({ status: 200 }));
    const [res] = await r.send(request('INVITE', { omit: ['Contact'] }));
    expect(status(res!)).toBe('400 Missing Contact');
    expect(res!.to.params['tag']).toBeDefined();
    expect(r.ua.dialogs).toHaveLength(0);
  });

  it('answers a CSeq method that differs from the request method 400', async () => {
    const r = setup();
    const [res] = await r.send(request('INFO', { cseq: '1 BYE' }));
    expect(status(res!)).toBe('400 CSeq Method Mismatch');
  });

  for (const header of ['Call-ID', 'From', 'To', 'CSeq']) {
    it(`answers a request without ${header} 400 naming it`, async () => {
      const r = setup();
      await r.send(request('OPTIONS', { omit: [header] }));
      // the 400 cannot carry the header the request lacked: read its status line as bytes
      expect(r.startLines).toEqual([`SIP/2.0 400 Missing ${header} Header`]);
    });
  }

  it('drops a request without Via: no response can be routed (§8.2, §18.2.1)', async () => {
    const r = setup();
    const res = await r.send(request('OPTIONS', { omit: ['Via'] }));
    expect(res).toEqual([]);
    expect(r.dropped.length).toBeGreaterThan(0);
  });

  it('answers Max-Forwards: 0 with 483 Too Many Hops, but OPTIONS with 200 (§11)', async () => {
    const r = setup();
    const mf0 = (m: string) => request(m).map((l) => (l.startsWith('Max-Forwards') ? 'Max-Forwards: 0' : l));
    r.ua.onRequest('MESSAGE', () => ({ status: 200 }));
    const [res] = await r.send(mf0('MESSAGE'));
    expect(status(res!)).toBe('483 Too Many Hops');
    const [opt] = await r.send(mf0('OPTIONS'));
    expect(opt!.status).toBe(200);
  });

  it('answers Require: unknown-ext with 420 Bad Extension and Unsupported: unknown-ext', async () => {
    const r = setup();
    r.ua.onInvite(() => ({ status: 200 }));
    const [res] = await r.send(request('INVITE', { extra: ['Require: unknown-ext, replaces'] }));
    expect(status(res!)).toBe('420 Bad Extension');
    expect(res!.headers['unsupported']).toEqual(['unknown-ext']);
    expect(r.ua.dialogs).toHaveLength(0);
  });

  it('answers an unknown Content-Encoding 415 with Accept-Encoding: identity (§8.2.3)', async () => {
    const r = setup();
    r.ua.onRequest('MESSAGE', () => ({ status: 200 }));
    const [res] = await r.send(
      request('MESSAGE', { extra: ['Content-Type: text/plain', 'Content-Encoding: x-snappy'] }),
      'hello',
    );
    expect(status(res!)).toBe('415 Unsupported Media Type');
    expect(res!.headers['accept-encoding']).toEqual(['identity']);
  });

  it('answers a method SIP knows 405 and an unknown one 501, both with Allow', async () => {
    const r = setup();
    const allow = ['INVITE, ACK, BYE, CANCEL, INFO, OPTIONS, UPDATE'];
    const [r405] = await r.send(request('PUBLISH'));
    expect(status(r405!)).toBe('405 Method Not Allowed');
    expect(r405!.headers['allow']).toEqual(allow);
    const [r501] = await r.send(request('FROBNICATE'));
    expect(status(r501!)).toBe('501 Not Implemented');
    expect(r501!.headers['allow']).toEqual(allow);
  });
});

describe('requests that name a dialog (RFC 3261 §12.2.2)', () => {
  async function withDialog(r: Rig): Promise<{ dialog: DialogHandle; toTag: string; callId: string }> {
    let dialog: DialogHandle | undefined;
    r.ua.onInvite((_q, d) => {
      dialog = d;
      d.onRequest(() => ({ status: 200 }));
      return { status: 200 };
    });
    const [ok] = await r.send(request('INVITE', { callId: 'dlg-1', cseq: '10 INVITE' }));
    const toTag = ok!.to.params['tag']!;
    await r.send([
      'ACK sip:b@b.memory.invalid:5060 SIP/2.0',
      `Via: SIP/2.0/MEMORY a.memory.invalid:5060;branch=z9hG4bKack${++branch}`,
      'Max-Forwards: 70',
      'From: <sip:a@a.memory.invalid>;tag=fa',
      `To: <sip:b@b.memory.invalid>;tag=${toTag}`,
      'Call-ID: dlg-1',
      'CSeq: 10 ACK',
    ]);
    return { dialog: dialog!, toTag, callId: 'dlg-1' };
  }

  it('answers 481 to a request whose To tag names no dialog', async () => {
    const r = setup();
    const [res] = await r.send(request('INFO', { toTag: 'unknown' }));
    expect(status(res!)).toBe('481 Call/Transaction Does Not Exist');
  });

  it('answers 500 to a CSeq lower than the last one, and the dialog stays', async () => {
    const r = setup();
    const { dialog, toTag, callId } = await withDialog(r);
    const [ok] = await r.send(request('INFO', { toTag, callId, cseq: '11 INFO' }));
    expect(ok!.status).toBe(200);
    const [low] = await r.send(request('INFO', { toTag, callId, cseq: '5 INFO' }));
    expect(status(low!)).toBe('500 CSeq out of order');
    expect(dialog.state).toBe('Confirmed');
  });

  it('answers 481 to a CANCEL that matches no transaction (§9.2)', async () => {
    const r = setup();
    const [res] = await r.send(request('CANCEL', { cseq: '1 CANCEL' }));
    expect(status(res!)).toBe('481 Call/Transaction Does Not Exist');
  });

  it('answers 200 to a CANCEL of an INVITE already answered, with no other effect', async () => {
    const r = setup();
    r.ua.onInvite(() => ({ status: 486 }));
    const lines = request('INVITE', { callId: 'late-cancel' });
    const [busy] = await r.send(lines);
    expect(busy!.status).toBe(486);
    const cancel = lines.map((l) =>
      l.startsWith('INVITE') ? l.replace('INVITE', 'CANCEL') : l.startsWith('CSeq') ? 'CSeq: 1 CANCEL' : l,
    );
    const res = await r.send(cancel);
    expect(res.map(status)).toEqual(['200 OK']);
  });

  it('drops an ACK that matches no 2xx, without answering', async () => {
    const r = setup();
    const res = await r.send(request('ACK', { toTag: 'nope', cseq: '1 ACK' }));
    expect(res).toEqual([]);
    expect(r.dropped).toContain('ACK matches no 2xx waiting for one');
  });
});
