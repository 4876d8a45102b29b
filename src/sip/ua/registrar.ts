/**
 * A registrar on the wire: REGISTER requests authenticated with an optional
 * {@link DigestServer}, then applied to a {@link BindingStore} (RFC 3261 §10.3), answered with
 * the store's status and headers. Mounts on a {@link UserAgent} (`methods: { REGISTER: r.handle }`)
 * or alone on a {@link SipEndpoint} (`r.attach(endpoint)`).
 */

import { createIdGenerator, type IdGenerator } from '../../util/ids.js';
import type { DigestIdentity, DigestServer } from '../auth/digest-server.js';
import type { SipEndpoint } from '../endpoint.js';
import { createResponse } from '../message/serialize.js';
import type { SipRequest } from '../message/types.js';
import {
  BindingStore,
  canonicalAor,
  type Binding,
  type BindingEvents,
  type BindingStoreOptions,
} from '../registrar/binding-store.js';
import type { RequestAnswer } from './user-agent.js';

/** Options of {@link Registrar}. */
export interface RegistrarOptions {
  /** The store to use; else one is made from `storeOptions`. */
  readonly store?: BindingStore;
  readonly storeOptions?: BindingStoreOptions;
  /** When set, every REGISTER must authenticate (401 challenge first). */
  readonly auth?: DigestServer;
  /**
   * Whether an authenticated identity may register this AOR. @defaultValue the digest username
   * equals the user part of the AOR
   */
  readonly mayRegister?: (identity: DigestIdentity, aor: string) => boolean;
  /** For the To tags of responses sent through `attach`. @defaultValue createIdGenerator() */
  readonly ids?: IdGenerator;
}

function defaultMayRegister(identity: DigestIdentity, aor: string): boolean {
  const m = /^sips?:([^@;?]+)@/i.exec(aor);
  return m !== null && decodeURIComponent(m[1]!) === identity.username;
}

/**
 * Answers REGISTER requests from a binding store.
 *
 * @example
 * const registrar = new Registrar({ auth, storeOptions: { clock } });
 * registrar.on('registered', (b) => log(b.aor, b.contact.uri));
 * const ua = new UserAgent({ endpoint, aor, contact, methods: { REGISTER: registrar.handle } });
 * registrar.lookup('sip:1001@pbx.invalid');   // ['sip:1001@192.0.2.5:5060']
 */
export class Registrar {
  readonly store: BindingStore;
  readonly #auth: DigestServer | undefined;
  readonly #mayRegister: (identity: DigestIdentity, aor: string) => boolean;
  readonly #ids: IdGenerator;

  constructor(options: RegistrarOptions = {}) {
    this.store = options.store ?? new BindingStore(options.storeOptions ?? {});
    this.#auth = options.auth;
    this.#mayRegister = options.mayRegister ?? defaultMayRegister;
    this.#ids = options.ids ?? createIdGenerator();
  }

  /** Subscribes to the store's `registered`, `refreshed`, `removed` and `expired` events. */
  on<K extends keyof BindingEvents>(type: K, listener: BindingEvents[K]): () => void {
    return this.store.on(type, listener);
  }

  /** The current bindings of an AOR (any form of its URI). */
  bindings(aor: string): readonly Binding[] {
    const key = canonicalAor(aor);
    return key === undefined ? [] : this.store.bindings(key);
  }

  /** The contact URIs an AOR is reachable at now. */
  lookup(aor: string): readonly string[] {
    return this.bindings(aor).map((b) => b.contact.uri);
  }

  /**
   * The answer to a REGISTER: a challenge, 403, or the store's result. A bound function, so it
   * can be handed to `UserAgentOptions.methods` as is.
   */
  readonly handle = async (request: SipRequest, flow?: unknown): Promise<RequestAnswer> => {
    if (request.method !== 'REGISTER') return { status: 405, headers: { Allow: 'REGISTER' } };
    const auth = this.#auth;
    if (auth !== undefined) {
      const verdict = await auth.verify(request);
      if (!verdict.ok)
        return { status: verdict.status, reason: verdict.reasonPhrase, headers: verdict.headers };
      if (!this.#mayRegister(verdict.identity, request.to.uri))
        return { status: 403, reason: 'Forbidden' };
    }
    const result = this.store.register(request, flow === undefined ? {} : { flow });
    return { status: result.status, reason: result.reasonPhrase, headers: result.headers };
  };

  /**
   * Becomes the transaction user of `endpoint` (when no UserAgent sits on it): REGISTER is
   * answered, anything else 405. Returns the function that detaches.
   */
  attach(endpoint: SipEndpoint): () => void {
    return endpoint.onRequest(async (request, tx) => {
      const toTag = this.#ids.tag();
      if (request.method !== 'REGISTER') {
        tx.respond(
          createResponse(request, 405, 'Method Not Allowed', { toTag, headers: { Allow: 'REGISTER' } }),
        );
        return;
      }
      const answer = await this.handle(request, tx.target);
      const reason = answer.reason ?? (answer.status < 300 ? 'OK' : 'Error');
      tx.respond(createResponse(request, answer.status, reason, { toTag, headers: answer.headers ?? {} }));
    });
  }

  /** Closes the store (its expiry timer stops). */
  close(): void {
    this.store.close();
  }
}
