/**
 * A lossy wrapper around a datagram transport, for the SIPp interop tests (issue #4): drops a
 * share of the datagrams it receives and of those it sends, chosen by a seeded generator.
 *
 * @remarks
 * It stands where a relay between SIPp and our UAS would: a relay cannot carry the UAS's
 * responses, which go to the sent-by port of SIPp's Via (it puts no `rport`, RFC 3261 §18.2.2),
 * so a relay would see one direction only. Dropping at our transport loses datagrams both ways.
 */
import type { Transport, TransportSink } from '../../../src/sip/transport/transport.js';

/** Counts of a {@link lossy} transport. */
export interface LossCounts {
  receivedKept: number;
  receivedDropped: number;
  sentKept: number;
  sentDropped: number;
}

/** A small deterministic generator (mulberry32) in [0, 1). */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Wraps `inner` so that a share `rate` of datagrams is lost each way. */
export function lossy(inner: Transport, rate: number, seed: number, counts: LossCounts): Transport {
  const random = generator(seed);
  return {
    get protocol() {
      return inner.protocol;
    },
    get reliable() {
      return inner.reliable;
    },
    get local() {
      return inner.local;
    },
    get sentBy() {
      return inner.sentBy;
    },
    get state() {
      return inner.state;
    },
    attach(sink: TransportSink): void {
      inner.attach({
        receive: (bytes, source, flow) => {
          if (random() < rate) {
            counts.receivedDropped++;
            return;
          }
          counts.receivedKept++;
          sink.receive(bytes, source, flow);
        },
        trace: (event) => sink.trace(event),
      });
    },
    send(bytes, target, options) {
      if (random() < rate) {
        counts.sentDropped++;
        return;
      }
      counts.sentKept++;
      inner.send(bytes, target, options);
    },
    alias: (flow, address) => inner.alias(flow, address),
    close: () => inner.close(),
  };
}
