/**
 * The UA core over the in-memory pair: ladders of INVITE sessions with CSTA bodies, in-dialog
 * requests both ways, ACK handling, CANCEL, OPTIONS, RFC 5057 rules and digest retries.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { DigestClient } from '../../../../src/sip/auth/digest-client.js';
import { DigestServer } from '../../../../src/sip/auth/digest-server.js';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/types.js';
import type { DialogHandle, DialogTermination } from '../../../../src/sip/ua/user-agent.js';
import { manualClock, type ManualClock } from '../../../../src/util/clock.js';
import { CSTA, settle, text, uaPair, type Pair } from './ladder.js';

const RSS = '<RequestSystemStatus xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4"/>';
const RSS_RESPONSE =
  '<RequestSystemStatusResponse xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed4"><systemStatus>normal</systemStatus></RequestSystemStatusResponse>';

let pair: Pair | undefined;
afterEach(async () => {
  // guard against hidden failures: no dropped input, caught error or handler failure on either side
  const problems = pair?.problems ?? [];
  await pair?.close();
  pair = undefined;
  expect(problems).toEqual([]);
});

/** A and B with an established session: B answers the INVITE 200 with a CSTA body. */
async function established(
  clock: ManualClock = manualClock(),
  opts: { aInfo?: (r: SipRequest) => { status: number; body?: string; contentType?: string } } = {},
) {
  const p = uaPair({ clock });
  pair = p;
  let bDialog: DialogHandle | undefined;
  const bSeen: SipRequest[] = [];
  const aSeen: SipRequest[] = [];
  p.b.ua.onInvite((invite, dialog) => {
    bDialog = dialog;
    dialog.onRequest((req) => {
      bSeen.push(req);
      return { status: 200, body: '<MakeCallResponse/>', contentType: CSTA };
    });
    expect(text(invite.body)).toBe(RSS);
    return { status: 200, body: RSS_RESPONSE, contentType: CSTA };
  });
  const aDialog = await p.a.ua.invite(p.bUri, {
    body: RSS,
    contentType: CSTA,
    onRequest: (req) => {
      aSeen.push(req);
      return opts.aInfo?.(req) ?? { status: 200 };
    },
  });
  await settle();
  return { p, clock, aDialog, bDialog: bDialog!, aSeen, bSeen };
}

describe('INVITE session (RFC 3261 §13, uaCSTA digest §1.3)', () => {
  it('sets up INVITE with an XML body → 200 with an XML body → ACK', async () => {
    const { p, aDialog, bDialog } = await established();
    expect(p.ladder.lines()).toEqual(['A → B INVITE', 'B → A 200', 'A → B ACK']);
    const [invite, ok, ack] = p.ladder.entries.map((e) => e.message);
    expect(invite!.headers['content-type']).toEqual([CSTA]);
    expect(text(ok!.body)).toBe(RSS_RESPONSE);
    expect(ok!.headers['content-type']).toEqual([CSTA]);
    // §13.2.2.4: same CSeq number, method ACK, a new branch, no body
    expect(ack!.cseq).toEqual({ seq: invite!.cseq.seq, method: 'ACK' });
    expect(ack!.via[0]!.branch).not.toBe(invite!.via[0]!.branch);
    expect(ack!.body.length).toBe(0);
    expect(ack!.kind === 'request' && ack!.uri).toBe('sip:b@b.memory.invalid:5060');
    expect(aDialog.state).toBe('Confirmed');
    expect(bDialog.state).toBe('Confirmed');
    expect(aDialog.callId).toBe(bDialog.callId);
  });

  it('rejects the INVITE promise with SIP_ERR_REJECTED and the status for a non-2xx', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    p.b.ua.onInvite(() => ({ status: 415, headers: { Accept: CSTA } }));
    const err = await p.a.ua.invite(p.bUri, { body: RSS, contentType: CSTA }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SIP_ERR_REJECTED', status: 415 });
    expect(p.ladder.lines()).toEqual(['A → B INVITE', 'B → A 415', 'A → B ACK']);
  });

  it('answers 480 to an INVITE when no handler is set', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    const err = await p.a.ua.invite(p.bUri).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SIP_ERR_REJECTED', status: 480 });
  });
});

describe('in-dialog requests', () => {
  it('carries INFO both ways, each answered in its own transaction', async () => {
    const { p, aDialog, bDialog, aSeen, bSeen } = await established();
    const res = await aDialog.request('INFO', { body: '<MakeCall/>', contentType: CSTA });
    expect(text(res.body)).toBe('<MakeCallResponse/>');
    await bDialog.request('INFO', { body: '<DeliveredEvent/>', contentType: CSTA });
    expect(p.ladder.lines().slice(3)).toEqual([
      'A → B INFO',
      'B → A 200',
      'B → A INFO',
      'A → B 200',
    ]);
    expect(text(bSeen[0]!.body)).toBe('<MakeCall/>');
    expect(text(aSeen[0]!.body)).toBe('<DeliveredEvent/>');
    // §12.2.1.1: the UAC's INFO has CSeq 2, the UAS starts its own counter
    expect(bSeen[0]!.cseq).toEqual({ seq: 2, method: 'INFO' });
    expect(aSeen[0]!.cseq.method).toBe('INFO');
    // the UAS's request goes to the UAC's Contact with the tags swapped
    expect(aSeen[0]!.uri).toBe('sip:a@a.memory.invalid:5060');
    expect(aSeen[0]!.from.params['tag']).toBe(bSeen[0]!.to.params['tag']);
  });

  it('accepts INFO in both directions between the 200 and the ACK', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    p.ladder.rule('A', (m) => (m.kind === 'request' && m.method === 'ACK' ? 'hold' : 'pass'));
    let bDialog: DialogHandle | undefined;
    p.b.ua.onInvite((_req, dialog) => {
      bDialog = dialog;
      dialog.onRequest(() => ({ status: 200 }));
      return { status: 200, body: RSS_RESPONSE, contentType: CSTA };
    });
    const aDialog = await p.a.ua.invite(p.bUri, {
      body: RSS,
      contentType: CSTA,
      onRequest: () => ({ status: 200 }),
    });
    await settle();
    // B's event right after its 200, and A's request before its ACK got through
    await bDialog!.request('INFO', { body: '<ServiceInitiatedEvent/>', contentType: CSTA });
    await aDialog.request('INFO', { body: '<MakeCall/>', contentType: CSTA });
    p.ladder.release('A');
    await settle();
    expect(p.ladder.lines()).toEqual([
      'A → B INVITE',
      'B → A 200',
      'B → A INFO',
      'A → B 200',
      'A → B INFO',
      'B → A 200',
      'A → B ACK',
    ]);
    // the ACK stopped the 2xx retransmissions: nothing more after 64*T1
    clock.tick(32_000);
    await settle();
    expect(p.ladder.lines()).toHaveLength(7);
    expect(bDialog!.state).toBe('Confirmed');
  });

  it('ends the dialog with BYE on both sides and tells both owners', async () => {
    const { p, aDialog, bDialog } = await established();
    const aEnd: DialogTermination[] = [];
    const bEnd: DialogTermination[] = [];
    aDialog.onTerminated((t) => aEnd.push(t));
    bDialog.onTerminated((t) => bEnd.push(t));
    await aDialog.bye();
    await aDialog.bye(); // idempotent
    expect(p.ladder.lines().slice(3)).toEqual(['A → B BYE', 'B → A 200']);
    expect(aEnd).toEqual([{ reason: 'bye-sent' }]);
    expect(bEnd).toEqual([{ reason: 'bye-received' }]);
    expect(aDialog.state).toBe('Terminated');
    await expect(aDialog.request('INFO')).rejects.toMatchObject({ code: 'SIP_ERR_DIALOG_TERMINATED' });
    expect(p.a.ua.dialogs).toHaveLength(0);
    expect(p.b.ua.dialogs).toHaveLength(0);
  });

  it('sends a re-INVITE with a body, ACKs its 200 with the re-INVITE CSeq', async () => {
    const { p, clock, aDialog, bDialog, bSeen } = await established();
    bDialog.onRequest((req) => {
      bSeen.push(req);
      return { status: 200, body: RSS_RESPONSE, contentType: CSTA };
    });
    const res = await aDialog.request('INVITE', { body: RSS, contentType: CSTA });
    await settle();
    expect(text(res.body)).toBe(RSS_RESPONSE);
    expect(p.ladder.lines().slice(3)).toEqual(['A → B INVITE', 'B → A 200', 'A → B ACK']);
    const reinvite = p.ladder.entries[3]!.message as SipRequest;
    const ack = p.ladder.entries[5]!.message as SipRequest;
    expect(reinvite.cseq.seq).toBe(2);
    expect(reinvite.to.params['tag']).toBeDefined();
    expect(ack.cseq).toEqual({ seq: 2, method: 'ACK' });
    expect(bSeen.map((r) => r.method)).toEqual(['INVITE']);
    // the ACK reached B and stopped its 2xx retransmissions
    clock.tick(32_000);
    await settle();
    expect(p.ladder.lines()).toHaveLength(6);
    expect(aDialog.state).toBe('Confirmed');
  });

  it('answers UPDATE with 200 and keeps the dialog', async () => {
    const { p, aDialog, bDialog } = await established();
    await aDialog.request('UPDATE');
    await bDialog.request('UPDATE');
    expect(p.ladder.lines().slice(3)).toEqual([
      'A → B UPDATE',
      'B → A 200',
      'B → A UPDATE',
      'A → B 200',
    ]);
    const update = p.ladder.entries[3]!.message as SipRequest;
    expect(update.headers['contact']).toEqual(['<sip:a@a.memory.invalid:5060>']);
  });

  it('answers 500 "CSeq out of order" to a request with an old CSeq (§12.2.2)', async () => {
    const { p, aDialog } = await established();
    await aDialog.request('INFO', { body: '<a/>', contentType: CSTA });
    // replay the INFO as a new transaction: same CSeq, fresh branch
    const info = p.ladder.entries[3]!.message as SipRequest;
    const res = await p.a.endpoint.sendRequest(
      { ...info, via: [] },
      { protocol: 'memory', host: 'b.memory.invalid', port: 5060 },
    );
    expect(res.status).toBe(500);
    expect(res.reason).toBe('CSeq out of order');
    expect(aDialog.state).toBe('Confirmed');
  });
});

describe('RFC 5057: what ends a dialog', () => {
  it('answers 481 to a request in a dialog it does not know, and the sender ends its dialog', async () => {
    const { p, aDialog, bDialog } = await established();
    bDialog.terminate({ reason: 'closed' }); // B forgets the dialog without telling A
    const ends: DialogTermination[] = [];
    aDialog.onTerminated((t) => ends.push(t));
    const err = await aDialog.request('INFO', { body: '<a/>', contentType: CSTA }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SIP_ERR_REJECTED', status: 481 });
    expect(p.ladder.lines().slice(3)).toEqual(['A → B INFO', 'B → A 481']);
    expect(ends).toEqual([{ reason: 'no-dialog', status: 481 }]);
    expect(aDialog.state).toBe('Terminated');
  });

  it('answers 481 to INFO and BYE outside any dialog', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    const to = { protocol: 'memory' as const, host: 'b.memory.invalid', port: 5060 };
    for (const method of ['INFO', 'BYE']) {
      const res = await p.a.endpoint.sendRequest(
        {
          method,
          uri: p.bUri,
          from: { displayName: undefined, uri: 'sip:a@x.invalid', params: { tag: 'f1' } },
          to: { displayName: undefined, uri: p.bUri, params: { tag: 'nope' } },
          callId: `unknown-${method}`,
          cseq: 5,
        },
        to,
      );
      expect(res.status).toBe(481);
    }
  });

  it('fails a timed-out INFO alone: the dialog stays and the next INFO works', async () => {
    const clock = manualClock();
    const { p, aDialog } = await established(clock);
    p.ladder.rule('A', (m) => {
      if (m.kind === 'request' && m.method === 'INFO' && m.cseq.seq === 2) return 'drop';
      return 'pass';
    });
    const ends: DialogTermination[] = [];
    aDialog.onTerminated((t) => ends.push(t));
    const pending = aDialog.request('INFO', { body: '<a/>', contentType: CSTA }).catch((e: unknown) => e);
    await settle();
    clock.tick(32_000); // Timer F = 64*T1
    const err = await pending;
    expect(err).toMatchObject({ code: 'SIP_ERR_TIMEOUT', status: 408 });
    expect(aDialog.state).toBe('Confirmed');
    const res = await aDialog.request('INFO', { body: '<b/>', contentType: CSTA });
    expect(res.status).toBe(200);
    expect(ends).toEqual([]);
  });

  it('fails an INFO answered 500 alone: the dialog stays', async () => {
    const { aDialog, bDialog } = await established();
    bDialog.onRequest(() => ({ status: 503 }));
    const err = await aDialog.request('INFO', { body: '<a/>', contentType: CSTA }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SIP_ERR_REJECTED', status: 503 });
    expect(aDialog.state).toBe('Confirmed');
    expect(bDialog.state).toBe('Confirmed');
  });
});

describe('2xx retransmission until the ACK (RFC 3261 §13.3.1.4)', () => {
  it('retransmits the 200 at T1 doubling to T2 while the ACK is lost, then BYEs at 64*T1', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    p.ladder.rule('A', (m) => (m.kind === 'request' && m.method === 'ACK' ? 'drop' : 'pass'));
    let bDialog: DialogHandle | undefined;
    const bEnd: DialogTermination[] = [];
    p.b.ua.onInvite((_r, d) => {
      bDialog = d;
      d.onTerminated((t) => bEnd.push(t));
      return { status: 200 };
    });
    const aDialog = await p.a.ua.invite(p.bUri);
    for (let t = 0; t < 33_000; t += 250) {
      clock.tick(250);
      await settle(2);
    }
    const times = p.ladder.entries
      .filter((e) => e.from === 'B' && e.message.kind === 'response' && e.message.cseq.method === 'INVITE')
      .map((e) => e.at);
    expect(times).toEqual([
      0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
    ]);
    // every 2xx was ACKed again by A (and every ACK lost)
    expect(p.ladder.lines().filter((l) => l === 'A → B ACK (lost)')).toHaveLength(11);
    expect(bEnd).toEqual([{ reason: 'ack-timeout' }]);
    expect(bDialog!.state).toBe('Terminated');
    expect(p.ladder.lines().slice(-2)).toEqual(['B → A BYE', 'A → B 200']);
    expect(aDialog.termination).toEqual({ reason: 'bye-received' });
  });

  it('stops retransmitting once the ACK of a retransmitted 200 gets through', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    let acks = 0;
    p.ladder.rule('A', (m) =>
      m.kind === 'request' && m.method === 'ACK' && acks++ === 0 ? 'drop' : 'pass',
    );
    p.b.ua.onInvite(() => ({ status: 200 }));
    await p.a.ua.invite(p.bUri);
    for (let t = 0; t < 33_000; t += 250) {
      clock.tick(250);
      await settle(2);
    }
    expect(p.ladder.lines()).toEqual([
      'A → B INVITE',
      'B → A 200',
      'A → B ACK (lost)',
      'B → A 200',
      'A → B ACK',
    ]);
    expect(p.ladder.entries[3]!.at).toBe(500);
    expect(p.b.ua.dialogs[0]!.state).toBe('Confirmed');
  });
});

describe('CANCEL, OPTIONS and unsupported methods', () => {
  it('cancels a pending INVITE: 200 to the CANCEL, 487 to the INVITE', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    const bEnd: DialogTermination[] = [];
    p.b.ua.onInvite((_r, d) => {
      d.onTerminated((t) => bEnd.push(t));
      return new Promise(() => {}); // never answers
    });
    const ac = new AbortController();
    const pending = p.a.ua.invite(p.bUri, { signal: ac.signal }).catch((e: unknown) => e);
    await settle();
    clock.tick(200); // 100 Trying
    await settle();
    ac.abort();
    await settle();
    expect(await pending).toMatchObject({ code: 'ERR_ABORTED' });
    expect(p.ladder.lines()).toEqual([
      'A → B INVITE',
      'B → A 100',
      'A → B CANCEL',
      'B → A 200',
      'B → A 487',
      'A → B ACK',
    ]);
    expect(bEnd).toEqual([{ reason: 'cancelled' }]);
  });

  it('answers OPTIONS with Allow, Accept and Supported', async () => {
    const p = uaPair({ clock: manualClock(), b: { supported: ['timer'] } });
    pair = p;
    const res = await p.a.endpoint.sendRequest(
      {
        method: 'OPTIONS',
        uri: p.bUri,
        from: { displayName: undefined, uri: 'sip:a@x.invalid', params: { tag: 'o1' } },
        to: { displayName: undefined, uri: p.bUri, params: {} },
        callId: 'options-1',
        cseq: 1,
      },
      { protocol: 'memory', host: 'b.memory.invalid', port: 5060 },
    );
    expect(res.status).toBe(200);
    expect(res.headers['allow']).toEqual(['INVITE, ACK, BYE, CANCEL, INFO, OPTIONS, UPDATE']);
    expect(res.headers['accept']).toEqual([CSTA]);
    expect(res.headers['supported']).toEqual(['timer']);
  });

  it('answers 405 with Allow to a known unsupported method and 501 to an unknown one', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    const send = (method: string): Promise<SipResponse> =>
      p.a.endpoint.sendRequest(
        {
          method,
          uri: p.bUri,
          from: { displayName: undefined, uri: 'sip:a@x.invalid', params: { tag: 'm1' } },
          to: { displayName: undefined, uri: p.bUri, params: {} },
          callId: `m-${method}`,
          cseq: 1,
        },
        { protocol: 'memory', host: 'b.memory.invalid', port: 5060 },
      );
    const r405 = await send('SUBSCRIBE');
    expect(r405.status).toBe(405);
    expect(r405.headers['allow']).toEqual(['INVITE, ACK, BYE, CANCEL, INFO, OPTIONS, UPDATE']);
    expect((await send('FROBNICATE')).status).toBe(501);
  });
});

describe('digest authentication (uaCSTA digest §1.3: INVITE and INFO are challenged)', () => {
  function server(clock: ManualClock): DigestServer {
    return new DigestServer({
      realm: 'phone.invalid',
      clock,
      lookup: (user) => (user === 'ctl' ? { password: 'secret' } : undefined),
    });
  }
  const client = (): DigestClient =>
    new DigestClient({ credentials: () => ({ username: 'ctl', password: 'secret' }) });

  it('retries a challenged in-dialog INFO once with credentials and a new CSeq', async () => {
    const clock = manualClock();
    const p = uaPair({ clock, a: { digest: client() } });
    pair = p;
    const auth = server(clock);
    const verdicts: boolean[] = [];
    p.b.ua.onInvite((_r, d) => {
      d.onRequest(async (req) => {
        const v = await auth.verify(req);
        verdicts.push(v.ok);
        if (!v.ok) return { status: v.status, reason: v.reasonPhrase, headers: v.headers };
        return { status: 200, body: '<MakeCallResponse/>', contentType: CSTA };
      });
      return { status: 200 };
    });
    const dialog = await p.a.ua.invite(p.bUri);
    const res = await dialog.request('INFO', { body: '<MakeCall/>', contentType: CSTA });
    expect(text(res.body)).toBe('<MakeCallResponse/>');
    expect(p.ladder.lines().slice(3)).toEqual([
      'A → B INFO',
      'B → A 401',
      'A → B INFO',
      'B → A 200',
    ]);
    const [first, , retry] = p.ladder.entries.slice(3).map((e) => e.message as SipRequest);
    expect(retry!.cseq.seq).toBe(first!.cseq.seq + 1);
    expect(retry!.headers['authorization']).toHaveLength(1);
    expect(verdicts).toEqual([false, true]);
    expect(dialog.state).toBe('Confirmed');
  });

  it('retries a challenged INVITE once with credentials (CSeq 2)', async () => {
    const clock = manualClock();
    const p = uaPair({ clock, a: { digest: client() } });
    pair = p;
    const auth = server(clock);
    p.b.ua.onInvite(async (req) => {
      const v = await auth.verify(req);
      return v.ok ? { status: 200 } : { status: v.status, headers: v.headers };
    });
    const dialog = await p.a.ua.invite(p.bUri, { body: RSS, contentType: CSTA });
    await settle();
    expect(p.ladder.lines()).toEqual([
      'A → B INVITE',
      'B → A 401',
      'A → B ACK',
      'A → B INVITE',
      'B → A 200',
      'A → B ACK',
    ]);
    expect((p.ladder.entries[3]!.message as SipRequest).cseq.seq).toBe(2);
    expect((p.ladder.entries[5]!.message as SipRequest).cseq).toEqual({ seq: 2, method: 'ACK' });
    expect(dialog.state).toBe('Confirmed');
  });
});
