/**
 * This project's SIP stack (`SipEndpoint` on `UdpTransport` / `TcpTransport`) answering the
 * traffic of `test/sipp/uac-info.xml`, in process: used by `sipp-interop.test.ts` (issue #4) and,
 * through `test/bench/servers/uacsta-uas.ts`, by the "uacsta UAS" row of `npm run bench`.
 *
 * @remarks
 * A test and bench server, not a UA: no dialog state beyond what the 2xx retransmission needs.
 * INVITE → 200 (To tag, Contact, `RequestSystemStatusResponse`), INFO → 200
 * (`MakeCallResponse`), BYE → 200, anything else → 405; the CSTA bodies are the SIPp anchor's,
 * byte for byte, and no codec runs. The 200 to INVITE is retransmitted by this TU until the ACK
 * (RFC 3261 §13.3.1.4: T1 doubling to T2, given up after 64·T1), on unreliable transports only.
 *
 * What it saw is counted in {@link UasStats}, so that a test can check that every INFO reached
 * the TU exactly once (a retransmission absorbed by the transaction layer never does).
 */
import { createResponse } from '../../../src/sip/message/serialize.js';
import type { SipRequest, SipResponse } from '../../../src/sip/message/types.js';
import {
  SipEndpoint,
  type SipEndpointTraceEvent,
  type SipHop,
} from '../../../src/sip/endpoint.js';
import type { ServerTransaction } from '../../../src/sip/transaction/transaction-layer.js';
import type { Transport } from '../../../src/sip/transport/transport.js';
import { TcpTransport } from '../../../src/sip/transport/node/tcp.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import { ANSWERS } from '../../bench/servers/common.js';

const T1 = 500;
const T2 = 4000;

/** What the UAS's transaction user was handed, and what the endpoint dropped or refused. */
export interface UasStats {
  invites: number;
  acks: number;
  byes: number;
  /** INFO requests handed to the TU, by `Call-ID CSeq`: each should be 1. */
  readonly infos: Map<string, number>;
  /** Requests of other methods (answered 405), as `METHOD Call-ID`. */
  readonly otherRequests: string[];
  /** Stray responses, server transaction failures, and the endpoint's dropped / rejected / error events. */
  readonly problems: string[];
}

/** Options of {@link startUacstaUas}. */
export interface UacstaUasOptions {
  readonly transport: 'udp' | 'tcp';
  /** @defaultValue 0: a free port, read back from {@link UacstaUas.port}. */
  readonly port?: number;
  /**
   * Wraps the listening transport before the endpoint takes it (a lossy test double, say).
   * The Contact still names the real port.
   */
  readonly wrap?: (transport: Transport) => Transport;
  /** Watches the endpoint's trace for dropped and refused input (costs a little; not for the bench). */
  readonly watch?: boolean;
  /**
   * Records every INFO by `Call-ID CSeq` in {@link UasStats.infos} (tests check each ran once).
   * The bench turns it off: the map would keep every request's header text alive for the run,
   * a heap the servers it is compared with do not carry. @defaultValue true
   */
  readonly recordInfos?: boolean;
}

/** A running UAS. */
export interface UacstaUas {
  readonly endpoint: SipEndpoint;
  readonly port: number;
  readonly stats: UasStats;
  /** Stops the 2xx retransmissions and closes the endpoint. */
  close(): Promise<void>;
}

/** Starts the UAS on 127.0.0.1 and resolves once it listens. */
export async function startUacstaUas(opts: UacstaUasOptions): Promise<UacstaUas> {
  const { transport } = opts;
  const listening: Transport =
    transport === 'udp'
      ? await UdpTransport.listen({ host: '127.0.0.1', port: opts.port ?? 0 })
      : await TcpTransport.listen({ host: '127.0.0.1', port: opts.port ?? 0 });
  const port = listening.local.port;
  const stats: UasStats = {
    invites: 0,
    acks: 0,
    byes: 0,
    infos: new Map(),
    otherRequests: [],
    problems: [],
  };
  const trace = opts.watch
    ? (e: SipEndpointTraceEvent): void => {
        if (e.type === 'dropped') stats.problems.push(`dropped: ${e.reason}`);
        else if (e.type === 'rejected') stats.problems.push(`rejected ${e.status}: ${e.reasonPhrase}`);
        else if (e.type === 'user-error' || e.type === 'error')
          stats.problems.push(`${e.type}: ${String(e.error)}`);
      }
    : undefined;
  const wrapped = opts.wrap ? opts.wrap(listening) : listening;
  const endpoint = new SipEndpoint({ transports: [wrapped], ...(trace ? { trace } : {}) });

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

  const retransmit2xx = (callId: string, tx: ServerTransaction<SipHop>, ok: SipResponse): void => {
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
  };

  /**
   * A later request of the same dialog shows the peer has the 2xx although its ACK was lost:
   * retransmitting on would only reach a call the peer may already have ended (SIPp then logs a
   * "dead call"). RFC 3261 §13.3.1.4 asks for retransmission until the ACK; stopping once the
   * peer has evidently confirmed the dialog is the usual reading.
   */
  const confirmedBy = (request: SipRequest): void => {
    const timer = unacked.get(request.callId);
    if (timer === undefined) return;
    clearTimeout(timer);
    unacked.delete(request.callId);
  };

  const answer = (request: SipRequest, tx: ServerTransaction<SipHop>): void => {
    if (request.method !== 'INVITE') confirmedBy(request);
    switch (request.method) {
      case 'INVITE': {
        stats.invites++;
        const ok = createResponse(request, 200, 'OK', {
          toTag: `u${(++tags).toString(36)}`,
          headers: inviteHeaders,
          body: ANSWERS.invite,
        });
        tx.respond(ok);
        if (!wrapped.reliable) retransmit2xx(request.callId, tx, ok);
        return;
      }
      case 'INFO': {
        if (opts.recordInfos !== false) {
          const key = `${request.callId} ${request.cseq.seq}`;
          stats.infos.set(key, (stats.infos.get(key) ?? 0) + 1);
        }
        tx.respond(createResponse(request, 200, 'OK', { headers: cstaHeaders, body: ANSWERS.info }));
        return;
      }
      case 'BYE':
        stats.byes++;
        tx.respond(createResponse(request, 200, 'OK'));
        return;
      default:
        stats.otherRequests.push(`${request.method} ${request.callId}`);
        tx.respond(
          createResponse(request, 405, 'Method Not Allowed', {
            headers: { Allow: 'INVITE, ACK, INFO, BYE' },
          }),
        );
    }
  };

  endpoint.onRequest({
    onRequest: answer,
    onAck: (ack) => {
      stats.acks++;
      const timer = unacked.get(ack.callId);
      if (timer !== undefined) {
        clearTimeout(timer);
        unacked.delete(ack.callId);
      }
    },
    onStrayResponse: (response) => {
      stats.problems.push(`stray response ${response.status} ${response.cseq.method}`);
    },
    onServerError: (tx, error) => {
      stats.problems.push(`server transaction ${tx.method}: ${error.code}`);
    },
  });

  return {
    endpoint,
    port,
    stats,
    close: () => {
      for (const timer of unacked.values()) clearTimeout(timer);
      unacked.clear();
      return endpoint.close();
    },
  };
}
