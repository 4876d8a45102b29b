/**
 * `uacsta invoke sips:…` verifies the phone's certificate (on by default, issue #10 item 4): to a
 * phone with a self-signed certificate and no `--ca` it exits 1 at once with SIP_ERR_TRANSPORT
 * and a message naming the handshake and the fix, long before `--timeout`; with `--ca` it works.
 * A TCP target with nothing listening fails as fast.
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acceptSipCstaChannels } from '../../../src/node/sip-csta-channel.js';
import { SipEndpoint } from '../../../src/sip/endpoint.js';
import { TlsTransport } from '../../../src/sip/transport/node/tls.js';
import { UserAgent } from '../../../src/sip/ua/user-agent.js';
import { CstaServer } from '../../../src/uacsta/server.js';
import { makeCertificate } from '../sip/support.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const main = join(root, 'src/cli/main.ts');

/** `--timeout` given to every run: a run that waited for it would be killed first. */
const CLI_TIMEOUT_S = 120;
/** Longest a run may take (process start-up included) before it is killed. */
const KILL_AFTER_MS = 30_000;

const children = new Set<ChildProcess>();

function uacsta(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((done) => {
    const started = Date.now();
    const child = spawn(tsx, [main, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS);
    child.once('exit', (status) => {
      clearTimeout(timer);
      children.delete(child);
      done({ status, stdout, stderr, ms: Date.now() - started });
    });
  });
}

let dir: string;
let caFile: string;
let endpoint: SipEndpoint;
let port: number;

beforeAll(async () => {
  const cert = makeCertificate();
  dir = mkdtempSync(join(tmpdir(), 'uacsta-tls-verify-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, cert.cert);
  const transport = await TlsTransport.listen({ host: '127.0.0.1', port: 0, server: cert });
  port = transport.local.port;
  endpoint = new SipEndpoint({ transports: [transport] });
  const ua = new UserAgent({ endpoint, aor: `sips:phone@127.0.0.1:${port}`, contact: `sips:phone@127.0.0.1:${port}` });
  acceptSipCstaChannels(ua, (channel) => void new CstaServer({ channel }));
});

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await endpoint?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

const RSS = '{"type":"RequestSystemStatus"}';

describe('uacsta invoke and certificate verification', () => {
  it('without --ca: exit 1 at once, SIP_ERR_TRANSPORT naming the failed handshake and --ca', async () => {
    const r = await uacsta(['invoke', `sips:phone@127.0.0.1:${port}`, RSS, '--timeout', String(CLI_TIMEOUT_S)]);
    expect(r.status).toBe(1);
    expect(r.ms).toBeLessThan(KILL_AFTER_MS);
    const out = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    expect(out.error.code).toBe('SIP_ERR_TRANSPORT');
    expect(out.error.message).toBe(
      `TLS handshake with 127.0.0.1:${port} failed: self-signed certificate; trust its CA with --ca FILE or the transport's client.ca option`,
    );
  }, KILL_AFTER_MS + 5_000);

  it('with --ca FILE: exit 0 and the response', async () => {
    const r = await uacsta(['invoke', `sips:phone@127.0.0.1:${port}`, RSS, '--ca', caFile, '--timeout', String(CLI_TIMEOUT_S)]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ type: 'RequestSystemStatusResponse', edition: 'ed3', systemStatus: 'normal' });
  }, KILL_AFTER_MS + 5_000);

  it('TCP to a port with no listener: exit 1 at once, SIP_ERR_TRANSPORT naming the refusal', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const closed = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const r = await uacsta(['invoke', `sip:phone@127.0.0.1:${closed};transport=tcp`, RSS, '--timeout', String(CLI_TIMEOUT_S)]);
    expect(r.status).toBe(1);
    const out = JSON.parse(r.stdout) as { error: { code: string; message: string } };
    expect(out.error.code).toBe('SIP_ERR_TRANSPORT');
    expect(out.error.message).toContain(`cannot open a TCP connection to 127.0.0.1:${closed}`);
  }, KILL_AFTER_MS + 5_000);
});
