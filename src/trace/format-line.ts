/**
 * The `--trace` text: one line per SIP message, or the line and the whole message.
 *
 * @remarks
 * The line carries what a SIP reader scans for (RFC 3261 §7.1 request line, §7.2 status line,
 * §20.8 Call-ID, §20.16 CSeq) and, for an `application/csta+xml` body, the CSTA element and its
 * key fields (ECMA TR/87 §7: every CSTA message rides in a SIP body). Time is UTC.
 */

import { cstaLabel } from './csta-summary.js';
import { formatAddress, type TraceRecord } from './record.js';
import { shortCallId, summarizeSip } from './sip-summary.js';

/** How much `--trace` prints: one line per message, or the line and the whole message. */
export type TraceDetail = 'summary' | 'full';

/** `HH:MM:SS.mmm` in UTC. */
export function formatTime(ms: number): string {
  const d = new Date(Math.floor(ms));
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}`;
}

/**
 * Control characters written as `\xNN` (tab and line feed kept): a message from the network
 * must not drive the terminal it is printed on (ANSI escape sequences).
 */
export function printable(text: string, keepNewlines: boolean): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\t' || (keepNewlines && c === '\n')) return c;
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/**
 * One trace line: time, party, transport, local address, arrow (`→` sent, `←` received), remote
 * address, start line, CSTA element and key fields, short Call-ID, CSeq. With `'full'`, the
 * whole message follows (CRLF shown as line ends) and a blank line. Always ends with `\n`.
 *
 * @example
 * formatTraceLine(record)
 * // '10:15:02.123 controller UDP 127.0.0.1:5070 → 127.0.0.1:5080 INFO sip:1001@127.0.0.1:5080 SIP/2.0 · MakeCall callingDevice=1001 · Call-ID 3f2a9c1e · CSeq 2 INFO\n'
 */
export function formatTraceLine(record: TraceRecord, detail: TraceDetail = 'summary'): string {
  const s = summarizeSip(record.bytes);
  const parts = [
    formatTime(record.time),
    ...(record.party === undefined ? [] : [record.party]),
    record.transport.toUpperCase(),
    formatAddress(record.local),
    record.direction === 'out' ? '→' : '←',
    formatAddress(record.remote),
    s.startLine === '' ? '(no start line)' : s.startLine,
  ];
  const extra = [
    ...(s.csta === undefined ? [] : [cstaLabel(s.csta)]),
    `Call-ID ${shortCallId(s.callId)}`,
    ...(s.cseq === undefined ? [] : [`CSeq ${s.cseq}`]),
  ];
  const line = printable(`${parts.join(' ')} · ${extra.join(' · ')}`, false) + '\n';
  if (detail === 'summary') return line;
  const body = printable(s.text.replace(/\r\n/g, '\n'), true);
  return `${line}${body}${body.endsWith('\n') ? '' : '\n'}\n`;
}
