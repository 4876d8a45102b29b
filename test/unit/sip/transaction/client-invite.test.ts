import { describe, expect, it } from 'vitest';
import { CLIENT_INVITE_TRANSITIONS } from '../../../../src/sip/transaction/client-invite.js';
import { PHONE, harness, header, request, response } from './harness.js';

const invite = (branch: string) => request({ method: 'INVITE', branch, toTag: undefined, seq: 1 });

describe('INVITE client transaction', () => {
  it('retransmits into a black hole at 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s (A doubles, no cap) and fires Timer B at 32 s', () => {
    const h = harness();
    const { user, events } = h.clientUser();
    const tx = h.layer.sendRequest(invite('z9hG4bKict1'), PHONE, false, user);
    expect(tx.state).toBe('Calling');
    h.clock.tick(31_999);
    expect(events).toEqual([]);
    h.clock.tick(40_000);
    expect(h.sendTimes()).toEqual([0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]);
    expect(events).toEqual([
      {
        at: 32_000,
        type: 'timeout',
        error: expect.objectContaining({ code: 'SIP_ERR_TIMEOUT', status: 408, timer: 'B' }),
      },
    ]);
    expect(tx.state).toBe('Terminated');
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, timers: 0 });
  });

  it('sends once over a reliable transport and fires Timer B at 32 s', () => {
    const h = harness();
    const { user, events } = h.clientUser();
    h.layer.sendRequest(invite('z9hG4bKict2'), PHONE, true, user);
    h.clock.tick(40_000);
    expect(h.sendTimes()).toEqual([0]);
    expect(events.map((e) => [e.at, e.type])).toEqual([[32_000, 'timeout']]);
  });

  it('stops retransmitting on a provisional response and leaves the wait to the TU in Proceeding', () => {
    const h = harness();
    const { user, events } = h.clientUser();
    const req = invite('z9hG4bKict3');
    const tx = h.layer.sendRequest(req, PHONE, false, user);
    h.clock.tick(700);
    h.layer.receive(response(req, 180), PHONE, false);
    expect(tx.state).toBe('Proceeding');
    h.clock.tick(120_000);
    expect(h.sendTimes()).toEqual([0, 0.5]);
    expect(events).toEqual([{ at: 700, type: 'response', status: 180 }]);
    expect(tx.state).toBe('Proceeding');
  });

  it('acknowledges a 486 itself, re-sends the ACK on each retransmitted 486 without telling the TU, and lingers 32 s (Timer D)', () => {
    const h = harness();
    const { user, events } = h.clientUser();
    const req = invite('z9hG4bKict4');
    const tx = h.layer.sendRequest(req, PHONE, false, user);
    h.clock.tick(1_000);
    const busy = response(req, 486, { toTag: 'busy-tag' });
    expect(h.layer.receive(busy, PHONE, false)).toBe('response');
    expect(tx.state).toBe('Completed');
    h.clock.tick(1_000);
    expect(h.layer.receive(busy, PHONE, false)).toBe('absorbed');
    expect(h.sent.map((s) => [s.at, s.line])).toEqual([
      [0, 'INVITE sip:1001@192.0.2.10:5060 SIP/2.0'],
      [500, 'INVITE sip:1001@192.0.2.10:5060 SIP/2.0'],
      [1_000, 'ACK sip:1001@192.0.2.10:5060 SIP/2.0'],
      [2_000, 'ACK sip:1001@192.0.2.10:5060 SIP/2.0'],
    ]);
    const ackBytes = h.sent[2]?.bytes ?? new Uint8Array();
    expect(header(ackBytes, 'CSeq')).toBe('1 ACK');
    expect(header(ackBytes, 'Via')).toBe('SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKict4');
    expect(header(ackBytes, 'To')).toBe('<sip:1001@192.0.2.10>;tag=busy-tag');
    expect(header(ackBytes, 'From')).toBe('<sip:controller@192.0.2.1>;tag=ctl-tag');
    expect(h.sent[3]?.bytes).toBe(ackBytes);
    expect(events).toEqual([{ at: 1_000, type: 'response', status: 486 }]);
    h.clock.tick(30_999);
    expect(tx.state).toBe('Completed');
    h.clock.tick(1);
    expect(tx.state).toBe('Terminated');
  });

  it('ends at once after the ACK to a 486 over a reliable transport (Timer D = 0)', () => {
    const h = harness();
    const { user } = h.clientUser();
    const req = invite('z9hG4bKict5');
    const tx = h.layer.sendRequest(req, PHONE, true, user);
    h.layer.receive(response(req, 486), PHONE, true);
    expect(tx.state).toBe('Terminated');
    expect(h.sent.map((s) => s.line.split(' ')[0])).toEqual(['INVITE', 'ACK']);
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, timers: 0 });
  });

  it('moves to Accepted on a 2xx, sends no ACK itself, passes every further 2xx to the TU and ends on Timer M', () => {
    const h = harness();
    const { user, events } = h.clientUser();
    const req = invite('z9hG4bKict6');
    const tx = h.layer.sendRequest(req, PHONE, false, user);
    h.clock.tick(300);
    expect(h.layer.receive(response(req, 200), PHONE, false)).toBe('response');
    expect(tx.state).toBe('Accepted');
    h.clock.tick(500);
    expect(h.layer.receive(response(req, 200), PHONE, false)).toBe('response');
    expect(h.layer.receive(response(req, 200, { toTag: 'fork-2' }), PHONE, false)).toBe('response');
    expect(h.layer.receive(response(req, 486), PHONE, false)).toBe('absorbed');
    expect(events.map((e) => [e.at, e.type === 'response' ? e.status : e.type])).toEqual([
      [300, 200],
      [800, 200],
      [800, 200],
    ]);
    expect(h.sent.map((s) => s.line.split(' ')[0])).toEqual(['INVITE']);
    h.clock.tick(31_499);
    expect(tx.state).toBe('Accepted');
    h.clock.tick(1);
    expect(tx.state).toBe('Terminated');
    expect(h.layer.receive(response(req, 200), PHONE, false)).toBe('stray');
    expect(h.events.map((e) => e.type)).toEqual(['stray']);
  });

  it('allows no move out of Completed or Accepted except to Terminated', () => {
    expect(CLIENT_INVITE_TRANSITIONS.Completed).toEqual(['Terminated']);
    expect(CLIENT_INVITE_TRANSITIONS.Accepted).toEqual(['Terminated']);
    expect(CLIENT_INVITE_TRANSITIONS.Terminated).toEqual([]);
  });
});
