/**
 * RegisterClient against a Registrar over the in-memory pair with a manual clock: register,
 * refresh, unregister, digest (SHA-256) challenges, a wrong password, expiry events.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { DigestClient } from '../../../../src/sip/auth/digest-client.js';
import { DigestServer } from '../../../../src/sip/auth/digest-server.js';
import { SipEndpoint } from '../../../../src/sip/endpoint.js';
import type { SipRequest } from '../../../../src/sip/message/types.js';
import type { Binding } from '../../../../src/sip/registrar/binding-store.js';
import { createMemoryPair } from '../../../../src/sip/transport/memory.js';
import {
  RegisterClient,
  type RegisterClientEvent,
  type RegisterClientOptions,
} from '../../../../src/sip/ua/register-client.js';
import { Registrar, type RegistrarOptions } from '../../../../src/sip/ua/registrar.js';
import { UserAgent } from '../../../../src/sip/ua/user-agent.js';
import { manualClock, type ManualClock } from '../../../../src/util/clock.js';
import { createIdGenerator, seededRandom } from '../../../../src/util/ids.js';
import { settle } from './ladder.js';

const AOR = 'sip:1001@b.memory.invalid';
const CONTACT = 'sip:1001@a.memory.invalid:5060';

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

interface Setup {
  clock: ManualClock;
  registrar: Registrar;
  client: RegisterClient;
  seen: SipRequest[];
  events: RegisterClientEvent[];
  store: { type: string; binding: Binding }[];
  problems: string[];
  advance(sec: number): Promise<void>;
}

function setup(
  opts: {
    registrar?: RegistrarOptions;
    client?: Partial<RegisterClientOptions>;
    viaUa?: boolean;
    auth?: (clock: ManualClock) => DigestServer;
  } = {},
): Setup {
  const clock = manualClock();
  const [ta, tb] = createMemoryPair();
  const problems: string[] = [];
  const trace = (e: { type: string }) => {
    if (e.type === 'dropped' || e.type === 'user-error' || e.type === 'error') problems.push(e.type);
  };
  const phone = new SipEndpoint({ transports: [ta], clock, ids: createIdGenerator(seededRandom(1)), trace });
  const pbxIds = createIdGenerator(seededRandom(2));
  const pbx = new SipEndpoint({ transports: [tb], clock, ids: pbxIds, trace });
  const registrar = new Registrar({
    ids: pbxIds,
    ...(opts.auth === undefined ? {} : { auth: opts.auth(clock) }),
    ...opts.registrar,
    storeOptions: { clock, minExpiresSec: 60, ...opts.registrar?.storeOptions },
  });
  const seen: SipRequest[] = [];
  if (opts.viaUa === true) {
    new UserAgent({
      endpoint: pbx,
      clock,
      ids: pbxIds,
      aor: 'sip:pbx@b.memory.invalid',
      contact: 'sip:pbx@b.memory.invalid:5060',
      methods: {
        REGISTER: (r) => {
          seen.push(r);
          return registrar.handle(r);
        },
      },
    });
  } else {
    registrar.attach(pbx);
  }
  const client = new RegisterClient({
    endpoint: phone,
    clock,
    ids: createIdGenerator(seededRandom(3)),
    registrar: 'sip:b.memory.invalid:5060',
    aor: AOR,
    contact: CONTACT,
    expiresSec: 600,
    ...opts.client,
  });
  const events: RegisterClientEvent[] = [];
  client.on((e) => events.push(e));
  const store: { type: string; binding: Binding }[] = [];
  for (const type of ['registered', 'refreshed', 'removed', 'expired'] as const) {
    registrar.on(type, (binding: Binding) => store.push({ type, binding }));
  }
  cleanup = async () => {
    client.close();
    registrar.close();
    await Promise.all([phone.close(), pbx.close()]);
  };
  return {
    clock,
    registrar,
    client,
    seen,
    events,
    store,
    problems,
    async advance(sec) {
      for (let i = 0; i < sec; i++) {
        clock.tick(1000);
        await settle(2);
      }
    },
  };
}

const users = (clock: ManualClock): DigestServer =>
  new DigestServer({
    realm: 'b.memory.invalid',
    clock,
    algorithms: ['SHA-256'],
    lookup: (user) => (user === '1001' ? { password: 'secret' } : undefined),
  });
const digest = (password: string): DigestClient =>
  new DigestClient({ credentials: () => ({ username: '1001', password }) });

describe('RegisterClient and Registrar (RFC 3261 §10)', () => {
  it('registers the contact: REGISTER with Expires → 200, the binding is found by lookup', async () => {
    const s = setup({ viaUa: true });
    expect(await s.client.register()).toBe(600);
    expect(s.client.state).toBe('Registered');
    expect(s.events).toEqual([{ type: 'registered', expiresSec: 600 }]);
    const req = s.seen[0]!;
    expect(req.method).toBe('REGISTER');
    expect(req.headers['expires']).toEqual(['600']);
    expect(req.headers['contact']).toEqual([`<${CONTACT}>`]);
    expect(s.registrar.lookup(AOR)).toEqual([CONTACT]);
    expect(s.store.map((e) => e.type)).toEqual(['registered']);
    expect(s.problems).toEqual([]);
  });

  it('refreshes before the expiry with the same Call-ID and a higher CSeq', async () => {
    const s = setup({ viaUa: true });
    await s.client.register();
    await s.advance(567);
    expect(s.seen).toHaveLength(1);
    await s.advance(1); // 600 − 32 s
    expect(s.seen).toHaveLength(2);
    expect(s.seen[1]!.callId).toBe(s.seen[0]!.callId);
    expect(s.seen[1]!.cseq.seq).toBe(s.seen[0]!.cseq.seq + 1);
    expect(s.events.at(-1)).toEqual({ type: 'refreshed', expiresSec: 600 });
    expect(s.store.map((e) => e.type)).toEqual(['registered', 'refreshed']);
    await s.advance(2000); // keeps itself registered
    expect(s.registrar.lookup(AOR)).toEqual([CONTACT]);
    expect(s.store.some((e) => e.type === 'expired')).toBe(false);
  });

  it('refreshes at half a short interval and honours the interval the registrar granted', async () => {
    const s = setup({ registrar: { storeOptions: { maxExpiresSec: 100, minExpiresSec: 60 } } });
    expect(await s.client.register()).toBe(100);
    expect(s.client.expiresSec).toBe(100);
    await s.advance(67);
    expect(s.events.filter((e) => e.type === 'refreshed')).toHaveLength(0);
    await s.advance(1); // max(50, 100 − 32) = 68 s
    expect(s.events.filter((e) => e.type === 'refreshed')).toHaveLength(1);
  });

  it('unregisters with Expires: 0 and stops refreshing', async () => {
    const s = setup({ viaUa: true });
    await s.client.register();
    await s.client.unregister();
    expect(s.seen[1]!.headers['expires']).toEqual(['0']);
    expect(s.client.state).toBe('Unregistered');
    expect(s.events.at(-1)).toEqual({ type: 'unregistered' });
    expect(s.registrar.lookup(AOR)).toEqual([]);
    expect(s.store.map((e) => e.type)).toEqual(['registered', 'removed']);
    await s.advance(700);
    expect(s.seen).toHaveLength(2);
  });

  it('answers a SHA-256 digest challenge and registers', async () => {
    const s = setup({ viaUa: true, auth: users, client: { digest: digest('secret') } });
    expect(await s.client.register()).toBe(600);
    expect(s.seen).toHaveLength(2);
    expect(s.seen[0]!.headers['authorization']).toBeUndefined();
    const auth = s.seen[1]!.headers['authorization']![0]!;
    expect(auth).toMatch(/^Digest /);
    expect(auth).toMatch(/algorithm=SHA-256/);
    expect(s.seen[1]!.cseq.seq).toBe(s.seen[0]!.cseq.seq + 1);
    expect(s.registrar.lookup(AOR)).toEqual([CONTACT]);
    // the refresh is challenged again or carries the credentials; either way it succeeds
    await s.advance(568);
    expect(s.events.at(-1)).toEqual({ type: 'refreshed', expiresSec: 600 });
  });

  it('refuses a wrong password: the client reports the 401 and nothing is bound', async () => {
    const s = setup({ viaUa: true, auth: users, client: { digest: digest('wrong') } });
    await expect(s.client.register()).rejects.toMatchObject({ code: 'SIP_ERR_REJECTED', status: 401 });
    expect(s.client.state).toBe('Failed');
    expect(s.events).toMatchObject([{ type: 'failed', status: 401 }]);
    expect(s.registrar.lookup(AOR)).toEqual([]);
    expect(s.store).toEqual([]);
  });

  it('refuses a REGISTER without a DigestClient with 401', async () => {
    const s = setup({ auth: users });
    await expect(s.client.register()).rejects.toMatchObject({ status: 401 });
    expect(s.events).toMatchObject([{ type: 'failed', status: 401 }]);
  });

  it('refuses an identity registering another user\'s AOR with 403', async () => {
    const s = setup({
      auth: users,
      client: { digest: digest('secret'), aor: 'sip:1002@b.memory.invalid' },
    });
    await expect(s.client.register()).rejects.toMatchObject({ status: 403 });
  });

  it('reports the expiry of a binding that is not refreshed', async () => {
    const s = setup({ client: { expiresSec: 60 } });
    await s.client.register();
    s.client.close(); // stops refreshing; the binding stays until it expires
    await s.advance(59);
    expect(s.store.map((e) => e.type)).toEqual(['registered']);
    await s.advance(2);
    expect(s.store.map((e) => e.type)).toEqual(['registered', 'expired']);
    expect(s.store[1]!.binding.contact.uri).toBe(CONTACT);
    expect(s.registrar.lookup(AOR)).toEqual([]);
  });

  it('reports a timeout when the registrar does not answer', async () => {
    const s = setup({ client: { registrar: 'sip:nowhere.memory.invalid:5060' } });
    const done = s.client.register().catch((e: unknown) => e);
    await s.advance(33);
    expect(await done).toMatchObject({ code: expect.stringMatching(/SIP_ERR_(TIMEOUT|TRANSPORT)/) });
    expect(s.events[0]!.type).toBe('failed');
  });
});
