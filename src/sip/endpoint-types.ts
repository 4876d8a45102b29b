/**
 * The types of the SIP endpoint's public API: its options, its transaction user, its hops, its
 * trace events and its counters.
 *
 * @remarks
 * Split from `endpoint.ts` so that the UA core (issue 5) and tests can name them without the
 * class. RFC 3261 §17 (the transaction user), §18 (hops and the Via rules they carry).
 */

import type { UaCstaError } from '../errors.js';
import type { Clock } from '../util/clock.js';
import type { IdGenerator } from '../util/ids.js';
import type { SipParseOptions } from './message/parse.js';
import type { SipParseError } from './message/parse-error.js';
import type { SipRequestInit } from './message/serialize.js';
import type { SipRequest, SipResponse, Via } from './message/types.js';
import type { TimerOptions } from './transaction/timers.js';
import type { ServerTransaction } from './transaction/transaction-layer.js';
import type { TransactionError, TransactionTraceEvent } from './transaction/transaction.js';
import type {
  FlowId,
  SendOptions,
  Transport,
  TransportProtocol,
  TransportTarget,
  TransportTraceEvent,
} from './transport/transport.js';

/**
 * Where a transaction's messages go: the transport, the address, and the flow to prefer. It is
 * the transaction layer's target type: a server transaction's `target` says where its request
 * came from and where its responses go (RFC 3261 §18.2.2).
 */
export interface SipHop extends SendOptions {
  readonly transport: Transport;
  /** The address: the next hop of a request, or the §18.2.2 address of a response. */
  readonly target: TransportTarget;
  /** The connection to use while it is open (the one the request came on). */
  readonly flow: FlowId | undefined;
  /** @internal Set by the endpoint: reports a failure after the send to the transaction. */
  onError: ((error: UaCstaError) => void) | undefined;
}

/**
 * The transaction user of an endpoint: the UA core, or a test's request handler.
 *
 * @remarks
 * Only `onRequest` is required. An exception it throws, or a promise it returns that rejects,
 * is traced, and the request is answered with 500 if it has no final response yet.
 */
export interface SipEndpointUser {
  /** A new request with the server transaction that answers it (`transaction.respond(…)`). */
  onRequest(request: SipRequest, transaction: ServerTransaction<SipHop>): void | Promise<void>;
  /** An ACK that belongs to no transaction: the ACK for a 2xx (RFC 3261 §17.2.3, RFC 6026). */
  onAck?(ack: SipRequest, source: SipHop, reliable: boolean): void;
  /** A response that matches no client transaction (RFC 3261 §18.1.2). */
  onStrayResponse?(response: SipResponse, source: SipHop): void;
  /** A server transaction failed after its request was handed over (Timer H, transport). */
  onServerError?(transaction: ServerTransaction<SipHop>, error: TransactionError): void;
}

/** What an endpoint reports to `trace`: every message in and out and every dropped input. */
export type SipEndpointTraceEvent =
  | {
      readonly type: 'received';
      readonly bytes: Uint8Array;
      readonly source: TransportTarget;
      readonly flow: FlowId | undefined;
    }
  | {
      readonly type: 'sent';
      readonly bytes: Uint8Array;
      readonly target: TransportTarget;
      readonly flow: FlowId | undefined;
    }
  | {
      /** Input that got no further: unreadable, over a limit, not ours, unmatched. */
      readonly type: 'dropped';
      readonly reason: string;
      readonly source: TransportTarget | undefined;
      readonly error?: unknown;
    }
  | {
      /** A request answered by the endpoint itself because it breaks the rules (400, 416, 505). */
      readonly type: 'rejected';
      readonly status: number;
      readonly reasonPhrase: string;
      readonly source: TransportTarget;
      readonly error: SipParseError;
    }
  | {
      readonly type: 'transport';
      readonly protocol: TransportProtocol;
      readonly event: TransportTraceEvent;
    }
  | { readonly type: 'transaction'; readonly event: TransactionTraceEvent }
  | {
      /** The transaction user threw or rejected; the request got a 500 if it had no answer. */
      readonly type: 'user-error';
      readonly error: unknown;
    }
  | {
      /** An exception caught in the receive path (a bug, never input); the endpoint carries on. */
      readonly type: 'error';
      readonly error: unknown;
    };

/** Counts of the receive path since the endpoint was created. */
export interface SipEndpointCounters {
  /** Datagrams, frames and WebSocket messages handed over by the transports. */
  readonly received: number;
  /** Inputs dropped: unreadable, over a limit, a response that is not ours, or after close. */
  readonly dropped: number;
  /** Requests answered by the endpoint itself with 400, 416 or 505. */
  readonly rejected: number;
  /** Exceptions caught in the receive path. */
  readonly errors: number;
}

/** Options of `SipEndpoint`. */
export interface SipEndpointOptions {
  /** The transports, already listening; the endpoint owns them and closes them. */
  readonly transports: readonly Transport[];
  /** The transaction user; can also be set later with `SipEndpoint.onRequest`. */
  readonly user?: SipEndpointUser;
  /** Time for the transaction timers. @defaultValue `systemClock` */
  readonly clock?: Clock;
  /** T1, T2, T4 (RFC 3261 Table 4). */
  readonly timers?: TimerOptions;
  /** Branches and tags. @defaultValue `createIdGenerator()` */
  readonly ids?: IdGenerator;
  /** Message limits; see `SIP_LIMITS`. */
  readonly limits?: SipParseOptions;
  /** Sees every message in and out and every dropped input. */
  readonly trace?: (event: SipEndpointTraceEvent) => void;
}

/** A request to send: a built {@link SipRequest}, or what `createRequest` takes, without Via. */
export type OutgoingRequest =
  SipRequest | (Omit<SipRequestInit, 'via'> & { readonly via?: readonly Via[] });

/** Options of `SipEndpoint.sendRequest`. */
export interface SendRequestOptions {
  /** The connection to send on while it is open (a flow the peer opened to us). */
  readonly flow?: FlowId;
  /** Stops waiting: the promise rejects with `ERR_ABORTED` (the transaction runs to its end). */
  readonly signal?: AbortSignal;
  /** Sees each provisional (1xx) response. */
  readonly onProvisional?: (response: SipResponse) => void;
}

/**
 * State of an endpoint.
 *
 * ```text
 *   Open ──close()──▶ Closing ──transports closed──▶ Closed
 * ```
 */
export type SipEndpointState = 'Open' | 'Closing' | 'Closed';
