/**
 * Hostile input to a running simulated phone (issue #10 item 3), a process of its own
 * (`phone-process.ts`, the code of `uacsta phone`), over UDP and TCP on loopback:
 *
 * - the RFC 4475 torture messages (`test/fixtures/rfc4475`, byte-exact): each one the manifest
 *   says must be refused gets exactly that status (400 with the reason phrase naming the rule,
 *   416, 505; RFC 3261 §8.2, §21.4), those it says to drop get nothing, none of the valid ones is
 *   answered as malformed;
 * - XML bombs (billion laughs, an external entity, 8,000-deep nesting, 10,000 elements) in INFOs
 *   of a real session: 400 (the body is refused by the XML reader before any CSTA work,
 *   `src/uacsta/server.ts`), a 63 KB body: a CSTA error; the same dialog serves the next request;
 * - over TCP, a header flood and a message beyond `maxMessageBytes`: the connection is closed,
 *   other connections are served;
 * - afterwards the process is up, a new session and a MakeCall work, and its heap after GC grew
 *   by less than {@link HEAP_BOUND_BYTES}.
 */

import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSipCstaChannel, type SipCstaChannel } from '../../../src/node/sip-csta-channel.js';
import { SipEndpoint } from '../../../src/sip/endpoint.js';
import { TcpTransport } from '../../../src/sip/transport/node/tcp.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import { UserAgent } from '../../../src/sip/ua/user-agent.js';
import { CstaClient, type CstaEvent } from '../../../src/uacsta/client.js';
import { phoneStats, ROOT, runPhoneProcess, sleep, until, type Child } from '../faults/support.js';

/** Most the phone's heap (after GC) may grow across one barrage. */
const HEAP_BOUND_BYTES = 16 * 1024 * 1024;
/** How long to wait for the answers to one torture message. */
const WINDOW_MS = 300;
/** A loopback address of our own for the UDP torture: its responses go to sent-by ports 5060/5070/5050 there. */
const TORTURE_HOST = '127.0.0.77';

interface Torture {
  readonly file: string;
  readonly expect: 'accept' | 'respond' | 'drop';
  readonly status?: number;
  readonly reason?: string;
  readonly check?: { readonly kind?: string };
}
const FIXTURES = join(ROOT, 'test', 'fixtures', 'rfc4475');
const TORTURE: readonly Torture[] = (JSON.parse(readFileSync(join(FIXTURES, 'manifest.json'), 'utf8')) as { messages: Torture[] }).messages;
const bytesOf = (t: Torture): Buffer => readFileSync(join(FIXTURES, t.file));

/**
 * What ties a response to the torture message it answers: the message's Call-ID, else (insuf.dat
 * has none) its top Via branch. Needed on UDP, where the 404s to earlier INVITEs are still being
 * retransmitted (Timer G) while later messages are sent, since nobody ACKs them.
 */
function keyOf(t: Torture): string {
  const text = bytesOf(t).toString('latin1');
  const callId = /^(?:call-id|i)[ \t]*:[ \t]*(\S+)/im.exec(text)?.[1];
  return callId ?? /branch=([^;\s,]+)/i.exec(text)?.[1] ?? t.file;
}

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
});

async function startPhone(listen: string): Promise<{ child: Child; port: number }> {
  const child = runPhoneProcess(listen);
  cleanups.push(() => child.kill());
  const port = Number((await child.waitFor(/^listening (?:udp|tcp):127\.0\.0\.1:(\d+) /m))[1]);
  return { child, port };
}

/** A controller UA over `protocol`, opening sessions to phone 1000 of the process on `port`. */
async function controller(protocol: 'udp' | 'tcp', port: number): Promise<{ open(): Promise<{ channel: SipCstaChannel; client: CstaClient; events: CstaEvent[] }> }> {
  const transport =
    protocol === 'udp' ? await UdpTransport.listen({ host: '127.0.0.1', port: 0 }) : await TcpTransport.listen({ host: '127.0.0.1', port: 0 });
  const endpoint = new SipEndpoint({ transports: [transport], timers: { T1: 100, T2: 400 } });
  const suffix = protocol === 'tcp' ? ';transport=tcp' : '';
  const ua = new UserAgent({ endpoint, aor: 'sip:cti@127.0.0.1', contact: `sip:cti@127.0.0.1:${transport.local.port}${suffix}`, timers: { T1: 100, T2: 400 } });
  cleanups.push(() => endpoint.close(), () => ua.close());
  return {
    async open() {
      const channel = await openSipCstaChannel(ua, `sip:1000@127.0.0.1:${port}${suffix}`);
      const client = new CstaClient({ channel });
      cleanups.push(() => client.close());
      const events: CstaEvent[] = [];
      client.on('event', (e) => events.push(e));
      return { channel, client, events };
    },
  };
}

/** A session, a monitor on 1000 and a MakeCall to 1001 (auto-answer) that reaches Established. */
async function sessionAndMakeCall(ctl: Awaited<ReturnType<typeof controller>>): Promise<{ channel: SipCstaChannel; client: CstaClient }> {
  const { channel, client, events } = await ctl.open();
  const device = 'sip:1000@127.0.0.1';
  await client.request({ type: 'MonitorStart', monitorObject: { deviceObject: device } });
  const made = await client.request({ type: 'MakeCall', callingDevice: device, calledDirectoryNumber: '1001', autoOriginate: 'doNotPrompt' });
  expect(made.callingDevice.callID).toBeTruthy();
  await until(() => events.some((e) => e.type === 'EstablishedEvent'), 'EstablishedEvent after MakeCall', 10_000);
  await client.request({ type: 'ClearConnection', connectionToBeCleared: made.callingDevice });
  return { channel, client };
}

const statusOf = (text: string): number | undefined => {
  const m = /^SIP\/2\.0 (\d{3}) /.exec(text);
  return m === null ? undefined : Number(m[1]);
};

// ---- XML bombs ------------------------------------------------------------------------------

const NS = 'http://www.ecma-international.org/standards/ecma-323/csta/ed3';
const BOMBS: ReadonlyArray<readonly [string, string]> = [
  [
    'billion laughs (nested internal entities)',
    `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">` +
      Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? '' : i};`.repeat(10)}">`).join('') +
      `]><MakeCall xmlns="${NS}"><callingDevice>&lol9;</callingDevice><calledDirectoryNumber>1001</calledDirectoryNumber></MakeCall>`,
  ],
  [
    'external entity (XXE)',
    `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><MakeCall xmlns="${NS}"><callingDevice>&x;</callingDevice><calledDirectoryNumber>1001</calledDirectoryNumber></MakeCall>`,
  ],
  // 8,000 deep: 56 KB, the most a datagram carries
  ['8,000-deep nesting', `<MakeCall xmlns="${NS}">${'<a>'.repeat(8_000)}${'</a>'.repeat(8_000)}</MakeCall>`],
  ['10,000 elements', `<MakeCall xmlns="${NS}"><callingDevice>1000</callingDevice><calledDirectoryNumber>1001</calledDirectoryNumber>${'<x/>'.repeat(10_000)}</MakeCall>`],
  // the largest body a datagram carries: SIP's maxMessageBytes (65,535) is reached before the XML
  // reader's maxXmlBytes (65,536); a larger message is the TCP case below (connection closed)
  ['a 63,000-byte comment in an incomplete MakeCall', `<MakeCall xmlns="${NS}"><callingDevice>1000</callingDevice><!--${' '.repeat(63_000)}--></MakeCall>`],
];

/** Sends each bomb in an INFO of `channel`: each is refused, and a valid request after it works. */
async function bombard(channel: SipCstaChannel, client: CstaClient): Promise<string[]> {
  const seen: string[] = [];
  for (const [name, body] of BOMBS) {
    let answer: string;
    try {
      const res = await channel.send(body);
      answer = res.status === 200 && /CSTAErrorCode/.test(res.body) ? '200 CSTAErrorCode' : String(res.status);
    } catch (error) {
      answer = `no answer (${(error as { code?: string }).code ?? String(error)})`;
    }
    seen.push(`${name}: ${answer}`);
    // the dialog still works
    await client.request({ type: 'SetDoNotDisturb', device: 'sip:1000@127.0.0.1', doNotDisturbOn: seen.length % 2 === 1 });
  }
  return seen;
}

describe('hostile input to a running phone over UDP', () => {
  it('answers the RFC 4475 torture set as the manifest says, refuses XML bombs in a session, keeps serving with a bounded heap', { timeout: 120_000 }, async () => {
    const { child, port } = await startPhone('udp:127.0.0.1:0');
    const ctl = await controller('udp', port);
    await sessionAndMakeCall(ctl);
    const before = await phoneStats(child);

    // responses go to the received address (ours) at the Via's sent-by port (RFC 3261 §18.2.2)
    const sockets: UdpSocket[] = [];
    const answers: string[] = [];
    for (const p of [5060, 5070, 5050]) {
      const s = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(p, TORTURE_HOST, () => resolve());
      });
      s.on('message', (m) => answers.push(m.toString('latin1')));
      sockets.push(s);
      cleanups.push(() => s.close());
    }
    const results: Array<{ t: Torture; statuses: number[] }> = [];
    for (const t of TORTURE) {
      sockets[0]!.send(bytesOf(t), port, '127.0.0.1');
      await sleep(WINDOW_MS);
    }
    await sleep(WINDOW_MS);
    for (const t of TORTURE) {
      const key = keyOf(t);
      const mine = answers.filter((a) => a.includes(key));
      // one status per message (retransmissions of the same answer counted once)
      results.push({ t, statuses: [...new Set(mine.map(statusOf).filter((s): s is number => s !== undefined))] });
    }
    const wrong: string[] = [];
    for (const { t, statuses } of results) {
      if (t.expect === 'respond' && !statuses.includes(t.status!)) wrong.push(`${t.file}: wanted ${t.status}, got [${statuses.join(',')}]`);
      if (t.expect === 'drop' && statuses.length > 0) wrong.push(`${t.file}: wanted no answer, got [${statuses.join(',')}]`);
      if (t.expect === 'accept' && statuses.some((s) => s === 400 || s === 416 || s === 505)) wrong.push(`${t.file}: valid, got [${statuses.join(',')}]`);
    }
    expect(wrong).toEqual([]);
    console.info('[hostile udp] torture answers: ' + results.map(({ t, statuses }) => `${t.file}=${statuses.join('/') || '-'}`).join(' '));

    // XML bombs inside a real session
    const { channel, client } = await ctl.open();
    const bombs = await bombard(channel, client);
    console.info('[hostile udp] bombs: ' + bombs.join('; '));
    expect(bombs.every((b) => /: (400|200 CSTAErrorCode)$/.test(b))).toBe(true);

    // still serving: a new session and a MakeCall
    expect(child.process.exitCode).toBeNull();
    await sessionAndMakeCall(ctl);
    const after = await phoneStats(child);
    console.info(`[hostile udp] heap after GC: before ${before.heapUsed} B, after ${after.heapUsed} B (+${after.heapUsed - before.heapUsed}); rss ${after.rss} B`);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(HEAP_BOUND_BYTES);
  });
});

/** Sends `bytes` on a fresh TCP connection; resolves with what came back and whether it closed. */
async function tcpExchange(port: number, bytes: Buffer | Uint8Array, waitMs = WINDOW_MS): Promise<{ received: string; closed: boolean }> {
  const socket = connect({ host: '127.0.0.1', port });
  let received = '';
  let closed = false;
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  await new Promise<void>((resolve) => socket.write(bytes, () => resolve()));
  const end = Date.now() + waitMs;
  while (!closed && statusOf(received) === undefined && Date.now() < end) await sleep(10);
  socket.destroy();
  return { received, closed };
}

function options(port: number, extra: readonly string[] = [], body = ''): Buffer {
  return Buffer.from(
    [
      `OPTIONS sip:1000@127.0.0.1:${port};transport=tcp SIP/2.0`,
      `Via: SIP/2.0/TCP 127.0.0.1:1;branch=z9hG4bK${Math.random().toString(36).slice(2)}`,
      'Max-Forwards: 70',
      'From: <sip:probe@example.invalid>;tag=p1',
      'To: <sip:1000@127.0.0.1>',
      `Call-ID: probe-${Math.random().toString(36).slice(2)}`,
      'CSeq: 1 OPTIONS',
      ...extra,
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n'),
    'latin1',
  );
}

/** Torture messages whose fault is in Content-Length: on a stream it is the framing itself. */
const FRAMING = new Set(['clerr.dat', 'ncl.dat', 'mcl01.dat']);

describe('hostile input to a running phone over TCP', () => {
  it('answers the torture set, closes flooding and oversize connections, refuses XML bombs, keeps serving with a bounded heap', { timeout: 120_000 }, async () => {
    const { child, port } = await startPhone('tcp:127.0.0.1:0');
    const ctl = await controller('tcp', port);
    await sessionAndMakeCall(ctl);
    const before = await phoneStats(child);

    const results: Array<{ t: Torture; status: number | undefined; closed: boolean }> = [];
    for (const t of TORTURE) {
      const r = await tcpExchange(port, bytesOf(t));
      results.push({ t, status: statusOf(r.received), closed: r.closed });
    }
    const wrong: string[] = [];
    for (const { t, status, closed } of results) {
      if (t.expect === 'respond' && !FRAMING.has(t.file) && status !== t.status) wrong.push(`${t.file}: wanted ${t.status}, got ${status ?? (closed ? 'close' : '-')}`);
      // a framing fault: the stream cannot be trusted past it; an answer of the manifest's, or the connection ends, or it waits for the missing bytes (the message timeout ends it)
      if (t.expect === 'respond' && FRAMING.has(t.file) && status !== undefined && status !== t.status) wrong.push(`${t.file}: wanted ${t.status} or nothing, got ${status}`);
      if (t.expect === 'drop' && status !== undefined) wrong.push(`${t.file}: wanted no answer, got ${status}`);
      if (t.expect === 'accept' && (status === 400 || status === 416 || status === 505)) wrong.push(`${t.file}: valid, got ${status}`);
    }
    expect(wrong).toEqual([]);
    console.info('[hostile tcp] torture answers: ' + results.map(({ t, status, closed }) => `${t.file}=${status ?? (closed ? 'close' : '-')}`).join(' '));

    // header flood: 2,000 headers (beyond maxHeaderCount and maxHeaderSectionBytes) closes the connection
    const flood = await tcpExchange(port, options(port, Array.from({ length: 2_000 }, (_, i) => `X-Flood-${i}: ${'f'.repeat(20)}`)), 3_000);
    expect(flood.closed || statusOf(flood.received) !== undefined && statusOf(flood.received)! >= 400).toBe(true);
    // an oversize message: Content-Length 10 MB and 1 MB of it sent
    const big = await tcpExchange(port, Buffer.concat([options(port, [], '').subarray(0, -'Content-Length: 0\r\n\r\n'.length), Buffer.from('Content-Length: 10000000\r\n\r\n'), Buffer.alloc(1_000_000, 0x41)]), 3_000);
    expect(big.closed).toBe(true);
    // other connections are served
    const probe = await tcpExchange(port, options(port), 3_000);
    expect(statusOf(probe.received)).toBe(200);
    console.info(`[hostile tcp] header flood: ${flood.closed ? 'closed' : ''} ${statusOf(flood.received) ?? ''}; 10 MB message: ${big.closed ? 'closed' : 'open'} ${statusOf(big.received) ?? ''}; OPTIONS after: ${statusOf(probe.received)}`);

    const { channel, client } = await ctl.open();
    const bombs = await bombard(channel, client);
    console.info('[hostile tcp] bombs: ' + bombs.join('; '));
    expect(bombs.every((b) => /: (400|200 CSTAErrorCode)$/.test(b))).toBe(true);

    expect(child.process.exitCode).toBeNull();
    await sessionAndMakeCall(ctl);
    const after = await phoneStats(child);
    console.info(`[hostile tcp] heap after GC: before ${before.heapUsed} B, after ${after.heapUsed} B (+${after.heapUsed - before.heapUsed}); rss ${after.rss} B`);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(HEAP_BOUND_BYTES);
  });
});
