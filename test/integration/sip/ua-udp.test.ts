/**
 * The UA core over UDP on loopback: the same ladders as the memory-pair unit tests, with real
 * sockets and the system clock. Every test also fails on any dropped input or caught error.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { DigestClient } from '../../../src/sip/auth/digest-client.js';
import { DigestServer } from '../../../src/sip/auth/digest-server.js';
import type { SipRequest } from '../../../src/sip/message/types.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import type { DialogHandle, DialogTermination } from '../../../src/sip/ua/user-agent.js';
import { systemClock } from '../../../src/util/clock.js';
import { CSTA, text, uaPair, type Pair, type PairOptions } from '../../unit/sip/ua/ladder.js';

const RSS = '<RequestSystemStatus xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4"/>';
const RSS_RESPONSE =
  '<RequestSystemStatusResponse xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4"><systemStatus>normal</systemStatus></RequestSystemStatusResponse>';

let pair: Pair | undefined;
afterEach(async () => {
  await pair?.close();
  pair = undefined;
});

async function udpPair(extra: Partial<PairOptions> = {}): Promise<Pair> {
  const a = await UdpTransport.listen({ host: '127.0.0.1', port: 0 });
  const b = await UdpTransport.listen({ host: '127.0.0.1', port: 0 });
  pair = uaPair({ clock: systemClock, transports: [a, b], ...extra });
  return pair;
}

async function until(cond: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function established(p: Pair) {
  let bDialog: DialogHandle | undefined;
  const bSeen: SipRequest[] = [];
  p.b.ua.onInvite((invite, dialog) => {
    bDialog = dialog;
    expect(text(invite.body)).toBe(RSS);
    dialog.onRequest((req) => {
      bSeen.push(req);
      return { status: 200, body: '<MakeCallResponse/>', contentType: CSTA };
    });
    return { status: 200, body: RSS_RESPONSE, contentType: CSTA };
  });
  const aSeen: SipRequest[] = [];
  const aDialog = await p.a.ua.invite(p.bUri, {
    body: RSS,
    contentType: CSTA,
    onRequest: (req) => {
      aSeen.push(req);
      return { status: 200 };
    },
  });
  await until(() => p.ladder.lines().length >= 3);
  return { aDialog, bDialog: bDialog!, aSeen, bSeen };
}

describe('UA over UDP loopback', () => {
  it('runs INVITE/200/ACK, INFO both ways, UPDATE, re-INVITE and BYE', async () => {
    const p = await udpPair();
    const { aDialog, bDialog, aSeen, bSeen } = await established(p);
    const res = await aDialog.request('INFO', { body: '<MakeCall/>', contentType: CSTA });
    expect(text(res.body)).toBe('<MakeCallResponse/>');
    await bDialog.request('INFO', { body: '<DeliveredEvent/>', contentType: CSTA });
    await aDialog.request('UPDATE');
    await aDialog.request('INVITE', { body: RSS, contentType: CSTA });
    await until(() => p.ladder.lines().length >= 12);
    const ends: DialogTermination[] = [];
    bDialog.onTerminated((t) => ends.push(t));
    await aDialog.bye();
    await until(() => ends.length === 1);
    expect(p.ladder.lines()).toEqual([
      'A → B INVITE',
      'B → A 200',
      'A → B ACK',
      'A → B INFO',
      'B → A 200',
      'B → A INFO',
      'A → B 200',
      'A → B UPDATE',
      'B → A 200',
      'A → B INVITE',
      'B → A 200',
      'A → B ACK',
      'A → B BYE',
      'B → A 200',
    ]);
    expect(bSeen.map((r) => r.method)).toEqual(['INFO', 'UPDATE', 'INVITE']);
    expect(text(aSeen[0]!.body)).toBe('<DeliveredEvent/>');
    expect(ends).toEqual([{ reason: 'bye-received' }]);
    expect(p.problems).toEqual([]);
  });

  it('accepts INFO sent right after the 200, before the ACK arrives', async () => {
    const p = await udpPair();
    p.ladder.rule('A', (m) => (m.kind === 'request' && m.method === 'ACK' ? 'hold' : 'pass'));
    let bDialog: DialogHandle | undefined;
    p.b.ua.onInvite((_r, d) => {
      bDialog = d;
      return { status: 200, body: RSS_RESPONSE, contentType: CSTA };
    });
    await p.a.ua.invite(p.bUri, { body: RSS, contentType: CSTA, onRequest: () => ({ status: 200 }) });
    await bDialog!.request('INFO', { body: '<ServiceInitiatedEvent/>', contentType: CSTA });
    p.ladder.release('A');
    await until(() => p.ladder.lines().length >= 5);
    expect(p.ladder.lines()).toEqual([
      'A → B INVITE',
      'B → A 200',
      'B → A INFO',
      'A → B 200',
      'A → B ACK',
    ]);
    expect(p.problems).toEqual([]);
  });

  it('answers 481 to an INFO in a dialog the far side forgot, and ends the dialog', async () => {
    const p = await udpPair();
    const { aDialog, bDialog } = await established(p);
    bDialog.terminate({ reason: 'closed' });
    const err = await aDialog.request('INFO', { body: '<a/>', contentType: CSTA }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SIP_ERR_REJECTED', status: 481 });
    expect(aDialog.termination).toEqual({ reason: 'no-dialog', status: 481 });
    expect(p.ladder.lines().slice(3)).toEqual(['A → B INFO', 'B → A 481']);
  });

  it('answers a 401 challenge on an in-dialog INFO with credentials', async () => {
    const p = await udpPair({
      a: { digest: new DigestClient({ credentials: () => ({ username: 'ctl', password: 'pw' }) }) },
    });
    const auth = new DigestServer({ realm: 'phone.invalid', lookup: () => ({ password: 'pw' }) });
    p.b.ua.onInvite((_r, d) => {
      d.onRequest(async (req) => {
        const v = await auth.verify(req);
        return v.ok
          ? { status: 200, body: '<MakeCallResponse/>', contentType: CSTA }
          : { status: v.status, headers: v.headers };
      });
      return { status: 200 };
    });
    const dialog = await p.a.ua.invite(p.bUri);
    const res = await dialog.request('INFO', { body: '<MakeCall/>', contentType: CSTA });
    expect(text(res.body)).toBe('<MakeCallResponse/>');
    expect(p.ladder.lines().slice(3)).toEqual(['A → B INFO', 'B → A 401', 'A → B INFO', 'B → A 200']);
    expect(p.problems).toEqual([]);
  });
});
