import { describe, expect, it } from 'vitest';
import { PHONE, ack, harness, header, request, response, via, type Peer } from './harness.js';

const OTHER: Peer = { name: 'other' };

describe('TransactionLayer: matching responses to client transactions (RFC 3261 §17.1.3)', () => {
  it('never matches a response with a stale branch to a new client transaction', () => {
    const h = harness();
    const first = h.clientUser();
    const makeCall = request({ branch: 'z9hG4bKmakecall', seq: 2 });
    h.layer.sendRequest(makeCall, PHONE, false, first.user);
    h.clock.tick(300);
    const oldAnswer = response(makeCall, 200);
    h.layer.receive(oldAnswer, PHONE, false);
    h.clock.tick(5_000);
    expect(h.layer.stats().client).toBe(0);

    const second = h.clientUser();
    const clear = request({ branch: 'z9hG4bKclear', seq: 3 });
    const tx = h.layer.sendRequest(clear, PHONE, false, second.user);
    expect(h.layer.receive(oldAnswer, PHONE, false)).toBe('stray');
    expect(second.events).toEqual([]);
    expect(tx.state).toBe('Trying');
    expect(h.events.map((e) => e.type)).toEqual(['stray']);
  });

  it('never matches a response with another CSeq number, even when a request reuses a branch', () => {
    // npm sip's replay: a weak generator reuses the branch of an INFO answered earlier.
    const h = harness();
    const first = h.clientUser();
    const makeCall = request({ branch: 'z9hG4bKreused', seq: 2 });
    h.layer.sendRequest(makeCall, PHONE, true, first.user);
    const oldAnswer = response(makeCall, 200);
    h.layer.receive(oldAnswer, PHONE, true);

    const second = h.clientUser();
    const clear = request({ branch: 'z9hG4bKreused', seq: 3 });
    const tx = h.layer.sendRequest(clear, PHONE, true, second.user);
    expect(h.layer.receive(oldAnswer, PHONE, true)).toBe('dropped');
    expect(second.events).toEqual([]);
    expect(tx.state).toBe('Trying');
    expect(h.traces).toEqual([expect.objectContaining({ type: 'dropped', message: oldAnswer })]);
    expect(h.layer.receive(response(clear, 200), PHONE, true)).toBe('response');
    expect(second.events).toEqual([{ at: 0, type: 'response', status: 200 }]);
  });

  it('refuses a branch that a live client transaction uses, and requests without an RFC 3261 branch', () => {
    const h = harness();
    const { user } = h.clientUser();
    h.layer.sendRequest(request({ branch: 'z9hG4bKlive', seq: 1 }), PHONE, false, user);
    const bad = [
      request({ branch: 'z9hG4bKlive', seq: 2 }),
      request({ branch: undefined }),
      request({ branch: 'rfc2543-style' }),
      request({ branch: 'z9hG4bK' }),
      ack({ branch: 'z9hG4bKack' }),
      { ...request({ branch: 'z9hG4bKcseq' }), cseq: { seq: 1, method: 'BYE' } },
    ];
    for (const r of bad) {
      expect(() => h.layer.sendRequest(r, PHONE, false, user), r.via[0]?.branch).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
      );
    }
    expect(h.layer.stats().client).toBe(1);
  });

  it('keeps a CANCEL apart from its INVITE although they share the branch', () => {
    const h = harness();
    const inviteUser = h.clientUser();
    const cancelUser = h.clientUser();
    const inv = request({ method: 'INVITE', branch: 'z9hG4bKshared', toTag: undefined });
    const cancel = request({ method: 'CANCEL', branch: 'z9hG4bKshared', toTag: undefined });
    h.layer.sendRequest(inv, PHONE, false, inviteUser.user);
    h.layer.sendRequest(cancel, PHONE, false, cancelUser.user);
    h.layer.receive(response(cancel, 200), PHONE, false);
    expect(cancelUser.events.map((e) => e.type)).toEqual(['response']);
    expect(inviteUser.events).toEqual([]);
  });
});

describe('TransactionLayer: matching requests to server transactions (RFC 3261 §17.2.3)', () => {
  it('treats the same branch from another sent-by as a new request', () => {
    const h = harness();
    h.layer.receive(request({ branch: 'z9hG4bKsame' }), PHONE, false);
    expect(
      h.layer.receive(request({ via: via('z9hG4bKsame', '198.51.100.7'), seq: 2 }), OTHER, false),
    ).toBe('request');
    expect(h.layer.stats().server).toBe(2);
  });

  it('matches an RFC 2543 INVITE retransmission and its ACK without a magic cookie', () => {
    const h = harness({
      onRequest: (req, tx) => tx.respond(response(req, 486, { toTag: 'old-tag' })),
    });
    const inv = request({ method: 'INVITE', branch: undefined, toTag: undefined });
    expect(h.layer.receive(inv, PHONE, false)).toBe('request');
    expect(h.layer.receive(inv, PHONE, false)).toBe('retransmission');
    expect(h.layer.receive(ack({ branch: undefined, toTag: 'another-tag' }), PHONE, false)).toBe(
      'ack',
    );
    expect(h.layer.receive(ack({ branch: undefined, toTag: 'old-tag' }), PHONE, false)).toBe(
      'absorbed',
    );
    const e = h.events[0];
    expect(e?.type === 'request' ? e.tx.state : undefined).toBe('Confirmed');
    expect(h.events.map((x) => x.type)).toEqual(['request', 'ack']);
  });

  it('matches an RFC 2543 non-INVITE retransmission by Request-URI, tags, Call-ID, CSeq and top Via', () => {
    const h = harness({ onRequest: (req, tx) => tx.respond(response(req, 200)) });
    const info = request({ branch: undefined, seq: 5 });
    h.layer.receive(info, PHONE, false);
    expect(h.layer.receive(info, PHONE, false)).toBe('retransmission');
    expect(h.layer.receive(request({ branch: undefined, seq: 6 }), PHONE, false)).toBe('request');
    expect(
      h.layer.receive(
        request({ branch: undefined, seq: 5, uri: 'sip:other@192.0.2.10' }),
        PHONE,
        false,
      ),
    ).toBe('request');
    expect(h.events).toHaveLength(3);
  });

  it('answers a merged request with 482 Loop Detected and hands only the first to the TU (§8.2.2.2)', () => {
    const h = harness();
    const first = request({ method: 'OPTIONS', branch: 'z9hG4bKpath1', toTag: undefined, seq: 9 });
    const second = request({
      method: 'OPTIONS',
      via: via('z9hG4bKpath2', '198.51.100.9'),
      toTag: undefined,
      seq: 9,
    });
    expect(h.layer.receive(first, PHONE, false)).toBe('request');
    expect(h.layer.receive(second, OTHER, false)).toBe('merged');
    expect(h.layer.receive(second, OTHER, false)).toBe('retransmission');
    expect(h.events.map((e) => e.type)).toEqual(['request']);
    expect(h.sent.map((s) => [s.line, s.target.name])).toEqual([
      ['SIP/2.0 482 Loop Detected', 'other'],
      ['SIP/2.0 482 Loop Detected', 'other'],
    ]);
    const bytes = h.sent[0]?.bytes ?? new Uint8Array();
    expect(header(bytes, 'Via')).toBe('SIP/2.0/UDP 198.51.100.9:5060;branch=z9hG4bKpath2');
    expect(header(bytes, 'CSeq')).toBe('9 OPTIONS');
    expect(header(bytes, 'To')).toMatch(/^<sip:1001@192\.0\.2\.10>;tag=[0-9a-f]{16}$/);
  });

  it('leaves a request with a To tag to the dialog layer rather than calling it merged', () => {
    const h = harness();
    h.layer.receive(request({ branch: 'z9hG4bKdlg1', seq: 3 }), PHONE, false);
    expect(h.layer.receive(request({ branch: 'z9hG4bKdlg2', seq: 3 }), PHONE, false)).toBe(
      'request',
    );
  });

  it('passes the ACK for a 2xx, which matches no transaction, to the TU', () => {
    const h = harness();
    expect(h.layer.receive(ack({ branch: 'z9hG4bKack2xx', toTag: 'uas' }), PHONE, true)).toBe(
      'ack',
    );
    expect(h.events.map((e) => e.type)).toEqual(['ack']);
  });

  it('finds the INVITE server transaction a CANCEL refers to', () => {
    const h = harness();
    const inv = request({ method: 'INVITE', branch: 'z9hG4bKcancelme', toTag: undefined });
    h.layer.receive(inv, PHONE, false);
    const cancel = request({ method: 'CANCEL', branch: 'z9hG4bKcancelme', toTag: undefined });
    expect(h.layer.receive(cancel, PHONE, false)).toBe('request');
    const e = h.events[0];
    expect(h.layer.findInviteForCancel(cancel)).toBe(e?.type === 'request' ? e.tx : 'missing');
    expect(
      h.layer.findInviteForCancel(
        request({ method: 'CANCEL', branch: 'z9hG4bKnope', toTag: undefined }),
      ),
    ).toBeUndefined();
  });
});

describe('TransactionLayer: robustness and cost', () => {
  it('drops messages without a Via and traces them', () => {
    const h = harness();
    const noVia = { ...request(), via: [] };
    expect(h.layer.receive(noVia, PHONE, false)).toBe('dropped');
    expect(h.layer.receive({ ...response(request(), 200), via: [] }, PHONE, false)).toBe('dropped');
    expect(h.traces.map((t) => t.type)).toEqual(['dropped', 'dropped']);
  });

  it('traces an exception thrown by a TU callback and keeps working', () => {
    const h = harness({
      onRequest: () => {
        throw new Error('TU bug');
      },
    });
    const info = request({ branch: 'z9hG4bKbuggy' });
    expect(h.layer.receive(info, PHONE, false)).toBe('request');
    expect(h.traces).toEqual([
      { type: 'user-error', error: expect.objectContaining({ message: 'TU bug' }) },
    ]);
    expect(h.layer.receive(info, PHONE, false)).toBe('retransmission');
  });

  it('keeps a thousand answered INFOs on one clock timer over UDP, and none over TCP', () => {
    const udp = harness({ onRequest: (req, tx) => tx.respond(response(req, 200)) });
    for (let i = 0; i < 1_000; i++) {
      udp.clock.tick(1);
      udp.layer.receive(request({ branch: `z9hG4bKu${i}`, seq: i + 1 }), PHONE, false);
    }
    expect(udp.layer.stats()).toEqual({ client: 0, server: 1_000, timers: 1_000 });
    expect(udp.clock.pending()).toBe(1);
    expect(udp.serializations()).toBe(1_000);
    udp.clock.tick(32_000);
    expect(udp.layer.stats()).toEqual({ client: 0, server: 0, timers: 0 });
    expect(udp.clock.pending()).toBe(0);

    const tcp = harness({ onRequest: (req, tx) => tx.respond(response(req, 200)) });
    for (let i = 0; i < 1_000; i++)
      tcp.layer.receive(request({ branch: `z9hG4bKt${i}`, seq: i + 1 }), PHONE, true);
    expect(tcp.layer.stats()).toEqual({ client: 0, server: 0, timers: 0 });
  });

  it('close() ends every transaction silently, cancels every timer and refuses further work', () => {
    const h = harness();
    const { user, events } = h.clientUser();
    const tx = h.layer.sendRequest(request({ branch: 'z9hG4bKopen' }), PHONE, false, user);
    h.layer.receive(request({ branch: 'z9hG4bKin' }), PHONE, false);
    h.layer.close();
    h.layer.close();
    expect(h.layer.state).toBe('Closed');
    expect(tx.state).toBe('Terminated');
    expect(h.clock.pending()).toBe(0);
    h.clock.tick(60_000);
    expect(events).toEqual([]);
    expect(h.sendTimes()).toEqual([0]);
    expect(h.layer.receive(request({ branch: 'z9hG4bKlate' }), PHONE, false)).toBe('dropped');
    expect(() =>
      h.layer.sendRequest(request({ branch: 'z9hG4bKafter' }), PHONE, false, user),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
  });
});
