/**
 * `CstaServer`: the switching-function side of a uaCSTA association (digest §1.4–1.5, §2.2).
 *
 * @remarks
 * Every CSTA request from the peer gets exactly one answer: its handler's response, or a
 * documented `<CSTAErrorCode>` in a 200 (never a SIP error for a CSTA failure, digest §1.4).
 * Only input that is not CSTA at all is refused at SIP level: a wrong Content-Type is 415 with
 * `Accept: application/csta+xml` (RFC 3261 §21.4.13), a body that is not well-formed XML is 400.
 * Replies are written in the edition of the request.
 */

import { parseCsta, serializeCsta, SCHEMA } from '../csta/index.js';
import type { CstaMessage, CstaServiceMap, Edition, UniversalFailure } from '../csta/model/types.js';
import { isUaCstaError, UaCstaError } from '../errors.js';
import { CSTA_CONTENT_TYPE, isCstaContentType, type CstaChannel, type CstaChannelAnswer, type CstaChannelRequest } from './channel.js';
import type { CstaEvent } from './client.js';
import { CstaRejectedError, CstaServiceError } from './errors.js';
import { supportedServicesFor } from './features.js';

/** Answers one service; resolves its positive response or throws a {@link CstaServiceError}. */
export type CstaServiceHandler<K extends keyof CstaServiceMap> = (
  request: CstaServiceMap[K]['request'],
) => CstaServiceMap[K]['response'] | Promise<CstaServiceMap[K]['response']>;

/** What the server reports through `trace`. */
export type CstaServerTraceEvent =
  | { readonly type: 'received'; readonly body: string }
  | { readonly type: 'sent'; readonly body: string }
  /** A request answered with an error (415, 400, CSTAErrorCode) or an input ignored. */
  | { readonly type: 'refused'; readonly reason: string; readonly error?: unknown }
  /** A handler failed with something other than a CstaServiceError. */
  | { readonly type: 'handler-error'; readonly service: string; readonly error: unknown };

/** Options of {@link CstaServer}. */
export interface CstaServerOptions {
  readonly channel: CstaChannel;
  /** Edition of events, and of replies to requests that carry no namespace. @defaultValue 'ed3' */
  readonly edition?: Edition;
  /**
   * Answer `GetCSTAFeatures` from the registered handlers when no handler is registered for it.
   * @defaultValue true
   */
  readonly answerFeatures?: boolean;
  /**
   * Answer `RequestSystemStatus` (in the INVITE, a refresh re-INVITE or an INFO) with
   * `systemStatus` `normal` when no handler is registered for it (digest §1.3, §1.7).
   * @defaultValue true
   */
  readonly answerSystemStatus?: boolean;
  readonly trace?: (event: CstaServerTraceEvent) => void;
}

/** `Open` until `close()` or the channel ends. */
export type CstaServerState = 'Open' | 'Closed';

type AnyHandler = (request: CstaMessage) => CstaMessage | Promise<CstaMessage>;

const NOT_SUPPORTED: UniversalFailure = { operation: 'serviceNotSupported' };

/**
 * Serves CSTA requests arriving over one channel and sends events over it.
 *
 * @example
 * const server = new CstaServer({ channel });
 * server.handle('MakeCall', (req) => ({ type: 'MakeCallResponse', callingDevice: { callID: '1', deviceID: '1001' } }));
 * await server.emit({ type: 'DeliveredEvent', monitorCrossRefID: '43', ... });
 */
export class CstaServer {
  readonly #channel: CstaChannel;
  readonly #edition: Edition;
  readonly #answerFeatures: boolean;
  readonly #answerSystemStatus: boolean;
  readonly #trace: (event: CstaServerTraceEvent) => void;
  readonly #handlers = new Map<string, AnyHandler>();
  readonly #unsubscribe: (() => void)[] = [];
  #state: CstaServerState = 'Open';
  #closing: Promise<void> | undefined;
  #eventChain: Promise<unknown> = Promise.resolve();

  constructor(options: CstaServerOptions) {
    if (options === null || typeof options !== 'object' || options.channel === undefined)
      throw new UaCstaError('ERR_INVALID_ARG', 'options.channel is required');
    this.#channel = options.channel;
    this.#edition = options.edition ?? 'ed3';
    this.#answerFeatures = options.answerFeatures ?? true;
    this.#answerSystemStatus = options.answerSystemStatus ?? true;
    this.#trace = options.trace ?? (() => {});
    this.#unsubscribe.push(this.#channel.onRequest((req) => this.#onRequest(req)));
    this.#unsubscribe.push(this.#channel.onClosed(() => this.#ended()));
  }

  get state(): CstaServerState {
    return this.#state;
  }

  /** The services that have a handler. */
  get services(): readonly string[] {
    return [...this.#handlers.keys()];
  }

  /**
   * Sets the handler of service `service` (one per service; a new one replaces the old).
   * Returns the function that removes it.
   */
  handle<K extends keyof CstaServiceMap>(service: K, handler: CstaServiceHandler<K>): () => void {
    if (typeof service !== 'string' || SCHEMA.elements[service] === undefined)
      throw new UaCstaError('ERR_INVALID_ARG', `'${String(service)}' is not an ECMA-323 service`);
    if (typeof handler !== 'function') throw new UaCstaError('ERR_INVALID_ARG', 'handler must be a function');
    const h = handler as unknown as AnyHandler;
    this.#handlers.set(service, h);
    return () => {
      if (this.#handlers.get(service) === h) this.#handlers.delete(service);
    };
  }

  /**
   * Sends an event to the peer (one request, answered 200 without a body; digest §1.5). Events
   * leave in the order `emit` was called. Rejects `SIP_ERR_REJECTED` for a non-2xx,
   * `UACSTA_ERR_CLOSED`, `CSTA_ERR_SERIALIZE`, or what the channel rejects with.
   */
  emit(event: CstaEvent): Promise<void> {
    if (this.#state !== 'Open')
      return Promise.reject(new UaCstaError('UACSTA_ERR_CLOSED', 'the CSTA server is closed'));
    let body: string;
    try {
      body = serializeCsta(event, { edition: event.edition ?? this.#edition });
    } catch (error) {
      return Promise.reject(error);
    }
    const run = this.#eventChain.then(async () => {
      if (this.#state !== 'Open') throw new UaCstaError('UACSTA_ERR_CLOSED', 'the CSTA server is closed');
      this.#safeTrace({ type: 'sent', body });
      const res = await this.#channel.send(body);
      if (res.status < 200 || res.status >= 300)
        throw new CstaRejectedError(`<${event.type}>`, res.status, res.reason, res.body);
    });
    this.#eventChain = run.catch(() => {});
    return run;
  }

  /** Stops serving and ends the association (the channel's BYE). Idempotent. */
  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#ended();
    this.#closing = this.#channel.close().catch((error: unknown) => {
      this.#safeTrace({ type: 'refused', reason: 'channel close failed', error });
    });
    return this.#closing;
  }

  async #onRequest(req: CstaChannelRequest): Promise<CstaChannelAnswer> {
    if (!isCstaContentType(req.contentType)) {
      this.#safeTrace({ type: 'refused', reason: `Content-Type '${req.contentType ?? ''}' is not ${CSTA_CONTENT_TYPE}` });
      return { status: 415, headers: { Accept: CSTA_CONTENT_TYPE } };
    }
    this.#safeTrace({ type: 'received', body: req.body });
    const parsed = parseCsta(req.body);
    if (!parsed.ok) {
      const code = parsed.error.code;
      this.#safeTrace({ type: 'refused', reason: parsed.error.message, error: parsed.error });
      // well-formed XML that does not fit the model is a CSTA-level failure; the rest is not CSTA
      if (code === 'CSTA_ERR_INVALID') return this.#reply({ type: 'CSTAErrorCode', operation: 'invalidParameterValue' }, undefined);
      return { status: 400 };
    }
    const m = parsed.value;
    const edition = m.edition;
    if (m.type === 'Unknown') {
      this.#safeTrace({ type: 'refused', reason: `unknown service <${m.root}>` });
      return this.#reply({ type: 'CSTAErrorCode', ...NOT_SUPPORTED }, edition);
    }
    if (m.type.endsWith('Event') || m.type.endsWith('Response') || m.type === 'CSTAErrorCode') {
      this.#safeTrace({ type: 'refused', reason: `<${m.type}> is not a request; ignored` });
      return { status: 200 };
    }
    const handler = this.#handlers.get(m.type);
    if (handler === undefined) {
      if (m.type === 'RequestSystemStatus' && this.#answerSystemStatus)
        return this.#reply({ type: 'RequestSystemStatusResponse', systemStatus: 'normal' }, edition);
      if (m.type === 'GetCSTAFeatures' && this.#answerFeatures) {
        try {
          return this.#reply(this.#features(edition ?? this.#edition), edition);
        } catch (error) {
          this.#safeTrace({ type: 'handler-error', service: m.type, error });
          return this.#reply({ type: 'CSTAErrorCode', operation: 'generic' }, edition);
        }
      }
      this.#safeTrace({ type: 'refused', reason: `no handler for <${m.type}>` });
      return this.#reply({ type: 'CSTAErrorCode', ...NOT_SUPPORTED }, edition);
    }
    let response: CstaMessage;
    try {
      response = await handler(m);
    } catch (error) {
      if (isUaCstaError(error) && error.code === 'CSTA_ERR_SERVICE' && 'errorValue' in error) {
        return this.#reply({ type: 'CSTAErrorCode', ...(error as CstaServiceError).errorValue }, edition);
      }
      this.#safeTrace({ type: 'handler-error', service: m.type, error });
      return this.#reply({ type: 'CSTAErrorCode', operation: 'generic' }, edition);
    }
    if (response === null || typeof response !== 'object' || (response.type !== `${m.type}Response` && response.type !== 'CSTAErrorCode')) {
      const error = new UaCstaError('ERR_INVALID_ARG', `the handler of <${m.type}> must resolve <${m.type}Response>`);
      this.#safeTrace({ type: 'handler-error', service: m.type, error });
      return this.#reply({ type: 'CSTAErrorCode', operation: 'generic' }, edition);
    }
    try {
      return this.#reply(response, edition);
    } catch (error) {
      this.#safeTrace({ type: 'handler-error', service: m.type, error });
      return this.#reply({ type: 'CSTAErrorCode', operation: 'generic' }, edition);
    }
  }

  #reply(message: CstaMessage, edition: Edition | undefined): CstaChannelAnswer {
    const body = serializeCsta(message, { edition: edition ?? this.#edition });
    this.#safeTrace({ type: 'sent', body });
    return { status: 200, body };
  }

  /**
   * A GetCSTAFeaturesResponse listing the services answered here (digest §4.2): those with a
   * handler, GetCSTAFeatures itself, and RequestSystemStatus when it is answered by default;
   * only flags that exist in `edition` (ECMA-323 ed6 added some).
   */
  #features(edition: Edition): CstaMessage {
    const answered = new Set(this.#handlers.keys());
    answered.add('GetCSTAFeatures');
    if (this.#answerSystemStatus) answered.add('RequestSystemStatus');
    const services = supportedServicesFor(answered, edition);
    return { type: 'GetCSTAFeaturesResponse', supportedServices: services, supportedEvents: {} } as CstaMessage;
  }

  #ended(): void {
    if (this.#state === 'Closed') return;
    this.#state = 'Closed';
    for (const off of this.#unsubscribe.splice(0)) off();
  }

  #safeTrace(event: CstaServerTraceEvent): void {
    try {
      this.#trace(event);
    } catch {
      // a trace sink that throws must not break protocol flow
    }
  }
}
