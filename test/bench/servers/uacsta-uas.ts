/**
 * This project's SIP stack (`SipEndpoint` on `UdpTransport` / `TcpTransport`) answering the load
 * of `test/sipp/uac-info.xml`: the "uacsta UAS" row of `npm run bench` (performance.md G2).
 * Contract and usage: `common.ts`.
 *
 * @remarks
 * A bench server, not a UA: no dialog state beyond what the 2xx retransmission needs. The
 * answers are built per request with `createResponse` (To-tag, Contact, CSTA body from the SIPp
 * anchor), so the row measures transport, parse, transaction layer and serialization, with a
 * constant CSTA answer and no codec. The 200 to INVITE is retransmitted by this TU until the ACK
 * (RFC 3261 §13.3.1.4: T1 doubling to T2, given up after 64·T1), on UDP only.
 */
import { createResponse } from '../../../src/sip/message/serialize.js';
import type { SipRequest, SipResponse } from '../../../src/sip/message/types.js';
import { SipEndpoint, type SipHop } from '../../../src/sip/endpoint.js';
import type { ServerTransaction } from '../../../src/sip/transaction/transaction-layer.js';
import { TcpTransport } from '../../../src/sip/transport/node/tcp.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import { ANSWERS, serverArgs } from './common.js';

const T1 = 500;
const T2 = 4000;

const { transport, port } = serverArgs();
const listening =
  transport === 'udp'
    ? await UdpTransport.listen({ host: '127.0.0.1', port })
    : await TcpTransport.listen({ host: '127.0.0.1', port });
const endpoint = new SipEndpoint({ transports: [listening] });

const cstaHeaders = {
  'Content-Type': ANSWERS.contentType,
  'Content-Disposition': ANSWERS.contentDisposition,
} as const;
const inviteHeaders = {
  ...cstaHeaders,
  Contact: `<sip:phone@127.0.0.1:${port};transport=${transport}>`,
} as const;

/** 2xx to INVITE not yet acknowledged, by Call-ID: the timer that retransmits it. */
const unacked = new Map<string, ReturnType<typeof setTimeout>>();
let tags = 0;

function retransmit2xx(callId: string, tx: ServerTransaction<SipHop>, ok: SipResponse): void {
  let interval = T1;
  let waited = 0;
  const tick = (): void => {
    waited += interval;
    if (waited >= 64 * T1) {
      unacked.delete(callId);
      return;
    }
    try {
      tx.respond(ok);
    } catch {
      unacked.delete(callId);
      return;
    }
    interval = Math.min(interval * 2, T2);
    unacked.set(callId, setTimeout(tick, interval));
  };
  unacked.set(callId, setTimeout(tick, interval));
}

function answer(request: SipRequest, tx: ServerTransaction<SipHop>): void {
  switch (request.method) {
    case 'INVITE': {
      const ok = createResponse(request, 200, 'OK', {
        toTag: `u${(++tags).toString(36)}`,
        headers: inviteHeaders,
        body: ANSWERS.invite,
      });
      tx.respond(ok);
      if (!listening.reliable) retransmit2xx(request.callId, tx, ok);
      return;
    }
    case 'INFO':
      tx.respond(createResponse(request, 200, 'OK', { headers: cstaHeaders, body: ANSWERS.info }));
      return;
    case 'BYE':
      tx.respond(createResponse(request, 200, 'OK'));
      return;
    default:
      tx.respond(createResponse(request, 405, 'Method Not Allowed', { headers: { Allow: 'INVITE, ACK, INFO, BYE' } }));
  }
}

endpoint.onRequest({
  onRequest: answer,
  onAck: (ack) => {
    const timer = unacked.get(ack.callId);
    if (timer !== undefined) {
      clearTimeout(timer);
      unacked.delete(ack.callId);
    }
  },
});

process.once('SIGTERM', () => {
  for (const timer of unacked.values()) clearTimeout(timer);
  void endpoint.close().then(() => process.exit(0));
});
