/**
 * Each message once when both ends trace it: the received copy of a message a traced element
 * sent is left out, and the ephemeral port a connection came from is known as its sender.
 */

import { describe, expect, it } from 'vitest';
import { mergeTrace } from '../../../src/trace/merge.js';
import type { TraceRecord } from '../../../src/trace/record.js';
import { CONTROLLER, PHONE, request, response, T0 } from './records.js';

const rec = (time: number, party: string, direction: 'in' | 'out', local: typeof PHONE, remote: typeof PHONE, bytes: Uint8Array, transport: TraceRecord['transport'] = 'udp'): TraceRecord => ({
  time: T0 + time,
  party,
  direction,
  transport,
  local,
  remote,
  bytes,
});

describe('mergeTrace', () => {
  it('keeps the sent copy of a message both ends traced, and orders by time', () => {
    const invite = request('INVITE', 1);
    const ok = response('200 OK', 1, 'INVITE');
    const merged = mergeTrace([
      rec(0, 'controller', 'out', CONTROLLER, PHONE, invite),
      rec(3, 'controller', 'in', CONTROLLER, PHONE, ok),
      rec(1, 'phone', 'in', PHONE, CONTROLLER, invite),
      rec(2, 'phone', 'out', PHONE, CONTROLLER, ok),
    ]);
    expect(merged.map((r) => `${r.party} ${r.direction}`)).toEqual(['controller out', 'phone out']);
  });

  it('keeps a retransmission: two sends, two receipts, two messages', () => {
    const invite = request('INVITE', 1);
    const merged = mergeTrace([
      rec(0, 'controller', 'out', CONTROLLER, PHONE, invite),
      rec(1, 'phone', 'in', PHONE, CONTROLLER, invite),
      rec(500, 'controller', 'out', CONTROLLER, PHONE, invite),
      rec(501, 'phone', 'in', PHONE, CONTROLLER, invite),
    ]);
    expect(merged.map((r) => r.time - T0)).toEqual([0, 500]);
  });

  it('keeps what only one end saw, and does not pair different transports or bytes', () => {
    const invite = request('INVITE', 1);
    const merged = mergeTrace([
      rec(0, 'controller', 'out', CONTROLLER, PHONE, invite, 'tcp'),
      rec(1, 'phone', 'in', PHONE, CONTROLLER, invite, 'udp'),
      rec(2, 'phone', 'in', PHONE, CONTROLLER, request('INVITE', 2), 'tcp'),
    ]);
    expect(merged).toHaveLength(3);
  });

  it('names a connection by the listening address of the element that opened it', () => {
    const ephemeral = { host: '127.0.0.1', port: 40_123 };
    const info = request('INFO', 2, 'TCP');
    const ok = response('200 OK', 2, 'INFO', 'TCP');
    const merged = mergeTrace([
      rec(0, 'controller', 'out', CONTROLLER, PHONE, info, 'tcp'),
      rec(1, 'phone', 'in', PHONE, ephemeral, info, 'tcp'),
      rec(2, 'phone', 'out', PHONE, ephemeral, ok, 'tcp'),
      rec(3, 'controller', 'in', CONTROLLER, PHONE, ok, 'tcp'),
    ]);
    expect(merged.map((r) => [r.party, r.local.port, r.remote.port])).toEqual([
      ['controller', 5070, 5080],
      ['phone', 5080, 5070],
    ]);
  });
});
