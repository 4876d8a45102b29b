import { describe, expect, it } from 'vitest';
import { PHONE, harness, request, response, via } from './harness.js';

const OTHER = { name: 'other' };

/**
 * A UDP non-INVITE server transaction in Completed is kept by the layer as a compact record
 * (key, response bytes, target, Timer J); these cover what the record must still do.
 */
describe('non-INVITE server transaction lingering as a compact record (UDP)', () => {
  it('still answers a merged request 482 while the first one lingers, and forgets both at Timer J', () => {
    const h = harness({ onRequest: (req, tx) => tx.respond(response(req, 200)) });
    const first = request({ method: 'OPTIONS', branch: 'z9hG4bKm1', toTag: undefined, seq: 3 });
    const second = request({
      method: 'OPTIONS',
      via: via('z9hG4bKm2', '198.51.100.9'),
      toTag: undefined,
      seq: 3,
    });
    expect(h.layer.receive(first, PHONE, false)).toBe('request');
    expect(h.layer.receive(second, OTHER, false)).toBe('merged');
    expect(h.layer.stats()).toEqual({ client: 0, server: 2, timers: 2 });
    h.clock.tick(32_000);
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, timers: 0 });
    expect(h.layer.receive(second, OTHER, false)).toBe('request');
  });

  it('reads Terminated once the layer closes', () => {
    const h = harness({ onRequest: (req, tx) => tx.respond(response(req, 200)) });
    h.layer.receive(request({ branch: 'z9hG4bKc1' }), PHONE, false);
    const e = h.events[0];
    if (e?.type !== 'request') throw new Error('no request');
    expect(e.tx.state).toBe('Completed');
    h.layer.close();
    expect(e.tx.state).toBe('Terminated');
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, timers: 0 });
  });

  it('ends the record when a resend fails, so the next copy is a new request', () => {
    const h = harness({ onRequest: (req, tx) => tx.respond(response(req, 200)) });
    const info = request({ branch: 'z9hG4bKf1' });
    h.layer.receive(info, PHONE, false);
    h.failSends(1);
    expect(h.layer.receive(info, PHONE, false)).toBe('retransmission');
    expect(h.traces).toEqual([expect.objectContaining({ type: 'dropped' })]);
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, timers: 0 });
    const e = h.events[0];
    expect(e?.type === 'request' ? e.tx.state : undefined).toBe('Terminated');
    expect(h.layer.receive(info, PHONE, false)).toBe('request');
  });

  it('drops the record on a later transport error of its transaction', () => {
    const h = harness({ onRequest: (req, tx) => tx.respond(response(req, 200)) });
    h.layer.receive(request({ branch: 'z9hG4bKt1' }), PHONE, false);
    const e = h.events[0];
    if (e?.type !== 'request') throw new Error('no request');
    e.tx.transportError(new Error('ICMP unreachable'));
    expect(e.tx.state).toBe('Terminated');
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, timers: 0 });
    expect(h.events.map((x) => x.type)).toEqual(['request', 'server-error']);
    h.clock.tick(32_000);
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, timers: 0 });
  });
});
