/**
 * A controller that vanished without BYE (and without session timers) leaves the phone a session
 * whose events go unanswered. Digest §1.7: a 408 or a timeout on an in-dialog request makes the
 * session suspect; the phone ends it (BYE) rather than keeping it and its monitors for ever. Other
 * failures (a 500 to one event) fail that event only. A controller too slow for its events gets its
 * session ended at `maxQueuedEventsPerSession` instead of silently losing events, so that its
 * association re-opens, re-syncs and reports the gap.
 */
import { describe, expect, it } from 'vitest';
import { UaCstaError } from '../../../src/errors.js';
import { InProcessExchange } from '../../../src/phone/in-process-exchange.js';
import { SimulatedPhone } from '../../../src/phone/simulator.js';
import type { CstaChannel, CstaChannelResponse } from '../../../src/uacsta/channel.js';
import { CstaClient } from '../../../src/uacsta/client.js';
import { manualClock } from '../../../src/util/clock.js';
import { fakeChannelPair } from '../uacsta/fake-channel.js';

/** The phone's side of the pair, whose event sends can be made to fail. */
function failing(inner: CstaChannel): CstaChannel & { fail: (() => Promise<CstaChannelResponse>) | undefined; closed: number } {
  const ch = {
    fail: undefined as (() => Promise<CstaChannelResponse>) | undefined,
    closed: 0,
    get state() {
      return inner.state;
    },
    send: (body: string) => (ch.fail !== undefined ? ch.fail() : inner.send(body)),
    onRequest: inner.onRequest.bind(inner),
    onClosed: inner.onClosed.bind(inner),
    close: () => {
      ch.closed += 1;
      return inner.close();
    },
  };
  return ch;
}

async function setup(maxQueuedEventsPerSession?: number) {
  const clock = manualClock();
  const phone = new SimulatedPhone({
    signalling: new InProcessExchange().connect('1000'),
    clock,
    ...(maxQueuedEventsPerSession === undefined ? {} : { maxQueuedEventsPerSession }),
  });
  const pair = fakeChannelPair();
  const channel = failing(pair.b);
  phone.attach(channel);
  const client = new CstaClient({ channel: pair.a, clock: manualClock() });
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 30; i++) {
      clock.tick(0);
      await new Promise<void>((r) => setImmediate(r));
    }
  };
  await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: phone.lines[0]! } });
  await settle();
  return { phone, channel, settle };
}

describe('a session whose controller stopped answering events', () => {
  it('is ended by the phone when an event times out', async () => {
    const { phone, channel, settle } = await setup();
    expect(phone.sessions).toBe(1);
    channel.fail = () => Promise.reject(new UaCstaError('SIP_ERR_TIMEOUT', 'INFO: no final response within Timer F'));
    phone.control.setDoNotDisturb(true);
    await settle();
    expect(channel.closed).toBe(1);
    expect(phone.sessions).toBe(0);
  });

  it('is ended by the phone when an event is answered 408', async () => {
    const { phone, channel, settle } = await setup();
    channel.fail = () => Promise.resolve({ status: 408, reason: 'Request Timeout', body: '', contentType: undefined });
    phone.control.setDoNotDisturb(true);
    await settle();
    expect(channel.closed).toBe(1);
    expect(phone.sessions).toBe(0);
  });

  it('is kept when one event is refused with a 500: that event fails, the session stays (RFC 5057)', async () => {
    const { phone, channel, settle } = await setup();
    channel.fail = () => Promise.resolve({ status: 500, reason: 'Server Internal Error', body: '', contentType: undefined });
    phone.control.setDoNotDisturb(true);
    await settle();
    expect(channel.closed).toBe(0);
    expect(phone.sessions).toBe(1);
  });

  it('is ended, not thinned out, when more events wait than maxQueuedEventsPerSession', async () => {
    const { phone, channel, settle } = await setup(3);
    // the controller stalls: the first event INFO gets no answer (yet), the next ones queue
    channel.fail = () => new Promise<CstaChannelResponse>(() => {});
    for (const on of [true, false, true, false]) {
      phone.control.setDoNotDisturb(on);
      await settle();
    }
    // 1 in flight + 3 queued: still within the bound
    expect(channel.closed).toBe(0);
    phone.control.setDoNotDisturb(true);
    await settle();
    expect(channel.closed).toBe(1);
    expect(phone.sessions).toBe(0);
  });
});
