/**
 * Restarts (issue #10 item 2), with real processes on loopback:
 *
 * - the phone (`uacsta phone`) is killed with SIGKILL and started again on the same port: the
 *   controller's `CstaAssociation` finds out at its next refresh (a re-INVITE with
 *   `RequestSystemStatus`, digest §1.7: the new process knows no such dialog and answers 481),
 *   re-opens the session, restarts its monitor, re-syncs the device and reports the gap
 *   (digest §1.8);
 * - the controller (a process of its own) is killed: the phone ends the orphaned session, either
 *   when the RFC 4028 session timer runs out without a refresh (the phone sends BYE before
 *   expiry, RFC 4028 §10), or, without timers, when a controller restarted on the same port
 *   answers the old dialog's next event INFO with 481 (RFC 5057 §5.1).
 */

import { afterEach, describe, expect, it } from 'vitest';
import { openCstaAssociation } from '../../../src/node/connect-csta.js';
import { acceptSipCstaChannels } from '../../../src/node/sip-csta-channel.js';
import { InProcessExchange } from '../../../src/phone/in-process-exchange.js';
import { SimulatedPhone } from '../../../src/phone/simulator.js';
import { SipEndpoint } from '../../../src/sip/endpoint.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import { UserAgent } from '../../../src/sip/ua/user-agent.js';
import type { CstaRecovery } from '../../../src/uacsta/association.js';
import type { CstaEvent } from '../../../src/uacsta/client.js';
import { systemClock } from '../../../src/util/clock.js';
import { runPhoneCli, runTs, sleep, until, type Child } from './support.js';

const TIMERS = { T1: 50, T2: 200 };
const REFRESH_MS = 2_000;
const BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 800;
/** Timer B / F with T1 = 50 ms: the longest a refresh to a dead peer can wait. */
const TIMER_B_MS = 64 * TIMERS.T1;
/** The association's clock (monotonic): its `lost.at` and `gap` are in this time. */
const now = (): number => systemClock.now();

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
});

function track(child: Child): Child {
  cleanups.push(() => child.kill());
  return child;
}

async function controllerUa(): Promise<{ ua: UserAgent; port: number }> {
  const transport = await UdpTransport.listen({ host: '127.0.0.1', port: 0 });
  const endpoint = new SipEndpoint({ transports: [transport], timers: TIMERS });
  const ua = new UserAgent({ endpoint, aor: 'sip:cti@127.0.0.1', contact: `sip:cti@127.0.0.1:${transport.local.port}`, timers: TIMERS });
  cleanups.push(() => endpoint.close(), () => ua.close());
  return { ua, port: transport.local.port };
}

/** A simulated phone 1000 in this process on its own UDP socket, taking uaCSTA sessions. */
async function phoneHere(sessionTimerSec?: number): Promise<{ phone: SimulatedPhone; port: number; ua: UserAgent }> {
  const transport = await UdpTransport.listen({ host: '127.0.0.1', port: 0 });
  const endpoint = new SipEndpoint({ transports: [transport], timers: TIMERS });
  const ua = new UserAgent({
    endpoint,
    aor: 'sip:1000@127.0.0.1',
    contact: `sip:1000@127.0.0.1:${transport.local.port}`,
    timers: TIMERS,
    ...(sessionTimerSec === undefined ? {} : { sessionTimer: { expiresSec: sessionTimerSec, minSeSec: 1 } }),
  });
  const phone = new SimulatedPhone({ signalling: new InProcessExchange({ domain: '127.0.0.1' }).connect('1000') });
  acceptSipCstaChannels(ua, (channel) => phone.attach(channel));
  cleanups.push(() => endpoint.close(), () => ua.close(), () => phone.close());
  return { phone, port: transport.local.port, ua };
}

describe('the phone process is killed and restarted on the same port', () => {
  it(
    'the association detects it at its refresh, re-opens the session and the monitor, re-syncs and reports the gap',
    { timeout: 90_000 },
    async () => {
      let phone = track(runPhoneCli(0));
      const port = Number((await phone.waitFor(/^listening udp:127\.0\.0\.1:(\d+) /m))[1]);
      const device = 'sip:1000@127.0.0.1';
      const { ua } = await controllerUa();
      const assoc = await openCstaAssociation(ua, `sip:1000@127.0.0.1:${port}`, {
        refreshIntervalMs: REFRESH_MS,
        recoveryInitialDelayMs: BACKOFF_MS,
        recoveryMaxDelayMs: MAX_BACKOFF_MS,
        maxRecoveryAttempts: 30,
      });
      cleanups.push(() => assoc.close());
      const lost: { reason: string; at: number }[] = [];
      const recovered: CstaRecovery[] = [];
      assoc.on('lost', (l) => lost.push(l));
      assoc.on('recovered', (r) => recovered.push(r));
      const monitor = await assoc.monitor(device);
      const events: CstaEvent[] = [];
      monitor.on((e) => events.push(e));
      const firstRef = monitor.monitorCrossRefID;

      await assoc.request({ type: 'SetDoNotDisturb', device, doNotDisturbOn: true });
      await until(() => events.some((e) => e.type === 'DoNotDisturbEvent'), 'the DND event before the kill');
      // a refresh passes while the phone is up (the session is checked, not only opened)
      await sleep(REFRESH_MS + 300);
      expect(lost).toEqual([]);

      const killedAt = now();
      await phone.kill('SIGKILL');
      phone = track(runPhoneCli(port));
      await phone.waitFor(/^listening /m);
      const upAt = now();

      await until(() => recovered.length > 0, 'recovered', REFRESH_MS + TIMER_B_MS + 30 * MAX_BACKOFF_MS);
      const recoveredAt = now();
      const r = recovered[0]!;
      // detected at the first refresh after the kill: 481 from the new process, or a refresh
      // that failed while it was still starting
      expect(lost).toHaveLength(1);
      expect(lost[0]!.reason).toMatch(/^(no-dialog|refresh-failed.*|transport)$/);
      expect(lost[0]!.at - killedAt).toBeLessThanOrEqual(REFRESH_MS + TIMER_B_MS + 500);
      // re-opened within one backoff step once the phone was back and the loss was known
      expect(recoveredAt - Math.max(lost[0]!.at, upAt)).toBeLessThanOrEqual(MAX_BACKOFF_MS + TIMER_B_MS + 1_000);
      // the gap: from the last sign of life of the old session to the monitor's restart
      expect(r.gap.from).toBeLessThanOrEqual(killedAt);
      expect(r.gap.to).toBeGreaterThanOrEqual(upAt);
      expect(r.monitors).toHaveLength(1);
      expect(r.monitors[0]!.previousCrossRefID).toBe(firstRef);
      expect(r.monitors[0]!.monitorCrossRefID).toBe(monitor.monitorCrossRefID);
      expect(monitor.state).toBe('Active');
      // the new process lost the DND the old one had: the re-sync says so
      expect(r.resync).toHaveLength(1);
      expect(r.resync[0]!.getDoNotDisturb).toMatchObject({ ok: true, response: { doNotDisturbOn: false } });
      expect(r.resync[0]!.snapshotDevice?.ok).toBe(true);

      // the same monitor handle keeps receiving on the new session
      events.length = 0;
      await assoc.request({ type: 'SetDoNotDisturb', device, doNotDisturbOn: true });
      await until(() => events.some((e) => e.type === 'DoNotDisturbEvent'), 'the DND event after recovery');
      expect(assoc.state).toBe('Open');
      console.info(
        `[restart] phone killed at 0 ms, up again at ${Math.round(upAt - killedAt)} ms, loss detected at ${Math.round(lost[0]!.at - killedAt)} ms (${lost[0]!.reason}), ` +
          `recovered at ${Math.round(recoveredAt - killedAt)} ms after ${r.attempts} attempt(s); gap reported ${Math.round(r.gap.to - r.gap.from)} ms`,
      );
    },
  );
});

describe('the controller process is killed', () => {
  it(
    'with RFC 4028 session timers (2 s), the phone ends the orphaned session once it expires',
    { timeout: 60_000 },
    async () => {
      const EXPIRES_SEC = 2;
      const { phone, port } = await phoneHere(EXPIRES_SEC);
      const ctl = track(runTs('test/integration/faults/controller-process.ts', [`sip:1000@127.0.0.1:${port}`, 'sip:1000@127.0.0.1', '0', String(EXPIRES_SEC)]));
      await ctl.waitFor(/^ready /m);
      expect(phone.sessions).toBe(1);
      // alive, the controller refreshes: the session outlives two intervals
      await sleep(2 * EXPIRES_SEC * 1000 + 500);
      expect(phone.sessions).toBe(1);
      const killedAt = Date.now();
      await ctl.kill('SIGKILL');
      await until(() => phone.sessions === 0, 'the orphaned session to end', EXPIRES_SEC * 1000 + 3_000);
      const endedAfter = Date.now() - killedAt;
      expect(endedAfter).toBeLessThanOrEqual(EXPIRES_SEC * 1000 + 1_000);
      console.info(`[restart] controller killed: session timer (${EXPIRES_SEC} s) ended the phone's session after ${endedAfter} ms`);
    },
  );

  it(
    'without timers, the controller restarted on the same port answers the old session’s next event INFO 481 and the phone ends it',
    { timeout: 60_000 },
    async () => {
      const { phone, port } = await phoneHere();
      let ctl = track(runTs('test/integration/faults/controller-process.ts', [`sip:1000@127.0.0.1:${port}`, 'sip:1000@127.0.0.1', '0']));
      const ctlPort = (await ctl.waitFor(/^ready (\d+) /m))[1]!;
      expect(phone.sessions).toBe(1);
      await ctl.kill('SIGKILL');
      ctl = track(runTs('test/integration/faults/controller-process.ts', [`sip:1000@127.0.0.1:${port}`, 'sip:1000@127.0.0.1', ctlPort]));
      await ctl.waitFor(/^ready /m);
      // the old session and the new one
      expect(phone.sessions).toBe(2);
      const before = Date.now();
      // an event for both monitors: the new one takes it, the old dialog gets 481
      phone.control.setDoNotDisturb(true);
      await until(() => phone.sessions === 1, 'the old session to end', 5_000);
      await ctl.waitFor(/^event DoNotDisturbEvent$/m, 5_000);
      console.info(`[restart] controller restarted: the old session ended ${Date.now() - before} ms after the next event`);
    },
  );
});
