/**
 * A non-INVITE server transaction answered over UDP lingers for Timer J (32 s) to answer
 * retransmissions (RFC 3261 §17.2.2). What lingers must be the response bytes and a key only:
 * neither the request nor the transaction object may stay reachable, or a responder at 10k
 * INFO/s keeps ~0.6 GB of requests and datagrams alive (research/performance.md, G9). Found by
 * measuring the responder's heap under SIPp load: the endpoint's per-transaction error callback
 * on the hop kept the whole transaction reachable from the lingering record.
 */

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { SipEndpoint } from '../../../src/sip/endpoint.js';
import { createResponse } from '../../../src/sip/message/serialize.js';
import type { SipRequest } from '../../../src/sip/message/types.js';
import type { Transport } from '../../../src/sip/transport/transport.js';
import { transportDouble } from '../../support/transport-double.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A transport double that keeps what is sent as text and takes datagrams as text. */
function fakeUdp(): { transport: Transport; sent: string[]; deliver: (text: string) => void } {
  const sent: string[] = [];
  const double = transportDouble((bytes) => void sent.push(dec.decode(bytes)));
  return { transport: double.transport, sent, deliver: (text) => double.deliver(enc.encode(text)) };
}

const infoText = (n: number): string =>
  `INFO sip:phone@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-linger-${n}\r\n` +
  `Max-Forwards: 70\r\nFrom: <sip:cti@127.0.0.1>;tag=a${n}\r\nTo: <sip:phone@127.0.0.1>;tag=b\r\n` +
  `Call-ID: linger-${n}\r\nCSeq: ${n} INFO\r\nContent-Type: application/csta+xml\r\nContent-Length: 5\r\n\r\n<x/>\n`;

describe('a lingering UDP server transaction', () => {
  it('keeps answering retransmissions but lets the request and the transaction be collected', async () => {
    const { transport, sent, deliver } = fakeUdp();
    const endpoint = new SipEndpoint({ transports: [transport] });
    const requests: WeakRef<SipRequest>[] = [];
    const transactions: WeakRef<object>[] = [];
    endpoint.onRequest((request, tx) => {
      requests.push(new WeakRef(request));
      transactions.push(new WeakRef(tx));
      tx.respond(createResponse(request, 200, 'OK'));
    });
    for (let n = 1; n <= 50; n++) deliver(infoText(n));
    expect(sent).toHaveLength(50);
    // let the sends' and the handlers' ticks run, then collect
    await new Promise((r) => setImmediate(r));
    gc();
    await new Promise((r) => setImmediate(r));
    gc();
    expect(requests.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    expect(transactions.filter((t) => t.deref() !== undefined)).toHaveLength(0);
    // Timer J has not fired: a retransmission gets the same 200 again, without the TU
    deliver(infoText(7));
    expect(sent).toHaveLength(51);
    expect(sent[50]).toBe(sent[6]);
    expect(requests).toHaveLength(50);
    await endpoint.close();
  });
});
