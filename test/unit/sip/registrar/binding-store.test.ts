import { describe, expect, it, vi } from 'vitest';
import { parseSipMessage } from '../../../../src/sip/message/parse.js';
import { createRequest, serializeSipMessage } from '../../../../src/sip/message/serialize.js';
import type { SipRequest } from '../../../../src/sip/message/types.js';
import {
  BindingStore,
  canonicalAor,
  registerResponse,
  sipUriEquals,
  type Binding,
  type BindingStoreOptions,
} from '../../../../src/sip/registrar/binding-store.js';
import { manualClock } from '../../../../src/util/clock.js';

interface RegisterSpec {
  readonly aor?: string;
  readonly contact?: string | readonly string[];
  readonly expires?: string;
  readonly callId?: string;
  readonly cseq?: number;
}

/** A REGISTER from phone 1001 (RFC 3261 §10.2). */
function register(spec: RegisterSpec = {}): SipRequest {
  const headers: Record<string, string | readonly string[]> = {};
  if (spec.contact !== undefined) headers['Contact'] = spec.contact;
  if (spec.expires !== undefined) headers['Expires'] = spec.expires;
  const aor = spec.aor ?? 'sip:1001@example.com';
  return createRequest({
    method: 'REGISTER',
    uri: 'sip:example.com',
    via: [{ transport: 'UDP', host: '192.0.2.10', port: 5060, branch: 'z9hG4bKreg', params: {} }],
    from: { displayName: undefined, uri: aor, params: { tag: 'p1' } },
    to: { displayName: undefined, uri: aor, params: {} },
    callId: spec.callId ?? 'reg-1@192.0.2.10',
    cseq: spec.cseq ?? 1,
    headers,
  });
}

const PHONE = '<sip:1001@192.0.2.10:5060>';

function setup(options: BindingStoreOptions = {}) {
  const clock = manualClock(0);
  const store = new BindingStore({ clock, ...options });
  const events: string[] = [];
  for (const type of ['registered', 'refreshed', 'removed', 'expired'] as const) {
    store.on(type, (b: Binding) => events.push(`${type} ${b.contact.uri} @${clock.now() / 1000}s`));
  }
  return { clock, store, events };
}

describe('BindingStore.register', () => {
  it('registers a contact and answers 200 with the binding and its expires', () => {
    const { store, events } = setup();
    const r = store.register(register({ contact: PHONE, expires: '3600' }));
    expect(r).toMatchObject({
      status: 200,
      aor: 'sip:1001@example.com',
      headers: { contact: ['<sip:1001@192.0.2.10:5060>;expires=3600'] },
    });
    expect(events).toEqual(['registered sip:1001@192.0.2.10:5060 @0s']);
    expect(store.bindings('sip:1001@example.com')).toHaveLength(1);
  });

  it('takes the contact expires parameter over the Expires header, and the default when neither is given', () => {
    const { store } = setup();
    const r = store.register(
      register({
        contact: ['<sip:a@192.0.2.10>;expires=120', '<sip:b@192.0.2.10>'],
        expires: '300',
      }),
    );
    expect(r.headers['contact']).toEqual([
      '<sip:a@192.0.2.10>;expires=120',
      '<sip:b@192.0.2.10>;expires=300',
    ]);
    const { store: other } = setup();
    expect(other.register(register({ contact: PHONE })).headers['contact']).toEqual([
      `${PHONE};expires=3600`,
    ]);
  });

  it('shortens an interval above maxExpiresSec and treats a malformed one as the default', () => {
    const { store } = setup({ maxExpiresSec: 7200, defaultExpiresSec: 3600 });
    expect(
      store.register(register({ contact: PHONE, expires: '86400' })).headers['contact'],
    ).toEqual([`${PHONE};expires=7200`]);
    const { store: other } = setup();
    expect(
      other.register(register({ contact: `${PHONE};expires=soon` })).headers['contact'],
    ).toEqual([`${PHONE};expires=3600`]);
  });

  it('answers 423 with Min-Expires to an interval under the minimum, and stores nothing', () => {
    const { store, events } = setup({ minExpiresSec: 60 });
    const r = store.register(register({ contact: PHONE, expires: '30' }));
    expect(r).toEqual({
      status: 423,
      reasonPhrase: 'Interval Too Brief',
      headers: { 'min-expires': ['60'] },
    });
    expect(store.size).toEqual({ aors: 0, bindings: 0 });
    expect(events).toEqual([]);
    const bytes = serializeSipMessage(
      registerResponse(register({ contact: PHONE, expires: '30' }), r, 'reg-tag'),
    );
    const text = new TextDecoder().decode(bytes);
    expect(text).toMatch(/^SIP\/2\.0 423 Interval Too Brief\r\n/);
    expect(text).toContain('\r\nMin-Expires: 60\r\n');
    expect(text).toContain(';tag=reg-tag');
  });

  it('does not answer 423 to an interval of an hour or more, even under a larger minimum (RFC 3261 §10.3 step 6)', () => {
    const { store } = setup({ minExpiresSec: 5000, maxExpiresSec: 7200 });
    expect(store.register(register({ contact: PHONE, expires: '3600' })).status).toBe(200);
  });

  it('refreshes a binding with the same Call-ID and a higher CSeq and restarts its interval', () => {
    const { store, clock, events } = setup();
    store.register(register({ contact: PHONE, expires: '600', cseq: 1 }));
    clock.tick(500_000);
    const r = store.register(register({ contact: PHONE, expires: '600', cseq: 2 }));
    expect(r.headers['contact']).toEqual([`${PHONE};expires=600`]);
    clock.tick(200_000); // 700 s after the first REGISTER, 200 s after the refresh
    expect(store.bindings('sip:1001@example.com')).toHaveLength(1);
    expect(events).toEqual([
      'registered sip:1001@192.0.2.10:5060 @0s',
      'refreshed sip:1001@192.0.2.10:5060 @500s',
    ]);
  });

  it('lists the remaining time of each binding in the 200', () => {
    const { store, clock } = setup();
    store.register(register({ contact: '<sip:a@192.0.2.10>', expires: '600', cseq: 1 }));
    clock.tick(100_500);
    const r = store.register(register({ contact: '<sip:b@192.0.2.10>', expires: '600', cseq: 2 }));
    expect(r.headers['contact']).toEqual([
      '<sip:a@192.0.2.10>;expires=500',
      '<sip:b@192.0.2.10>;expires=600',
    ]);
  });

  it('expires a binding by the clock, not a millisecond early, and tells the listeners', () => {
    const { store, clock, events } = setup();
    store.register(register({ contact: PHONE, expires: '60' }));
    clock.tick(59_999);
    expect(store.size.bindings).toBe(1);
    clock.tick(1);
    expect(store.size).toEqual({ aors: 0, bindings: 0 });
    expect(events).toEqual([
      'registered sip:1001@192.0.2.10:5060 @0s',
      'expired sip:1001@192.0.2.10:5060 @60s',
    ]);
    expect(clock.pending()).toBe(0);
  });

  it('expires many bindings in expiry order with one timer armed at a time', () => {
    const { store, clock, events } = setup();
    const intervals = [300, 60, 180, 120, 240];
    intervals.forEach((sec, i) =>
      store.register(
        register({
          aor: `sip:${2000 + i}@example.com`,
          contact: `<sip:p${i}@192.0.2.20>`,
          expires: String(sec),
        }),
      ),
    );
    expect(clock.pending()).toBe(1);
    clock.tick(300_000);
    expect(events.filter((e) => e.startsWith('expired'))).toEqual([
      'expired sip:p1@192.0.2.20 @60s',
      'expired sip:p3@192.0.2.20 @120s',
      'expired sip:p2@192.0.2.20 @180s',
      'expired sip:p4@192.0.2.20 @240s',
      'expired sip:p0@192.0.2.20 @300s',
    ]);
  });

  it('removes a binding with Expires: 0 and with a contact expires=0', () => {
    const { store, events } = setup();
    store.register(register({ contact: ['<sip:a@192.0.2.10>', '<sip:b@192.0.2.10>'], cseq: 1 }));
    store.register(register({ contact: '<sip:a@192.0.2.10>', expires: '0', cseq: 2 }));
    const r = store.register(
      register({ contact: '<sip:b@192.0.2.10>;expires=0', expires: '3600', cseq: 3 }),
    );
    expect(r).toMatchObject({ status: 200, bindings: [], headers: {} });
    expect(events.slice(2)).toEqual([
      'removed sip:a@192.0.2.10 @0s',
      'removed sip:b@192.0.2.10 @0s',
    ]);
  });

  it('removes every binding of the AOR with Contact: * and Expires: 0', () => {
    const { store, events, clock } = setup();
    store.register(register({ contact: ['<sip:a@192.0.2.10>', '<sip:b@192.0.2.10>'], cseq: 1 }));
    store.register(
      register({ aor: 'sip:1002@example.com', contact: '<sip:c@192.0.2.11>', cseq: 1 }),
    );
    const r = store.register(register({ contact: '*', expires: '0', cseq: 2 }));
    expect(r).toMatchObject({ status: 200, bindings: [] });
    expect(events.filter((e) => e.startsWith('removed'))).toEqual([
      'removed sip:a@192.0.2.10 @0s',
      'removed sip:b@192.0.2.10 @0s',
    ]);
    expect(store.bindings('sip:1002@example.com')).toHaveLength(1);
    expect(clock.pending()).toBe(1);
  });

  it('answers 400 to Contact: * without Expires: 0 or next to another contact', () => {
    const { store } = setup();
    expect(store.register(register({ contact: '*' })).status).toBe(400);
    expect(store.register(register({ contact: '*', expires: '60' })).status).toBe(400);
    expect(store.register(register({ contact: ['*', PHONE], expires: '0' })).status).toBe(400);
    expect(store.register(register({ contact: '<sip:a@b' })).status).toBe(400);
  });

  it('answers a REGISTER without Contact with the current bindings and changes nothing', () => {
    const { store, events } = setup();
    store.register(register({ contact: PHONE, expires: '600' }));
    const r = store.register(register({ cseq: 2 }));
    expect(r).toMatchObject({ status: 200, headers: { contact: [`${PHONE};expires=600`] } });
    expect(events).toHaveLength(1);
  });

  it('replaces the binding of the same +sip.instance even when the contact URI changed (RFC 5626)', () => {
    const { store, events } = setup();
    const instance = '+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"';
    store.register(
      register({ contact: `<sip:1001@192.0.2.10:5060>;${instance}`, callId: 'boot-1', cseq: 1 }),
    );
    // The phone rebooted on a new address: new Call-ID, CSeq back to 1.
    const r = store.register(
      register({
        contact: `<sip:1001@198.51.100.7:5062>;${instance.toLowerCase()}`,
        callId: 'boot-2',
        cseq: 1,
      }),
    );
    expect(r.status).toBe(200);
    expect(store.bindings('sip:1001@example.com').map((b) => b.contact.uri)).toEqual([
      'sip:1001@198.51.100.7:5062',
    ]);
    expect(store.bindings('sip:1001@example.com')[0]?.instanceId).toBe(
      '<urn:uuid:00000000-0000-1000-8000-aabbccddeeff>',
    );
    expect(events).toEqual([
      'registered sip:1001@192.0.2.10:5060 @0s',
      'refreshed sip:1001@198.51.100.7:5062 @0s',
    ]);
    // Another instance is another binding.
    store.register(
      register({
        contact: '<sip:1001@203.0.113.5>;+sip.instance="<urn:uuid:other>"',
        callId: 'x',
        cseq: 1,
      }),
    );
    expect(store.size.bindings).toBe(2);
  });

  it('keeps separate bindings for the same instance with different reg-ids (RFC 5626 §6)', () => {
    const { store } = setup();
    const inst = '+sip.instance="<urn:uuid:1>"';
    store.register(
      register({
        contact: [
          `<sip:1001@192.0.2.10>;${inst};reg-id=1`,
          `<sip:1001@192.0.2.10;transport=tcp>;${inst};reg-id=2`,
        ],
      }),
    );
    expect(store.size.bindings).toBe(2);
  });

  it('answers 500 to a CSeq that is not higher for the same Call-ID, and changes nothing at all', () => {
    const { store, events } = setup();
    store.register(register({ contact: '<sip:a@192.0.2.10>', expires: '600', cseq: 5 }));
    for (const cseq of [5, 4]) {
      const r = store.register(
        register({ contact: ['<sip:new@192.0.2.10>', '<sip:a@192.0.2.10>'], expires: '0', cseq }),
      );
      expect(r.status, `CSeq ${cseq}`).toBe(500);
    }
    expect(store.register(register({ contact: '*', expires: '0', cseq: 5 })).status).toBe(500);
    expect(store.bindings('sip:1001@example.com').map((b) => b.contact.uri)).toEqual([
      'sip:a@192.0.2.10',
    ]);
    expect(events).toEqual(['registered sip:a@192.0.2.10 @0s']);
  });

  it('accepts a lower CSeq under another Call-ID (the UA restarted)', () => {
    const { store, events } = setup();
    store.register(register({ contact: PHONE, callId: 'old', cseq: 90 }));
    expect(
      store.register(register({ contact: PHONE, callId: 'new', cseq: 1, expires: '0' })).status,
    ).toBe(200);
    expect(events.at(-1)).toBe('removed sip:1001@192.0.2.10:5060 @0s');
  });

  it('finds the existing binding by RFC 3261 §19.1.4 URI equality: host case and irrelevant parameters do not matter', () => {
    const { store } = setup();
    store.register(
      register({ contact: '<sip:1001@PHONE.example.com:5060;transport=udp>', cseq: 1 }),
    );
    store.register(register({ contact: '<sip:1001@phone.example.com:5060>', cseq: 2 }));
    expect(store.size.bindings).toBe(1);
    store.register(register({ contact: '<sip:1001@phone.example.com>', cseq: 3 }));
    expect(store.size.bindings).toBe(2);
  });

  it('answers 503 when an AOR would have more than maxContactsPerAor bindings, and when there are maxAors AORs', () => {
    const { store } = setup({ limits: { maxContactsPerAor: 2, maxAors: 2 } });
    expect(store.register(register({ contact: ['<sip:a@h>', '<sip:b@h>'], cseq: 1 })).status).toBe(
      200,
    );
    expect(store.register(register({ contact: '<sip:c@h>', cseq: 2 })).status).toBe(503);
    expect(
      store.register(register({ contact: ['<sip:a@h>;expires=0', '<sip:c@h>'], cseq: 3 })).status,
    ).toBe(200);
    expect(
      store.register(register({ contact: ['<sip:x@h>', '<sip:y@h>', '<sip:z@h>'], cseq: 4 }))
        .status,
    ).toBe(503);
    expect(
      store.register(register({ aor: 'sip:1002@example.com', contact: '<sip:d@h>' })).status,
    ).toBe(200);
    expect(
      store.register(register({ aor: 'sip:1003@example.com', contact: '<sip:e@h>' })).status,
    ).toBe(503);
    expect(store.size).toEqual({ aors: 2, bindings: 3 });
  });

  it('answers 404 for an AOR the registrar is not responsible for, or one that is not a SIP URI', () => {
    const { store } = setup({ isLocalAor: (aor) => aor.endsWith('@example.com') });
    expect(store.register(register({ aor: 'sip:1001@elsewhere.org', contact: PHONE })).status).toBe(
      404,
    );
    expect(store.register(register({ aor: 'tel:+4930123', contact: PHONE })).status).toBe(404);
  });

  it('stores the AOR in canonical form: no parameters, lower-case host, unescaped user', () => {
    const { store } = setup();
    store.register(register({ aor: 'sip:%31001@EXAMPLE.com;user=phone', contact: PHONE }));
    expect(store.bindings('sip:1001@example.com')).toHaveLength(1);
    expect(store.bindings('<sip:1001@Example.COM>')[0]?.aor).toBe('sip:1001@example.com');
  });

  it('reads a REGISTER from the wire: compact m:, several contacts in one line, quoted commas', () => {
    const wire =
      'REGISTER sip:example.com SIP/2.0\r\n' +
      'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKw1\r\n' +
      'Max-Forwards: 70\r\n' +
      'From: <sip:1001@example.com>;tag=p1\r\n' +
      'To: <sip:1001@example.com>\r\n' +
      'Call-ID: w1\r\n' +
      'CSeq: 1 REGISTER\r\n' +
      'm: "Desk, left" <sip:1001@192.0.2.10>;q=0.7, <sip:1001@192.0.2.11>;expires=90\r\n' +
      'Expires: 1800\r\n' +
      'Content-Length: 0\r\n\r\n';
    const parsed = parseSipMessage(new TextEncoder().encode(wire));
    if (!parsed.ok || parsed.value.kind !== 'request') throw new Error('expected a request');
    const { store } = setup();
    expect(store.register(parsed.value).headers['contact']).toEqual([
      '<sip:1001@192.0.2.10>;q=0.7;expires=1800',
      '<sip:1001@192.0.2.11>;expires=90',
    ]);
  });

  it('keeps the flow the caller passed with the binding', () => {
    const { store } = setup();
    const flow = { transport: 'TCP', remote: '192.0.2.10:40000' };
    store.register(register({ contact: PHONE }), { flow });
    expect(store.bindings('sip:1001@example.com')[0]?.flow).toBe(flow);
  });
});

describe('BindingStore events', () => {
  it('tells listeners registered, refreshed, removed and expired in the order things happened', () => {
    const { store, clock, events } = setup();
    store.register(register({ contact: ['<sip:a@h>', '<sip:b@h>'], expires: '600', cseq: 1 }));
    clock.tick(10_000);
    store.register(
      register({
        contact: ['<sip:b@h>', '<sip:a@h>;expires=0', '<sip:c@h>'],
        expires: '60',
        cseq: 2,
      }),
    );
    clock.tick(600_000);
    expect(events).toEqual([
      'registered sip:a@h @0s',
      'registered sip:b@h @0s',
      'refreshed sip:b@h @10s',
      'removed sip:a@h @10s',
      'registered sip:c@h @10s',
      'expired sip:b@h @70s',
      'expired sip:c@h @70s',
    ]);
  });

  it('gives refreshed listeners the previous binding', () => {
    const { store } = setup();
    const seen: [number, number][] = [];
    store.on('refreshed', (b, previous) => seen.push([previous.cseq, b.cseq]));
    store.register(register({ contact: PHONE, cseq: 1 }));
    store.register(register({ contact: PHONE, cseq: 2 }));
    expect(seen).toEqual([[1, 2]]);
  });

  it('stops calling a listener once unsubscribed', () => {
    const { store } = setup();
    const listener = vi.fn();
    const off = store.on('registered', listener);
    store.register(register({ contact: '<sip:a@h>', cseq: 1 }));
    off();
    off();
    store.register(register({ contact: '<sip:b@h>', cseq: 2 }));
    expect(listener).toHaveBeenCalledTimes(1);
  });

  it('catches a listener that throws, traces it, and still calls the others and answers 200', () => {
    const trace = vi.fn();
    const { store, events } = setup({ trace });
    const boom = new Error('listener bug');
    store.on('registered', () => {
      throw boom;
    });
    expect(store.register(register({ contact: PHONE })).status).toBe(200);
    expect(events).toHaveLength(1);
    expect(trace).toHaveBeenCalledWith({
      type: 'listener-error',
      event: 'registered',
      error: boom,
    });
  });
});

describe('BindingStore.close', () => {
  it('cancels the expiry timer, is idempotent, and refuses further REGISTERs with ERR_INVALID_STATE', () => {
    const { store, clock } = setup();
    store.register(register({ contact: PHONE }));
    expect(clock.pending()).toBe(1);
    store.close();
    store.close();
    expect(store.state).toBe('Closed');
    expect(clock.pending()).toBe(0);
    expect(() => store.register(register({ contact: PHONE }))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_STATE' }),
    );
  });

  it('throws ERR_INVALID_ARG for a request that is not a REGISTER and for bad options', () => {
    const { store } = setup();
    expect(() => store.register({ ...register(), method: 'INVITE' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
    );
    expect(() => new BindingStore({ minExpiresSec: 100, maxExpiresSec: 50 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
    );
    expect(() => new BindingStore({ limits: { maxAors: 0 } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
    );
  });
});

describe('sipUriEquals and canonicalAor', () => {
  it('compare as RFC 3261 §19.1.4 says', () => {
    expect(
      sipUriEquals('sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp'),
    ).toBe(true);
    expect(sipUriEquals('sip:alice@atlanta.com', 'sip:ALICE@atlanta.com')).toBe(false);
    expect(sipUriEquals('sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060')).toBe(false);
    expect(sipUriEquals('sip:bob@biloxi.com', 'sips:bob@biloxi.com')).toBe(false);
    expect(sipUriEquals('sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5')).toBe(true);
    expect(
      sipUriEquals('sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;security=off'),
    ).toBe(false);
    expect(sipUriEquals('sip:carol@chicago.com', 'sip:carol@chicago.com;user=phone')).toBe(false);
    expect(
      sipUriEquals(
        'sip:carol@chicago.com?Subject=next%20meeting',
        'sip:carol@chicago.com?subject=next%20meeting',
      ),
    ).toBe(true);
    expect(sipUriEquals('sip:carol@chicago.com?Subject=next', 'sip:carol@chicago.com')).toBe(false);
    expect(sipUriEquals('sip:[2001:db8::1]:5060', 'sip:[2001:DB8::1]:5060')).toBe(true);
  });

  it('canonicalAor strips parameters, headers and the password, and refuses other schemes', () => {
    expect(canonicalAor('SIP:1001:pw@PBX.example.com:5070;user=phone?x=y')).toBe(
      'sip:1001@pbx.example.com:5070',
    );
    expect(canonicalAor('sips:example.com')).toBe('sips:example.com');
    expect(canonicalAor('tel:+4930123')).toBeUndefined();
    expect(canonicalAor('sip:@')).toBeUndefined();
  });
});
