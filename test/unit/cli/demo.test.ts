/**
 * `uacsta demo`, `uacsta call` and the top-level help, run in-process against real UDP sockets
 * on 127.0.0.1: the ladder a newcomer sees (ECMA TR/87 §7: requests in INFO, responses in the
 * 200 OK, events in INFO from the phone), the files of `--ladder`/`--pcap`, the exit codes.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { callOutcome, eventCallId } from '../../../src/cli/commands/call.js';
import { startPhones, type Phones } from '../../../src/cli/commands/phone.js';
import { demoMeaning, formatDemoLine, shortDevices } from '../../../src/cli/demo-ladder.js';
import type { CliIo } from '../../../src/cli/io.js';
import { packageVersion, runCli } from '../../../src/cli/main.js';
import type { CstaEvent } from '../../../src/uacsta/client.js';

function io(): CliIo & { out: string[]; err: string[]; text: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    text: () => out.join(''),
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    readInput: () => Promise.reject(new Error('no input')),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'uacsta-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text.replaceAll('\n', '\r\n'));

describe('the demo ladder line', () => {
  it('names sender and receiver, the method, and the CSTA element with its key fields', () => {
    const info = bytes(
      'INFO sip:1000@127.0.0.1:5070 SIP/2.0\nCall-ID: a\nCSeq: 2 INFO\nContent-Type: application/csta+xml\nContent-Length: 10\n\n' +
        '<MakeCall xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"><callingDevice>sip:1000@127.0.0.1</callingDevice><calledDirectoryNumber>sip:1001@127.0.0.1:5072</calledDirectoryNumber></MakeCall>',
    );
    expect(formatDemoLine({ at: 12, from: 'controller', to: '1000', bytes: info })).toBe(
      '  +0.012s  controller → 1000     INFO          MakeCall callingDevice=1000 calledDirectoryNumber=1001',
    );
  });

  it('shows a response as status and reason, an SDP body by its direction (RFC 3264 §6.1)', () => {
    const ok = bytes('SIP/2.0 200 OK\nCall-ID: b\nCSeq: 2 INVITE\nContent-Type: application/sdp\n\nv=0\r\nm=audio 4000 RTP/AVP 0\r\na=recvonly\r\n');
    expect(formatDemoLine({ at: 1500, from: '1001', to: '1000', bytes: ok })).toBe('  +1.500s  1001 → 1000           200 OK        SDP recvonly');
    expect(demoMeaning(bytes('INVITE sip:x@y SIP/2.0\nContent-Type: application/sdp\n\nv=0\r\n'))).toBe('SDP sendrecv');
    expect(demoMeaning(bytes('BYE sip:x@y SIP/2.0\nCall-ID: c\n\n'))).toBe('');
  });

  it('shortens device URIs to their user part, the extension a reader follows', () => {
    expect(shortDevices('deviceID=sip:1000@127.0.0.1 to sips:1001@[::1]:5061;transport=tls')).toBe('deviceID=1000 to 1001');
  });
});

describe('uacsta demo', () => {
  it('runs the call through every step over real SIP, prints the ladder, writes the files, exits 0', async () => {
    const t = io();
    const ladder = join(dir, 'demo.html');
    const pcap = join(dir, 'demo.pcap');
    const code = await runCli(['demo', '--ladder', ladder, '--pcap', pcap], t);
    const out = t.text();
    expect(t.err.join('')).not.toContain('failed');
    expect(code).toBe(0);
    expect(out).toContain('calls between the phones: real SIP');
    const lines = out.split('\n');
    const has = (re: RegExp): boolean => lines.some((l) => re.test(l));
    // the session: INVITE with RequestSystemStatus, its answer in the 200 OK
    expect(has(/controller → 1000 +INVITE +RequestSystemStatus$/)).toBe(true);
    expect(has(/1000 → controller +200 OK +RequestSystemStatusResponse$/)).toBe(true);
    expect(has(/controller → 1000 +INFO +MonitorStart deviceObject=1000$/)).toBe(true);
    // the call: request in INFO, response in its 200, the phones' own INVITE, events in INFO
    expect(has(/controller → 1000 +INFO +MakeCall callingDevice=1000 calledDirectoryNumber=1001$/)).toBe(true);
    expect(has(/1000 → controller +200 OK +MakeCallResponse callID=1 deviceID=1000$/)).toBe(true);
    expect(has(/1000 → 1001 +INVITE +SDP sendrecv$/)).toBe(true);
    expect(has(/1001 → 1000 +180 Ringing$/)).toBe(true);
    expect(has(/1001 → controller +INFO +DeliveredEvent callID=1 deviceID=1001 monitorCrossRefID=1 cause=newCall$/)).toBe(true);
    expect(has(/controller → 1001 +INFO +AnswerCall callID=1 deviceID=1001$/)).toBe(true);
    expect(has(/1000 → 1001 +INVITE +SDP sendonly$/)).toBe(true);
    expect(has(/1000 → controller +INFO +HeldEvent callID=1 deviceID=1000 /)).toBe(true);
    expect(has(/1000 → controller +INFO +RetrievedEvent callID=1 deviceID=1000 /)).toBe(true);
    expect(has(/1000 → 1001 +BYE$/)).toBe(true);
    expect(has(/controller → 1000 +BYE$/)).toBe(true);
    expect(lines).toContain('events at 1000: ServiceInitiated, Originated, Delivered, Established, Held, Retrieved, ConnectionCleared');
    expect(lines).toContain('events at 1001: Delivered, Established, Held, Retrieved, ConnectionCleared');
    expect(lines.at(-2)).toBe('uacsta demo: done: call made, answered, held, retrieved and cleared over uaCSTA');

    const html = readFileSync(ladder, 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('MakeCall');
    expect(html).toContain('DeliveredEvent');
    const cap = readFileSync(pcap);
    expect(cap.readUInt32LE(0)).toBe(0xa1b2c3d4); // libpcap magic, microsecond timestamps
    expect(t.err.join('')).toContain(`wrote ${ladder}`);
    const written = /wrote .*demo\.pcap \(pcap, (\d+) messages/.exec(t.err.join(''));
    expect(written).not.toBeNull();
    if (!existsSync('/usr/bin/tshark')) {
      console.warn('demo pcap: /usr/bin/tshark is missing (Debian package tshark); not decoded here');
      return;
    }
    // every message of the capture decodes as SIP, none is malformed
    const fields = execFileSync('/usr/bin/tshark', ['-r', pcap, '-T', 'fields', '-e', 'frame.protocols'], { encoding: 'utf8' });
    const frames = fields.trim().split('\n');
    expect(frames).toHaveLength(Number(written![1]));
    expect(frames.filter((p) => !p.endsWith(':sip') && !p.includes(':sip:'))).toEqual([]);
    expect(frames.filter((p) => p.includes('malformed'))).toEqual([]);
  }, 30_000);

  it('--quiet prints the steps without the ladder; --trace puts trace lines on stderr', async () => {
    const t = io();
    expect(await runCli(['demo', '--quiet', '--trace'], t)).toBe(0);
    expect(t.text()).not.toMatch(/controller → 1000/);
    expect(t.text()).toContain('# 2. MakeCall');
    expect(t.err.join('')).toMatch(/controller UDP 127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+ INFO sip:1000@127\.0\.0\.1:\d+ SIP\/2\.0 · MakeCall /);
  }, 30_000);

  it('refuses arguments it does not take, saying what it expected and what it found (exit 2)', async () => {
    for (const [args, message] of [
      [['demo', 'now'], "expected no arguments besides options; found 'now'"],
      [['demo', '--timeout', 'soon'], "--timeout expects a positive number of seconds; found 'soon'"],
      [['demo', '--ladder'], '--ladder expects a FILE'],
      [['demo', '--trace=all'], "--trace expects nothing or =full (e.g. --trace=full); found '--trace=all'"],
    ] as const) {
      const t = io();
      expect(await runCli([...args], t)).toBe(2);
      expect(t.err.join('')).toContain(message);
    }
  });
});

describe('uacsta call', () => {
  let phones: Phones | undefined;
  afterAll(async () => {
    await phones?.close();
  });

  it('decides on the events of its own call: Established, Failed, cleared', () => {
    const ev = (type: string, field: string): CstaEvent => ({ type, monitorCrossRefID: '1', [field]: { callID: '7', deviceID: '1001' } }) as unknown as CstaEvent;
    expect(eventCallId(ev('EstablishedEvent', 'establishedConnection'))).toBe('7');
    expect(callOutcome(ev('EstablishedEvent', 'establishedConnection'))).toBe('established');
    expect(callOutcome(ev('FailedEvent', 'failedConnection'))).toBe('failed');
    expect(callOutcome(ev('ConnectionClearedEvent', 'droppedConnection'))).toBe('cleared');
    expect(callOutcome(ev('DeliveredEvent', 'connection'))).toBeUndefined();
  });

  it('follows MakeCall to Established (exit 0), to Failed for an unknown number (exit 1), a CSTA error (exit 1)', async () => {
    phones = await startPhones({
      listen: { transport: 'udp', host: '127.0.0.1', port: 0 },
      extension: '1000',
      count: 2,
      profile: 'generic',
      autoAnswer: false,
      media: 'none',
      dtmf: 'rfc4733',
    });
    phones.phones[1]!.control.setAutoAnswer(true);
    const target = `sip:1000@127.0.0.1:${phones.host.listenAddress.port}`;

    const ok = io();
    expect(await runCli(['call', target, '1000', '1001', '--json'], ok)).toBe(0);
    const json = ok.text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(json[0]).toMatchObject({ response: { type: 'MonitorStartResponse' } });
    expect(json[1]).toMatchObject({ response: { type: 'MakeCallResponse', callingDevice: { callID: '1' } } });
    expect(json.slice(2, -1).map((j) => (j['event'] as { type: string }).type)).toEqual([
      'ServiceInitiatedEvent',
      'OriginatedEvent',
      'DeliveredEvent',
      'EstablishedEvent',
    ]);
    expect(json.at(-1)).toEqual({ result: 'established', callID: '1', cause: 'normal' });

    const failed = io();
    const ladder = join(dir, 'call.html');
    expect(await runCli(['call', target, '1000', '1999', '--wait', '5', '--trace', '--ladder', ladder], failed)).toBe(1);
    expect(failed.err.join('')).toMatch(/uacsta UDP 127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+ INFO sip:1000@127\.0\.0\.1:\d+ SIP\/2\.0 · MakeCall /);
    expect(readFileSync(ladder, 'utf8')).toContain('FailedEvent');
    expect(failed.text()).toContain('MakeCall 1000 → 1999: callID=2');
    expect(failed.text()).toContain('FailedEvent cause=destNotObtainable');
    expect(failed.text().trim().split('\n').at(-1)).toBe('failed (destNotObtainable)');

    const refused = io();
    expect(await runCli(['call', target, '1001', '1000'], refused)).toBe(1);
    expect(JSON.parse(refused.text())).toMatchObject({ error: { code: 'CSTA_ERR_SERVICE', category: 'operation', value: 'invalidDeviceID' } });
  }, 30_000);

  it('usage errors say what was expected and what was found (exit 2)', async () => {
    for (const [args, message] of [
      [['call'], 'expected TARGET-URI FROM TO (e.g. sip:1000@127.0.0.1:5070 1000 1001); found 0 arguments'],
      [['call', 'sip:1000@127.0.0.1', '1000'], 'found 2 arguments'],
      [['call', 'http://x', '1000', '1001'], "TARGET-URI expects a sip: or sips: URI with a host (e.g. sip:1001@127.0.0.1:5070); found 'http://x'"],
      [['call', 'sip:1000@127.0.0.1', '1000', '1001', '--wait', '0'], "--wait expects a positive number of seconds; found '0'"],
      [['call', 'sip:1000@127.0.0.1', '1000', '1001', '--transport', 'sctp'], "--transport expects one of udp, tcp, tls, ws; found 'sctp'"],
    ] as const) {
      const t = io();
      expect(await runCli([...args], t)).toBe(2);
      expect(t.err.join('')).toContain(message);
    }
  });
});

describe('uacsta --help and --version', () => {
  it('lists every command with an example, and each command has its own --help with examples', async () => {
    const t = io();
    expect(await runCli(['--help'], t)).toBe(0);
    for (const c of ['demo', 'call', 'phone', 'invoke', 'monitor', 'responder', 'decode', 'encode']) {
      expect(t.text()).toMatch(new RegExp(`^  ${c} +\\S`, 'm'));
      const h = io();
      expect(await runCli([c, '--help'], h)).toBe(0);
      expect(h.text()).toMatch(/^Usage: uacsta /);
      expect(h.text()).toContain('Examples:');
    }
    expect(t.text()).toContain('Exit codes: 0 success; 1 protocol failure');
  });

  it('prints the version of package.json', async () => {
    const t = io();
    expect(await runCli(['--version'], t)).toBe(0);
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(t.text()).toBe(`${pkg.version}\n`);
    expect(packageVersion()).toBe(pkg.version);
  });

  it('an unknown command names the ones there are (exit 2)', async () => {
    const t = io();
    expect(await runCli(['dmeo'], t)).toBe(2);
    expect(t.err.join('')).toContain("unknown command 'dmeo'; expected one of demo, call,");
  });
});
