/**
 * One record per message when several elements of the same process trace the same exchange.
 *
 * @remarks
 * When the demo traces the controller and the phones, each message is seen twice: sent by one
 * element, received by the other. A ladder or a capture wants it once. On a connection the
 * receiver sees the sender's ephemeral port while the sender records its listening address (RFC
 * 3261 §18: responses go back on the connection); matching the first message of the connection
 * teaches that the two name the same element, so both directions of the flow get one address.
 */

import type { TraceAddress, TraceRecord } from './record.js';

/** How many recent unmatched sent records a received one is compared with. */
const MATCH_WINDOW = 1_024;

const keyOf = (a: TraceAddress): string => `${a.host.toLowerCase()}|${a.port}`;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The records in time order, each message once: a received record is dropped when a traced
 * element sent the same bytes over the same transport to the receiver's address; addresses a
 * match showed to be another name of a traced element (an ephemeral port) are replaced by it.
 */
export function mergeTrace(records: readonly TraceRecord[]): TraceRecord[] {
  const sorted = records.map((r, i) => ({ r, i })).sort((a, b) => a.r.time - b.r.time || a.i - b.i).map((x) => x.r);
  const alias = new Map<string, TraceAddress>();
  const norm = (a: TraceAddress): TraceAddress => alias.get(keyOf(a)) ?? a;
  const unmatched: TraceRecord[] = [];
  const kept: TraceRecord[] = [];
  for (const r of sorted) {
    if (r.direction === 'out') {
      unmatched.push(r);
      if (unmatched.length > MATCH_WINDOW) unmatched.shift();
      kept.push(r);
      continue;
    }
    const at = unmatched.findIndex(
      (o) =>
        o.transport === r.transport &&
        keyOf(norm(o.remote)) === keyOf(norm(r.local)) &&
        sameBytes(o.bytes, r.bytes),
    );
    if (at < 0) {
      kept.push(r);
      continue;
    }
    const sent = unmatched[at]!;
    unmatched.splice(at, 1);
    if (keyOf(norm(r.remote)) !== keyOf(sent.local)) alias.set(keyOf(r.remote), sent.local);
  }
  return kept.map((r) => ({ ...r, local: norm(r.local), remote: norm(r.remote) }));
}
