/**
 * The SIP endpoint: transports, message parsing and the transaction layer tied together.
 *
 * @remarks
 * RFC 3261 §18 (transport layer: Via on the way out, `received` on the way in, where responses
 * go), §17 (transactions, through {@link TransactionLayer}), §8.2.6 / §21.4.1 (400 to a request
 * that breaks the rules); RFC 3581 (`rport`). The receive path turns bytes into messages: a
 * request that is readable but wrong is answered (400, 416, 505 with a reason phrase naming the
 * rule), anything unreadable is dropped, traced and counted, and no exception ever leaves it.
 * Above the endpoint sits the UA core (`sip/ua`), which registers as the transaction user with
 * {@link SipEndpoint.onRequest} and drives transactions through {@link SipEndpoint.transactions}.
 */

import { UaCstaError } from '../errors.js';
import { createIdGenerator, type IdGenerator } from '../util/ids.js';
import type {
  OutgoingRequest,
  SendRequestOptions,
  SipEndpointCounters,
  SipEndpointOptions,
  SipEndpointState,
  SipEndpointTraceEvent,
  SipEndpointUser,
  SipHop,
} from './endpoint-types.js';
import { isOwnVia, responseTarget, stampVia, viaAlias } from './endpoint-via.js';
import { newRecord } from './message/headers.js';
import { parseSipMessage, resolveSipLimits, type SipParseOptions } from './message/parse.js';
import type { SipParseError } from './message/parse-error.js';
import {
  createRequest,
  createResponse,
  serializeErrorResponse,
  serializeSipMessage,
} from './message/serialize.js';
import type { SipMessage, SipRequest, SipResponse, Via } from './message/types.js';
import { formatVia } from './transaction/build.js';
import {
  TransactionLayer,
  type ClientTransaction,
  type ServerTransaction,
  type TransactionUser,
} from './transaction/transaction-layer.js';
import type { ClientTransactionUser } from './transaction/transaction.js';
import {
  VIA_TRANSPORT,
  type FlowId,
  type Transport,
  type TransportProtocol,
  type TransportTarget,
} from './transport/transport.js';

export type {
  OutgoingRequest,
  SendRequestOptions,
  SipEndpointCounters,
  SipEndpointOptions,
  SipEndpointState,
  SipEndpointTraceEvent,
  SipEndpointUser,
  SipHop,
} from './endpoint-types.js';

type Counters = { received: number; dropped: number; rejected: number; errors: number };

/**
 * `target` with the host string of `source` when both name the same host.
 *
 * @remarks
 * The Via host is a slice of the whole parsed header text; the hop outlives the request (it is
 * the server transaction's target for Timer J), so keeping that slice would keep the header
 * text alive with it. The address is the same either way.
 */
function ownedHost(target: TransportTarget, source: TransportTarget): TransportTarget {
  return target.host === source.host
    ? { protocol: target.protocol, host: source.host, port: target.port }
    : target;
}

/**
 * The `onError` of a hop: reports a late transport failure to `tx`.
 *
 * @remarks
 * Made here, in a scope that holds nothing but `tx`: a closure made inside the request handler
 * would share that handler's context, which also holds the request (for the 500 on a rejected
 * promise), and so keep the parsed request and its datagram alive for as long as the lingering
 * transaction (Timer J, 32 s on UDP) — ~4 KiB of heap per INFO answered (research/performance.md, G9).
 */
function reportTo(tx: { transportError(cause: unknown): void }): (error: UaCstaError) => void {
  return (error) => tx.transportError(error);
}

/** The request with a new top Via, its raw `via` values rewritten to match. */
function withTopVia(request: SipRequest, top: Via): SipRequest {
  const via = [top, ...request.via.slice(1)];
  const headers = newRecord<readonly string[]>();
  for (const name in request.headers) headers[name] = request.headers[name]!;
  headers['via'] = via.map(formatVia);
  return { ...request, via, headers };
}

/**
 * One SIP element's transport and transaction layers (RFC 3261 §17, §18).
 *
 * @example
 * const endpoint = new SipEndpoint({ transports: [await UdpTransport.listen({ port: 0 })] });
 * endpoint.onRequest((request, tx) => tx.respond(createResponse(request, 200, 'OK', { toTag })));
 * const response = await endpoint.sendRequest(info, { protocol: 'udp', host: '192.0.2.10', port: 5060 });
 * await endpoint.close();
 */
export class SipEndpoint {
  readonly #transports: readonly Transport[];
  readonly #layer: TransactionLayer<SipHop>;
  readonly #ids: IdGenerator;
  readonly #limits: SipParseOptions;
  readonly #trace: ((event: SipEndpointTraceEvent) => void) | undefined;
  readonly #sentBys: { protocol: TransportProtocol; host: string; port: number | undefined }[];
  readonly #counters: Counters = { received: 0, dropped: 0, rejected: 0, errors: 0 };
  readonly #pending = new Set<(error: UaCstaError) => void>();
  #user: SipEndpointUser | undefined;
  #state: SipEndpointState = 'Open';
  #closing: Promise<void> | undefined;

  /** @throws `ERR_INVALID_ARG` for no transports, a closed one, or a bad timer or limit. */
  constructor(options: SipEndpointOptions) {
    const transports = options.transports;
    if (!Array.isArray(transports) || transports.length === 0) {
      throw new UaCstaError('ERR_INVALID_ARG', 'transports must hold at least one transport');
    }
    for (const t of transports) {
      if (t.state !== 'Open')
        throw new UaCstaError('ERR_INVALID_ARG', `the ${t.protocol} transport is closed`);
    }
    if (options.trace !== undefined && typeof options.trace !== 'function') {
      throw new UaCstaError('ERR_INVALID_ARG', 'trace must be a function');
    }
    this.#transports = [...transports];
    this.#ids = options.ids ?? createIdGenerator();
    this.#limits = resolveSipLimits(options.limits);
    const trace = options.trace;
    // a throwing trace hook must not break the receive path: its exceptions go nowhere
    this.#trace =
      trace === undefined
        ? undefined
        : (event) => {
            try {
              trace(event);
            } catch {
              // nothing left to report to
            }
          };
    this.#user = options.user;
    this.#sentBys = this.#transports.map((t) => ({
      protocol: t.protocol,
      host: t.sentBy.host,
      port: t.sentBy.port,
    }));
    this.#layer = new TransactionLayer<SipHop>({
      send: (bytes, hop) => {
        this.#trace?.({ type: 'sent', bytes, target: hop.target, flow: hop.flow });
        hop.transport.send(bytes, hop.target, hop);
      },
      serialize: serializeSipMessage,
      user: this.#transactionUser(),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      ...(options.timers === undefined ? {} : { timers: options.timers }),
      ids: this.#ids,
      // a lingering record resends to the hop, but must not keep its transaction alive through
      // the hop's error callback (that would hold the request and its datagram for Timer J);
      // the transaction is done with the hop by then, so it is cut loose rather than copied
      lingerTarget: (hop) => {
        hop.onError = undefined;
        return hop;
      },
      trace: (event) => {
        if (event.type === 'dropped') this.#counters.dropped++;
        this.#trace?.({ type: 'transaction', event });
      },
    });
    for (const t of this.#transports) {
      t.attach({
        receive: (bytes, source, flow) => this.#receive(t, bytes, source, flow),
        trace: (event) => this.#trace?.({ type: 'transport', protocol: t.protocol, event }),
      });
    }
  }

  /** Where the endpoint is; see {@link SipEndpointState}. */
  get state(): SipEndpointState {
    return this.#state;
  }

  /** The transaction layer, for the UA core (INVITE, CANCEL, ACK handling). */
  get transactions(): TransactionLayer<SipHop> {
    return this.#layer;
  }

  /** The transports, in the order given. */
  get transports(): readonly Transport[] {
    return this.#transports;
  }

  /** Counts of the receive path; see {@link SipEndpointCounters}. */
  get counters(): SipEndpointCounters {
    return { ...this.#counters };
  }

  /**
   * Registers the transaction user: a request handler, or a {@link SipEndpointUser} that also
   * takes ACKs for 2xx, stray responses and server-side failures. Returns the function that
   * unregisters it. Until one is registered, requests are answered 501.
   *
   * @throws `ERR_INVALID_STATE` when a user is already registered (one handler per request).
   */
  onRequest(user: SipEndpointUser | SipEndpointUser['onRequest']): () => void {
    if (this.#user !== undefined) {
      throw new UaCstaError('ERR_INVALID_STATE', 'a request handler is already registered');
    }
    const u: SipEndpointUser = typeof user === 'function' ? { onRequest: user } : user;
    if (typeof u.onRequest !== 'function')
      throw new UaCstaError('ERR_INVALID_ARG', 'onRequest must be a function');
    this.#user = u;
    return () => {
      if (this.#user === u) this.#user = undefined;
    };
  }

  /**
   * A top Via for a request sent over a transport of `protocol`: our sent-by, the transport,
   * and a fresh branch (RFC 3261 §8.1.1.7, §18.1.1), with an empty `rport` on unreliable
   * transports (RFC 3581 §3).
   *
   * @throws `ERR_INVALID_ARG` when the endpoint has no transport of that protocol.
   */
  createVia(protocol: TransportProtocol, branch: string = this.#ids.branch()): Via {
    const t = this.#pick(protocol);
    const params = newRecord<string>();
    params['branch'] = branch;
    if (!t.reliable) params['rport'] = '';
    return {
      transport: VIA_TRANSPORT[protocol],
      host: t.sentBy.host,
      port: t.sentBy.port,
      branch,
      params,
    };
  }

  /**
   * Starts a client transaction for `request` towards `target`, with our Via on top; for the UA
   * core (INVITE among others).
   *
   * @throws `ERR_INVALID_STATE` when closed, `ERR_INVALID_ARG` for a bad request or a target
   * protocol without transport.
   */
  createClientTransaction(
    request: OutgoingRequest,
    target: TransportTarget,
    user: ClientTransactionUser,
    options: { readonly flow?: FlowId } = {},
  ): ClientTransaction<SipHop> {
    if (this.#state !== 'Open')
      throw new UaCstaError('ERR_INVALID_STATE', `the endpoint is ${this.#state}`);
    const transport = this.#pick(target.protocol);
    const top = this.createVia(target.protocol);
    const full: SipRequest =
      'kind' in request
        ? { ...request, via: [top, ...request.via] }
        : createRequest({ ...request, via: [top, ...(request.via ?? [])] });
    const hop: SipHop = { transport, target, flow: options.flow, onError: undefined };
    const tx = this.#layer.sendRequest(full, hop, transport.reliable, user);
    hop.onError = reportTo(tx);
    return tx;
  }

  /**
   * Sends a non-INVITE request in a client transaction and resolves with its final response,
   * whatever its status.
   *
   * @remarks
   * Rejects with `SIP_ERR_TIMEOUT` (Timer F, RFC 3261 §17.1.2.2), `SIP_ERR_TRANSPORT`,
   * `SIP_ERR_CLOSED` when the endpoint closes first, `ERR_ABORTED` on `signal`, and
   * `ERR_INVALID_ARG` for an INVITE or ACK (use {@link SipEndpoint.createClientTransaction}) or
   * a bad request.
   *
   * @example
   * const res = await endpoint.sendRequest(
   *   { method: 'INFO', uri, from, to, callId, cseq: 2, headers: { 'Content-Type': 'application/csta+xml' }, body: xml },
   *   { protocol: 'udp', host: '192.0.2.10', port: 5060 },
   * );
   */
  sendRequest(
    request: OutgoingRequest,
    target: TransportTarget,
    options: SendRequestOptions = {},
  ): Promise<SipResponse> {
    return new Promise<SipResponse>((resolve, reject) => {
      const method = request.method;
      if (method === 'INVITE' || method === 'ACK') {
        throw new UaCstaError(
          'ERR_INVALID_ARG',
          `sendRequest is for non-INVITE requests; use createClientTransaction for ${method}`,
        );
      }
      if (this.#state !== 'Open')
        throw new UaCstaError('SIP_ERR_CLOSED', `the endpoint is ${this.#state}`);
      const signal = options.signal;
      if (signal?.aborted)
        throw new UaCstaError('ERR_ABORTED', 'aborted before sending', { cause: signal.reason });
      let settled = false;
      const onAbort = (): void =>
        fail(
          new UaCstaError('ERR_ABORTED', 'aborted while waiting for the final response', {
            cause: signal?.reason,
          }),
        );
      const done = (): boolean => {
        if (settled) return false;
        settled = true;
        this.#pending.delete(fail);
        signal?.removeEventListener('abort', onAbort);
        return true;
      };
      const fail = (error: unknown): void => {
        if (done()) reject(error);
      };
      this.#pending.add(fail);
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        this.createClientTransaction(
          request,
          target,
          {
            onResponse: (response) => {
              if (response.status < 200) options.onProvisional?.(response);
              else if (done()) resolve(response);
            },
            onTimeout: fail,
            onTransportError: fail,
          },
          options.flow === undefined ? {} : { flow: options.flow },
        );
      } catch (error) {
        fail(error);
      }
    });
  }

  /**
   * Sends a message outside any transaction: the ACK for a 2xx and 2xx retransmissions, which
   * the UA core owns (RFC 3261 §13.2.2.4, §13.3.1.4). The message must already carry its Via.
   *
   * @throws `ERR_INVALID_STATE` when closed; `SIP_ERR_TRANSPORT` when the transport cannot send.
   */
  sendStateless(
    message: SipMessage,
    target: TransportTarget,
    options: { readonly flow?: FlowId } = {},
  ): void {
    if (this.#state !== 'Open')
      throw new UaCstaError('ERR_INVALID_STATE', `the endpoint is ${this.#state}`);
    const transport = this.#pick(target.protocol);
    const bytes = serializeSipMessage(message);
    this.#trace?.({ type: 'sent', bytes, target, flow: options.flow });
    transport.send(bytes, target, options);
  }

  /**
   * Rejects every pending {@link SipEndpoint.sendRequest} with `SIP_ERR_CLOSED`, ends every
   * transaction, and closes the transports. Idempotent: every call returns the same promise.
   */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#state = 'Closing';
    const failure = new UaCstaError('SIP_ERR_CLOSED', 'the SIP endpoint was closed');
    for (const fail of [...this.#pending]) fail(failure);
    this.#layer.close();
    this.#closing = Promise.allSettled(this.#transports.map((t) => t.close())).then(() => {
      this.#state = 'Closed';
    });
    return this.#closing;
  }

  #pick(protocol: TransportProtocol): Transport {
    for (const t of this.#transports) if (t.protocol === protocol) return t;
    throw new UaCstaError('ERR_INVALID_ARG', `the endpoint has no ${protocol} transport`);
  }

  /** The receive path of every transport: nothing thrown here leaves it. */
  #receive(
    transport: Transport,
    bytes: Uint8Array,
    source: TransportTarget,
    flow: FlowId | undefined,
  ): void {
    const c = this.#counters;
    try {
      c.received++;
      if (this.#state !== 'Open') {
        c.dropped++;
        this.#trace?.({ type: 'dropped', reason: 'the endpoint is closing', source });
        return;
      }
      this.#trace?.({ type: 'received', bytes, source, flow });
      const parsed = parseSipMessage(bytes, this.#limits);
      if (!parsed.ok) return this.#refuse(transport, parsed.error, source, flow);
      const message = parsed.value;
      const top = message.via[0];
      if (top === undefined) {
        c.dropped++;
        this.#trace?.({ type: 'dropped', reason: 'no Via', source });
        return;
      }
      if (message.kind === 'request') {
        const stamped = stampVia(top, source);
        const request = stamped === top ? message : withTopVia(message, stamped);
        if (flow !== undefined) {
          const alias = viaAlias(top, transport.protocol, source);
          if (alias !== undefined) transport.alias(flow, alias);
        }
        const hop: SipHop = {
          transport,
          target: ownedHost(responseTarget(stamped, transport.protocol), source),
          flow,
          onError: undefined,
        };
        this.#layer.receive(request, hop, transport.reliable);
        return;
      }
      if (!isOwnVia(top, this.#sentBys)) {
        // RFC 3261 §18.1.2: "the response MUST be silently discarded"
        c.dropped++;
        this.#trace?.({
          type: 'dropped',
          reason: `response with a Via sent-by that is not ours: ${top.host}:${top.port ?? ''}`,
          source,
        });
        return;
      }
      this.#layer.receive(
        message,
        { transport, target: source, flow, onError: undefined },
        transport.reliable,
      );
    } catch (error) {
      c.errors++;
      this.#trace?.({ type: 'error', error });
    }
  }

  /** Answers a request that breaks the rules, or drops what cannot be answered. */
  #refuse(
    transport: Transport,
    error: SipParseError,
    source: TransportTarget,
    flow: FlowId | undefined,
  ): void {
    const request = error.request;
    const reply =
      error.code === 'SIP_ERR_SEMANTIC' && request !== undefined && request.method !== 'ACK'
        ? serializeErrorResponse(error, this.#ids.tag())
        : undefined;
    if (reply === undefined || request === undefined) {
      this.#counters.dropped++;
      this.#trace?.({ type: 'dropped', reason: error.message, source, error });
      return;
    }
    this.#counters.rejected++;
    const status = error.status ?? 400;
    this.#trace?.({
      type: 'rejected',
      status,
      reasonPhrase: error.reasonPhrase ?? '',
      source,
      error,
    });
    const top = request.via[0];
    const target =
      top === undefined ? source : responseTarget(stampVia(top, source), transport.protocol);
    this.#trace?.({ type: 'sent', bytes: reply, target, flow });
    try {
      transport.send(reply, target, { flow });
    } catch (cause) {
      this.#trace?.({ type: 'error', error: cause });
    }
  }

  #transactionUser(): TransactionUser<SipHop> {
    return {
      onRequest: (request, tx) => {
        const hop = tx.target;
        hop.onError = reportTo(tx);
        const user = this.#user;
        if (user === undefined) {
          this.#answer(request, tx, 501, 'Not Implemented');
          return;
        }
        try {
          const result = user.onRequest(request, tx);
          if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
            (result as Promise<void>).then(undefined, (error: unknown) =>
              this.#userFailed(request, tx, error),
            );
          }
        } catch (error) {
          this.#userFailed(request, tx, error);
        }
      },
      onAck: (ack, source, reliable) => this.#user?.onAck?.(ack, source, reliable),
      onStrayResponse: (response, source) => {
        const handler = this.#user?.onStrayResponse;
        if (handler !== undefined) return handler(response, source);
        this.#counters.dropped++;
        this.#trace?.({
          type: 'dropped',
          reason: `response ${response.status} to ${response.cseq.method} matches no transaction`,
          source: source.target,
        });
      },
      onServerError: (tx, error) => {
        const handler = this.#user?.onServerError;
        if (handler !== undefined) return handler(tx, error);
        this.#trace?.({ type: 'error', error });
      },
    };
  }

  #userFailed(request: SipRequest, tx: ServerTransaction<SipHop>, error: unknown): void {
    this.#trace?.({ type: 'user-error', error });
    this.#answer(request, tx, 500, 'Server Internal Error');
  }

  /** Sends a final response if the transaction has none yet; never throws. */
  #answer(
    request: SipRequest,
    tx: ServerTransaction<SipHop>,
    status: number,
    reason: string,
  ): void {
    if (tx.state !== 'Trying' && tx.state !== 'Proceeding') return;
    try {
      tx.respond(createResponse(request, status, reason, { toTag: this.#ids.tag() }));
    } catch (error) {
      this.#trace?.({ type: 'error', error });
    }
  }
}
