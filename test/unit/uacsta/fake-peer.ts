/**
 * A switching function behind a channel factory, over fake channel pairs: each `open()` is a new
 * session with a new CstaServer (an INVITE's CSTA body is answered into `establishedBody`, and
 * `refresh(body)` is a re-INVITE answered by the server). The peer can restart (its old sessions
 * answer 481 from then on), refuse new sessions, and be inspected.
 */

import { UaCstaError } from '../../../src/errors.js';
import type { CstaChannel, CstaChannelFactory, CstaChannelResponse } from '../../../src/uacsta/channel.js';
import { CstaServer } from '../../../src/uacsta/server.js';
import { fakeChannelPair, type FakePair } from './fake-channel.js';

export interface FakeSession {
  readonly pair: FakePair;
  readonly server: CstaServer;
  /** The controller's end, as the factory returned it. */
  readonly channel: CstaChannel;
}

export interface FakePeer {
  readonly open: CstaChannelFactory;
  readonly sessions: FakeSession[];
  /** Every line of every session, prefixed with its index (`1: A → B MonitorStart`). */
  lines(): string[];
  /** The peer loses its sessions without a word: they answer 481 from now on. */
  restart(): void;
  /** The next `n` opens fail as a 503 would. */
  refuse(n: number): void;
  /** How the refresh of each session was answered (status), or 'throw' for a transport failure. */
  refreshAnswer: number | 'throw';
  readonly opens: number;
}

export function fakePeer(setup: (server: CstaServer, session: number) => void): FakePeer {
  const sessions: FakeSession[] = [];
  let refusals = 0;
  let opens = 0;
  const dead = new Set<FakePair>();
  const peer: FakePeer = {
    sessions,
    refreshAnswer: 200,
    get opens() {
      return opens;
    },
    lines: () => sessions.flatMap((s, i) => s.pair.lines.map((l) => `${i + 1}: ${l}`)),
    restart() {
      for (const s of sessions) {
        dead.add(s.pair);
        s.pair.b.onRequest(() => ({ status: 481 }));
      }
    },
    refuse(n) {
      refusals = n;
    },
    async open(init) {
      opens++;
      if (refusals > 0) {
        refusals--;
        throw Object.assign(new UaCstaError('SIP_ERR_REJECTED', 'INVITE was answered 503 Service Unavailable'), { status: 503 });
      }
      const pair = fakeChannelPair();
      const server = new CstaServer({ channel: pair.b });
      setup(server, sessions.length + 1);
      let establishedBody: string | undefined;
      if (init.body !== undefined) {
        const res = await pair.a.send(init.body);
        establishedBody = res.body === '' ? undefined : res.body;
      }
      const refresh = async (body?: string): Promise<CstaChannelResponse> => {
        if (peer.refreshAnswer === 'throw') throw new UaCstaError('SIP_ERR_TRANSPORT', 'connection lost');
        pair.lines.push('A → B re-INVITE');
        if (dead.has(pair)) return { status: 481, reason: 'Call/Transaction Does Not Exist', body: '', contentType: undefined };
        if (peer.refreshAnswer !== 200) return { status: peer.refreshAnswer, reason: 'Error', body: '', contentType: undefined };
        return pair.a.send(body ?? '');
      };
      const channel = Object.assign(pair.a, { establishedBody, refresh });
      sessions.push({ pair, server, channel });
      return channel;
    },
  };
  return peer;
}
