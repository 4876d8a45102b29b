/**
 * The demo's ladder on stdout: one line per SIP message, written by its sender, with the party
 * names on both ends and the CSTA meaning of the body beside the method or status.
 *
 * @remarks
 * ECMA TR/87 §7: a CSTA request rides in an INFO, its response in that INFO's 200 OK, events in
 * INFOs from the phone; the session itself is an INVITE dialog without SDP. Calls between the
 * phones are INVITE dialogs with SDP (RFC 3264), holds re-INVITEs with `a=sendonly` (RFC 3264
 * §8.4). The line shows what of that each message carries; the `--trace` line
 * (`src/trace/format-line.ts`) is the one with addresses, Call-ID and CSeq.
 */

import { cstaLabel } from '../trace/csta-summary.js';
import { formatAddress, type TraceAddress } from '../trace/record.js';
import { mediaTypeOf, summarizeSip } from '../trace/sip-summary.js';
import { printable } from '../trace/format-line.js';

/** One message as the demo prints it. */
export interface DemoLadderMessage {
  /** Milliseconds since the demo's first message. */
  readonly at: number;
  readonly from: string;
  readonly to: string;
  readonly bytes: Uint8Array;
}

/** Widest `from → to` column. */
const PARTIES_WIDTH = 22;
/** Widest method or status column. */
const LABEL_WIDTH = 14;

/** `sip:1000@127.0.0.1:5070;transport=udp` → `1000`: the extension is what a reader follows. */
export function shortDevices(text: string): string {
  return text.replace(/\bsips?:([^@\s;,)>]+)@[^\s;,)>]+(?:;[^\s,)>]*)?/g, '$1');
}

/** The SDP direction of a body (RFC 3264 §6.1; `sendrecv` when none is given). */
function sdpDirection(body: string): string {
  const m = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/m.exec(body);
  return m === null ? 'sendrecv' : m[1]!;
}

/**
 * The meaning column: the CSTA element and its key fields, `SDP sendonly` for an offer or
 * answer, else nothing.
 */
export function demoMeaning(bytes: Uint8Array): string {
  const s = summarizeSip(bytes);
  if (s.csta !== undefined) return shortDevices(cstaLabel(s.csta));
  const type = mediaTypeOf(s.contentType);
  if (type === 'application/sdp' && s.body.trim() !== '') return `SDP ${sdpDirection(s.body)}`;
  if (type !== '' && s.body.trim() !== '') return type;
  return '';
}

/**
 * One ladder line, without a line end: `  +0.012s  controller → 1000      INFO      MakeCall …`.
 */
export function formatDemoLine(m: DemoLadderMessage): string {
  const s = summarizeSip(m.bytes);
  const label = s.kind === 'request' ? s.method! : s.kind === 'response' ? `${s.status} ${s.reason ?? ''}`.trim() : '?';
  const time = `+${(m.at / 1000).toFixed(3)}s`.padStart(9);
  const parties = `${m.from} → ${m.to}`.padEnd(PARTIES_WIDTH);
  const meaning = demoMeaning(m.bytes);
  return printable(`${time}  ${parties}${label.padEnd(LABEL_WIDTH)}${meaning}`.trimEnd(), false);
}

/** Names the parties of the demo by their address; an unknown one shows as `host:port`. */
export class DemoParties {
  readonly #names = new Map<string, string>();

  add(address: TraceAddress, name: string): void {
    this.#names.set(formatAddress(address), name);
  }

  name(address: TraceAddress): string {
    return this.#names.get(formatAddress(address)) ?? formatAddress(address);
  }
}
