/**
 * The README's quick start on a fresh copy of the repository: `npm ci` (the lockfile's
 * `npm install`), `npm start` (the demo: two simulated phones and a controller, the ladder of
 * the call, exit 0), `npm start -- --ladder FILE` (the HTML ladder is written), and `npm test`
 * (here on one file, not the whole suite again).
 *
 * @remarks
 * A `git clone` would miss work not yet committed, so the copy is what a clone of the next
 * commit holds: the files git tracks plus the untracked ones it does not ignore
 * (`git ls-files --cached --others --exclude-standard`). `npm ci --offline` installs from the
 * npm cache the repository's own install filled; where that cache is incomplete the test says
 * so on stderr and links the repository's node_modules instead.
 */
import { execFile, execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const fresh = mkdtempSync(join(tmpdir(), 'uacsta-quickstart-'));
let install = '';

/** Runs a command in the copy; killed (its PID, SIGKILL) after `ms`. */
function sh(cmd: string, args: string[], ms: number): Promise<{ code: number; stdout: string; stderr: string }> {
  // the copy must not inherit the outer npm run's settings (prefix, script name)
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith('npm_')));
  return new Promise((done) => {
    execFile(cmd, args, { cwd: fresh, timeout: ms, killSignal: 'SIGKILL', env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f !== '' && existsSync(join(root, f)));
  for (const f of files) {
    mkdirSync(dirname(join(fresh, f)), { recursive: true });
    cpSync(join(root, f), join(fresh, f));
  }
  const ci = await sh('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--loglevel=error'], 60_000);
  if (ci.code === 0) install = 'npm ci --offline';
  else {
    process.stderr.write(`quickstart: npm ci --offline failed (exit ${ci.code}): ${ci.stderr.slice(0, 400)}\nquickstart: linking the repository's node_modules instead\n`);
    rmSync(join(fresh, 'node_modules'), { recursive: true, force: true });
    symlinkSync(join(root, 'node_modules'), join(fresh, 'node_modules'), 'dir');
    install = 'linked node_modules';
  }
}, 90_000);

afterAll(() => rmSync(fresh, { recursive: true, force: true }));

describe('README quick start on a fresh copy', () => {
  it('installs with npm ci', () => {
    expect(install).not.toBe('');
    expect(existsSync(join(fresh, 'node_modules', '.bin', 'tsx'))).toBe(true);
  });

  it('npm start runs the demo: the ladder of the call over uaCSTA, then exit 0', async () => {
    const r = await sh('npm', ['start', '--silent'], 60_000);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout.split('\n');
    const has = (re: RegExp): boolean => out.some((l) => re.test(l));
    expect(out[0]).toMatch(/^uacsta demo: controller on udp:127\.0\.0\.1:\d+, phone 1000 on udp:127\.0\.0\.1:\d+, phone 1001 on udp:127\.0\.0\.1:\d+$/);
    expect(has(/controller → 1000 +INFO +MakeCall callingDevice=1000 calledDirectoryNumber=1001$/)).toBe(true);
    expect(has(/1000 → controller +200 OK +MakeCallResponse callID=1 deviceID=1000$/)).toBe(true);
    expect(has(/1001 → controller +INFO +DeliveredEvent callID=1 deviceID=1001 monitorCrossRefID=1 cause=newCall$/)).toBe(true);
    expect(has(/1000 → 1001 +INVITE +SDP sendonly$/)).toBe(true);
    expect(has(/1000 → 1001 +BYE$/)).toBe(true);
    expect(out).toContain('uacsta demo: done: call made, answered, held, retrieved and cleared over uaCSTA');
  }, 90_000);

  it('npm start -- --ladder FILE writes the HTML ladder', async () => {
    const file = join(fresh, 'demo.html');
    const r = await sh('npm', ['start', '--silent', '--', '--quiet', '--ladder', file], 60_000);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^uacsta: wrote .*demo\.html \(ladder, \d+ messages\)$/m);
    const html = readFileSync(file, 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/i);
    expect(html).toContain('MakeCallResponse');
  }, 90_000);

  it('npm test runs vitest (one file here)', async () => {
    const r = await sh('npm', ['test', '--silent', '--', 'test/unit/cli/demo.test.ts'], 90_000);
    expect(r.code).toBe(0);
    // vitest colours its summary; the colour codes are not part of the words
    expect(r.stdout.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/Tests +(\d+) passed \(\1\)/);
  }, 100_000);
});
