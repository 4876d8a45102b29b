/**
 * A real uaCSTA exchange, recorded by the CLI's trace sink on two UAs over loopback sockets
 * (UDP, then TCP), written as a pcap and an HTML ladder, and read back by the tools people use:
 * tshark decodes every message as SIP and finds no malformed packet; headless Chromium renders
 * the ladder with one lane per party and one arrow per message, and shows a message on click.
 * Skipped only when /usr/bin/tshark or /usr/bin/chromium is absent (Debian packages tshark,
 * chromium).
 */

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserServer } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CliIo } from '../../../src/cli/io.js';
import { createTraceSink, type TraceSink } from '../../../src/cli/trace-options.js';
import type { DeliveredEvent } from '../../../src/csta/model/types.js';
import { acceptSipCstaChannels, openSipCstaChannel } from '../../../src/node/sip-csta-channel.js';
import { SipEndpoint } from '../../../src/sip/endpoint.js';
import { TcpTransport } from '../../../src/sip/transport/node/tcp.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import type { Transport } from '../../../src/sip/transport/transport.js';
import { UserAgent } from '../../../src/sip/ua/user-agent.js';
import { summarizeSip } from '../../../src/trace/sip-summary.js';
import { mergeTrace } from '../../../src/trace/merge.js';
import { CstaClient, type CstaEvent } from '../../../src/uacsta/client.js';
import { CstaServer } from '../../../src/uacsta/server.js';

const run = promisify(execFile);
const TSHARK = '/usr/bin/tshark';
const CHROMIUM = '/usr/bin/chromium';
const HAVE_TSHARK = existsSync(TSHARK);
const HAVE_CHROMIUM = existsSync(CHROMIUM);
if (!HAVE_TSHARK) console.warn('trace integration: /usr/bin/tshark is absent (Debian package tshark); the pcap checks are skipped');
if (!HAVE_CHROMIUM) console.warn('trace integration: /usr/bin/chromium is absent (Debian package chromium); the ladder checks are skipped');

const RSS = '<RequestSystemStatus xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"/>';

let dir: string;
const cleanups: (() => Promise<unknown>)[] = [];
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'uacsta-trace-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function silentIo(lines: string[]): CliIo {
  return { stdout: () => {}, stderr: (t) => void lines.push(t), readInput: () => Promise.reject(new Error('no input')) };
}

async function listen(protocol: 'udp' | 'tcp'): Promise<Transport> {
  return protocol === 'udp'
    ? UdpTransport.listen({ host: '127.0.0.1', port: 0 })
    : TcpTransport.listen({ host: '127.0.0.1', port: 0 });
}

/** A UA named `user` on its own transport, its endpoint reporting to `sink`. */
async function party(protocol: 'udp' | 'tcp', user: string, sink: TraceSink): Promise<{ ua: UserAgent; uri: string }> {
  const transport = await listen(protocol);
  const endpoint = new SipEndpoint({ transports: [transport], ...sink.endpointOptions([transport], user) });
  const hostPort = `127.0.0.1:${transport.local.port}`;
  const param = protocol === 'udp' ? '' : ';transport=tcp';
  const ua = new UserAgent({ endpoint, aor: `sip:${user}@${hostPort}`, contact: `sip:${user}@${hostPort}${param}` });
  cleanups.push(() => endpoint.close());
  cleanups.push(() => ua.close());
  return { ua, uri: `sip:${user}@${hostPort}${param}` };
}

/**
 * Controller and phone: INVITE with RequestSystemStatus, MakeCall and its response, a
 * DeliveredEvent with a UTF-8 device name, BYE. Returns the sink after `finish()`.
 */
async function record(protocol: 'udp' | 'tcp'): Promise<{ sink: TraceSink; ladder: string; pcap: string; stderr: string[] }> {
  const ladder = join(dir, `${protocol}.html`);
  const pcap = join(dir, `${protocol}.pcap`);
  const stderr: string[] = [];
  const sink = createTraceSink({ detail: 'summary', ladder, pcap }, silentIo(stderr));
  const controller = await party(protocol, 'controller', sink);
  const phone = await party(protocol, 'phone', sink);
  let server: CstaServer | undefined;
  acceptSipCstaChannels(phone.ua, (channel) => {
    server = new CstaServer({ channel });
    server.handle('RequestSystemStatus', () => ({ type: 'RequestSystemStatusResponse', systemStatus: 'normal' }));
    server.handle('MakeCall', (req) => ({ type: 'MakeCallResponse', callingDevice: { callID: 'call-1', deviceID: String(req.callingDevice) } }));
  });
  const channel = await openSipCstaChannel(controller.ua, phone.uri, { body: RSS });
  const client = new CstaClient({ channel });
  const events: CstaEvent[] = [];
  client.on('event', (e) => events.push(e));
  const res = await client.request({ type: 'MakeCall', callingDevice: '1001', calledDirectoryNumber: 'Zoë-1002' });
  expect(res.callingDevice).toEqual({ callID: 'call-1', deviceID: '1001' });
  await server!.emit({
    type: 'DeliveredEvent',
    monitorCrossRefID: '43',
    connection: { callID: 'call-1', deviceID: 'Zoë-1002' },
    alertingDevice: { deviceIdentifier: 'Zoë-1002' },
    callingDevice: { deviceIdentifier: '1001' },
    calledDevice: { deviceIdentifier: 'Zoë-1002' },
    lastRedirectionDevice: { notRequired: true },
    localConnectionInfo: 'alerting',
    cause: 'newCall',
  } as unknown as DeliveredEvent);
  const until = Date.now() + 3_000;
  while (events.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
  expect(events.map((e) => e.type)).toEqual(['DeliveredEvent']);
  await channel.close();
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  expect(await sink.finish()).toBe(true);
  return { sink, ladder, pcap, stderr };
}

/** `INVITE`, `200`, …: what tshark should find, from the merged records. */
function expectedLabels(sink: TraceSink): string[] {
  return mergeTrace(sink.records).map((r) => {
    const s = summarizeSip(r.bytes);
    return s.kind === 'request' ? s.method! : String(s.status);
  });
}

async function tshark(file: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(TSHARK, ['-n', '-r', file, ...args], { timeout: 60_000 });
  return stdout;
}

describe.each(['udp', 'tcp'] as const)('a recorded uaCSTA exchange over %s', (protocol) => {
  let recorded: Awaited<ReturnType<typeof record>>;
  beforeAll(async () => {
    recorded = await record(protocol);
  }, 20_000);

  it('printed a line per message in and out at each party', () => {
    const lines = recorded.stderr.filter((l) => !l.startsWith('uacsta: wrote'));
    // every message is seen twice: sent by one party, received by the other
    expect(lines.length).toBe(recorded.sink.records.length);
    expect(lines.length).toBe(2 * expectedLabels(recorded.sink).length);
    const info = lines.filter((l) => l.includes(' controller ') && l.includes(' → ') && l.includes(' INFO '));
    expect(info[0]).toMatch(/ INFO sip:phone@127\.0\.0\.1:\d+(;transport=tcp)? SIP\/2\.0 · MakeCall callingDevice=1001 calledDirectoryNumber=Zoë-1002 · Call-ID \S+ · CSeq \d+ INFO\n$/);
    expect(lines.some((l) => / phone \S+ 127\.0\.0\.1:\d+ → \S+ INFO .* · DeliveredEvent callID=call-1 deviceID=Zoë-1002 monitorCrossRefID=43 cause=newCall · /.test(l))).toBe(true);
    expect(recorded.stderr.filter((l) => l.startsWith('uacsta: wrote'))).toHaveLength(2);
  });

  it.skipIf(!HAVE_TSHARK)('decodes every message of the pcap as SIP, none malformed (tshark)', async () => {
    const labels = expectedLabels(recorded.sink);
    expect(labels).toEqual(['INVITE', '200', 'ACK', 'INFO', '200', 'INFO', '200', 'BYE', '200']);
    const out = await tshark(recorded.pcap, '-Y', 'sip', '-T', 'fields', '-e', 'sip.Method', '-e', 'sip.Status-Code');
    const decoded = out.trim().split('\n').map((l) => l.split('\t').filter((f) => f !== '').join(''));
    expect(decoded).toEqual(labels);
    expect(await tshark(recorded.pcap, '-Y', '_ws.malformed')).toBe('');
    // checksums verified, and no warning from any dissector (TCP analysis included)
    const warnings = await tshark(
      recorded.pcap,
      '-o', 'ip.check_checksum:TRUE', '-o', 'udp.check_checksum:TRUE', '-o', 'tcp.check_checksum:TRUE',
      '-Y', '_ws.expert.severity >= "Warning"',
    );
    expect(warnings).toBe('');
    // the UTF-8 body arrives intact
    const utf8 = Array.from(new TextEncoder().encode('Zoë-1002'), (b) => b.toString(16).padStart(2, '0')).join(':');
    const withName = await tshark(recorded.pcap, '-Y', `sip && frame contains ${utf8}`, '-T', 'fields', '-e', 'sip.Method');
    expect(withName.trim().split('\n')).toEqual(['INFO', 'INFO']);
  }, 60_000);

  it.skipIf(!HAVE_CHROMIUM)('renders the ladder in Chromium: two lanes, one arrow per message, a click shows it', async () => {
    const server: BrowserServer = await chromium.launchServer({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    const pid = server.process().pid;
    cleanups.push(async () => {
      await server.close().catch(() => undefined);
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    });
    const browser = await chromium.connect(server.wsEndpoint());
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`file://${recorded.ladder}`);
    const labels = expectedLabels(recorded.sink);
    expect(await page.locator('g.lane').count()).toBe(2);
    expect(await page.locator('g.lane text.lane-name').allTextContents()).toEqual(['controller', 'phone']);
    expect(await page.locator('g.arrow').count()).toBe(labels.length);
    const sip = await page.locator('g.arrow text.sip').allTextContents();
    expect(sip.map((s) => s.replace(/ .*/, ''))).toEqual(labels);
    expect(await page.locator('g.arrow text.csta').allTextContents()).toEqual([
      'RequestSystemStatus',
      'RequestSystemStatusResponse',
      'MakeCall callingDevice=1001 calledDirectoryNumber=Zoë-1002',
      'MakeCallResponse callID=call-1 deviceID=1001',
      'DeliveredEvent callID=call-1 deviceID=Zoë-1002 monitorCrossRefID=43 cause=newCall',
    ]);
    // every arrow is drawn with a visible extent (the SVG laid out)
    const box = await page.locator('g.arrow').nth(3).boundingBox();
    expect(box !== null && box.width > 50 && box.height > 10).toBe(true);
    await page.locator('g.arrow').nth(3).click();
    const detail = await page.locator('#detail-text').textContent();
    expect(detail).toMatch(/^INFO sip:phone@/);
    expect(detail).toContain('calledDirectoryNumber>Zoë-1002<');
    expect(await page.locator('g.arrow.selected').getAttribute('data-index')).toBe('3');
    expect(requests.filter((u) => !u.startsWith('file://'))).toEqual([]);
    expect(errors).toEqual([]);
  }, 60_000);
});

describe('the files as written', () => {
  it('are a pcap and an HTML page', async () => {
    const { ladder, pcap } = await record('udp');
    expect(Array.from(readFileSync(pcap).subarray(0, 4))).toEqual([0xd4, 0xc3, 0xb2, 0xa1]);
    expect(readFileSync(ladder, 'utf8').startsWith('<!DOCTYPE html>')).toBe(true);
  }, 20_000);
});
