/**
 * RFC 4028 session timers over the in-memory pair with a manual clock: the offer and answer,
 * 422 and the retry, refreshes in both refresher roles, the BYE of the side that does not
 * refresh, failed refreshes, and the plain periodic re-INVITE.
 */

import { afterEach, describe, expect, it } from 'vitest';
import type { SipMessage, SipRequest, SipResponse } from '../../../../src/sip/message/types.js';
import {
  answerSessionTimer,
  byeMarginMs,
  readSessionExpires,
  resolveSessionTimer,
} from '../../../../src/sip/ua/session-timer.js';
import type { DialogHandle, DialogTermination } from '../../../../src/sip/ua/user-agent.js';
import type { UserAgentOptions } from '../../../../src/sip/ua/user-agent.js';
import { manualClock } from '../../../../src/util/clock.js';
import { CSTA, settle, text, uaPair, type Pair } from './ladder.js';

let pair: Pair | undefined;
afterEach(async () => {
  const problems = pair?.problems ?? [];
  await pair?.close();
  pair = undefined;
  expect(problems).toEqual([]);
});

const header = (m: SipMessage | undefined, name: string): string | undefined => m?.headers[name]?.[0];

async function session(a: Partial<UserAgentOptions>, b: Partial<UserAgentOptions>) {
  const clock = manualClock();
  const p = uaPair({ clock, a, b });
  pair = p;
  let bDialog: DialogHandle | undefined;
  p.b.ua.onInvite((_req, dialog) => {
    bDialog = dialog;
    return { status: 200 };
  });
  const aDialog = await p.a.ua.invite(p.bUri, { onRequest: () => ({ status: 200 }) });
  await settle();
  const aEnd: DialogTermination[] = [];
  const bEnd: DialogTermination[] = [];
  aDialog.onTerminated((t) => aEnd.push(t));
  bDialog!.onTerminated((t) => bEnd.push(t));
  /** Advances the clock in steps of one second so that transactions can run between. */
  const advance = async (sec: number): Promise<void> => {
    for (let i = 0; i < sec; i++) {
      clock.tick(1000);
      await settle(2);
    }
  };
  return { p, clock, aDialog, bDialog: bDialog!, aEnd, bEnd, advance };
}

describe('session timer negotiation (RFC 4028 §7, §9)', () => {
  it('offers Supported: timer, Session-Expires and Min-SE; the UAS answers refresher and Require', async () => {
    const { p, aDialog, bDialog } = await session(
      { sessionTimer: { expiresSec: 120, minSeSec: 90 } },
      { sessionTimer: { expiresSec: 1800, minSeSec: 90 } },
    );
    const [invite, ok] = p.ladder.entries.map((e) => e.message);
    expect(header(invite, 'supported')).toContain('timer');
    expect(header(invite, 'session-expires')).toBe('120');
    expect(header(invite, 'min-se')).toBe('90');
    expect(header(ok, 'session-expires')).toBe('120;refresher=uac');
    expect(header(ok, 'require')).toBe('timer');
    expect(aDialog.sessionTimer).toEqual({ mode: 'refresher', intervalSec: 120 });
    expect(bDialog.sessionTimer).toEqual({ mode: 'refreshee', intervalSec: 120 });
  });

  it('answers 422 with Min-SE to a too small interval; the UAC retries with the larger value', async () => {
    const { p, aDialog, bDialog } = await session(
      { sessionTimer: { expiresSec: 100, minSeSec: 90 } },
      { sessionTimer: { expiresSec: 1800, minSeSec: 300 } },
    );
    expect(p.ladder.lines()).toEqual([
      'A → B INVITE',
      'B → A 422',
      'A → B ACK',
      'A → B INVITE',
      'B → A 200',
      'A → B ACK',
    ]);
    expect(header(p.ladder.entries[1]!.message, 'min-se')).toBe('300');
    const retry = p.ladder.entries[3]!.message as SipRequest;
    expect(retry.cseq.seq).toBe(2);
    expect(header(retry, 'session-expires')).toBe('300');
    expect(header(retry, 'min-se')).toBe('300');
    expect(aDialog.sessionTimer.intervalSec).toBe(300);
    expect(bDialog.sessionTimer.intervalSec).toBe(300);
  });

  it('grants a timer with refresher=uas and no Require when the UAC does not support timers', () => {
    const settings = resolveSessionTimer({ expiresSec: 600, minSeSec: 90 });
    const request = { headers: { 'session-expires': ['900'] } } as unknown as SipRequest;
    expect(answerSessionTimer(request, settings)).toEqual({
      kind: 'timer',
      intervalSec: 600,
      weRefresh: true,
      headers: { 'Session-Expires': '600;refresher=uas' },
    });
    const none = { headers: {} } as unknown as SipRequest;
    expect(answerSessionTimer(none, settings)).toEqual({ kind: 'none' });
    expect(readSessionExpires({ headers: { 'session-expires': ['90 ; refresher=UAS'] } } as unknown as SipResponse))
      .toEqual({ deltaSec: 90, refresher: 'uas' });
  });

  it('sends the BYE min(32 s, I/3) before the expiry (§10)', () => {
    expect(byeMarginMs(90)).toBe(30_000);
    expect(byeMarginMs(1800)).toBe(32_000);
  });
});

describe('session refresh (RFC 4028 §10)', () => {
  it('UAC refresher: UPDATE at half the interval, answered 200 with the headers; the session outlives many intervals', async () => {
    const { p, aDialog, bDialog, advance } = await session(
      { sessionTimer: { expiresSec: 120, minSeSec: 90 } },
      { sessionTimer: { minSeSec: 90 } },
    );
    await advance(59);
    expect(p.ladder.lines()).toHaveLength(3);
    await advance(1);
    expect(p.ladder.lines().slice(3)).toEqual(['A → B UPDATE', 'B → A 200']);
    const update = p.ladder.entries[3]!.message;
    const ok = p.ladder.entries[4]!.message;
    expect(header(update, 'session-expires')).toBe('120;refresher=uac');
    expect(header(ok, 'session-expires')).toBe('120;refresher=uac');
    expect(header(ok, 'require')).toBe('timer');
    await advance(300);
    const updates = p.ladder.lines().filter((l) => l === 'A → B UPDATE');
    expect(updates).toHaveLength(6); // at 60, 120, ..., 360 s
    expect(aDialog.state).toBe('Confirmed');
    expect(bDialog.state).toBe('Confirmed');
    expect(bDialog.sessionTimer.mode).toBe('refreshee');
  });

  it('UAS refresher (refresher=uas asked by the UAC, re-INVITE configured): the UAS refreshes, the UAC watches', async () => {
    const { p, aDialog, bDialog, advance } = await session(
      { sessionTimer: { expiresSec: 90, minSeSec: 90, refresher: 'uas' } },
      { sessionTimer: { minSeSec: 90, method: 'INVITE' } },
    );
    expect(header(p.ladder.entries[1]!.message, 'session-expires')).toBe('90;refresher=uas');
    expect(aDialog.sessionTimer.mode).toBe('refreshee');
    expect(bDialog.sessionTimer.mode).toBe('refresher');
    await advance(45);
    expect(p.ladder.lines().slice(3)).toEqual(['B → A INVITE', 'A → B 200', 'B → A ACK']);
    // the refresher, now the UAC of the re-INVITE, says refresher=uac
    expect(header(p.ladder.entries[3]!.message, 'session-expires')).toBe('90;refresher=uac');
    expect(header(p.ladder.entries[4]!.message, 'session-expires')).toBe('90;refresher=uac');
    await advance(200);
    expect(aDialog.state).toBe('Confirmed');
    expect(bDialog.state).toBe('Confirmed');
    expect(aDialog.sessionTimer.mode).toBe('refreshee');
    expect(p.ladder.lines().filter((l) => l === 'B → A INVITE')).toHaveLength(5);
  });

  it('a refresher whose peer stops answering ends the dialog (refresh-failed, 408); the peer, unrefreshed, sends BYE (session-expired)', async () => {
    const { p, aDialog, bDialog, aEnd, bEnd, advance } = await session(
      { sessionTimer: { expiresSec: 120, minSeSec: 90 } },
      { sessionTimer: { minSeSec: 90 } },
    );
    p.ladder.rule('B', () => 'drop'); // B falls silent, though it still hears A
    await advance(59);
    expect(aEnd).toEqual([]);
    await advance(33); // UPDATE at 60 s, Timer F (64*T1) at 92 s
    expect(aEnd).toEqual([{ reason: 'refresh-failed', status: 408 }]);
    // B got the UPDATE at 60 s: its expiry moved to 60 + 120 − 32 = 148 s
    await advance(55);
    expect(bEnd).toEqual([]);
    await advance(1);
    expect(bEnd).toEqual([{ reason: 'session-expired' }]);
    expect(aDialog.state).toBe('Terminated');
    expect(bDialog.state).toBe('Terminated');
    expect(p.ladder.lines()).toContain('B → A BYE (lost)');
    expect(p.a.ua.dialogs).toHaveLength(0);
    expect(p.b.ua.dialogs).toHaveLength(0);
  });

  it('the side that does not refresh sends BYE when no refresh arrives by expiry − min(32 s, I/3)', async () => {
    const { p, aEnd, bEnd, advance } = await session(
      { sessionTimer: { expiresSec: 90, minSeSec: 90 } },
      { sessionTimer: { minSeSec: 90 } },
    );
    p.ladder.rule('A', (m) => (m.kind === 'request' && m.method === 'UPDATE' ? 'drop' : 'pass'));
    await advance(59);
    expect(bEnd).toEqual([]);
    await advance(1); // 90 − 30 = 60 s
    expect(bEnd).toEqual([{ reason: 'session-expired' }]);
    await settle();
    expect(aEnd).toEqual([{ reason: 'bye-received' }]);
    expect(p.ladder.lines()).toContain('B → A BYE');
  });

  it('a refresh answered 481 ends the dialog and tells its owner', async () => {
    const { p, aEnd, bDialog, advance } = await session(
      { sessionTimer: { expiresSec: 90, minSeSec: 90 } },
      { sessionTimer: { minSeSec: 90 } },
    );
    // B forgets the dialog without telling A (its BYE is lost)
    p.ladder.rule('B', (m) => (m.kind === 'request' && m.method === 'BYE' ? 'drop' : 'pass'));
    void bDialog.bye();
    await settle();
    await advance(45);
    expect(p.ladder.lines().filter((l) => !l.endsWith('(lost)')).slice(-2)).toEqual([
      'A → B UPDATE',
      'B → A 481',
    ]);
    expect(aEnd).toEqual([{ reason: 'no-dialog', status: 481 }]);
    // B's lost BYE is retransmitted until Timer F; nothing else is left
    await advance(40);
  });
});

describe('periodic re-INVITE for peers without timers', () => {
  it('sends a re-INVITE with the configured body at the configured interval', async () => {
    const { p, aDialog, advance } = await session(
      {
        sessionTimer: { expiresSec: 120, minSeSec: 90 },
        periodicReinvite: { intervalSec: 30, body: '<keepalive/>', contentType: CSTA },
      },
      {},
    );
    const ok = p.ladder.entries[1]!.message;
    expect(header(ok, 'session-expires')).toBeUndefined();
    expect(aDialog.sessionTimer.mode).toBe('periodic');
    await advance(30);
    expect(p.ladder.lines().slice(3)).toEqual(['A → B INVITE', 'B → A 200', 'A → B ACK']);
    expect(text(p.ladder.entries[3]!.message.body)).toBe('<keepalive/>');
    await advance(30);
    expect(p.ladder.lines().filter((l) => l === 'A → B INVITE')).toHaveLength(3);
    expect(aDialog.state).toBe('Confirmed');
  });

  it('a periodic re-INVITE that times out ends the dialog with refresh-failed', async () => {
    const { p, aEnd, advance } = await session(
      { periodicReinvite: { intervalSec: 30 } },
      {},
    );
    p.ladder.rule('B', () => 'drop');
    await advance(30 + 33);
    expect(aEnd).toEqual([{ reason: 'refresh-failed', status: 408 }]);
  });
});
