import { describe, expect, it } from 'vitest';
import type { SipRequest } from '../../../../src/sip/message/types.js';
import type { ServerTransaction } from '../../../../src/sip/transaction/transaction-layer.js';
import { PHONE, harness, request, response, type Harness, type Peer } from './harness.js';

/** The server transaction the TU was given for the n-th request. */
function serverTx(h: Harness, n = 0): { request: SipRequest; tx: ServerTransaction<Peer> } {
  const e = h.events.filter((x) => x.type === 'request')[n];
  if (e === undefined || e.type !== 'request') throw new Error(`no request #${n}`);
  return { request: e.request, tx: e.tx };
}

describe('non-INVITE server transaction', () => {
  it('absorbs a retransmitted INFO and resends the same response bytes without delivering it twice', () => {
    const h = harness();
    const info = request({ branch: 'z9hG4bKinfo1', seq: 7 });
    expect(h.layer.receive(info, PHONE, false)).toBe('request');
    const { tx } = serverTx(h);
    expect(tx.state).toBe('Trying');
    h.clock.tick(100);
    tx.respond(response(info, 200));
    expect(tx.state).toBe('Completed');
    h.clock.tick(400);
    expect(h.layer.receive(info, PHONE, false)).toBe('retransmission');
    h.clock.tick(1_000);
    expect(h.layer.receive(info, PHONE, false)).toBe('retransmission');
    expect(h.events.map((e) => e.type)).toEqual(['request']);
    expect(h.sent.map((s) => [s.at, s.line])).toEqual([
      [100, 'SIP/2.0 200 OK'],
      [500, 'SIP/2.0 200 OK'],
      [1_500, 'SIP/2.0 200 OK'],
    ]);
    // the very bytes serialized once: the same memory, not a copy and not a new serialization
    const memory = (b: Uint8Array | undefined) => [b?.buffer, b?.byteOffset, b?.byteLength];
    expect(memory(h.sent[1]?.bytes)).toEqual(memory(h.sent[0]?.bytes));
    expect(h.sent[1]?.bytes.buffer).toBe(h.sent[0]?.bytes.buffer);
    expect(memory(h.sent[2]?.bytes)).toEqual(memory(h.sent[0]?.bytes));
    expect(h.serializations()).toBe(1);
    expect(h.sent.every((s) => s.target === PHONE)).toBe(true);
  });

  it('absorbs a retransmission silently while the TU has not answered (Trying)', () => {
    const h = harness();
    const info = request({ branch: 'z9hG4bKinfo2' });
    h.layer.receive(info, PHONE, false);
    h.clock.tick(500);
    expect(h.layer.receive(info, PHONE, false)).toBe('retransmission');
    expect(h.sent).toEqual([]);
    expect(h.events).toHaveLength(1);
  });

  it('resends the last provisional response to a retransmission in Proceeding', () => {
    const h = harness();
    const info = request({ branch: 'z9hG4bKinfo3' });
    h.layer.receive(info, PHONE, false);
    const { tx } = serverTx(h);
    tx.respond(response(info, 100));
    expect(tx.state).toBe('Proceeding');
    h.clock.tick(500);
    h.layer.receive(info, PHONE, false);
    expect(h.sent.map((s) => [s.at, s.line])).toEqual([
      [0, 'SIP/2.0 100 Trying'],
      [500, 'SIP/2.0 100 Trying'],
    ]);
  });

  it('lingers in Completed for Timer J (32 s) on UDP, then forgets the transaction', () => {
    const h = harness();
    const info = request({ branch: 'z9hG4bKinfo4' });
    h.layer.receive(info, PHONE, false);
    const { tx } = serverTx(h);
    tx.respond(response(info, 200));
    h.clock.tick(31_999);
    expect(tx.state).toBe('Completed');
    expect(h.layer.stats()).toEqual({ client: 0, server: 1, timers: 1 });
    h.clock.tick(1);
    expect(tx.state).toBe('Terminated');
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, timers: 0 });
  });

  it('terminates with its final response over a reliable transport (Timer J = 0)', () => {
    const h = harness();
    const info = request({ branch: 'z9hG4bKinfo5' });
    h.layer.receive(info, PHONE, true);
    const { tx } = serverTx(h);
    tx.respond(response(info, 200));
    expect(tx.state).toBe('Terminated');
    expect(h.sent.map((s) => [s.line, s.reliable])).toEqual([['SIP/2.0 200 OK', true]]);
    expect(h.layer.stats()).toEqual({ client: 0, server: 0, timers: 0 });
  });

  it('rejects a second final response with ERR_INVALID_STATE and a foreign one with ERR_INVALID_ARG', () => {
    const h = harness();
    const info = request({ branch: 'z9hG4bKinfo6', seq: 4 });
    h.layer.receive(info, PHONE, false);
    const { tx } = serverTx(h);
    expect(() => tx.respond(response(info, 200, { seq: 5 }))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
    );
    expect(() => tx.respond({ ...response(info, 200), status: 99 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
    );
    tx.respond(response(info, 200));
    expect(() => tx.respond(response(info, 500))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_STATE' }),
    );
    expect(h.sent).toHaveLength(1);
  });

  it('reports a failed response send to the TU as SIP_ERR_TRANSPORT and terminates', () => {
    const h = harness();
    const info = request({ branch: 'z9hG4bKinfo7' });
    h.layer.receive(info, PHONE, false);
    const { tx } = serverTx(h);
    h.failSends(1);
    tx.respond(response(info, 200));
    expect(tx.state).toBe('Terminated');
    expect(h.events.map((e) => e.type)).toEqual(['request', 'server-error']);
    expect(h.events[1]).toMatchObject({ error: { code: 'SIP_ERR_TRANSPORT', status: 503 }, tx });
  });
});
