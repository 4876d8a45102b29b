/**
 * The UA features of issue #5 over UDP on loopback with the system clock: ringing and an INFO
 * in the early dialog, CANCEL of a ringing INVITE, REFER with its NOTIFYs, out-of-dialog
 * NOTIFY, and bad requests sent as raw datagrams.
 */

import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import type { SipRequest } from '../../../src/sip/message/types.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import type { ReferProgress } from '../../../src/sip/ua/refer.js';
import type { DialogHandle } from '../../../src/sip/ua/user-agent.js';
import { systemClock } from '../../../src/util/clock.js';
import { CSTA, text, uaPair, type Pair } from '../../unit/sip/ua/ladder.js';

let pair: Pair | undefined;
let socket: Socket | undefined;
afterEach(async () => {
  socket?.close();
  socket = undefined;
  await pair?.close();
  pair = undefined;
});

async function udpPair(): Promise<Pair> {
  const a = await UdpTransport.listen({ host: '127.0.0.1', port: 0 });
  const b = await UdpTransport.listen({ host: '127.0.0.1', port: 0 });
  pair = uaPair({ clock: systemClock, transports: [a, b] });
  return pair;
}

async function until(cond: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('UA features over UDP loopback', () => {
  it('rings, carries INFO both ways in the early dialog, then answers', async () => {
    const p = await udpPair();
    let answer: () => void = () => {};
    let bDialog: DialogHandle | undefined;
    p.b.ua.onInvite((_r, d, invite) => {
      bDialog = d;
      d.onRequest(() => ({ status: 200, body: '<MakeCallResponse/>', contentType: CSTA }));
      invite.progress(180);
      return new Promise((resolve) => {
        answer = () => resolve({ status: 200 });
      });
    });
    let early: DialogHandle | undefined;
    const aSeen: SipRequest[] = [];
    const pending = p.a.ua.invite(p.bUri, {
      onProgress: (_r, d) => (early = d),
      onRequest: (req) => {
        aSeen.push(req);
        return { status: 200 };
      },
    });
    await until(() => early !== undefined);
    const res = await early!.request('INFO', { body: '<MakeCall/>', contentType: CSTA });
    expect(text(res.body)).toBe('<MakeCallResponse/>');
    await bDialog!.request('INFO', { body: '<DeliveredEvent/>', contentType: CSTA });
    answer();
    const dialog = await pending;
    await until(() => p.ladder.lines().length >= 8);
    expect(dialog).toBe(early);
    expect(p.ladder.lines()).toEqual([
      'A → B INVITE',
      'B → A 180',
      'A → B INFO',
      'B → A 200',
      'B → A INFO',
      'A → B 200',
      'B → A 200',
      'A → B ACK',
    ]);
    expect(text(aSeen[0]!.body)).toBe('<DeliveredEvent/>');
    expect(p.problems).toEqual([]);
  });

  it('cancels a ringing INVITE: the callee handler sees the abort', async () => {
    const p = await udpPair();
    let cancelled: AbortSignal | undefined;
    p.b.ua.onInvite((_r, _d, invite) => {
      cancelled = invite.cancelled;
      invite.progress(180);
      return new Promise(() => {});
    });
    const ac = new AbortController();
    const pending = p.a.ua.invite(p.bUri, { signal: ac.signal }).catch((e: unknown) => e);
    await until(() => p.ladder.lines().length >= 2);
    ac.abort();
    expect(await pending).toMatchObject({ code: 'ERR_ABORTED' });
    await until(() => p.ladder.lines().length >= 6);
    expect(cancelled!.aborted).toBe(true);
    expect(p.ladder.lines()).toEqual([
      'A → B INVITE',
      'B → A 180',
      'A → B CANCEL',
      'B → A 200',
      'B → A 487',
      'A → B ACK',
    ]);
    expect(p.problems).toEqual([]);
  });

  it('runs REFER → 202 → NOTIFY 100 / 200 in a dialog', async () => {
    const p = await udpPair();
    let bDialog: DialogHandle | undefined;
    p.b.ua.onInvite((_r, d) => {
      bDialog = d;
      d.onRefer((refer) => {
        expect(refer.target).toBe('sip:carol@192.0.2.3');
        void refer.notify(200);
      });
      return { status: 200 };
    });
    const a = await p.a.ua.invite(p.bUri);
    await until(() => bDialog !== undefined);
    const seen: ReferProgress[] = [];
    const sub = await a.refer('sip:carol@192.0.2.3', { onNotify: (n) => seen.push(n) });
    expect(sub.response.status).toBe(202);
    expect(await sub.done).toMatchObject({ status: 200, final: true });
    await until(() => p.ladder.lines().length >= 9);
    expect(seen.map((n) => `${n.status} ${n.state}`)).toEqual(['100 active', '200 terminated']);
    expect(p.ladder.lines().slice(3)).toEqual([
      'A → B REFER',
      'B → A 202',
      'B → A NOTIFY',
      'A → B 200',
      'B → A NOTIFY',
      'A → B 200',
    ]);
    expect(p.problems).toEqual([]);
  });

  it('sends an out-of-dialog NOTIFY and gets the handler answer', async () => {
    const p = await udpPair();
    const bodies: string[] = [];
    p.b.ua.onRequest('NOTIFY', (req) => {
      bodies.push(text(req.body));
      return { status: 200 };
    });
    const res = await p.a.ua.request('NOTIFY', p.bUri, {
      headers: { Event: 'csta', 'Subscription-State': 'active' },
      body: '<DeliveredEvent/>',
      contentType: CSTA,
    });
    expect(res.status).toBe(200);
    expect(bodies).toEqual(['<DeliveredEvent/>']);
    expect(p.problems).toEqual([]);
  });

  it('answers raw bad requests: no Contact 400, Require 420, unknown dialog 481, Max-Forwards 0 483', async () => {
    const p = await udpPair();
    p.b.ua.onInvite(() => ({ status: 200 }));
    const s = createSocket('udp4');
    socket = s;
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
    const port = s.address().port;
    const replies: string[] = [];
    s.on('message', (m) => replies.push(m.toString('utf8')));
    const bPort = p.b.transport.local.port;
    let n = 0;
    const send = async (method: string, extra: string[], opts: { contact?: boolean; toTag?: string; maxForwards?: number } = {}) => {
      n++;
      const lines = [
        `${method} sip:b@127.0.0.1:${bPort} SIP/2.0`,
        `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bKraw${n}`,
        `Max-Forwards: ${opts.maxForwards ?? 70}`,
        'From: <sip:x@127.0.0.1>;tag=raw',
        `To: <sip:b@127.0.0.1>${opts.toTag === undefined ? '' : `;tag=${opts.toTag}`}`,
        `Call-ID: raw-${n}`,
        `CSeq: 1 ${method}`,
        ...(opts.contact === false ? [] : [`Contact: <sip:x@127.0.0.1:${port}>`]),
        ...extra,
        'Content-Length: 0',
        '',
        '',
      ];
      const before = replies.length;
      s.send(lines.join('\r\n'), bPort, '127.0.0.1');
      await until(() => replies.length > before);
      return replies[before]!;
    };
    const noContact = await send('INVITE', [], { contact: false });
    expect(noContact).toMatch(/^SIP\/2\.0 400 Missing Contact\r\n/);
    const require = await send('INVITE', ['Require: x-unknown']);
    expect(require).toMatch(/^SIP\/2\.0 420 Bad Extension\r\n/);
    expect(require).toMatch(/\r\nUnsupported: x-unknown\r\n/);
    const unknown = await send('INFO', [], { toTag: 'gone' });
    expect(unknown).toMatch(/^SIP\/2\.0 481 Call\/Transaction Does Not Exist\r\n/);
    const message = await send('MESSAGE', []);
    expect(message).toMatch(/^SIP\/2\.0 405 Method Not Allowed\r\n/);
    expect(message).toMatch(/\r\nAllow: INVITE, ACK, BYE, CANCEL, INFO, OPTIONS, UPDATE\r\n/);
    const mf0 = await send('INVITE', [], { maxForwards: 0 });
    expect(mf0).toMatch(/^SIP\/2\.0 483 Too Many Hops\r\n/);
    expect(p.b.ua.dialogs).toHaveLength(0);
  });
});
