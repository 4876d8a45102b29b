/**
 * Two in-memory CstaChannels joined back to back: what one sends, the other's handler answers.
 * Deliveries happen in a microtask; a line per request and answer is recorded ('A → B MakeCall').
 */

import type {
  CstaChannel,
  CstaChannelAnswer,
  CstaChannelClosed,
  CstaChannelHandler,
  CstaChannelRequest,
  CstaChannelResponse,
  CstaChannelState,
} from '../../../src/uacsta/channel.js';
import { CSTA_CONTENT_TYPE } from '../../../src/uacsta/channel.js';

export interface FakeChannel extends CstaChannel {
  /** Sends a raw request with a chosen Content-Type, as a misbehaving peer would. */
  sendRaw(body: string, contentType: string | undefined): Promise<CstaChannelResponse>;
  /** Holds the answers this side would give until `release()` (a peer that never answers). */
  stall(): void;
}

export interface FakePair {
  readonly a: FakeChannel;
  readonly b: FakeChannel;
  readonly lines: string[];
}

const rootOf = (body: string): string => /<([A-Za-z][\w.-]*)[\s/>]/.exec(body.replace(/^<\?xml[^>]*\?>/, ''))?.[1] ?? '(empty)';

export function fakeChannelPair(): FakePair {
  const lines: string[] = [];
  interface Side extends FakeChannel {
    peer: Side | undefined;
    deliver(r: CstaChannelRequest): Promise<CstaChannelAnswer>;
    end(reason: string): void;
  }
  const make = (name: 'A' | 'B'): Side => {
    let state: CstaChannelState = 'Open';
    let handler: CstaChannelHandler | undefined;
    let stalled = false;
    const waiting: CstaChannelRequest[] = [];
    const waiters: (() => void)[] = [];
    const closed = new Set<(c: CstaChannelClosed) => void>();
    const self: Side = {
      get state() {
        return state;
      },
      peer: undefined as Side | undefined,
      async deliver(r: CstaChannelRequest): Promise<CstaChannelAnswer> {
        await Promise.resolve();
        if (handler === undefined) {
          waiting.push(r);
          await new Promise<void>((res) => waiters.push(res));
        }
        const answer = await handler!(r);
        if (stalled) await new Promise(() => {});
        lines.push(`${name} → ${name === 'A' ? 'B' : 'A'} ${answer.status}${answer.body ? ' ' + rootOf(answer.body) : ''}`);
        return answer;
      },
      send(body: string) {
        return self.sendRaw(body, CSTA_CONTENT_TYPE);
      },
      async sendRaw(body: string, contentType: string | undefined): Promise<CstaChannelResponse> {
        if (state !== 'Open') throw new Error('closed');
        lines.push(`${name} → ${name === 'A' ? 'B' : 'A'} ${rootOf(body)}`);
        const answer = await self.peer!.deliver({ body, contentType });
        return { status: answer.status, reason: answer.status === 200 ? 'OK' : 'Error', body: answer.body ?? '', contentType: answer.body ? CSTA_CONTENT_TYPE : undefined };
      },
      onRequest(h: CstaChannelHandler) {
        handler = h;
        for (const w of waiters.splice(0)) w();
        void waiting.splice(0);
        return () => {
          if (handler === h) handler = undefined;
        };
      },
      onClosed(l: (c: CstaChannelClosed) => void) {
        if (state === 'Closed') {
          l({ reason: 'closed' });
          return () => {};
        }
        closed.add(l);
        return () => closed.delete(l);
      },
      end(reason: string) {
        if (state === 'Closed') return;
        state = 'Closed';
        for (const l of [...closed]) l({ reason });
        closed.clear();
      },
      async close() {
        if (state === 'Closed') return;
        lines.push(`${name} → ${name === 'A' ? 'B' : 'A'} BYE`);
        self.end('closed');
        self.peer?.end('bye-received');
      },
      stall() {
        stalled = true;
      },
    };
    return self;
  };
  const a = make('A');
  const b = make('B');
  a.peer = b;
  b.peer = a;
  return { a, b, lines };
}

/** Lets queued microtasks run. */
export async function flush(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}
