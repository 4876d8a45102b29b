/**
 * The `--trace` line: time (UTC), party, transport, addresses and arrow, start line (RFC 3261
 * §7.1, §7.2), the CSTA element and key fields of an `application/csta+xml` body (ECMA TR/87),
 * short Call-ID (§20.8), CSeq (§20.16).
 */

import { describe, expect, it } from 'vitest';
import { formatTime, formatTraceLine } from '../../../src/trace/format-line.js';
import type { TraceRecord } from '../../../src/trace/record.js';
import { controllerView, CONTROLLER, PHONE, T0, utf8 } from './records.js';

const [invite, ok, , info, infoOk, event] = controllerView();

describe('formatTraceLine', () => {
  it('writes a sent request with → and the local address first', () => {
    expect(formatTraceLine(invite!)).toBe(
      '03:04:05.678 controller UDP 127.0.0.1:5070 → 127.0.0.1:5080 INVITE sip:1001@127.0.0.1:5080 SIP/2.0 · Call-ID a84b4c76 · CSeq 1 INVITE\n',
    );
  });

  it('writes a received response with ←', () => {
    expect(formatTraceLine(ok!)).toBe(
      '03:04:05.688 controller UDP 127.0.0.1:5070 ← 127.0.0.1:5080 SIP/2.0 200 OK · Call-ID a84b4c76 · CSeq 1 INVITE\n',
    );
  });

  it('names the CSTA element and its key fields of a CSTA body', () => {
    expect(formatTraceLine(info!)).toContain(' INFO sip:1001@127.0.0.1:5080 SIP/2.0 · MakeCall callingDevice=1001 calledDirectoryNumber=1002 · Call-ID a84b4c76 · CSeq 2 INFO\n');
    expect(formatTraceLine(infoOk!)).toContain('SIP/2.0 200 OK · MakeCallResponse callID=c1 deviceID=1001 · ');
    // a namespace prefix does not hide the names; the first of each field is shown
    expect(formatTraceLine(event!)).toContain('← 127.0.0.1:5080 INFO sip:1001@127.0.0.1:5080 SIP/2.0 · DeliveredEvent callID=c1 deviceID=1002 monitorCrossRefID=43 cause=newCall · ');
  });

  it('adds the whole message after the line with full, CRLF as line ends, and a blank line', () => {
    const full = formatTraceLine(info!, 'full');
    const lines = full.split('\n');
    expect(lines[0]).toBe(formatTraceLine(info!).trimEnd());
    expect(lines[1]).toBe('INFO sip:1001@127.0.0.1:5080 SIP/2.0');
    expect(full).not.toContain('\r');
    expect(full).toContain('\nContent-Type: application/csta+xml\n');
    expect(full.endsWith('</MakeCall>\n\n')).toBe(true);
  });

  it('reads compact headers, and shows unreadable bytes without failing', () => {
    const compact: TraceRecord = {
      time: T0,
      direction: 'in',
      transport: 'tcp',
      local: CONTROLLER,
      remote: PHONE,
      bytes: utf8.encode('MESSAGE sip:x@y SIP/2.0\r\ni: short\r\nCSeq:  7   MESSAGE\r\nc: application/csta+xml;charset=utf-8\r\n\r\n<SnapshotDevice xmlns="x"><snapshotObject>1001</snapshotObject></SnapshotDevice>'),
    };
    expect(formatTraceLine(compact)).toBe(
      '03:04:05.678 TCP 127.0.0.1:5070 ← 127.0.0.1:5080 MESSAGE sip:x@y SIP/2.0 · SnapshotDevice · Call-ID short · CSeq 7 MESSAGE\n',
    );
    const garbage: TraceRecord = { ...compact, bytes: Uint8Array.of(0xff, 0xfe, 0x00, 0x41) };
    expect(formatTraceLine(garbage)).toBe('03:04:05.678 TCP 127.0.0.1:5070 ← 127.0.0.1:5080 \ufffd\ufffd\\x00A · Call-ID -\n');
    expect(formatTraceLine({ ...compact, bytes: new Uint8Array(0) })).toContain(' (no start line) · Call-ID -\n');
  });

  it('writes control characters from the network as \\xNN, so they cannot drive the terminal', () => {
    const hostile: TraceRecord = {
      ...invite!,
      bytes: utf8.encode('INFO sip:a@b SIP/2.0\r\nCall-ID: x\u001b[2J\r\nContent-Type: text/plain\r\n\r\nhi\u001b]0;owned\u0007\r\n'),
    };
    const line = formatTraceLine(hostile, 'full');
    expect(line).not.toMatch(/[\u001b\u0007]/);
    expect(line).toContain('Call-ID x\\x1b[2J');
    expect(line).toContain('hi\\x1b]0;owned\\x07\n');
  });

  it('writes IPv6 addresses in brackets and the time in UTC with milliseconds', () => {
    const v6: TraceRecord = { ...invite!, local: { host: '::1', port: 5070 }, remote: { host: '::1', port: 5080 } };
    expect(formatTraceLine(v6)).toContain(' UDP [::1]:5070 → [::1]:5080 ');
    expect(formatTime(Date.UTC(2024, 5, 1, 23, 59, 59, 7) + 0.9)).toBe('23:59:59.007');
  });
});
