/**
 * A lossy UDP relay between two SIP peers on loopback, for the fault tests of issue #10: it
 * loses a share of the datagrams in each direction, chosen by a seeded generator.
 *
 * @remarks
 * The relay has one socket per side. `towardB` is where A sends to reach B, `towardA` is where
 * B sends to reach A: a datagram that arrives on one socket leaves from the other to the real
 * peer. For every message to cross it, each peer must name the relay wherever it names itself:
 * its Via sent-by (RFC 3261 §18.2.2: responses go there, or to the source with `rport`, which is
 * the relay too) and its Contact (§12.1.1: in-dialog requests go to the remote target). So A's
 * transport advertises `towardA` as sent-by and A's Contact is `towardA`; B likewise with
 * `towardB`. Unlike `test/integration/sipp/lossy-transport.ts` (which drops at our transport
 * because SIPp cannot be told to name a relay), both peers here are ours, and the loss happens
 * on the wire between two real sockets, in the kernel's path, like a lossy network.
 */

import { createSocket, type Socket } from 'node:dgram';
import { seeded } from '../../support/seeded.js';


/** Counts of one direction of a {@link LossyRelay}. */
export interface RelayCounts {
  passed: number;
  dropped: number;
}

/** A running relay. */
export interface LossyRelay {
  /** The port A sends to in order to reach B (B's advertised sent-by and Contact). */
  readonly towardB: number;
  /** The port B sends to in order to reach A (A's advertised sent-by and Contact). */
  readonly towardA: number;
  readonly aToB: RelayCounts;
  readonly bToA: RelayCounts;
  /** Sets the real ports of the peers (they bind after the relay, to advertise it). */
  connect(aPort: number, bPort: number): void;
  close(): void;
}

async function bound(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
  return s;
}

/** Starts a relay on 127.0.0.1 that loses `rate` of the datagrams each way. */
export async function lossyRelay(rate: number, seed: number): Promise<LossyRelay> {
  const random = seeded(seed);
  const towardB = await bound();
  const towardA = await bound();
  const aToB: RelayCounts = { passed: 0, dropped: 0 };
  const bToA: RelayCounts = { passed: 0, dropped: 0 };
  let aPort = 0;
  let bPort = 0;
  towardB.on('message', (msg) => {
    if (random() < rate || bPort === 0) aToB.dropped++;
    else {
      aToB.passed++;
      towardA.send(msg, bPort, '127.0.0.1');
    }
  });
  towardA.on('message', (msg) => {
    if (random() < rate || aPort === 0) bToA.dropped++;
    else {
      bToA.passed++;
      towardB.send(msg, aPort, '127.0.0.1');
    }
  });
  // a closed peer port answers ICMP; the relay must not die of it
  towardA.on('error', () => undefined);
  towardB.on('error', () => undefined);
  return {
    towardB: towardB.address().port,
    towardA: towardA.address().port,
    aToB,
    bToA,
    connect(a, b) {
      aPort = a;
      bPort = b;
    },
    close() {
      towardA.close();
      towardB.close();
    },
  };
}
