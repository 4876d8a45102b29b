/**
 * REFER in a dialog and its implicit subscription (RFC 3515, RFC 6665 minimal), Replaces in
 * the Refer-To and in an INVITE (RFC 3891).
 */

import { afterEach, describe, expect, it } from 'vitest';
import { formatReplaces, replacesFor } from '../../../../src/sip/dialog/replaces.js';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/types.js';
import type { IncomingRefer, ReferProgress } from '../../../../src/sip/ua/refer.js';
import type { IncomingInvite } from '../../../../src/sip/ua/incoming-invite.js';
import type { DialogHandle } from '../../../../src/sip/ua/user-agent.js';
import { manualClock } from '../../../../src/util/clock.js';
import { settle, text, uaPair, type Pair } from './ladder.js';

let pair: Pair | undefined;
afterEach(async () => {
  const problems = pair?.problems ?? [];
  await pair?.close();
  pair = undefined;
  expect(problems).toEqual([]);
});

async function established(p: Pair): Promise<{ a: DialogHandle; b: DialogHandle }> {
  let b: DialogHandle | undefined;
  p.b.ua.onInvite((_r, d) => {
    b = d;
    return { status: 200 };
  });
  const a = await p.a.ua.invite(p.bUri);
  await settle();
  return { a, b: b! };
}

describe('REFER and its NOTIFYs (RFC 3515)', () => {
  it('202, then NOTIFY 100 Trying (active), 180, 200 (terminated;reason=noresource)', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    const { a, b } = await established(p);
    let refer: IncomingRefer | undefined;
    b.onRefer((r) => {
      refer = r;
    });
    const seen: ReferProgress[] = [];
    const sub = await a.refer('sip:carol@c.invalid', { onNotify: (n) => seen.push(n) });
    expect(sub.response.status).toBe(202);
    expect(sub.response.reason).toBe('Accepted');
    expect(refer!.target).toBe('sip:carol@c.invalid');
    expect(refer!.replaces).toBeUndefined();
    await settle();
    await refer!.notify(180);
    await refer!.notify(200);
    const last = await sub.done;
    expect(last).toMatchObject({ status: 200, reason: 'OK', state: 'terminated', final: true });
    expect(seen.map((n) => `${n.status} ${n.reason} ${n.state}`)).toEqual([
      '100 Trying active',
      '180 Ringing active',
      '200 OK terminated',
    ]);
    const got: number[] = [];
    for await (const n of sub) got.push(n.status);
    expect(got).toEqual([100, 180, 200]);
    expect(p.ladder.lines().slice(3)).toEqual([
      'A → B REFER',
      'B → A 202',
      'B → A NOTIFY',
      'A → B 200',
      'B → A NOTIFY',
      'A → B 200',
      'B → A NOTIFY',
      'A → B 200',
    ]);
    const msgs = p.ladder.entries.map((e) => e.message);
    const referReq = msgs[3] as SipRequest;
    expect(referReq.headers['refer-to']).toEqual(['<sip:carol@c.invalid>']);
    expect(referReq.headers['contact']).toEqual(['<sip:a@a.memory.invalid:5060>']);
    const [n1, , , , n3] = msgs.slice(5) as SipRequest[];
    expect(n1!.headers['event']).toEqual([`refer;id=${referReq.cseq.seq}`]);
    expect(n1!.headers['subscription-state']).toEqual(['active;expires=60']);
    expect(n1!.headers['content-type']).toEqual(['message/sipfrag;version=2.0']);
    expect(n1!.headers['contact']).toEqual(['<sip:b@b.memory.invalid:5060>']);
    expect(text(n1!.body)).toBe('SIP/2.0 100 Trying\r\n');
    expect(n3!.headers['subscription-state']).toEqual(['terminated;reason=noresource']);
    expect(text(n3!.body)).toBe('SIP/2.0 200 OK\r\n');
    await expect(refer!.notify(200)).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
  });

  it('reports a failed transfer: NOTIFY with the failure status ends the subscription', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    const { a, b } = await established(p);
    b.onRefer(async (r) => {
      void r.notify(486); // queued behind the 202 and the 100 Trying
    });
    const sub = await a.refer('sip:carol@c.invalid');
    expect(await sub.done).toMatchObject({ status: 486, reason: 'Busy Here', final: true });
  });

  it('refuses a REFER the handler answers 603, and one without a handler with 405', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    const { a, b } = await established(p);
    const no = await a.refer('sip:carol@c.invalid').catch((e: unknown) => e);
    expect(no).toMatchObject({ code: 'SIP_ERR_REJECTED', status: 405 });
    b.onRefer(() => ({ status: 603 }));
    const err = await a.refer('sip:carol@c.invalid').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SIP_ERR_REJECTED', status: 603 });
    await settle();
    expect(p.ladder.lines().slice(3)).toEqual(['A → B REFER', 'B → A 405', 'A → B REFER', 'B → A 603']);
    expect(a.referWatches.size).toBe(0);
    expect(a.state).toBe('Confirmed');
  });

  it('answers 400 to a REFER without Refer-To, 481 to a NOTIFY for no REFER, 489 to another event', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    const { a, b } = await established(p);
    b.onRefer(() => undefined);
    const missing = await a.request('REFER').catch((e: unknown) => e);
    expect(missing).toMatchObject({ status: 400, reasonPhrase: 'Missing Refer-To' });
    const frag = { body: 'SIP/2.0 200 OK\r\n', contentType: 'message/sipfrag' };
    const other = await b
      .request('NOTIFY', { headers: { Event: 'dialog', 'Subscription-State': 'active' }, ...frag })
      .catch((e: unknown) => e);
    expect(other).toMatchObject({ status: 489, reasonPhrase: 'Bad Event' });
    expect((other as { response: SipResponse }).response.headers['allow-events']).toEqual(['refer']);
    const stray = await b
      .request('NOTIFY', { headers: { Event: 'refer', 'Subscription-State': 'active' }, ...frag })
      .catch((e: unknown) => e);
    expect(stray).toMatchObject({ status: 481 });
    // a 481 to a NOTIFY ends the dialog at its sender (RFC 5057)
    expect(b.termination).toEqual({ reason: 'no-dialog', status: 481 });
  });

  it('ends the subscription with undefined when the dialog ends first', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    const { a, b } = await established(p);
    b.onRefer(() => undefined);
    const sub = await a.refer('sip:carol@c.invalid');
    await settle();
    await a.bye();
    expect(await sub.done).toBeUndefined();
  });
});

describe('Replaces (RFC 3891)', () => {
  it('puts Replaces into the Refer-To URI, escaped, and gives it parsed to the REFER handler', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    const { a, b } = await established(p);
    const consult = await p.a.ua.invite(p.bUri);
    await settle();
    let refer: IncomingRefer | undefined;
    b.onRefer((r) => {
      refer = r;
    });
    await a.refer('sip:carol@c.invalid', { replaces: consult });
    const id = consult.dialog.id;
    const referReq = p.ladder.entries.find(
      (e) => e.message.kind === 'request' && e.message.method === 'REFER',
    )!.message as SipRequest;
    expect(referReq.headers['refer-to']).toEqual([
      `<sip:carol@c.invalid?Replaces=${id.callId}%3Bto-tag%3D${id.remoteTag}%3Bfrom-tag%3D${id.localTag}>`,
    ]);
    expect(refer!.target).toBe('sip:carol@c.invalid');
    expect(refer!.replaces).toEqual({
      callId: id.callId,
      toTag: id.remoteTag,
      fromTag: id.localTag,
      earlyOnly: false,
    });
    expect(refer!.uriHeaders).toEqual({ Replaces: formatReplaces(refer!.replaces!) });
  });

  it('shows the INVITE handler the dialog an INVITE with Replaces names', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    const { a, b } = await established(p);
    const invites: IncomingInvite[] = [];
    p.b.ua.onInvite((_r, _d, invite) => {
      invites.push(invite);
      return { status: 200 };
    });
    const replaces = replacesFor(a.dialog.id);
    await p.a.ua.invite(p.bUri, { headers: { Replaces: formatReplaces(replaces) } });
    await p.a.ua.invite(p.bUri, { headers: { Replaces: 'nope@x;to-tag=1;from-tag=2' } });
    await p.a.ua.invite(p.bUri);
    expect(invites[0]!.replaces).toEqual(replaces);
    expect(invites[0]!.replacedDialog).toBe(b);
    expect(invites[1]!.replaces).toMatchObject({ callId: 'nope@x' });
    expect(invites[1]!.replacedDialog).toBeUndefined();
    expect(invites[2]!.replaces).toBeUndefined();
  });
});
