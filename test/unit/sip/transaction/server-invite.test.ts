import { describe, expect, it } from 'vitest';
import type { SipRequest } from '../../../../src/sip/message/types.js';
import type { ServerTransaction } from '../../../../src/sip/transaction/transaction-layer.js';
import {
  PHONE,
  ack,
  harness,
  header,
  request,
  response,
  type Harness,
  type HarnessOptions,
  type Peer,
} from './harness.js';

const invite = (branch: string): SipRequest =>
  request({ method: 'INVITE', branch, toTag: undefined });

function serverTx(h: Harness): ServerTransaction<Peer> {
  const e = h.events.find((x) => x.type === 'request');
  if (e === undefined || e.type !== 'request') throw new Error('no request');
  return e.tx;
}

/** A harness whose TU answers every INVITE at once with `status`. */
function answering(status: number, options: HarnessOptions = {}): Harness {
  return harness({
    ...options,
    onRequest: (req, tx) => tx.respond(response(req, status, { toTag: 'uas-tag' })),
  });
}

describe('INVITE server transaction', () => {
  it('retransmits a 486 on Timer G capped at T2 until Timer H fires at 32 s, then tells the TU', () => {
    const h = answering(486);
    h.layer.receive(invite('z9hG4bKist1'), PHONE, false);
    const tx = serverTx(h);
    expect(tx.state).toBe('Completed');
    h.clock.tick(31_999);
    expect(tx.state).toBe('Completed');
    h.clock.tick(10_000);
    expect(h.sendTimes()).toEqual([0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]);
    expect(h.sent.every((s) => s.line === 'SIP/2.0 486 Busy Here')).toBe(true);
    expect(tx.state).toBe('Terminated');
    expect(h.events.map((e) => [e.at, e.type])).toEqual([
      [0, 'request'],
      [32_000, 'server-error'],
    ]);
    expect(h.events[1]).toMatchObject({ error: { code: 'SIP_ERR_TIMEOUT', timer: 'H' } });
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, timers: 0 });
  });

  it('stops retransmitting on the ACK, absorbs ACK retransmissions and ends after Timer I (5 s) on UDP', () => {
    const h = answering(486);
    h.layer.receive(invite('z9hG4bKist2'), PHONE, false);
    const tx = serverTx(h);
    h.clock.tick(1_000);
    expect(h.layer.receive(ack({ branch: 'z9hG4bKist2', toTag: 'uas-tag' }), PHONE, false)).toBe(
      'absorbed',
    );
    expect(tx.state).toBe('Confirmed');
    h.clock.tick(1_000);
    expect(h.layer.receive(ack({ branch: 'z9hG4bKist2', toTag: 'uas-tag' }), PHONE, false)).toBe(
      'absorbed',
    );
    h.clock.tick(3_999);
    expect(tx.state).toBe('Confirmed');
    h.clock.tick(1);
    expect(tx.state).toBe('Terminated');
    expect(h.sendTimes()).toEqual([0, 0.5]);
    expect(h.events.map((e) => e.type)).toEqual(['request']);
  });

  it('resends the final response to a retransmitted INVITE in Completed', () => {
    const h = answering(486);
    const req = invite('z9hG4bKist3');
    h.layer.receive(req, PHONE, false);
    h.clock.tick(200);
    expect(h.layer.receive(req, PHONE, false)).toBe('retransmission');
    expect(h.sent.map((s) => [s.at, s.line])).toEqual([
      [0, 'SIP/2.0 486 Busy Here'],
      [200, 'SIP/2.0 486 Busy Here'],
    ]);
  });

  it('does not retransmit over a reliable transport, still waits Timer H for the ACK, and ends at once on it (Timer I = 0)', () => {
    const h = answering(486);
    h.layer.receive(invite('z9hG4bKist4'), PHONE, true);
    const tx = serverTx(h);
    h.clock.tick(10_000);
    expect(h.sendTimes()).toEqual([0]);
    expect(tx.state).toBe('Completed');
    h.layer.receive(ack({ branch: 'z9hG4bKist4', toTag: 'uas-tag' }), PHONE, true);
    expect(tx.state).toBe('Terminated');
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, timers: 0 });

    const lost = answering(486);
    lost.layer.receive(invite('z9hG4bKist4b'), PHONE, true);
    lost.clock.tick(32_000);
    expect(lost.events.map((e) => [e.at, e.type])).toEqual([
      [0, 'request'],
      [32_000, 'server-error'],
    ]);
  });

  it('sends a 100 Trying after 200 ms when the TU is silent, and resends it to a retransmitted INVITE', () => {
    const h = harness();
    const req = invite('z9hG4bKist5');
    h.layer.receive(req, PHONE, false);
    h.clock.tick(199);
    expect(h.sent).toEqual([]);
    h.clock.tick(1);
    h.clock.tick(300);
    h.layer.receive(req, PHONE, false);
    expect(h.sent.map((s) => [s.at, s.line])).toEqual([
      [200, 'SIP/2.0 100 Trying'],
      [500, 'SIP/2.0 100 Trying'],
    ]);
    expect(header(h.sent[0]?.bytes ?? new Uint8Array(), 'To')).toBe('<sip:1001@192.0.2.10>');
    expect(header(h.sent[0]?.bytes ?? new Uint8Array(), 'CSeq')).toBe('1 INVITE');
    expect(serverTx(h).state).toBe('Proceeding');
  });

  it('sends no 100 Trying when the TU answers within 200 ms, and sends it at once when trying100Ms is 0', () => {
    const quick = harness();
    const req = invite('z9hG4bKist6');
    quick.layer.receive(req, PHONE, false);
    quick.clock.tick(50);
    serverTx(quick).respond(response(req, 180));
    quick.clock.tick(1_000);
    expect(quick.sent.map((s) => [s.at, s.line])).toEqual([[50, 'SIP/2.0 180 Ringing']]);

    const eager = harness({ timers: { trying100Ms: 0 } });
    eager.layer.receive(invite('z9hG4bKist7'), PHONE, false);
    expect(eager.sent.map((s) => [s.at, s.line])).toEqual([[0, 'SIP/2.0 100 Trying']]);
  });

  it("moves to Accepted on a 2xx: absorbs INVITE retransmissions, passes the TU's 2xx retransmissions and ACKs through, and ends on Timer L", () => {
    const h = answering(200);
    const req = invite('z9hG4bKist8');
    h.layer.receive(req, PHONE, false);
    const tx = serverTx(h);
    expect(tx.state).toBe('Accepted');
    h.clock.tick(500);
    expect(h.layer.receive(req, PHONE, false)).toBe('retransmission');
    tx.respond(response(req, 200, { toTag: 'uas-tag' }));
    h.clock.tick(100);
    expect(h.layer.receive(ack({ branch: 'z9hG4bKnewAck', toTag: 'uas-tag' }), PHONE, false)).toBe(
      'ack',
    );
    expect(h.layer.receive(ack({ branch: 'z9hG4bKist8', toTag: 'uas-tag' }), PHONE, false)).toBe(
      'ack',
    );
    expect(() => tx.respond(response(req, 486))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_STATE' }),
    );
    expect(h.sent.map((s) => [s.at, s.line])).toEqual([
      [0, 'SIP/2.0 200 OK'],
      [500, 'SIP/2.0 200 OK'],
    ]);
    expect(h.events.map((e) => [e.at, e.type])).toEqual([
      [0, 'request'],
      [600, 'ack'],
      [600, 'ack'],
    ]);
    h.clock.tick(31_399);
    expect(tx.state).toBe('Accepted');
    h.clock.tick(1);
    expect(tx.state).toBe('Terminated');
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, timers: 0 });
  });

  it('sends the 482 to a merged INVITE from its own transaction and retransmits it until the ACK', () => {
    const h = harness();
    h.layer.receive(invite('z9hG4bKfirst'), PHONE, false);
    expect(h.layer.receive(invite('z9hG4bKsecond'), PHONE, false)).toBe('merged');
    h.clock.tick(600);
    h.layer.receive(ack({ branch: 'z9hG4bKsecond', toTag: 'x' }), PHONE, false);
    h.clock.tick(10_000);
    expect(h.sent.map((s) => [s.at, s.line])).toEqual([
      [0, 'SIP/2.0 482 Loop Detected'],
      [200, 'SIP/2.0 100 Trying'],
      [500, 'SIP/2.0 482 Loop Detected'],
    ]);
  });

  it('runs only the timers its state owns and cancels them on leaving it', () => {
    const h = answering(486);
    h.layer.receive(invite('z9hG4bKist9'), PHONE, false);
    const tx = serverTx(h);
    expect(tx.activeTimers()).toEqual(['G', 'H']);
    h.layer.receive(ack({ branch: 'z9hG4bKist9', toTag: 'uas-tag' }), PHONE, false);
    expect(tx.activeTimers()).toEqual(['I']);
    expect(h.layer.stats().timers).toBe(1);

    const slow = harness();
    slow.layer.receive(invite('z9hG4bKist10'), PHONE, false);
    const pending = serverTx(slow);
    expect(pending.activeTimers()).toEqual(['trying']);
    pending.respond(response(invite('z9hG4bKist10'), 200));
    expect(pending.activeTimers()).toEqual(['L']);
  });
});
