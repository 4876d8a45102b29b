/**
 * The Via rules as pure functions: `received` and `rport` (RFC 3261 §18.2.1, RFC 3581 §4),
 * where responses go (RFC 3261 §18.2.2), which responses are ours (§18.1.2), and which sent-by
 * may name a connection (RFC 5923, RFC 7118 §5.2).
 */

import { describe, expect, it } from 'vitest';
import { isOwnVia, responseTarget, stampVia, viaAlias } from '../../../src/sip/endpoint-via.js';
import type { Via } from '../../../src/sip/message/types.js';

const via = (
  host: string,
  port: number | undefined,
  params: Record<string, string> = {},
  transport = 'UDP',
): Via => ({
  transport,
  host,
  port,
  branch: 'z9hG4bK1',
  params: { branch: 'z9hG4bK1', ...params },
});
const src = { host: '198.51.100.7', port: 40000 };

describe('stampVia', () => {
  it('leaves a Via whose sent-by is the source address and that asks no rport', () => {
    const v = via('198.51.100.7', 5060);
    expect(stampVia(v, src)).toBe(v);
  });

  it('adds received when the sent-by is a name or another address', () => {
    expect(stampVia(via('phone.example.com', 5060), src).params).toMatchObject({
      received: '198.51.100.7',
    });
    expect(stampVia(via('192.0.2.1', 5060), src).params).toMatchObject({
      received: '198.51.100.7',
    });
  });

  it('fills an empty rport and adds received even for the same address', () => {
    const stamped = stampVia(via('198.51.100.7', 5060, { rport: '' }), src);
    expect(stamped.params).toMatchObject({
      received: '198.51.100.7',
      rport: '40000',
      branch: 'z9hG4bK1',
    });
  });

  it('compares IPv6 without brackets and case', () => {
    const v = via('[2001:DB8::1]', 5060);
    expect(stampVia(v, { host: '2001:db8::1', port: 1 })).toBe(v);
  });
});

describe('responseTarget', () => {
  it('uses received and rport, else received and the sent-by port, else the sent-by', () => {
    expect(
      responseTarget(via('x.example', 5070, { received: '192.0.2.5', rport: '41000' }), 'udp'),
    ).toEqual({ protocol: 'udp', host: '192.0.2.5', port: 41000 });
    expect(responseTarget(via('x.example', 5070, { received: '192.0.2.5' }), 'udp')).toEqual({
      protocol: 'udp',
      host: '192.0.2.5',
      port: 5070,
    });
    expect(responseTarget(via('x.example', undefined, { received: '192.0.2.5' }), 'udp')).toEqual({
      protocol: 'udp',
      host: '192.0.2.5',
      port: 5060,
    });
    expect(responseTarget(via('192.0.2.9', undefined), 'tls')).toEqual({
      protocol: 'tls',
      host: '192.0.2.9',
      port: 5061,
    });
  });

  it('sends to maddr on UDP with the sent-by port', () => {
    expect(
      responseTarget(via('x.example', 5070, { maddr: '239.1.1.1', received: '192.0.2.5' }), 'udp'),
    ).toEqual({ protocol: 'udp', host: '239.1.1.1', port: 5070 });
  });

  it('ignores an rport that is not a port', () => {
    expect(
      responseTarget(via('x', 5070, { received: '192.0.2.5', rport: '99999' }), 'udp').port,
    ).toBe(5070);
  });
});

describe('isOwnVia', () => {
  const ours = [{ protocol: 'udp' as const, host: '192.0.2.1', port: 5060 }];
  it('matches our sent-by, the default port standing for a missing one', () => {
    expect(isOwnVia(via('192.0.2.1', 5060), ours)).toBe(true);
    expect(isOwnVia(via('192.0.2.1', undefined), ours)).toBe(true);
    expect(isOwnVia(via('192.0.2.1', 5070), ours)).toBe(false);
    expect(isOwnVia(via('192.0.2.2', 5060), ours)).toBe(false);
  });
});

describe('viaAlias', () => {
  it('trusts the sent-by with the alias parameter on TLS, on WebSocket, or on the source host', () => {
    expect(viaAlias(via('phone.example', 5061, { alias: '' }, 'TLS'), 'tls', src)).toEqual({
      host: 'phone.example',
      port: 5061,
    });
    expect(viaAlias(via('evil.example', 5060, { alias: '' }, 'TCP'), 'tcp', src)).toBeUndefined();
    expect(viaAlias(via('abc.invalid', undefined, {}, 'WS'), 'ws', src)).toEqual({
      host: 'abc.invalid',
      port: 80,
    });
    expect(viaAlias(via('198.51.100.7', 5060, {}, 'TCP'), 'tcp', src)).toEqual({
      host: '198.51.100.7',
      port: 5060,
    });
    expect(viaAlias(via('192.0.2.99', 5060, {}, 'TCP'), 'tcp', src)).toBeUndefined();
  });
});
