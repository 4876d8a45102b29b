/**
 * The CLI's trace flags and sink: what `--trace`, `--trace=full`, `--ladder FILE` and
 * `--pcap FILE` take out of the arguments, what the sink prints, keeps and writes.
 */

import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/args.js';
import type { CliIo } from '../../../src/cli/io.js';
import { createTraceSink, splitTraceArgs } from '../../../src/cli/trace-options.js';
import type { SipEndpointTraceEvent } from '../../../src/sip/endpoint.js';
import type { Transport } from '../../../src/sip/transport/transport.js';
import { request, response, T0 } from './records.js';

function io(): CliIo & { err: string[] } {
  const err: string[] = [];
  return { err, stdout: () => {}, stderr: (t) => void err.push(t), readInput: () => Promise.reject(new Error('no input')) };
}

const transport = { protocol: 'udp', local: { host: '0.0.0.0', port: 5070 }, sentBy: { host: '192.0.2.1', port: 5070 } } as unknown as Transport;
const PHONE = { protocol: 'udp' as const, host: '192.0.2.10', port: 5060 };

describe('splitTraceArgs', () => {
  it('takes the trace flags out and leaves the rest in order', () => {
    expect(splitTraceArgs(['sip:a@b', '--trace', '--ladder', 'x.html', '--timeout', '3', '--pcap=c.pcap'])).toEqual({
      args: ['sip:a@b', '--timeout', '3'],
      trace: { detail: 'summary', ladder: 'x.html', pcap: 'c.pcap' },
    });
    expect(splitTraceArgs(['--trace=full']).trace).toEqual({ detail: 'full' });
    expect(splitTraceArgs(['a', '--', '--trace'])).toEqual({ args: ['a', '--', '--trace'], trace: {} });
  });

  it('refuses what it cannot read, saying what it expected', () => {
    expect(() => splitTraceArgs(['--trace=verbose'])).toThrow(new UsageError(`--trace expects nothing or =full (e.g. --trace=full); found '--trace=verbose'`));
    expect(() => splitTraceArgs(['--ladder'])).toThrow(new UsageError('--ladder expects a FILE (e.g. --ladder call.html); found nothing'));
    expect(() => splitTraceArgs(['--pcap', '--trace'])).toThrow(new UsageError(`--pcap expects a FILE (e.g. --pcap call.pcap); found '--trace'`));
    expect(() => splitTraceArgs(['--pcap='])).toThrow(UsageError);
    expect(() => splitTraceArgs(['--trace', '--trace=full'])).toThrow(new UsageError('--trace given twice'));
  });
});

describe('createTraceSink', () => {
  it('adds nothing to the endpoint when no flag was given', () => {
    const sink = createTraceSink({}, io());
    expect(sink.enabled).toBe(false);
    expect(sink.endpointOptions([transport], 'x')).toEqual({});
  });

  it('prints a line per message in and out, with the sent-by for an unspecified bind address', () => {
    const out = io();
    let t = T0;
    const sink = createTraceSink({ detail: 'summary' }, out, { now: () => t });
    const hook = sink.endpointOptions([transport], 'cti').trace!;
    hook({ type: 'sent', bytes: request('OPTIONS', 1), target: PHONE, flow: undefined });
    t += 5;
    hook({ type: 'received', bytes: response('200 OK', 1, 'OPTIONS'), source: PHONE, flow: undefined });
    hook({ type: 'dropped', reason: 'x', source: PHONE });
    expect(out.err).toEqual([
      '03:04:05.678 cti UDP 192.0.2.1:5070 → 192.0.2.10:5060 OPTIONS sip:1001@127.0.0.1:5080 SIP/2.0 · Call-ID a84b4c76 · CSeq 1 OPTIONS\n',
      '03:04:05.683 cti UDP 192.0.2.1:5070 ← 192.0.2.10:5060 SIP/2.0 200 OK · Call-ID a84b4c76 · CSeq 1 OPTIONS\n',
    ]);
    expect(sink.records).toEqual([]); // nothing kept without a file to write
  });

  it("calls the caller's own hook first, and never throws itself", () => {
    const seen: string[] = [];
    const sink = createTraceSink({ detail: 'summary' }, { ...io(), stderr: () => { throw new Error('closed pipe'); } });
    const hook = sink.endpointOptions([transport], undefined, (e) => seen.push(e.type)).trace!;
    const event: SipEndpointTraceEvent = { type: 'sent', bytes: request('OPTIONS', 1), target: PHONE, flow: undefined };
    expect(() => hook(event)).not.toThrow();
    expect(seen).toEqual(['sent']);
  });

  it('writes the ladder and the pcap on finish, once, each message once', async () => {
    const out = io();
    const files = new Map<string, Uint8Array | string>();
    const sink = createTraceSink({ ladder: 'l.html', pcap: 'c.pcap' }, out, {
      now: () => T0,
      writeFile: async (p, d) => void files.set(p, d),
    });
    const a = sink.endpointOptions([transport], 'cti').trace!;
    const bytes = request('OPTIONS', 1);
    a({ type: 'sent', bytes, target: PHONE, flow: undefined });
    bytes[0] = 0x58; // the sink keeps its own copy
    expect(await sink.finish()).toBe(true);
    expect(await sink.finish()).toBe(true);
    expect(out.err).toEqual(['uacsta: wrote l.html (ladder, 1 messages)\n', 'uacsta: wrote c.pcap (pcap, 1 messages, 1 packets)\n']);
    expect(String(files.get('l.html'))).toContain('OPTIONS (UDP)');
    expect((files.get('c.pcap') as Uint8Array).length).toBe(24 + 16 + 14 + 20 + 8 + bytes.length);
  });

  it('keeps at most maxRecords messages, the latest, and says how many were left out', async () => {
    const out = io();
    const files = new Map<string, Uint8Array | string>();
    const sink = createTraceSink({ ladder: 'l.html' }, out, { maxRecords: 8, writeFile: async (p, d) => void files.set(p, d) });
    const hook = sink.endpointOptions([transport]).trace!;
    for (let i = 1; i <= 20; i++) hook({ type: 'sent', bytes: request('OPTIONS', i), target: PHONE, flow: undefined });
    expect(sink.records.length).toBeLessThanOrEqual(9);
    expect(sink.records.at(-1)!.bytes).toEqual(request('OPTIONS', 20));
    await sink.finish();
    expect(out.err[0]).toMatch(/^uacsta: wrote l.html \(ladder, \d+ messages \(the first \d+ messages were left out: TRACE_LIMITS.maxRecords = 8\)\)\n$/);
  });

  it('reports a file it cannot write and resolves false', async () => {
    const out = io();
    const sink = createTraceSink({ pcap: '/nonexistent/dir/c.pcap' }, out);
    expect(await sink.finish()).toBe(false);
    expect(out.err[0]).toMatch(/^uacsta: cannot write \/nonexistent\/dir\/c.pcap \(pcap, 0 messages, 0 packets\): ENOENT/);
  });
});
