import { describe, expect, it } from 'vitest';
import { CLIENT_NON_INVITE_TRANSITIONS } from '../../../../src/sip/transaction/client-non-invite.js';
import { PHONE, harness, request, response } from './harness.js';

describe('non-INVITE client transaction', () => {
  it('retransmits into a black hole at 0, 0.5, 1.5, 3.5, 7.5, 11.5 … 31.5 s (E capped at T2) and times out at exactly 32 s', () => {
    const h = harness();
    const { user, events } = h.clientUser();
    const tx = h.layer.sendRequest(request({ branch: 'z9hG4bKbh1' }), PHONE, false, user);
    expect(tx.state).toBe('Trying');
    h.clock.tick(31_999);
    expect(tx.state).toBe('Trying');
    expect(events).toEqual([]);
    h.clock.tick(1);
    expect(h.sendTimes()).toEqual([0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]);
    expect(
      h.sent.every((s) => s.line === 'INFO sip:1001@192.0.2.10:5060 SIP/2.0' && !s.reliable),
    ).toBe(true);
    expect(events).toEqual([
      {
        at: 32_000,
        type: 'timeout',
        error: expect.objectContaining({ code: 'SIP_ERR_TIMEOUT', status: 408, timer: 'F' }),
      },
    ]);
    expect(tx.state).toBe('Terminated');
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, timers: 0 });
  });

  it('retransmits every T2 once a provisional response arrived, until Timer F', () => {
    const h = harness();
    const { user, events } = h.clientUser();
    const req = request({ branch: 'z9hG4bKprov' });
    const tx = h.layer.sendRequest(req, PHONE, false, user);
    h.clock.tick(200);
    expect(h.layer.receive(response(req, 100), PHONE, false)).toBe('response');
    expect(tx.state).toBe('Proceeding');
    h.clock.tick(40_000);
    expect(h.sendTimes()).toEqual([0, 0.5, 4.5, 8.5, 12.5, 16.5, 20.5, 24.5, 28.5]);
    expect(events.map((e) => [e.at, e.type])).toEqual([
      [200, 'response'],
      [32_000, 'timeout'],
    ]);
  });

  it('sends once over a reliable transport and still times out at 32 s', () => {
    const h = harness();
    const { user, events } = h.clientUser();
    h.layer.sendRequest(request({ branch: 'z9hG4bKtcp' }), PHONE, true, user);
    h.clock.tick(40_000);
    expect(h.sent.map((s) => [s.at, s.reliable])).toEqual([[0, true]]);
    expect(events.map((e) => [e.at, e.type])).toEqual([[32_000, 'timeout']]);
  });

  it('passes the final response once, absorbs its retransmissions and ends after Timer K (5 s) on UDP', () => {
    const h = harness();
    const { user, events } = h.clientUser();
    const req = request({ branch: 'z9hG4bKfinal' });
    const tx = h.layer.sendRequest(req, PHONE, false, user);
    h.clock.tick(1_000);
    expect(h.layer.receive(response(req, 200), PHONE, false)).toBe('response');
    expect(tx.state).toBe('Completed');
    h.clock.tick(2_000);
    expect(h.layer.receive(response(req, 200), PHONE, false)).toBe('absorbed');
    h.clock.tick(2_999);
    expect(tx.state).toBe('Completed');
    h.clock.tick(1);
    expect(tx.state).toBe('Terminated');
    expect(events).toEqual([{ at: 1_000, type: 'response', status: 200 }]);
    expect(h.sendTimes()).toEqual([0, 0.5]);
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, timers: 0 });
  });

  it('terminates at once on the final response over a reliable transport (Timer K = 0)', () => {
    const h = harness();
    const { user, events } = h.clientUser();
    const req = request({ branch: 'z9hG4bKtcpfinal' });
    const tx = h.layer.sendRequest(req, PHONE, true, user);
    expect(h.layer.receive(response(req, 200), PHONE, true)).toBe('response');
    expect(tx.state).toBe('Terminated');
    expect(events).toEqual([{ at: 0, type: 'response', status: 200 }]);
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, timers: 0 });
  });

  it('reports a transport error with status 503 when the first send fails, and forgets the transaction', () => {
    const h = harness();
    const { user, events } = h.clientUser();
    h.failSends(1);
    const tx = h.layer.sendRequest(request({ branch: 'z9hG4bKfail' }), PHONE, false, user);
    expect(tx.state).toBe('Terminated');
    expect(events).toEqual([
      {
        at: 0,
        type: 'transport-error',
        error: expect.objectContaining({
          code: 'SIP_ERR_TRANSPORT',
          status: 503,
          cause: expect.any(Error),
        }),
      },
    ]);
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, timers: 0 });
  });

  it('reports a transport error when a retransmission fails, and stops retransmitting', () => {
    const h = harness();
    const { user, events } = h.clientUser();
    const tx = h.layer.sendRequest(request({ branch: 'z9hG4bKfail2' }), PHONE, false, user);
    h.failSends(1);
    h.clock.tick(40_000);
    expect(tx.state).toBe('Terminated');
    expect(h.sendTimes()).toEqual([0]);
    expect(events.map((e) => [e.at, e.type])).toEqual([[500, 'transport-error']]);
  });

  it('reports a transport error found after the send', () => {
    const h = harness();
    const { user, events } = h.clientUser();
    const tx = h.layer.sendRequest(request({ branch: 'z9hG4bKlate' }), PHONE, true, user);
    tx.transportError(new Error('connection refused'));
    expect(tx.state).toBe('Terminated');
    expect(events.map((e) => e.type)).toEqual(['transport-error']);
  });

  it('allows no move out of Terminated and no move back to Trying', () => {
    expect(CLIENT_NON_INVITE_TRANSITIONS.Terminated).toEqual([]);
    for (const targets of Object.values(CLIENT_NON_INVITE_TRANSITIONS))
      expect(targets).not.toContain('Trying');
    const h = harness();
    const tx = h.layer.sendRequest(
      request({ branch: 'z9hG4bKillegal' }),
      PHONE,
      false,
      h.clientUser().user,
    );
    // reason: reaching the protected guard directly is the only way to try an illegal move.
    const guarded = tx as unknown as { transition(to: string): void };
    expect(() => guarded.transition('Trying')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_STATE' }),
    );
    expect(tx.state).toBe('Trying');
  });

  it('runs Timers E and F in Trying and Proceeding, and only Timer K once Completed', () => {
    const h = harness();
    const req = request({ branch: 'z9hG4bKowned' });
    const tx = h.layer.sendRequest(req, PHONE, false, h.clientUser().user);
    expect(tx.activeTimers()).toEqual(['E', 'F']);
    h.layer.receive(response(req, 100), PHONE, false);
    expect(tx.activeTimers()).toEqual(['E', 'F']);
    h.layer.receive(response(req, 200), PHONE, false);
    expect(tx.activeTimers()).toEqual(['K']);
    expect(h.layer.stats().timers).toBe(1);
    const tcp = h.layer.sendRequest(
      request({ branch: 'z9hG4bKownedTcp' }),
      PHONE,
      true,
      h.clientUser().user,
    );
    expect(tcp.activeTimers()).toEqual(['F']);
  });
});
