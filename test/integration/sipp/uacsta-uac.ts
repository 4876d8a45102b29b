/**
 * One uaCSTA association driven by this project's `SipEndpoint` as a UAC, with no UA core: the
 * traffic of `test/sipp/uac-info.xml`, for the SIPp interop tests (issue #4).
 *
 *     INVITE (RequestSystemStatus) → 200 → ACK built here (RFC 6026: the UA sends the 2xx ACK)
 *     N × in-dialog INFO (MakeCall) → 200 (MakeCallResponse)
 *     BYE → 200
 *
 * @remarks
 * The ACK for the 2xx is a new transaction of its own (RFC 3261 §13.2.2.4, §17.1.1.3): a fresh
 * branch, the INVITE's CSeq number with method ACK, the To with the remote tag, the Contact of
 * the 200 as Request-URI and destination (no Record-Route here). It is sent again for every
 * retransmission of the 2xx. The in-dialog requests use the remote target, the remote tag and
 * CSeq numbers counting up from the INVITE's (RFC 3261 §12.2.1.1).
 */
import { parseNameAddr } from '../../../src/sip/message/headers.js';
import { createRequest } from '../../../src/sip/message/serialize.js';
import type { NameAddr, SipRequest, SipResponse } from '../../../src/sip/message/types.js';
import type { SipEndpoint } from '../../../src/sip/endpoint.js';
import type { TransportProtocol, TransportTarget } from '../../../src/sip/transport/transport.js';
import { scenarioBodies } from '../../sipp/sipp.js';

const CSTA = {
  'Content-Type': 'application/csta+xml',
  'Content-Disposition': 'signal;handling=required',
} as const;

const uacBodies = scenarioBodies('uac-info.xml');
const REQUEST_SYSTEM_STATUS = uacBodies.get('RequestSystemStatus')!;
const MAKE_CALL = uacBodies.get('MakeCall')!;

/** One in-dialog request and its final response, reduced to what the tests check. */
export interface Exchange {
  readonly method: string;
  readonly cseq: number;
  readonly status: number;
  readonly responseCseq: number;
  readonly responseMethod: string;
  readonly callIdMatches: boolean;
  readonly body: string;
}

/** What one association did. */
export interface AssociationResult {
  readonly callId: string;
  /** The 200 to INVITE: its status and body. */
  readonly invite: { readonly status: number; readonly body: string };
  /** The ACK sent for the first 2xx (later ones are the same bytes, sent again). */
  readonly ack: SipRequest;
  readonly acksSent: number;
  /** Where the ACK and the in-dialog requests went: the Contact of the 200. */
  readonly remoteTarget: TransportTarget;
  readonly remoteUri: string;
  readonly remoteTag: string | undefined;
  readonly infos: readonly Exchange[];
  readonly bye: Exchange;
}

/** The host and port of a SIP URI, with the transport of `protocol`. */
function targetOf(uri: string, protocol: TransportProtocol): TransportTarget {
  const m = /^sips?:(?:[^@;>]*@)?(\[[^\]]+\]|[^:;>?]+)(?::(\d+))?/i.exec(uri);
  if (!m) throw new Error(`cannot read a host from ${uri}`);
  const host = m[1]!.replace(/^\[|\]$/g, '');
  return { protocol, host, port: m[2] === undefined ? 5060 : Number(m[2]) };
}

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

function exchange(request: SipRequest | { method: string; cseq: number; callId: string }, r: SipResponse): Exchange {
  const cseq = typeof request.cseq === 'number' ? request.cseq : request.cseq.seq;
  return {
    method: request.method,
    cseq,
    status: r.status,
    responseCseq: r.cseq.seq,
    responseMethod: r.cseq.method,
    callIdMatches: r.callId === request.callId,
    body: text(r.body),
  };
}

/** Options of {@link runAssociation}. */
export interface AssociationOptions {
  readonly endpoint: SipEndpoint;
  readonly protocol: 'udp' | 'tcp';
  /** The SIPp UAS. */
  readonly target: TransportTarget;
  readonly infos: number;
  /** Distinguishes the associations of one run. */
  readonly index: number;
  /** Bound on the INVITE transaction, in ms. */
  readonly inviteTimeoutMs?: number;
}

/** Runs one association to its end; rejects on any failure or non-2xx. */
export async function runAssociation(opts: AssociationOptions): Promise<AssociationResult> {
  const { endpoint, protocol, target } = opts;
  const local = endpoint.transports[0]!.local;
  const callId = `uacsta-${process.pid}-${opts.index}-${Date.now().toString(36)}@127.0.0.1`;
  const from: NameAddr = {
    displayName: undefined,
    uri: `sip:cti@127.0.0.1:${local.port}`,
    params: { tag: `c${opts.index}x${Math.floor(Math.random() * 1e9).toString(36)}` },
  };
  const to0: NameAddr = {
    displayName: undefined,
    uri: `sip:service@${target.host}:${target.port}`,
    params: {},
  };

  let acksSent = 0;
  const answered = await new Promise<{ ok: SipResponse; ack: SipRequest; remote: TransportTarget }>(
    (resolve, reject) => {
      let ack: SipRequest | undefined;
      let remote: TransportTarget | undefined;
      const timer = setTimeout(
        () => reject(new Error(`no 2xx to INVITE ${callId} within ${opts.inviteTimeoutMs ?? 10_000} ms`)),
        opts.inviteTimeoutMs ?? 10_000,
      );
      try {
        endpoint.createClientTransaction(
          {
            method: 'INVITE',
            uri: `sip:service@${target.host}:${target.port};transport=${protocol}`,
            from,
            to: to0,
            callId,
            cseq: 1,
            headers: {
              Contact: `<sip:cti@127.0.0.1:${local.port};transport=${protocol}>`,
              Allow: 'INVITE, ACK, BYE, CANCEL, INFO, OPTIONS',
              Accept: 'application/csta+xml',
              ...CSTA,
            },
            body: REQUEST_SYSTEM_STATUS,
          },
          target,
          {
            onResponse: (r) => {
              if (r.status < 200) return;
              if (r.status >= 300) {
                clearTimeout(timer);
                reject(new Error(`INVITE ${callId} answered ${r.status} ${r.reason}`));
                return;
              }
              try {
                if (ack === undefined || remote === undefined) {
                  const contact = parseNameAddr(r.headers['contact']?.[0] ?? '');
                  if (contact === undefined) throw new Error(`200 to INVITE ${callId} has no Contact`);
                  remote = targetOf(contact.uri, protocol);
                  ack = createRequest({
                    method: 'ACK',
                    uri: contact.uri,
                    via: [endpoint.createVia(protocol)],
                    from,
                    to: r.to,
                    callId,
                    cseq: 1,
                  });
                  clearTimeout(timer);
                  resolve({ ok: r, ack, remote });
                }
                // Every 2xx, retransmissions included, gets the ACK (RFC 3261 §13.2.2.4).
                endpoint.sendStateless(ack, remote);
                acksSent++;
              } catch (e) {
                clearTimeout(timer);
                reject(e instanceof Error ? e : new Error(String(e)));
              }
            },
            onTimeout: (e) => {
              clearTimeout(timer);
              reject(e);
            },
            onTransportError: (e) => {
              clearTimeout(timer);
              reject(e);
            },
          },
        );
      } catch (e) {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    },
  );

  const { ok, ack, remote } = answered;
  const to = ok.to;
  const remoteUri = ack.uri;
  let cseq = 1;
  const infos: Exchange[] = [];
  for (let i = 0; i < opts.infos; i++) {
    const info = { method: 'INFO', uri: remoteUri, from, to, callId, cseq: ++cseq, headers: CSTA, body: MAKE_CALL };
    infos.push(exchange(info, await endpoint.sendRequest(info, remote)));
  }
  const byeReq = { method: 'BYE', uri: remoteUri, from, to, callId, cseq: ++cseq };
  const bye = exchange(byeReq, await endpoint.sendRequest(byeReq, remote));
  return {
    callId,
    invite: { status: ok.status, body: text(ok.body) },
    ack,
    acksSent,
    remoteTarget: remote,
    remoteUri,
    remoteTag: to.params['tag'],
    infos,
    bye,
  };
}
