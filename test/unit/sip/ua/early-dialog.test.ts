/**
 * Ringing before answering: provisional responses from the INVITE handler, deferred answers,
 * CANCEL of a ringing INVITE, 3xx/486/603 answers, early dialogs at the caller with INFO and
 * UPDATE in them (RFC 3261 §12, §13; RFC 3311; RFC 6086), and forking (§13.2.2.4).
 */

import { afterEach, describe, expect, it } from 'vitest';
import { SipEndpoint } from '../../../../src/sip/endpoint.js';
import { createResponse } from '../../../../src/sip/message/serialize.js';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/types.js';
import { createMemoryPair } from '../../../../src/sip/transport/memory.js';
import { UserAgent, type DialogHandle, type DialogTermination } from '../../../../src/sip/ua/user-agent.js';
import type { IncomingInvite } from '../../../../src/sip/ua/incoming-invite.js';
import { manualClock } from '../../../../src/util/clock.js';
import { createIdGenerator, seededRandom } from '../../../../src/util/ids.js';
import { CSTA, settle, text, uaPair, type Pair } from './ladder.js';

let pair: Pair | undefined;
afterEach(async () => {
  const problems = pair?.problems ?? [];
  await pair?.close();
  pair = undefined;
  expect(problems).toEqual([]);
});

/** B rings: its handler sends 180 and waits for `answer()`. */
function ringing(p: Pair) {
  let answer: (a: { status: number; headers?: Record<string, string> }) => void = () => {};
  let bDialog: DialogHandle | undefined;
  let incoming: IncomingInvite | undefined;
  p.b.ua.onInvite((_req, dialog, invite) => {
    bDialog = dialog;
    incoming = invite;
    dialog.onRequest((req) => ({ status: 200, body: `<${req.method}-ok/>`, contentType: CSTA }));
    invite.progress(180);
    return new Promise((resolve) => {
      answer = resolve;
    });
  });
  return {
    answer: (a: { status: number; headers?: Record<string, string> }) => answer(a),
    bDialog: () => bDialog!,
    incoming: () => incoming!,
  };
}

describe('UAS: provisional responses and deferred answers (RFC 3261 §13.3.1)', () => {
  it('sends 180 Ringing with To tag and Contact, then 200 with the same tag later', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    const b = ringing(p);
    const progress: SipResponse[] = [];
    const pending = p.a.ua.invite(p.bUri, { onProgress: (r) => progress.push(r) });
    await settle();
    clock.tick(5_000); // the phone rings for a while
    await settle();
    b.answer({ status: 200 });
    const dialog = await pending;
    await settle();
    expect(p.ladder.lines()).toEqual(['A → B INVITE', 'B → A 180', 'B → A 200', 'A → B ACK']);
    const ring = p.ladder.entries[1]!.message as SipResponse;
    const ok = p.ladder.entries[2]!.message as SipResponse;
    expect(ring.status).toBe(180);
    expect(ring.reason).toBe('Ringing');
    expect(ring.to.params['tag']).toBe(ok.to.params['tag']);
    expect(ring.headers['contact']).toEqual(['<sip:b@b.memory.invalid:5060>']);
    expect(progress.map((r) => r.status)).toEqual([180]);
    expect(dialog.state).toBe('Confirmed');
    expect(b.bDialog().state).toBe('Confirmed');
  });

  it('sends 183 Session Progress with a body, and several provisionals in order', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    p.b.ua.onInvite((_r, _d, invite) => {
      expect(invite.progress(183, { body: '<early/>', contentType: CSTA })).toBe(true);
      expect(invite.progress(180, { reason: 'Ringing Loudly' })).toBe(true);
      expect(() => invite.progress(200)).toThrow(/101-199/);
      expect(() => invite.progress(100)).toThrow(/101-199/);
      return { status: 200 };
    });
    const progress: SipResponse[] = [];
    await p.a.ua.invite(p.bUri, { onProgress: (r) => progress.push(r) });
    expect(progress.map((r) => `${r.status} ${r.reason}`)).toEqual([
      '183 Session Progress',
      '180 Ringing Loudly',
    ]);
    expect(text(progress[0]!.body)).toBe('<early/>');
    expect(progress[0]!.headers['content-type']).toEqual([CSTA]);
  });

  it('CANCEL of a ringing INVITE: 200 to CANCEL, 487 to INVITE, the handler sees the abort', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    const b = ringing(p);
    const ac = new AbortController();
    const aEarly: DialogHandle[] = [];
    const pending = p.a.ua
      .invite(p.bUri, { signal: ac.signal, onProgress: (_r, d) => d && aEarly.push(d) })
      .catch((e: unknown) => e);
    await settle();
    const bEnds: DialogTermination[] = [];
    b.bDialog().onTerminated((t) => bEnds.push(t));
    let stopped = false;
    b.incoming().cancelled.addEventListener('abort', () => {
      stopped = true;
    });
    ac.abort();
    await settle();
    expect(await pending).toMatchObject({ code: 'ERR_ABORTED' });
    expect(stopped).toBe(true);
    expect(b.incoming().cancelled.reason).toMatchObject({ code: 'ERR_ABORTED' });
    b.answer({ status: 200 }); // too late: ignored
    await settle();
    expect(p.ladder.lines()).toEqual([
      'A → B INVITE',
      'B → A 180',
      'A → B CANCEL',
      'B → A 200',
      'B → A 487',
      'A → B ACK',
    ]);
    const cancel = p.ladder.entries[2]!.message as SipRequest;
    const invite = p.ladder.entries[0]!.message as SipRequest;
    expect(cancel.cseq).toEqual({ seq: invite.cseq.seq, method: 'CANCEL' });
    expect(cancel.via[0]!.branch).toBe(invite.via[0]!.branch);
    const r487 = p.ladder.entries[4]!.message as SipResponse;
    expect(r487.reason).toBe('Request Terminated');
    expect(r487.to.params['tag']).toBe((p.ladder.entries[1]!.message as SipResponse).to.params['tag']);
    expect(bEnds).toEqual([{ reason: 'cancelled' }]);
    expect(aEarly[0]!.termination).toEqual({ reason: 'cancelled', status: 487 });
    expect(b.incoming().progress(180)).toBe(false);
    expect(p.a.ua.dialogs).toHaveLength(0);
    expect(p.b.ua.dialogs).toHaveLength(0);
  });

  it('answers 302 with Contact (deflection): the caller gets the Contact in the error', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    const b = ringing(p);
    const pending = p.a.ua.invite(p.bUri).catch((e: unknown) => e);
    await settle();
    b.answer({ status: 302, headers: { Contact: '<sip:voicemail@b.memory.invalid:5060>' } });
    const err = await pending;
    expect(err).toMatchObject({
      code: 'SIP_ERR_REJECTED',
      status: 302,
      reasonPhrase: 'Moved Temporarily',
      contacts: ['sip:voicemail@b.memory.invalid:5060'],
    });
    await settle();
    expect(p.ladder.lines()).toEqual(['A → B INVITE', 'B → A 180', 'B → A 302', 'A → B ACK']);
    expect(p.a.ua.dialogs).toHaveLength(0);
    expect(p.b.ua.dialogs).toHaveLength(0);
  });

  for (const [status, reason] of [
    [486, 'Busy Here'],
    [603, 'Decline'],
  ] as const) {
    it(`answers ${status} ${reason} after ringing; both early dialogs end`, async () => {
      const p = uaPair({ clock: manualClock() });
      pair = p;
      const b = ringing(p);
      let early: DialogHandle | undefined;
      const pending = p.a.ua.invite(p.bUri, { onProgress: (_r, d) => (early = d) }).catch((e: unknown) => e);
      await settle();
      b.answer({ status });
      expect(await pending).toMatchObject({ status, reasonPhrase: reason });
      expect(early!.termination).toEqual({ reason: 'rejected', status });
      expect(b.bDialog().termination).toEqual({ reason: 'rejected', status });
    });
  }
});

describe('UAS: a pending INVITE ended without CANCEL', () => {
  it('answers 487 when the caller sends BYE in the early dialog (§15.1.2)', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    const b = ringing(p);
    let early: DialogHandle | undefined;
    const pending = p.a.ua.invite(p.bUri, { onProgress: (_r, d) => (early = d) }).catch((e: unknown) => e);
    await settle();
    await early!.bye();
    expect(await pending).toMatchObject({ code: 'SIP_ERR_REJECTED', status: 487 });
    expect(b.incoming().cancelled.aborted).toBe(true);
    expect(p.ladder.lines()).toEqual([
      'A → B INVITE',
      'B → A 180',
      'A → B BYE',
      'B → A 200',
      'B → A 487',
      'A → B ACK',
    ]);
  });

  it('answers 480 and aborts the handler when the UA closes', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    const b = ringing(p);
    const pending = p.a.ua.invite(p.bUri).catch((e: unknown) => e);
    await settle();
    await p.b.ua.close();
    expect(await pending).toMatchObject({ status: 480 });
    expect(b.incoming().cancelled.aborted).toBe(true);
    expect(b.bDialog().termination).toEqual({ reason: 'closed' });
  });
});

describe('UAC: early dialogs (RFC 3261 §12.1.2, RFC 3311, RFC 6086)', () => {
  it('carries INFO and UPDATE both ways in the early dialog, then confirms it with the 2xx', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    const b = ringing(p);
    let early: DialogHandle | undefined;
    const aSeen: string[] = [];
    const pending = p.a.ua.invite(p.bUri, {
      onProgress: (_r, d) => (early = d),
      onRequest: (req) => {
        aSeen.push(req.method);
        return { status: 200 };
      },
    });
    await settle();
    expect(early!.state).toBe('Early');
    const info = await early!.request('INFO', { body: '<MakeCall/>', contentType: CSTA });
    expect(text(info.body)).toBe('<INFO-ok/>');
    await early!.request('UPDATE');
    await expect(early!.request('INVITE')).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
    b.answer({ status: 200 });
    const dialog = await pending;
    expect(dialog).toBe(early);
    expect(dialog.state).toBe('Confirmed');
    await dialog.request('INFO', { body: '<x/>', contentType: CSTA });
    expect(p.ladder.lines()).toEqual([
      'A → B INVITE',
      'B → A 180',
      'A → B INFO',
      'B → A 200',
      'A → B UPDATE',
      'B → A 200',
      'B → A 200',
      'A → B ACK',
      'A → B INFO',
      'B → A 200',
    ]);
    const entries = p.ladder.entries.map((e) => e.message);
    const invite = entries[0] as SipRequest;
    const earlyInfo = entries[2] as SipRequest;
    // §12.2.1.1: same Call-ID and tags as the early dialog, CSeq one above the INVITE
    expect(earlyInfo.callId).toBe(invite.callId);
    expect(earlyInfo.to.params['tag']).toBe((entries[1] as SipResponse).to.params['tag']);
    expect(earlyInfo.cseq).toEqual({ seq: invite.cseq.seq + 1, method: 'INFO' });
    expect((entries[4] as SipRequest).cseq.seq).toBe(invite.cseq.seq + 2);
    // the ACK keeps the INVITE's CSeq number
    expect((entries[7] as SipRequest).cseq).toEqual({ seq: invite.cseq.seq, method: 'ACK' });
    expect((entries[8] as SipRequest).cseq.seq).toBe(invite.cseq.seq + 3);
  });

  it('lets the callee send INFO in the early dialog (uaCSTA event before the answer)', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    const b = ringing(p);
    const aSeen: SipRequest[] = [];
    const pending = p.a.ua.invite(p.bUri, {
      onRequest: (req) => {
        aSeen.push(req);
        return { status: 200 };
      },
    });
    await settle();
    await b.bDialog().request('INFO', { body: '<DeliveredEvent/>', contentType: CSTA });
    b.answer({ status: 200 });
    await pending;
    expect(text(aSeen[0]!.body)).toBe('<DeliveredEvent/>');
    expect(p.ladder.lines().slice(0, 4)).toEqual(['A → B INVITE', 'B → A 180', 'B → A INFO', 'A → B 200']);
  });
});

describe('forking (RFC 3261 §13.2.2.4)', () => {
  /** A forking "proxy" on B's side: one INVITE answered by two forks with two To tags. */
  function forkingPeer(script: (invite: SipRequest, respond: (r: SipResponse) => void) => void) {
    const clock = manualClock();
    const [ta, tb] = createMemoryPair();
    const ids = createIdGenerator(seededRandom(7));
    const problems: string[] = [];
    const a = new SipEndpoint({ transports: [ta], clock, ids });
    const b = new SipEndpoint({ transports: [tb], clock, ids: createIdGenerator(seededRandom(8)) });
    const ua = new UserAgent({
      endpoint: a,
      clock,
      ids,
      aor: 'sip:a@a.memory.invalid:5060',
      contact: 'sip:a@a.memory.invalid:5060',
      trace: (e) => e.type !== 'terminated' && problems.push(JSON.stringify(e)),
    });
    const seen: SipRequest[] = [];
    b.onRequest({
      onRequest: (req, tx) => {
        seen.push(req);
        if (req.method === 'INVITE') script(req, (r) => tx.respond(r));
        else tx.respond(createResponse(req, 200, 'OK'));
      },
      onAck: (ack) => void seen.push(ack),
    });
    return { clock, a, b, ua, seen, problems, close: () => Promise.all([a.close(), b.close()]) };
  }
  const fork = (invite: SipRequest, status: number, tag: string, host: string): SipResponse =>
    createResponse(invite, status, status === 180 ? 'Ringing' : 'OK', {
      toTag: tag,
      headers: { Contact: `<sip:b@${host}:5060;transport=memory>` },
    });

  it('tracks two early dialogs; the first 2xx wins, a later 2xx of the other fork is ACKed and BYEd', async () => {
    const f = forkingPeer((invite, respond) => {
      respond(fork(invite, 180, 'fork1', 'b.memory.invalid'));
      respond(fork(invite, 180, 'fork2', 'b.memory.invalid'));
      respond(fork(invite, 200, 'fork2', 'b.memory.invalid'));
      respond(fork(invite, 200, 'fork1', 'b.memory.invalid'));
    });
    const early: DialogHandle[] = [];
    const dialog = await f.ua.invite('sip:b@b.memory.invalid:5060', {
      onProgress: (_r, d) => d && early.push(d),
    });
    await settle();
    expect(early.map((d) => d.dialog.id.remoteTag)).toEqual(['fork1', 'fork2']);
    expect(dialog).toBe(early[1]);
    expect(dialog.dialog.id.remoteTag).toBe('fork2');
    expect(dialog.state).toBe('Confirmed');
    // fork1 was early, then its 2xx came after fork2 won: ACK then BYE in that dialog
    expect(f.seen.map((r) => `${r.method} ${r.to.params['tag'] ?? '-'}`)).toEqual([
      'INVITE -',
      'ACK fork2',
      'ACK fork1',
      'BYE fork1',
    ]);
    expect(early[0]!.termination).toEqual({ reason: 'forked' });
    expect(f.ua.dialogs.map((d) => d.dialog.id.remoteTag)).toEqual(['fork2']);
    expect(f.problems).toEqual([]);
    await f.close();
  });
});
