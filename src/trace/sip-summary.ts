/**
 * What a trace shows of a SIP message without the SIP stack: its start line, Call-ID, CSeq,
 * Content-Type and body, read leniently from the raw bytes.
 *
 * @remarks
 * RFC 3261 §7 (start line, headers, CRLF CRLF, body), §7.3.1 (header folding), §7.3.3 (compact
 * forms: `i` Call-ID, `c` Content-Type). A trace must show whatever went over the wire, even
 * bytes our parser would refuse, so nothing here throws and nothing is validated.
 */

import { summarizeCsta, type CstaSummary } from './csta-summary.js';

/** The parts of one SIP message a trace line or a ladder arrow shows. */
export interface SipSummary {
  /** The first line: `INFO sip:1001@192.0.2.10 SIP/2.0`, `SIP/2.0 200 OK`, or what came. */
  readonly startLine: string;
  readonly kind: 'request' | 'response' | 'unknown';
  /** The method of a request. */
  readonly method?: string;
  /** The status code and reason phrase of a response. */
  readonly status?: number;
  readonly reason?: string;
  readonly callId?: string;
  /** The CSeq value: `2 INFO`. */
  readonly cseq?: string;
  /** The Content-Type value, as sent. */
  readonly contentType?: string;
  /** The whole message as text (UTF-8; bytes that are not become U+FFFD). */
  readonly text: string;
  /** The body as text. */
  readonly body: string;
  /** The CSTA element and key fields of an `application/csta+xml` body (ECMA TR/87 §7). */
  readonly csta?: CstaSummary;
}

const decoder = new TextDecoder('utf-8');
const REQUEST_LINE = /^([A-Za-z!%*._+`'~-]+) (\S+) SIP\/2\.0$/;
const STATUS_LINE = /^SIP\/2\.0 (\d{3})(?: (.*))?$/;
const COMPACT: Readonly<Record<string, string>> = { i: 'call-id', c: 'content-type' };

/** The media type of a Content-Type value, lower case, without parameters (RFC 3261 §20.15). */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Reads what a trace shows of `bytes`; never throws. */
export function summarizeSip(bytes: Uint8Array): SipSummary {
  const text = decoder.decode(bytes);
  const crlf = text.indexOf('\r\n\r\n');
  const lf = text.indexOf('\n\n');
  const split = crlf >= 0 && (lf < 0 || crlf <= lf) ? { at: crlf, len: 4 } : lf >= 0 ? { at: lf, len: 2 } : undefined;
  const head = split === undefined ? text : text.slice(0, split.at);
  const body = split === undefined ? '' : text.slice(split.at + split.len);
  const lines = head.split(/\r?\n/);
  const startLine = (lines[0] ?? '').trim();
  const headers = new Map<string, string>();
  let last: string | undefined;
  for (const line of lines.slice(1)) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== undefined) {
      headers.set(last, `${headers.get(last) ?? ''} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const raw = line.slice(0, colon).trim().toLowerCase();
    const name = COMPACT[raw] ?? raw;
    last = name;
    // the first instance wins: Call-ID, CSeq and Content-Type appear once (RFC 3261 §7.3.1)
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  const contentType = headers.get('content-type');
  const common = {
    startLine,
    text,
    body,
    ...(headers.has('call-id') ? { callId: headers.get('call-id')! } : {}),
    ...(headers.has('cseq') ? { cseq: headers.get('cseq')!.replace(/\s+/g, ' ') } : {}),
    ...(contentType === undefined ? {} : { contentType }),
  };
  const csta = mediaTypeOf(contentType) === 'application/csta+xml' && body.trim() !== '' ? summarizeCsta(body) : undefined;
  const withCsta = csta === undefined ? common : { ...common, csta };
  const request = REQUEST_LINE.exec(startLine);
  if (request !== null) return { ...withCsta, kind: 'request', method: request[1]!.toUpperCase() };
  const status = STATUS_LINE.exec(startLine);
  if (status !== null) {
    return { ...withCsta, kind: 'response', status: Number(status[1]), reason: status[2] ?? '' };
  }
  return { ...withCsta, kind: 'unknown' };
}

/** The label of a message: the method of a request, the status and reason of a response. */
export function sipLabel(s: SipSummary): string {
  if (s.kind === 'request') return s.method!;
  if (s.kind === 'response') return `${s.status} ${s.reason}`.trim();
  return s.startLine.length > 30 ? `${s.startLine.slice(0, 30)}…` : s.startLine || '(empty)';
}

/** A Call-ID cut to its first 8 characters, enough to tell dialogs apart in a trace. */
export function shortCallId(callId: string | undefined): string {
  if (callId === undefined) return '-';
  return callId.length > 8 ? callId.slice(0, 8) : callId;
}
