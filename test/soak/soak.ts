/**
 * `npm run soak` (issue #10 item 5; not in CI): a controller (this process) drives a simulated
 * phone (a process of its own, `test/integration/hostile/phone-process.ts`) over UDP on loopback
 * at a fixed rate of invokes, each causing one event, for SOAK_SECONDS. Every SOAK_SAMPLE_SECONDS
 * both processes' heaps are sampled after a GC; at the end it prints the samples, the slope
 * (least squares) and the verdict: the heap is flat when the final sample is within
 * SOAK_HEAP_BOUND_MB of the median of the first minute's samples (the first third of the run
 * when it is shorter than 3 minutes), for the phone and the controller. Exit code 1 otherwise,
 * or when an invoke failed or an event was lost.
 *
 * Environment: SOAK_SECONDS (600), SOAK_RATE invokes per second (200), SOAK_SESSIONS (4),
 * SOAK_SAMPLE_SECONDS (10), SOAK_HEAP_BOUND_MB (8).
 */

import { openSipCstaChannel } from '../../src/node/sip-csta-channel.js';
import { SipEndpoint } from '../../src/sip/endpoint.js';
import { UdpTransport } from '../../src/sip/transport/node/udp.js';
import { UserAgent } from '../../src/sip/ua/user-agent.js';
import { CstaClient } from '../../src/uacsta/client.js';
import { phoneStats, runPhoneProcess, sleep } from '../integration/faults/support.js';

const num = (name: string, fallback: number): number => {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
};
const SECONDS = num('SOAK_SECONDS', 600);
const RATE = num('SOAK_RATE', 200);
const SESSIONS = Math.round(num('SOAK_SESSIONS', 4));
const SAMPLE_S = num('SOAK_SAMPLE_SECONDS', 10);
const BOUND = num('SOAK_HEAP_BOUND_MB', 8) * 1024 * 1024;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc (npm run soak does)');
const log = (line: string): void => void process.stdout.write(line + '\n');

const phone = runPhoneProcess('udp:127.0.0.1:0');
const stopPhone = (): Promise<void> => phone.kill('SIGKILL');
// the phone is our child: an interrupted or terminated soak ends it too (it would be orphaned)
process.on('SIGINT', () => void stopPhone().then(() => process.exit(130)));
process.on('SIGTERM', () => void stopPhone().then(() => process.exit(143)));

let exitCode = 0;
try {
  const port = Number((await phone.waitFor(/^listening udp:127\.0\.0\.1:(\d+) /m))[1]);
  const transport = await UdpTransport.listen({ host: '127.0.0.1', port: 0 });
  const endpoint = new SipEndpoint({ transports: [transport] });
  const ua = new UserAgent({ endpoint, aor: 'sip:cti@127.0.0.1', contact: `sip:cti@127.0.0.1:${transport.local.port}` });
  const device = 'sip:1000@127.0.0.1';
  const clients: CstaClient[] = [];
  let events = 0;
  for (let i = 0; i < SESSIONS; i++) {
    const client = new CstaClient({ channel: await openSipCstaChannel(ua, `sip:1000@127.0.0.1:${port}`) });
    clients.push(client);
  }
  // one monitor (on the first session): every invoke of any session causes one event there
  const { monitorCrossRefID } = await clients[0]!.request({ type: 'MonitorStart', monitorObject: { deviceObject: device } });
  clients[0]!.on('event', (e) => {
    if ((e as { monitorCrossRefID?: string }).monitorCrossRefID === monitorCrossRefID) events++;
  });

  log(`soak: ${SECONDS} s at ${RATE} invokes/s over ${SESSIONS} sessions (phone pid ${phone.pid}), samples every ${SAMPLE_S} s, bound ${BOUND / 1048576} MiB`);
  const samples: Array<{ t: number; phone: number; controller: number; invokes: number; events: number }> = [];
  const sample = async (t: number): Promise<void> => {
    gc!();
    const p = await phoneStats(phone);
    const s = { t, phone: p.heapUsed, controller: process.memoryUsage().heapUsed, invokes: done, events };
    samples.push(s);
    log(`t=${t.toFixed(0).padStart(5)} s  phone heap ${(s.phone / 1048576).toFixed(2)} MiB  controller heap ${(s.controller / 1048576).toFixed(2)} MiB  invokes ${s.invokes}  events ${s.events}  failures ${failures}`);
  };

  let sent = 0;
  let done = 0;
  let failures = 0;
  let n = 0;
  const start = performance.now();
  await sample(0);
  let nextSample = SAMPLE_S;
  // fixed rate: each tick sends what the clock says is due, round-robin over the sessions
  while (performance.now() - start < SECONDS * 1000) {
    const elapsed = (performance.now() - start) / 1000;
    const due = Math.floor(elapsed * RATE);
    while (sent < due) {
      const client = clients[sent % SESSIONS]!;
      const k = n++;
      sent++;
      client
        .request(
          k % 2 === 0
            ? { type: 'SetForwarding', device, forwardingType: 'forwardImmediate', activateForward: true, forwardDN: String(10_000 + (k % 50_000)) }
            : { type: 'SetDoNotDisturb', device, doNotDisturbOn: k % 4 === 1 },
        )
        .then(
          () => void done++,
          (e: unknown) => {
            failures++;
            if (failures <= 5) log(`invoke ${k} failed: ${(e as Error).message}`);
          },
        );
    }
    if (elapsed >= nextSample) {
      await sample(nextSample);
      nextSample += SAMPLE_S;
    }
    await sleep(5);
  }
  await sleep(2_000);
  await sample((performance.now() - start) / 1000);

  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  const slope = (key: 'phone' | 'controller'): number => {
    const xs = samples.map((s) => s.t / 60);
    const ys = samples.map((s) => s[key]);
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    const num = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0);
    const den = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    return den === 0 ? 0 : num / den;
  };
  const window = Math.min(60, SECONDS / 3);
  const first = samples.filter((s) => s.t <= window);
  const last = samples[samples.length - 1]!;
  log('');
  log(`invokes sent ${sent}, completed ${done}, failed ${failures}; events ${events} (expected ${done})`);
  for (const key of ['phone', 'controller'] as const) {
    const base = median(first.map((s) => s[key]));
    const growth = last[key] - base;
    const flat = growth <= BOUND;
    log(
      `${key}: first ${window.toFixed(0)} s median ${(base / 1048576).toFixed(2)} MiB, final ${(last[key] / 1048576).toFixed(2)} MiB ` +
        `(${growth >= 0 ? '+' : ''}${(growth / 1048576).toFixed(2)} MiB), slope ${(slope(key) / 1024).toFixed(1)} KiB/min: ${flat ? 'flat' : 'GROWING'}`,
    );
    if (!flat) exitCode = 1;
  }
  if (failures > 0 || events !== done || done !== sent) exitCode = 1;
  log(exitCode === 0 ? 'soak: PASS' : 'soak: FAIL');
  for (const c of clients) await c.close().catch(() => undefined);
  await ua.close();
  await endpoint.close();
} catch (error) {
  log(`soak: FAIL (${(error as Error).message})`);
  exitCode = 1;
} finally {
  await stopPhone();
}
process.exit(exitCode);
