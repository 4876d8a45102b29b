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
import { seeded } from '../../support/seeded.js';

/** Counts of a {@link lossy} transport. */
export interface LossCounts {
  receivedKept: number;
  receivedDropped: number;
  sentKept: number;
  sentDropped: number;
}


/** Wraps `inner` so that a share `rate` of datagrams is lost each way. */
export function lossy(inner: Transport, rate: number, seed: number, counts: LossCounts): Transport {
  const random = seeded(seed);
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
