import { describe, expect, it } from 'vitest';
import { FlowTable } from '../../../../src/sip/transport/flow-table.js';

describe('FlowTable', () => {
  it('finds a connection by flow id, remote address and alias, case-insensitively', () => {
    const t = new FlowTable<string>('tcp');
    const id = t.add('c1', { host: '192.0.2.1', port: 40000 });
    expect(id).toBe('tcp-1');
    t.alias(id, { host: 'Phone.Example.com', port: 5060 });
    expect(t.get(id)).toBe('c1');
    expect(t.find('192.0.2.1', 40000)).toBe('c1');
    expect(t.find('phone.example.com', 5060)).toBe('c1');
    expect(t.find('phone.example.com', 5061)).toBeUndefined();
    expect(t.find('[2001:db8::1]', 5060)).toBeUndefined();
  });

  it('lets the latest connection take an alias, and forgets a closed one with its names', () => {
    const t = new FlowTable<string>('ws');
    const one = t.add('c1', { host: '192.0.2.1', port: 1 });
    const two = t.add('c2', { host: '192.0.2.2', port: 2 });
    t.alias(one, { host: 'x.invalid', port: 80 });
    t.alias(two, { host: 'x.invalid', port: 80 });
    expect(t.find('x.invalid', 80)).toBe('c2');
    t.remove(one); // its stale claim on x.invalid must not remove c2's
    expect(t.find('x.invalid', 80)).toBe('c2');
    expect(t.find('192.0.2.1', 1)).toBeUndefined();
    t.remove(two);
    expect(t.find('x.invalid', 80)).toBeUndefined();
    expect(t.size).toBe(0);
    t.alias(two, { host: 'y.invalid', port: 80 });
    expect(t.find('y.invalid', 80)).toBeUndefined();
  });

  it('keeps IPv6 with and without brackets under one key', () => {
    const t = new FlowTable<string>('tcp');
    t.add('c', { host: '2001:db8::1', port: 5060 });
    expect(t.find('[2001:db8::1]', 5060)).toBe('c');
  });
});
