/**
 * `ChannelCore`, the part of a CstaChannel every SIP binding shares: requests before a handler
 * are held (bounded, 503 past the bound), a channel that ends answers its held and later requests
 * 481, a handler that throws yields 500, close listeners run once and in isolation.
 */
import { describe, expect, it } from 'vitest';
import { ChannelCore } from '../../../src/uacsta/channel-core.js';

const req = (body: string) => ({ body, contentType: 'application/csta+xml' });

describe('ChannelCore', () => {
  it('holds requests until a handler is set, then answers them in order', async () => {
    const core = new ChannelCore({ maxHeld: 4 });
    const a = core.dispatch(req('a'));
    const b = core.dispatch(req('b'));
    const seen: string[] = [];
    core.onRequest((r) => {
      seen.push(r.body);
      return { status: 200, body: `ok ${r.body}` };
    });
    expect(await a).toEqual({ status: 200, body: 'ok a' });
    expect(await b).toEqual({ status: 200, body: 'ok b' });
    expect(seen).toEqual(['a', 'b']);
  });

  it('answers 503 past maxHeld, and 481 to what it held when it ends', async () => {
    const core = new ChannelCore({ maxHeld: 2 });
    const held = [core.dispatch(req('1')), core.dispatch(req('2'))];
    expect(await core.dispatch(req('3'))).toEqual({ status: 503 });
    expect(core.end('bye-received')).toBe(true);
    expect(await Promise.all(held)).toEqual([{ status: 481 }, { status: 481 }]);
    expect(await core.dispatch(req('4'))).toEqual({ status: 481 });
    expect(core.state).toBe('Closed');
  });

  it('answers 500 when the handler throws, and tells onHandlerError', async () => {
    const errors: unknown[] = [];
    const core = new ChannelCore({ maxHeld: 1, onHandlerError: (e) => errors.push(e) });
    core.onRequest(() => {
      throw new Error('handler bug');
    });
    expect(await core.dispatch(req('x'))).toEqual({ status: 500 });
    expect(errors).toHaveLength(1);
  });

  it('runs each close listener once, at once for late ones, one failing listener not stopping the others', () => {
    const core = new ChannelCore({ maxHeld: 1 });
    const calls: string[] = [];
    core.onClosed(() => {
      throw new Error('listener bug');
    });
    core.onClosed((c) => calls.push(`first ${c.reason}`));
    expect(core.end('no-dialog')).toBe(true);
    expect(core.end('closed')).toBe(false);
    core.onClosed((c) => calls.push(`late ${c.reason}`));
    expect(calls).toEqual(['first no-dialog', 'late no-dialog']);
  });

  it('refuses a handler that is not a function', () => {
    expect(() => new ChannelCore({ maxHeld: 1 }).onRequest(42 as never)).toThrow('handler must be a function');
  });
});
