/**
 * Glare (RFC 3261 §14.1, §14.2; RFC 3311 §5): crossing re-INVITEs get 491 and are retried after
 * the RFC's random wait; our own re-INVITEs and UPDATEs never overlap.
 */

import { afterEach, describe, expect, it } from 'vitest';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/types.js';
import type { DialogHandle } from '../../../../src/sip/ua/user-agent.js';
import { manualClock, type ManualClock } from '../../../../src/util/clock.js';
import { settle, uaPair, type Pair } from './ladder.js';

let pair: Pair | undefined;
afterEach(async () => {
  const problems = pair?.problems ?? [];
  await pair?.close();
  pair = undefined;
  expect(problems).toEqual([]);
});

async function established(clock: ManualClock, random = 0.5) {
  const p = uaPair({ clock, a: { random: () => random }, b: { random: () => random } });
  pair = p;
  let b: DialogHandle | undefined;
  p.b.ua.onInvite((_r, d) => {
    b = d;
    return { status: 200 };
  });
  const a = await p.a.ua.invite(p.bUri);
  await settle();
  return { p, a, b: b! };
}

async function run(clock: ManualClock, ms: number, step = 50): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    clock.tick(step);
    await settle(3);
  }
}

describe('491 Request Pending', () => {
  it('answers crossing re-INVITEs 491 on both sides; each retries after its own wait', async () => {
    const clock = manualClock();
    const { p, a, b } = await established(clock);
    let held = 0;
    const holdFirst = (m: { kind: string; method?: string }) =>
      m.kind === 'request' && m.method === 'INVITE' && held++ < 2 ? 'hold' : 'pass';
    p.ladder.rule('A', holdFirst);
    p.ladder.rule('B', holdFirst);
    const fromA = a.request('INVITE');
    const fromB = b.request('INVITE');
    await settle();
    p.ladder.release('A');
    p.ladder.release('B');
    await settle();
    await run(clock, 4_000);
    expect((await fromA).status).toBe(200);
    expect((await fromB).status).toBe(200);
    const lines = p.ladder.entries.slice(3).map((e) => `${e.at} ${e.line}`);
    // A made the Call-ID: 2.1 s + 10 ms * floor(0.5 * 191) = 3050 ms; B: 10 ms * floor(0.5 * 201) = 1000 ms
    expect(lines).toEqual([
      '0 A → B INVITE',
      '0 B → A INVITE',
      '0 B → A 491',
      '0 A → B 491',
      '0 A → B ACK',
      '0 B → A ACK',
      '1000 B → A INVITE',
      '1000 A → B 200',
      '1000 B → A ACK',
      '3050 A → B INVITE',
      '3050 B → A 200',
      '3050 A → B ACK',
    ]);
    const r491 = p.ladder.entries[5]!.message as SipResponse;
    expect(r491.status).toBe(491);
    expect(r491.reason).toBe('Request Pending');
    // the retry is a new transaction with the next CSeq
    const first = p.ladder.entries[3]!.message as SipRequest;
    const retry = p.ladder.entries[12]!.message as SipRequest;
    expect(retry.cseq.seq).toBe(first.cseq.seq + 1);
    expect(a.state).toBe('Confirmed');
  });

  it('gives up after maxGlareRetries and rejects with the 491', async () => {
    const clock = manualClock();
    const p = uaPair({ clock, a: { random: () => 0, maxGlareRetries: 1 } });
    pair = p;
    p.b.ua.onInvite((_r, d) => {
      d.onRequest(() => ({ status: 491 }));
      return { status: 200 };
    });
    const a = await p.a.ua.invite(p.bUri);
    const pending = a.request('UPDATE').catch((e: unknown) => e);
    await settle();
    await run(clock, 3_000);
    expect(await pending).toMatchObject({ code: 'SIP_ERR_REJECTED', status: 491 });
    expect(p.ladder.lines().slice(3)).toEqual(['A → B UPDATE', 'B → A 491', 'A → B UPDATE', 'B → A 491']);
    expect(p.ladder.entries[5]!.at).toBe(2100);
  });
});

describe('serialisation of our re-INVITEs and UPDATEs (RFC 3261 §14.1)', () => {
  it('sends a second UPDATE only after the first has its final response', async () => {
    const clock = manualClock();
    const { p, a } = await established(clock);
    const [r1, r2, info] = await Promise.all([
      a.request('UPDATE'),
      a.request('INVITE'),
      a.request('INFO').catch((e: { status: number }) => e), // not a refresh: not queued
    ]);
    expect([r1.status, r2.status, info.status]).toEqual([200, 200, 500]);
    await settle();
    const lines = p.ladder.lines().slice(3);
    expect(lines.filter((l) => !l.includes('INFO') && !l.endsWith('500'))).toEqual([
      'A → B UPDATE',
      'B → A 200',
      'A → B INVITE',
      'B → A 200',
      'A → B ACK',
    ]);
  });

  it('waits for the peer re-INVITE to be answered before sending its own', async () => {
    const clock = manualClock();
    const { p, a, b } = await established(clock);
    let answer: () => void = () => {};
    a.onRequest(
      () =>
        new Promise((resolve) => {
          answer = () => resolve({ status: 200 });
        }),
    );
    const fromB = b.request('INVITE');
    await settle();
    const fromA = a.request('INVITE');
    await settle();
    expect(p.ladder.lines().slice(3)).toEqual(['B → A INVITE']);
    answer();
    await fromB;
    await fromA;
    await settle();
    expect(p.ladder.lines().slice(3)).toEqual([
      'B → A INVITE',
      'A → B 200',
      'B → A ACK',
      'A → B INVITE',
      'B → A 200',
      'A → B ACK',
    ]);
  });
});
