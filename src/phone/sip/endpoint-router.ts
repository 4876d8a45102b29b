/**
 * Many user agents on one SIP endpoint: each phone of a host has its own {@link UserAgent} (its
 * own address of record, Contact, credentials and dialogs), and the endpoint's requests are
 * routed to the phone named by the user part of the Request-URI.
 *
 * @remarks
 * Every request that reaches a phone carries its Contact or its address of record as
 * Request-URI (RFC 3261 §12.2.1.1: in-dialog requests go to the remote target, our Contact;
 * §16.5: a registrar-proxy rewrites the Request-URI to the registered Contact; §9.1: a CANCEL
 * has the Request-URI of its INVITE), and every phone's Contact holds its extension as user
 * part, so the user part is enough to route. A request for no known user is answered 404
 * (§8.2.2.1). Responses need no routing: the shared transaction layer matches them to the client
 * transaction of the phone that sent the request (§17.1.3).
 *
 * A phone's user agent sees a view of the endpoint (a `Proxy`) whose `onRequest` registers with
 * this router instead of the endpoint; everything else is the endpoint itself.
 */

import { UaCstaError } from '../../errors.js';
import type { SipEndpoint, SipEndpointUser, SipHop } from '../../sip/endpoint.js';
import { createResponse } from '../../sip/message/serialize.js';
import type { SipRequest } from '../../sip/message/types.js';
import type { ServerTransaction } from '../../sip/transaction/transaction-layer.js';
import type { IdGenerator } from '../../util/ids.js';

/** The user part of a SIP or tel URI (`sip:1000@host;x` → `1000`, `tel:+1000` → `+1000`). */
export function uriUser(uri: string): string | undefined {
  const m = /^(?:sips?|tel):([^@;?>]+)(?:@|;|\?|$)/i.exec(uri.trim());
  if (m === null) return undefined;
  // tel: has no `@`; for sip: a URI without user part (`sip:host`) has no `@` either
  if (!/^tel:/i.test(uri.trim()) && !uri.includes('@')) return undefined;
  return decodeURIComponentSafe(m[1]!.split(':')[0]!);
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Routes the requests of one endpoint to the phones on it, by the user part of the
 * Request-URI.
 *
 * @example
 * const router = new EndpointRouter(endpoint, ids);
 * const ua = new UserAgent({ endpoint: router.viewFor('1000'), aor, contact, clock });
 */
export class EndpointRouter {
  readonly #endpoint: SipEndpoint;
  readonly #ids: IdGenerator;
  readonly #users = new Map<string, SipEndpointUser>();
  readonly #unregister: () => void;

  constructor(endpoint: SipEndpoint, ids: IdGenerator) {
    this.#endpoint = endpoint;
    this.#ids = ids;
    this.#unregister = endpoint.onRequest({
      onRequest: (request, tx) => this.#route(request, tx),
      onAck: (ack, source, reliable) => this.#userOf(ack.uri)?.onAck?.(ack, source, reliable),
      onStrayResponse: (response, source) => {
        // a 2xx to our INVITE retransmitted after its transaction: the From is the phone's AoR
        const user = uriUser(response.from.uri);
        (user === undefined ? undefined : this.#users.get(user))?.onStrayResponse?.(response, source);
      },
      onServerError: (tx, error) => {
        for (const u of this.#users.values()) u.onServerError?.(tx, error);
      },
    });
  }

  /** How many phones are routed to. */
  get size(): number {
    return this.#users.size;
  }

  /**
   * A view of the endpoint for the phone `user`: a user agent built on it receives the requests
   * addressed to `user`.
   */
  viewFor(user: string): SipEndpoint {
    const endpoint = this.#endpoint;
    const onRequest = (u: SipEndpointUser | SipEndpointUser['onRequest']): (() => void) => {
      const value: SipEndpointUser = typeof u === 'function' ? { onRequest: u } : u;
      if (this.#users.has(user))
        throw new UaCstaError('ERR_INVALID_STATE', `phone ${user} already has a user agent`);
      this.#users.set(user, value);
      return () => {
        if (this.#users.get(user) === value) this.#users.delete(user);
      };
    };
    const bound = new Map<PropertyKey, unknown>();
    return new Proxy(endpoint, {
      get(target, prop) {
        if (prop === 'onRequest') return onRequest;
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        let fn = bound.get(prop);
        if (fn === undefined) {
          fn = (value as (...args: unknown[]) => unknown).bind(target);
          bound.set(prop, fn);
        }
        return fn;
      },
    });
  }

  /** Stops routing (the endpoint stays open). */
  close(): void {
    this.#unregister();
    this.#users.clear();
  }

  #userOf(uri: string): SipEndpointUser | undefined {
    const user = uriUser(uri);
    return user === undefined ? undefined : this.#users.get(user);
  }

  #route(request: SipRequest, tx: ServerTransaction<SipHop>): void | Promise<void> {
    const user = this.#userOf(request.uri);
    if (user !== undefined) return user.onRequest(request, tx);
    // RFC 3261 §8.2.2.1: the Request-URI names no one here
    try {
      tx.respond(createResponse(request, 404, 'Not Found', { toTag: this.#ids.tag() }));
    } catch {
      // the transaction ended meanwhile; nothing to answer
    }
  }
}
