/**
 * Requests outside any dialog (RFC 3261 §8): `ua.request()` as UAC and `ua.onRequest()` handlers
 * as UAS, the Allow header that follows the handlers, digest retry, timeout and abort.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { DigestClient } from '../../../../src/sip/auth/digest-client.js';
import { DigestServer } from '../../../../src/sip/auth/digest-server.js';
import type { SipRequest } from '../../../../src/sip/message/types.js';
import { manualClock } from '../../../../src/util/clock.js';
import { CSTA, settle, text, uaPair, type Pair } from './ladder.js';

let pair: Pair | undefined;
afterEach(async () => {
  const problems = pair?.problems ?? [];
  await pair?.close();
  pair = undefined;
  expect(problems).toEqual([]);
});

describe('ua.request(): a non-INVITE request outside a dialog', () => {
  it('sends MESSAGE with a new Call-ID, From tag, CSeq 1, no To tag, and resolves with the 200', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    const seen: SipRequest[] = [];
    p.b.ua.onRequest('MESSAGE', (req) => {
      seen.push(req);
      return { status: 200 };
    });
    const res = await p.a.ua.request('MESSAGE', p.bUri, { body: 'hello', contentType: 'text/plain' });
    expect(res.status).toBe(200);
    expect(p.ladder.lines()).toEqual(['A → B MESSAGE', 'B → A 200']);
    const m = seen[0]!;
    expect(m.uri).toBe(p.bUri);
    expect(m.cseq).toEqual({ seq: 1, method: 'MESSAGE' });
    expect(m.from.uri).toBe('sip:a@a.memory.invalid:5060');
    expect(m.from.params['tag']).toMatch(/^[0-9a-f]{16}$/);
    expect(m.to).toMatchObject({ uri: p.bUri, params: {} });
    expect(m.headers['contact']).toBeUndefined();
    expect(m.headers['content-type']).toEqual(['text/plain']);
    expect(text(m.body)).toBe('hello');
  });

  it('adds our Contact to NOTIFY and passes the caller headers', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    const seen: SipRequest[] = [];
    p.b.ua.onRequest('NOTIFY', (req) => {
      seen.push(req);
      return { status: 200 };
    });
    await p.a.ua.request('NOTIFY', p.bUri, {
      headers: { Event: 'csta', 'Subscription-State': 'active' },
      body: '<DeliveredEvent/>',
      contentType: CSTA,
    });
    expect(seen[0]!.headers['contact']).toEqual(['<sip:a@a.memory.invalid:5060>']);
    expect(seen[0]!.headers['event']).toEqual(['csta']);
    expect(seen[0]!.headers['subscription-state']).toEqual(['active']);
  });

  it('resolves with a non-2xx final response instead of rejecting', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    p.b.ua.onRequest('MESSAGE', () => ({ status: 404 }));
    const res = await p.a.ua.request('MESSAGE', p.bUri);
    expect(res.status).toBe(404);
    expect(res.reason).toBe('Not Found');
  });

  it('retries a 401 once with credentials and CSeq 2', async () => {
    const clock = manualClock();
    const p = uaPair({
      clock,
      a: { digest: new DigestClient({ credentials: () => ({ username: 'ctl', password: 'pw' }) }) },
    });
    pair = p;
    const auth = new DigestServer({ realm: 'phone.invalid', clock, lookup: () => ({ password: 'pw' }) });
    p.b.ua.onRequest('NOTIFY', async (req) => {
      const v = await auth.verify(req);
      return v.ok ? { status: 200 } : { status: v.status, headers: v.headers };
    });
    const res = await p.a.ua.request('NOTIFY', p.bUri, { headers: { Event: 'csta' } });
    expect(res.status).toBe(200);
    expect(p.ladder.lines()).toEqual(['A → B NOTIFY', 'B → A 401', 'A → B NOTIFY', 'B → A 200']);
    const retry = p.ladder.entries[2]!.message as SipRequest;
    expect(retry.cseq).toEqual({ seq: 2, method: 'NOTIFY' });
    expect(retry.headers['authorization']).toHaveLength(1);
    expect(retry.callId).toBe((p.ladder.entries[0]!.message as SipRequest).callId);
  });

  it('rejects SIP_ERR_TIMEOUT when no response comes (Timer F)', async () => {
    const clock = manualClock();
    const p = uaPair({ clock });
    pair = p;
    p.ladder.rule('A', () => 'drop');
    const pending = p.a.ua.request('MESSAGE', p.bUri).catch((e: unknown) => e);
    await settle();
    clock.tick(32_000);
    expect(await pending).toMatchObject({ code: 'SIP_ERR_TIMEOUT', status: 408 });
  });

  it('rejects ERR_ABORTED on the signal', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    p.ladder.rule('A', () => 'drop');
    const ac = new AbortController();
    const pending = p.a.ua.request('MESSAGE', p.bUri, { signal: ac.signal }).catch((e: unknown) => e);
    ac.abort();
    expect(await pending).toMatchObject({ code: 'ERR_ABORTED' });
  });

  it('refuses misuse: INVITE, ACK, CANCEL, a bad method, a body without contentType', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    for (const m of ['INVITE', 'ACK', 'CANCEL', 'NO TOKEN'])
      await expect(p.a.ua.request(m, p.bUri)).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    await expect(p.a.ua.request('MESSAGE', p.bUri, { body: 'x' })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG',
    });
    expect(() => p.a.ua.onRequest('INVITE', () => ({ status: 200 }))).toThrow(/INVITE/);
  });
});

describe('ua.onRequest(): out-of-dialog handlers and Allow', () => {
  it('answers NOTIFY, REFER and MESSAGE 405 with Allow until a handler is set, then lists them', async () => {
    const p = uaPair({ clock: manualClock() });
    pair = p;
    for (const m of ['NOTIFY', 'REFER', 'MESSAGE']) {
      const res = await p.a.ua.request(m, p.bUri);
      expect(res.status).toBe(405);
      expect(res.reason).toBe('Method Not Allowed');
      expect(res.headers['allow']).toEqual(['INVITE, ACK, BYE, CANCEL, INFO, OPTIONS, UPDATE']);
    }
    const offNotify = p.b.ua.onRequest('NOTIFY', () => ({ status: 200 }));
    p.b.ua.onRequest('message', () => ({ status: 202 }));
    expect((await p.a.ua.request('NOTIFY', p.bUri)).status).toBe(200);
    expect((await p.a.ua.request('MESSAGE', p.bUri)).status).toBe(202);
    const refer = await p.a.ua.request('REFER', p.bUri);
    expect(refer.status).toBe(405);
    expect(refer.headers['allow']).toEqual([
      'INVITE, ACK, BYE, CANCEL, INFO, OPTIONS, UPDATE, NOTIFY, MESSAGE',
    ]);
    const options = await p.a.ua.request('OPTIONS', p.bUri);
    expect(options.headers['allow']).toEqual([
      'INVITE, ACK, BYE, CANCEL, INFO, OPTIONS, UPDATE, NOTIFY, MESSAGE',
    ]);
    offNotify();
    expect((await p.a.ua.request('NOTIFY', p.bUri)).status).toBe(405);
  });

  it('answers 500 when the handler throws, and traces it', async () => {
    const errors: unknown[] = [];
    const p = uaPair({
      clock: manualClock(),
      b: { trace: (e) => e.type === 'user-error' && errors.push(e.error) },
    });
    pair = p;
    p.b.ua.onRequest('MESSAGE', () => {
      throw new Error('handler bug');
    });
    const res = await p.a.ua.request('MESSAGE', p.bUri);
    expect(res.status).toBe(500);
    expect(errors).toHaveLength(1);
  });
});

describe('outbound proxy (RFC 3261 §8.1.2)', () => {
  it('sends out-of-dialog requests and the initial INVITE to the proxy with a loose Route; in-dialog requests follow the route set', async () => {
    // B's address plays the proxy: the targets themselves are not reachable
    const p = uaPair({ clock: manualClock(), a: { outboundProxy: 'sip:b.memory.invalid:5060' } });
    pair = p;
    const seen: SipRequest[] = [];
    p.b.ua.onRequest('MESSAGE', (req) => {
      seen.push(req);
      return { status: 200 };
    });
    p.b.ua.onInvite((req, d) => {
      seen.push(req);
      d.onRequest((r) => {
        seen.push(r);
        return { status: 200 };
      });
      return { status: 200 };
    });
    await p.a.ua.request('MESSAGE', 'sip:carol@c.invalid');
    const dialog = await p.a.ua.invite('sip:dave@d.invalid');
    await dialog.request('INFO', { body: '<x/>', contentType: CSTA });
    const [message, invite, info] = seen;
    expect(message!.uri).toBe('sip:carol@c.invalid');
    expect(message!.headers['route']).toEqual(['<sip:b.memory.invalid:5060;lr>']);
    expect(invite!.uri).toBe('sip:dave@d.invalid');
    expect(invite!.headers['route']).toEqual(['<sip:b.memory.invalid:5060;lr>']);
    // no Record-Route in the 2xx: the route set is empty, the INFO goes to B's Contact
    expect(info!.uri).toBe('sip:b@b.memory.invalid:5060');
    expect(info!.headers['route']).toBeUndefined();
    const ack = p.ladder.entries.find((e) => e.message.kind === 'request' && e.message.method === 'ACK')!;
    expect((ack.message as SipRequest).headers['route']).toBeUndefined();
  });

  it('keeps an lr already in the proxy URI and refuses a proxy that is not a SIP URI', () => {
    const p = uaPair({ clock: manualClock(), a: { outboundProxy: 'sip:b.memory.invalid:5060;lr' } });
    pair = p;
    expect(() => uaPair({ clock: manualClock(), a: { outboundProxy: 'http://x' } })).toThrow(
      /outboundProxy/,
    );
  });

  it('sends the CANCEL of a proxied INVITE with the same Route (§9.1)', async () => {
    const clock = manualClock();
    const p = uaPair({ clock, a: { outboundProxy: 'sip:b.memory.invalid:5060' } });
    pair = p;
    p.b.ua.onInvite((_r, _d, invite) => {
      invite.progress(180);
      return new Promise(() => {});
    });
    const ac = new AbortController();
    const pending = p.a.ua.invite('sip:dave@d.invalid', { signal: ac.signal }).catch((e: unknown) => e);
    await settle();
    ac.abort();
    await settle();
    expect(await pending).toMatchObject({ code: 'ERR_ABORTED' });
    const cancel = p.ladder.entries[2]!.message as SipRequest;
    expect(cancel.method).toBe('CANCEL');
    expect(cancel.uri).toBe('sip:dave@d.invalid');
    expect(cancel.headers['route']).toEqual(['<sip:b.memory.invalid:5060;lr>']);
  });
});
