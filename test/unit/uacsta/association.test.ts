/**
 * CstaAssociation over a fake peer: opening with RequestSystemStatus, monitors, refresh by
 * re-INVITE, close (MonitorStop then BYE), and recovery after a loss with bounded backoff, the
 * monitors restarted under stable handles, the re-sync and the gap reported (digest §1.7, §1.8,
 * §1.13 items 5–6, Example 10).
 */

import { describe, expect, it } from 'vitest';
import type { DoNotDisturbEvent } from '../../../src/csta/model/types.js';
import { UaCstaError } from '../../../src/errors.js';
import { CstaAssociation, type CstaRecovery } from '../../../src/uacsta/association.js';
import type { CstaEvent } from '../../../src/uacsta/client.js';
import { CstaServiceError } from '../../../src/uacsta/errors.js';
import type { CstaServer } from '../../../src/uacsta/server.js';
import { manualClock, type ManualClock } from '../../../src/util/clock.js';
import { flush } from './fake-channel.js';
import { fakePeer, type FakePeer } from './fake-peer.js';

const dnd = (ref: string, on: boolean): DoNotDisturbEvent => ({
  type: 'DoNotDisturbEvent',
  monitorCrossRefID: ref,
  device: { deviceIdentifier: '1001' },
  doNotDisturbOn: on,
});

/** A phone: MonitorStart gives `mon-<session>`, SnapshotDevice and GetDoNotDisturb work, GetForwarding is not supported. */
function phone(server: CstaServer, session: number): void {
  server.handle('MonitorStart', () => ({ type: 'MonitorStartResponse', monitorCrossRefID: `mon-${session}` }));
  server.handle('MonitorStop', () => ({ type: 'MonitorStopResponse' }));
  server.handle('SnapshotDevice', () => ({ type: 'SnapshotDeviceResponse', crossRefIDorSnapshotData: { serviceCrossRefID: 'snap-1' } }));
  server.handle('GetDoNotDisturb', () => ({ type: 'GetDoNotDisturbResponse', doNotDisturbOn: true }));
  server.handle('MakeCall', () => ({ type: 'MakeCallResponse', callingDevice: { callID: `call-${session}`, deviceID: '1001' } }));
}

async function openWith(peer: FakePeer, clock: ManualClock, extra: Partial<Parameters<typeof CstaAssociation.open>[0]> = {}) {
  return CstaAssociation.open({ open: peer.open, clock, requestSystemStatus: true, ...extra });
}

describe('CstaAssociation: open, monitor, close', () => {
  it('opens with RequestSystemStatus, routes a monitor’s events to its handle, and closes with MonitorStop then BYE', async () => {
    const clock = manualClock();
    const peer = fakePeer(phone);
    const assoc = await openWith(peer, clock);
    const line = await assoc.monitor('1001');
    expect(line.monitorCrossRefID).toBe('mon-1');
    const got: boolean[] = [];
    line.on((e) => got.push((e as DoNotDisturbEvent).doNotDisturbOn));
    await peer.sessions[0]!.server.emit(dnd('mon-1', true));
    await peer.sessions[0]!.server.emit(dnd('other', false));
    await flush();
    expect(got).toEqual([true]);
    await assoc.close();
    expect(assoc.state).toBe('Closed');
    expect(line.state).toBe('Stopped');
    expect(peer.lines()).toEqual([
      '1: A → B RequestSystemStatus',
      '1: B → A 200 RequestSystemStatusResponse',
      '1: A → B MonitorStart',
      '1: B → A 200 MonitorStartResponse',
      '1: B → A DoNotDisturbEvent',
      '1: A → B 200',
      '1: B → A DoNotDisturbEvent',
      '1: A → B 200',
      '1: A → B MonitorStop',
      '1: B → A 200 MonitorStopResponse',
      '1: A → B BYE',
    ]);
  });

  it('refuses to open when RequestSystemStatus is not answered normal', async () => {
    const peer = fakePeer((server) => server.handle('RequestSystemStatus', () => ({ type: 'RequestSystemStatusResponse', systemStatus: 'initializing' })));
    await expect(openWith(peer, manualClock())).rejects.toMatchObject({ code: 'UACSTA_ERR_SYSTEM_STATUS' });
    expect(peer.sessions[0]!.pair.lines.at(-1)).toBe('A → B BYE');
  });

  it('checks its options before opening anything', async () => {
    const peer = fakePeer(phone);
    await expect(openWith(peer, manualClock(), { maxRecoveryAttempts: 0 })).rejects.toMatchObject({ code: 'ERR_INVALID_ARG' });
    expect(peer.opens).toBe(0);
  });
});

describe('CstaAssociation: refresh (digest §1.7, Example 10)', () => {
  it('re-INVITEs with RequestSystemStatus every refreshIntervalMs when no session timer runs', async () => {
    const clock = manualClock();
    const peer = fakePeer(phone);
    const assoc = await openWith(peer, clock, { refreshIntervalMs: 600_000 });
    clock.tick(599_999);
    await flush();
    expect(peer.lines().filter((l) => l.includes('re-INVITE'))).toEqual([]);
    clock.tick(1);
    await flush();
    clock.tick(600_000);
    await flush();
    expect(peer.lines().slice(2)).toEqual([
      '1: A → B re-INVITE',
      '1: A → B RequestSystemStatus',
      '1: B → A 200 RequestSystemStatusResponse',
      '1: A → B re-INVITE',
      '1: A → B RequestSystemStatus',
      '1: B → A 200 RequestSystemStatusResponse',
    ]);
    expect(assoc.state).toBe('Open');
    await assoc.close();
  });

  it('leaves the refresh to the binding when it runs a session timer', async () => {
    const clock = manualClock();
    const peer = fakePeer(phone);
    const open = peer.open;
    const assoc = await CstaAssociation.open({
      clock,
      open: async (init) => Object.assign(await open(init), { refreshedByBinding: true }),
      refreshIntervalMs: 1_000,
    });
    clock.tick(10_000);
    await flush();
    expect(peer.lines().filter((l) => l.includes('re-INVITE'))).toEqual([]);
    await assoc.close();
  });

  it('treats a failed refresh as a loss and recovers', async () => {
    const clock = manualClock();
    const peer = fakePeer(phone);
    const assoc = await openWith(peer, clock, { refreshIntervalMs: 60_000 });
    const recovered: CstaRecovery[] = [];
    assoc.on('recovered', (r) => recovered.push(r));
    peer.refreshAnswer = 408;
    clock.tick(60_000);
    await flush();
    expect(recovered.map((r) => r.reason)).toEqual(['refresh-failed (408)']);
    expect(peer.sessions).toHaveLength(2);
    await assoc.close();
  });
});

describe('CstaAssociation: recovery (digest §1.8)', () => {
  it('after a peer restart (481): re-opens, restarts the monitor under the same handle, re-syncs, and tells the application', async () => {
    const clock = manualClock(1_000);
    const peer = fakePeer(phone);
    const assoc = await openWith(peer, clock);
    const line = await assoc.monitor('1001');
    const events: string[] = [];
    line.on((e) => events.push(`${e.type} ${String((e as DoNotDisturbEvent).doNotDisturbOn)}`));
    const iter = line.events();
    const notices: string[] = [];
    assoc.on('lost', ({ reason, at }) => notices.push(`lost ${reason} at ${at}`));
    let recovery: CstaRecovery | undefined;
    assoc.on('recovered', (r) => {
      recovery = r;
      notices.push('recovered');
    });

    clock.tick(5_000); // last sign of life at 1000; the peer restarts at some point after
    peer.restart();
    const err = await assoc
      .request({ type: 'MakeCall', callingDevice: '1001', calledDirectoryNumber: '1002' })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'SIP_ERR_REJECTED', status: 481 });
    expect(assoc.state).toBe('Recovering');
    await expect(assoc.request({ type: 'GetDoNotDisturb', device: '1001' })).rejects.toMatchObject({ code: 'UACSTA_ERR_RECOVERING' });
    await flush();

    expect(assoc.state).toBe('Open');
    expect(notices).toEqual(['lost no-dialog at 6000', 'recovered']);
    expect(line.monitorCrossRefID).toBe('mon-2');
    expect(line.state).toBe('Active');
    expect(recovery!.gap).toEqual({ from: 1_000, to: 6_000 });
    expect(recovery!.attempts).toBe(1);
    expect(recovery!.monitors.map((m) => [m.monitor, m.previousCrossRefID, m.monitorCrossRefID])).toEqual([[line, 'mon-1', 'mon-2']]);
    const [sync] = recovery!.resync;
    expect(sync!.device).toBe('1001');
    expect(sync!.snapshotDevice).toMatchObject({ ok: true, response: { type: 'SnapshotDeviceResponse' } });
    expect(sync!.getForwarding).toMatchObject({ ok: false, notSupported: true, error: { code: 'CSTA_ERR_SERVICE', value: 'serviceNotSupported' } });
    expect(sync!.getDoNotDisturb).toMatchObject({ ok: true, response: { doNotDisturbOn: true } });
    expect(peer.lines().filter((l) => l.startsWith('2:') && l.includes('A → B'))).toEqual([
      '2: A → B RequestSystemStatus',
      '2: A → B MonitorStart',
      '2: A → B SnapshotDevice',
      '2: A → B GetForwarding',
      '2: A → B GetDoNotDisturb',
    ]);

    // the handle keeps its listeners and its iterator: events of the new monitor reach them
    await peer.sessions[1]!.server.emit(dnd('mon-2', false));
    await flush();
    expect(events).toEqual(['DoNotDisturbEvent false']);
    expect(((await iter.next()).value as CstaEvent).type).toBe('DoNotDisturbEvent');
    const res = await assoc.request({ type: 'MakeCall', callingDevice: '1001', calledDirectoryNumber: '1002' });
    expect(res.callingDevice).toEqual({ callID: 'call-2', deviceID: '1001' });
    await assoc.close();
    expect(await iter.next()).toEqual({ value: undefined, done: true });
  });

  it('backs off between attempts (1 s, then doubled) on the injected clock', async () => {
    const clock = manualClock();
    const peer = fakePeer(phone);
    const assoc = await openWith(peer, clock);
    await assoc.monitor('1001');
    let recovery: CstaRecovery | undefined;
    assoc.on('recovered', (r) => (recovery = r));
    peer.refuse(2);
    await peer.sessions[0]!.pair.b.close(); // the peer hangs up: BYE
    await flush();
    expect(peer.opens).toBe(2); // the first attempt is at once
    clock.tick(999);
    await flush();
    expect(peer.opens).toBe(2);
    clock.tick(1);
    await flush();
    expect(peer.opens).toBe(3);
    clock.tick(2_000);
    await flush();
    expect(peer.opens).toBe(4);
    expect(recovery).toMatchObject({ reason: 'bye-received', attempts: 3 });
    await assoc.close();
  });

  it('gives up after maxRecoveryAttempts with UACSTA_ERR_RECOVERY_FAILED, and ends the monitors', async () => {
    const clock = manualClock();
    const peer = fakePeer(phone);
    const assoc = await openWith(peer, clock, { maxRecoveryAttempts: 2 });
    const line = await assoc.monitor('1001');
    const iter = line.events();
    const failed: string[] = [];
    assoc.on('failed', ({ error, attempts }) => failed.push(`${error.code} ${attempts}: ${error.message}`));
    peer.refuse(10);
    await peer.sessions[0]!.pair.b.close();
    await flush();
    clock.tick(1_000);
    await flush();
    expect(failed).toEqual(['UACSTA_ERR_RECOVERY_FAILED 2: the CSTA association was lost (bye-received) and 2 attempts to re-open it failed']);
    expect(assoc.state).toBe('Closed');
    expect(line.state).toBe('Stopped');
    expect(await iter.next()).toEqual({ value: undefined, done: true });
    await expect(assoc.request({ type: 'GetDoNotDisturb', device: '1001' })).rejects.toMatchObject({ code: 'UACSTA_ERR_CLOSED' });
  });

  it('recovers from a transport loss, on a request and on a refresh', async () => {
    const clock = manualClock();
    const peer = fakePeer(phone);
    let broken = false;
    const assoc = await CstaAssociation.open({
      clock,
      refreshIntervalMs: 60_000,
      open: async (init) => {
        const channel = await peer.open(init);
        const send = channel.send.bind(channel);
        return Object.assign(channel, {
          send: (body: string) => (broken ? Promise.reject(new UaCstaError('SIP_ERR_TRANSPORT', 'the connection was lost')) : send(body)),
        });
      },
    });
    const reasons: string[] = [];
    assoc.on('lost', ({ reason }) => reasons.push(reason));
    broken = true;
    await expect(assoc.request({ type: 'GetDoNotDisturb', device: '1001' })).rejects.toMatchObject({ code: 'SIP_ERR_TRANSPORT' });
    broken = false;
    await flush();
    expect(assoc.state).toBe('Open');
    peer.refreshAnswer = 'throw';
    clock.tick(60_000);
    await flush();
    expect(reasons).toEqual(['transport', 'refresh-failed (SIP_ERR_TRANSPORT)']);
    expect(assoc.state).toBe('Open');
    expect(peer.sessions).toHaveLength(3);
    await assoc.close();
  });

  it('closes instead of recovering from a peer BYE with recoverOnPeerBye: false', async () => {
    const peer = fakePeer(phone);
    const assoc = await openWith(peer, manualClock(), { recoverOnPeerBye: false });
    const closed: string[] = [];
    assoc.on('closed', ({ reason }) => closed.push(reason));
    await peer.sessions[0]!.pair.b.close();
    await flush();
    expect(closed).toEqual(['bye-received']);
    expect(peer.opens).toBe(1);
  });

  it('reports a monitor the restarted peer refuses, and keeps the others', async () => {
    const clock = manualClock();
    const peer = fakePeer((server, session) => {
      phone(server, session);
      server.handle('MonitorStart', (req) => {
        const device = 'deviceObject' in req.monitorObject ? req.monitorObject.deviceObject : '';
        if (session > 1 && device === '1002') throw new CstaServiceError({ operation: 'invalidMonitorObject' });
        return { type: 'MonitorStartResponse', monitorCrossRefID: `mon-${session}-${String(device)}` };
      });
    });
    const assoc = await openWith(peer, clock, { resync: { snapshotDevice: false, getForwarding: false, getDoNotDisturb: false } });
    const a = await assoc.monitor('1001');
    const b = await assoc.monitor('1002');
    let recovery: CstaRecovery | undefined;
    assoc.on('recovered', (r) => (recovery = r));
    peer.restart();
    await assoc.request({ type: 'GetDoNotDisturb', device: '1001' }).catch(() => {});
    await flush();
    expect(recovery!.monitors.map((m) => [m.monitor.id, m.monitorCrossRefID, (m.error as { value?: string } | undefined)?.value])).toEqual([
      [a.id, 'mon-2-1001', undefined],
      [b.id, undefined, 'invalidMonitorObject'],
    ]);
    expect(recovery!.resync).toEqual([{ device: '1001' }]);
    expect(b.state).toBe('Stopped');
    expect(assoc.monitors).toEqual([a]);
    await assoc.close();
  });
});
