/**
 * `uacsta phone` as a process: it prints `listening udp:HOST:PORT extensions 1000-1001` once it
 * takes requests, a controller opens a uaCSTA session on 1000 and calls 1001 (auto-answer) with
 * MakeCall, the process logs the session and the call, and SIGTERM ends it cleanly: BYE to the
 * open session, exit code 0.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/main.js';
import { startPhones } from '../../../src/cli/commands/phone.js';
import { PHONE_PROFILES } from '../../../src/phone/profiles.js';
import { controller, take, until } from './support.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('uacsta phone', () => {
  it('runs two phones: a session on 1000, MakeCall to 1001 answered at once, SIGTERM sends BYE and exits 0', async () => {
    const child = spawn(tsx, [join(root, 'src/cli/main.ts'), 'phone', '--listen', 'udp:127.0.0.1:0', '--extension', '1000', '--count', '2', '--auto-answer', '--media', 'none'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(async () => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    });
    await until(() => /listening /.test(stdout), `the listening line (stderr: ${stderr})`, 20_000);
    const m = /^listening udp:127\.0\.0\.1:(\d+) extensions 1000-1001$/m.exec(stdout);
    expect(m).not.toBeNull();
    const port = Number(m![1]);

    const ctl = await controller();
    cleanups.push(() => ctl.close());
    const a = await ctl.session(`sip:1000@127.0.0.1:${port}`);
    const device = 'sip:1000@127.0.0.1';
    await a.client.request({ type: 'MonitorStart', monitorObject: { deviceObject: device } });
    await a.client.request({ type: 'MakeCall', callingDevice: device, calledDirectoryNumber: '1001', autoOriginate: 'doNotPrompt' });
    await until(() => a.events.some((e) => e.type === 'EstablishedEvent'), 'Established');
    expect(take(a)).toEqual([
      'ServiceInitiated 1@1000 initiated makeCall',
      'Originated 1@1000 connected newCall',
      'Delivered 1@1001 connected newCall',
      'Established 1@1001 connected normal',
    ]);
    await until(() => /1001 call L1 connected/.test(stdout), 'the call log');
    expect(stdout).toMatch(/^1000 session \S+ open$/m);
    expect(stdout).toMatch(/^1000 call L1 to sip:1001@127\.0\.0\.1:\d+$/m);
    expect(stdout).toMatch(/^1001 call L1 from sip:1000@127\.0\.0\.1$/m);

    const closed = new Promise<string>((resolve) => a.client.on('closed', (c) => resolve(c.reason)));
    process.kill(child.pid!, 'SIGTERM');
    expect(await exited).toBe(0);
    expect(await closed).toBe('bye-received');
    expect(stderr).toBe('');
  }, 40_000);

  it('starts every shipped profile; multi-line phones get a line 2 of their own', async () => {
    for (const name of Object.keys(PHONE_PROFILES)) {
      const phones = await startPhones({
        listen: { transport: 'udp', host: '127.0.0.1', port: 0 },
        extension: '1000',
        count: 2,
        profile: name,
        autoAnswer: false,
        media: 'none',
        dtmf: 'rfc4733',
        credentials: { user: '{ext}', password: 'pw' },
      });
      try {
        const expected = name === 'multi-line' ? [['sip:1000@127.0.0.1', 'sip:1000-2@127.0.0.1'], ['sip:1001@127.0.0.1', 'sip:1001-2@127.0.0.1']] : [['sip:1000@127.0.0.1'], ['sip:1001@127.0.0.1']];
        expect(phones.phones.map((p) => p.lines)).toEqual(expected);
        expect(phones.phones.every((p) => p.profile.name === name)).toBe(true);
      } finally {
        await phones.close();
      }
    }
  });

  it('refuses bad arguments with exit code 2', async () => {
    const err: string[] = [];
    const io = { stdout: () => undefined, stderr: (t: string) => void err.push(t), readInput: () => Promise.resolve(new Uint8Array()) };
    expect(await runCli(['phone', '--listen', 'udp:127.0.0.1:0'], io)).toBe(2);
    expect(err.join('')).toMatch(/--extension expects digits/);
    expect(await runCli(['phone', '--listen', 'udp:127.0.0.1:0', '--extension', '1000', '--profile', 'nope'], io)).toBe(2);
    expect(await runCli(['phone', '--listen', 'udp:127.0.0.1:0', '--extension', '1000', '--count', '0'], io)).toBe(2);
    err.length = 0;
    expect(await runCli(['phone', '--listen', 'udp:127.0.0.1:0', '--extension', '1000', '--profile', 'challenge-invite'], io)).toBe(2);
    expect(err.join('')).toMatch(/challenges the controller: give --password/);
  });
});
