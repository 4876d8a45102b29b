/**
 * Builders and a recording harness for the transaction tests: plain SIP message objects, a
 * small text serializer, a manual clock, and recorders for everything the layer sends and tells
 * its users.
 */

import { formatVia } from '../../../../src/sip/transaction/build.js';
import type {
  NameAddr,
  SipMessage,
  SipRequest,
  SipResponse,
  Via,
} from '../../../../src/sip/message/types.js';
import {
  TransactionLayer,
  type ServerTransaction,
  type TransactionLayerOptions,
} from '../../../../src/sip/transaction/transaction-layer.js';
import type {
  ClientTransactionUser,
  TransactionError,
  TransactionTraceEvent,
} from '../../../../src/sip/transaction/transaction.js';
import type { TimerOptions } from '../../../../src/sip/transaction/timers.js';
import { manualClock, type ManualClock } from '../../../../src/util/clock.js';
import { createIdGenerator, seededRandom } from '../../../../src/util/ids.js';

/** Where test messages go and come from; the layer never looks inside. */
export interface Peer {
  readonly name: string;
}

export const PHONE: Peer = { name: 'phone' };

const EMPTY = new Uint8Array(0);

export function via(
  branch: string | undefined,
  host = '192.0.2.1',
  port: number | undefined = 5060,
  transport = 'UDP',
): Via {
  return { transport, host, port, branch, params: branch === undefined ? {} : { branch } };
}

function nameAddr(uri: string, tag: string | undefined): NameAddr {
  return { displayName: undefined, uri, params: tag === undefined ? {} : { tag } };
}

export interface RequestFields {
  readonly method?: string;
  readonly branch?: string | undefined;
  readonly uri?: string;
  readonly seq?: number;
  readonly callId?: string;
  readonly fromTag?: string;
  readonly toTag?: string | undefined;
  readonly via?: Via;
}

/** A request as the message layer would parse it; an INFO in a dialog by default. */
export function request(f: RequestFields = {}): SipRequest {
  const method = f.method ?? 'INFO';
  const branch = 'branch' in f ? f.branch : 'z9hG4bKdefault';
  return {
    kind: 'request',
    method,
    uri: f.uri ?? 'sip:1001@192.0.2.10:5060',
    maxForwards: 70,
    via: [f.via ?? via(branch)],
    from: nameAddr('sip:controller@192.0.2.1', f.fromTag ?? 'ctl-tag'),
    to: nameAddr('sip:1001@192.0.2.10', 'toTag' in f ? f.toTag : 'phone-tag'),
    callId: f.callId ?? 'call-1@192.0.2.1',
    cseq: { seq: f.seq ?? 1, method: method === 'ACK' ? 'INVITE' : method },
    headers: {},
    body: EMPTY,
  };
}

/** Fixes the CSeq method of an ACK built with {@link request}. */
export function ack(f: RequestFields = {}): SipRequest {
  const r = request({ ...f, method: 'ACK' });
  return { ...r, cseq: { seq: r.cseq.seq, method: 'ACK' } };
}

/** A response to `req`; a To tag is added to anything above 100 unless the request had one. */
export function response(
  req: SipRequest,
  status: number,
  f: { readonly toTag?: string; readonly seq?: number } = {},
): SipResponse {
  const tag = req.to.params['tag'] ?? (status > 100 ? (f.toTag ?? 'uas-tag') : undefined);
  return {
    kind: 'response',
    status,
    reason: REASONS[status] ?? 'Reason',
    via: req.via,
    from: req.from,
    to: { ...req.to, params: tag === undefined ? {} : { tag } },
    callId: req.callId,
    cseq: { seq: f.seq ?? req.cseq.seq, method: req.cseq.method },
    headers: {},
    body: EMPTY,
  };
}

const REASONS: Readonly<Record<number, string>> = {
  100: 'Trying',
  180: 'Ringing',
  200: 'OK',
  408: 'Request Timeout',
  482: 'Loop Detected',
  486: 'Busy Here',
};

/** A small serializer for the tests: the start line and the transaction headers, as text. */
export function serialize(m: SipMessage): Uint8Array {
  const start =
    m.kind === 'request' ? `${m.method} ${m.uri} SIP/2.0` : `SIP/2.0 ${m.status} ${m.reason}`;
  const tag = (a: NameAddr): string =>
    a.params['tag'] === undefined ? '' : `;tag=${a.params['tag']}`;
  const lines = [
    start,
    ...m.via.map((v) => `Via: ${formatVia(v)}`),
    `From: <${m.from.uri}>${tag(m.from)}`,
    `To: <${m.to.uri}>${tag(m.to)}`,
    `Call-ID: ${m.callId}`,
    `CSeq: ${m.cseq.seq} ${m.cseq.method}`,
    `Content-Length: ${m.body.length}`,
  ];
  return new TextEncoder().encode(lines.join('\r\n') + '\r\n\r\n');
}

/** The start line of serialized bytes. */
export function startLine(bytes: Uint8Array): string {
  const text = new TextDecoder().decode(bytes);
  return text.slice(0, text.indexOf('\r\n'));
}

/** One header line of serialized bytes, e.g. `header(bytes, 'CSeq')` → `'1 ACK'`. */
export function header(bytes: Uint8Array, name: string): string | undefined {
  const line = new TextDecoder()
    .decode(bytes)
    .split('\r\n')
    .find((l) => l.startsWith(`${name}: `));
  return line?.slice(name.length + 2);
}

export interface Sent {
  /** Milliseconds since the start of the test. */
  readonly at: number;
  readonly line: string;
  readonly bytes: Uint8Array;
  readonly target: Peer;
  readonly reliable: boolean;
}

/** What a client TU was told, with the time. */
export type ClientEvent =
  | { readonly at: number; readonly type: 'response'; readonly status: number }
  | {
      readonly at: number;
      readonly type: 'timeout' | 'transport-error';
      readonly error: TransactionError;
    };

/** What the layer's TU was told, with the time. */
export type LayerEvent =
  | {
      readonly at: number;
      readonly type: 'request';
      readonly request: SipRequest;
      readonly tx: ServerTransaction<Peer>;
    }
  | { readonly at: number; readonly type: 'ack'; readonly ack: SipRequest }
  | { readonly at: number; readonly type: 'stray'; readonly response: SipResponse }
  | {
      readonly at: number;
      readonly type: 'server-error';
      readonly error: TransactionError;
      readonly tx: ServerTransaction<Peer>;
    };

export interface Harness {
  readonly clock: ManualClock;
  readonly layer: TransactionLayer<Peer>;
  readonly sent: Sent[];
  readonly events: LayerEvent[];
  readonly traces: TransactionTraceEvent[];
  /** How many times the serializer ran. */
  serializations(): number;
  /** Makes the next `count` sends throw. */
  failSends(count: number): void;
  /** A client TU that records into the returned array. */
  clientUser(): { readonly user: ClientTransactionUser; readonly events: ClientEvent[] };
  /** Send times in seconds, for comparison with the RFC's tables. */
  sendTimes(filter?: (s: Sent) => boolean): number[];
}

export interface HarnessOptions {
  readonly timers?: TimerOptions;
  /** Handles each new request as it arrives (e.g. answer at once). */
  readonly onRequest?: (request: SipRequest, tx: ServerTransaction<Peer>) => void;
  readonly layer?: Partial<TransactionLayerOptions<Peer>>;
}

export function harness(options: HarnessOptions = {}): Harness {
  const clock = manualClock();
  const sent: Sent[] = [];
  const events: LayerEvent[] = [];
  const traces: TransactionTraceEvent[] = [];
  let serializations = 0;
  let failures = 0;
  const layer = new TransactionLayer<Peer>({
    clock,
    timers: options.timers,
    ids: createIdGenerator(seededRandom(7)),
    trace: (e) => traces.push(e),
    serialize: (m) => {
      serializations++;
      return serialize(m);
    },
    send: (bytes, target, reliable) => {
      if (failures > 0) {
        failures--;
        throw new Error('ECONNRESET');
      }
      sent.push({ at: clock.now(), line: startLine(bytes), bytes, target, reliable });
    },
    user: {
      onRequest: (request, tx) => {
        events.push({ at: clock.now(), type: 'request', request, tx });
        options.onRequest?.(request, tx);
      },
      onAck: (a) => events.push({ at: clock.now(), type: 'ack', ack: a }),
      onStrayResponse: (r) => events.push({ at: clock.now(), type: 'stray', response: r }),
      onServerError: (tx, error) =>
        events.push({ at: clock.now(), type: 'server-error', error, tx }),
    },
    ...options.layer,
  });
  return {
    clock,
    layer,
    sent,
    events,
    traces,
    serializations: () => serializations,
    failSends: (count) => {
      failures = count;
    },
    clientUser() {
      const got: ClientEvent[] = [];
      const user: ClientTransactionUser = {
        onResponse: (r) => got.push({ at: clock.now(), type: 'response', status: r.status }),
        onTimeout: (error) => got.push({ at: clock.now(), type: 'timeout', error }),
        onTransportError: (error) => got.push({ at: clock.now(), type: 'transport-error', error }),
      };
      return { user, events: got };
    },
    sendTimes: (filter) => sent.filter(filter ?? (() => true)).map((s) => s.at / 1000),
  };
}
