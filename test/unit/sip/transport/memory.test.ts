import { describe, expect, it } from 'vitest';
import { createMemoryPair } from '../../../../src/sip/transport/memory.js';
import type {
  TransportTarget,
  TransportTraceEvent,
} from '../../../../src/sip/transport/transport.js';
import { manualClock } from '../../../../src/util/clock.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function collect(t: {
  attach: (s: {
    receive: (b: Uint8Array, s: TransportTarget) => void;
    trace: (e: TransportTraceEvent) => void;
  }) => void;
}) {
  const got: { bytes: Uint8Array; source: TransportTarget }[] = [];
  const traces: TransportTraceEvent[] = [];
  t.attach({
    receive: (bytes, source) => got.push({ bytes, source }),
    trace: (e) => traces.push(e),
  });
  return { got, traces };
}

describe('createMemoryPair', () => {
  it('delivers a copy to the other side, never synchronously, with the sender as source', async () => {
    const [a, b] = createMemoryPair();
    const rb = collect(b);
    const bytes = Uint8Array.of(1, 2, 3);
    a.send(bytes, { protocol: 'memory', ...b.local });
    expect(rb.got).toHaveLength(0);
    bytes[0] = 9;
    await flush();
    expect(rb.got).toEqual([
      {
        bytes: Uint8Array.of(1, 2, 3),
        source: { protocol: 'memory', host: 'a.memory.invalid', port: 5060 },
      },
    ]);
    expect(a.reliable).toBe(false);
    expect(a.sentBy).toEqual({ host: 'a.memory.invalid', port: 5060 });
  });

  it('loses about lossRate of the messages, drawn from the injected random source', async () => {
    let i = 0;
    const random = (): number => (i++ % 10) / 10; // 0.0, 0.1, … 0.9
    const [a, b] = createMemoryPair({ lossRate: 0.3, random });
    const rb = collect(b);
    for (let k = 0; k < 100; k++) a.send(Uint8Array.of(k), { protocol: 'memory', ...b.local });
    await flush();
    expect(rb.got).toHaveLength(70);
    expect(a.stats).toEqual({ sent: 100, lost: 30, received: 0 });
    expect(b.stats.received).toBe(70);
  });

  it('delays by the injected clock, per direction', async () => {
    const clock = manualClock();
    const [a, b] = createMemoryPair({ clock, aToB: { delayMs: 100 }, bToA: { delayMs: 10 } });
    const ra = collect(a);
    const rb = collect(b);
    a.send(Uint8Array.of(1), { protocol: 'memory', ...b.local });
    b.send(Uint8Array.of(2), { protocol: 'memory', ...a.local });
    clock.tick(10);
    expect([ra.got.length, rb.got.length]).toEqual([1, 0]);
    clock.tick(90);
    expect(rb.got).toHaveLength(1);
  });

  it('drops and traces a message to an address nobody has', async () => {
    const [a] = createMemoryPair();
    const ra = collect(a);
    a.send(Uint8Array.of(1), { protocol: 'memory', host: 'nobody.invalid', port: 1 });
    expect(ra.traces).toEqual([expect.objectContaining({ type: 'dropped' })]);
  });

  it('catches and traces an exception of the receiving sink', async () => {
    const [a, b] = createMemoryPair();
    const traces: TransportTraceEvent[] = [];
    b.attach({
      receive: () => {
        throw new Error('sink');
      },
      trace: (e) => traces.push(e),
    });
    a.send(Uint8Array.of(1), { protocol: 'memory', ...b.local });
    await flush();
    expect(traces).toEqual([{ type: 'error', error: expect.any(Error) }]);
  });

  it('refuses bad options, a foreign protocol and sends after close', async () => {
    expect(() => createMemoryPair({ lossRate: 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
    );
    expect(() => createMemoryPair({ delayMs: -1 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
    );
    expect(() => createMemoryPair({ reliable: true, lossRate: 0.1 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG' }),
    );
    const [a, b] = createMemoryPair({ reliable: true });
    expect(a.reliable).toBe(true);
    expect(() => a.send(Uint8Array.of(1), { protocol: 'udp', ...b.local })).toThrow(
      expect.objectContaining({ code: 'SIP_ERR_TRANSPORT' }),
    );
    await a.close();
    await a.close();
    expect(a.state).toBe('Closed');
    expect(() => a.send(Uint8Array.of(1), { protocol: 'memory', ...b.local })).toThrow(
      expect.objectContaining({ code: 'SIP_ERR_CLOSED' }),
    );
  });
});
