/**
 * A simulated phone calls SIPp's built-in UAS (`sipp -sn uas`: 180, 200 with SDP, waits for
 * ACK and BYE): MakeCall from our CstaClient, then ClearConnection; SIPp counts one successful
 * call and exits 0 (`-m 1`).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, hasSipp, SIPP_MISSING, waitListening } from '../../sipp/sipp.js';
import { controller, sipStation, take, udpHost, until } from './support.js';

const SIPP = hasSipp();
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** `sipp -sn uas` for one call on a free UDP port, with its statistics file. */
async function sippUas(): Promise<{ port: number; exit: Promise<number | null>; stats: () => Record<string, string> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'uacsta-sipp-uas-'));
  const child = spawn('sipp', ['-sn', 'uas', '-i', '127.0.0.1', '-p', String(port), '-m', '1', '-nostdin', '-trace_stat', '-stf', 'stat.csv', '-fd', '1'], { cwd: dir, stdio: 'ignore' });
  let exited = false;
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => ((exited = true), resolve(code))));
  cleanups.push(async () => {
    if (!exited && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    await exit;
    rmSync(dir, { recursive: true, force: true });
  });
  await waitListening(port, 'udp', 5000, () => exited);
  const stats = (): Record<string, string> => {
    const lines = readFileSync(join(dir, 'stat.csv'), 'latin1').split('\n').filter((l) => l.trim() !== '');
    const header = lines[0]!.split(';');
    const last = lines.at(-1)!.split(';');
    return Object.fromEntries(header.map((h, i) => [h, last[i] ?? '']));
  };
  return { port, exit, stats };
}

describe.skipIf(!SIPP)(`a call to a SIPp UAS (${SIPP ? 'installed' : SIPP_MISSING})`, () => {
  it('MakeCall: Delivered on 180, Established on 200; ClearConnection: BYE, and SIPp counts one successful call', async () => {
    const uas = await sippUas();
    const host = await udpHost({ media: 'silence' });
    cleanups.push(() => host.close());
    const ctl = await controller();
    cleanups.push(() => ctl.close());
    const a = await sipStation(host, ctl, '1000');

    const res = await a.client.request({ type: 'MakeCall', callingDevice: a.device, calledDirectoryNumber: `sip:service@127.0.0.1:${uas.port}`, autoOriginate: 'doNotPrompt' });
    expect(res.callingDevice.callID).toBe('1');
    await until(() => a.events.some((e) => e.type === 'EstablishedEvent'), 'Established');
    expect(take(a)).toEqual([
      'ServiceInitiated 1@1000 initiated makeCall',
      'Originated 1@1000 connected newCall',
      'Delivered 1@service connected newCall',
      'Established 1@service connected normal',
    ]);
    await a.client.request({ type: 'ClearConnection', connectionToBeCleared: { callID: '1', deviceID: a.device } });
    await until(() => a.events.some((e) => e.type === 'ConnectionClearedEvent'), 'ConnectionCleared');
    expect(take(a)).toEqual(['ConnectionCleared 1@1000 null normalClearing']);
    expect(await uas.exit).toBe(0);
    expect(uas.stats()).toMatchObject({ 'SuccessfulCall(C)': '1', 'FailedCall(C)': '0' });
  }, 30_000);
});
