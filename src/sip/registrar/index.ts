/**
 * The registrar's location service (RFC 3261 §10.3, RFC 5626 §6): bindings from an
 * address-of-record to contacts, built from REGISTER requests and expired by the clock.
 *
 * @remarks
 * Pure: a parsed REGISTER in, the status and headers to answer with out. Authentication comes
 * first, from `sip/auth`; the UA core sends the response.
 */

export {
  BINDING_STORE_DEFAULTS,
  BindingStore,
  canonicalAor,
  registerResponse,
  sipUriEquals,
  type Binding,
  type BindingEvents,
  type BindingStoreOptions,
  type BindingStoreState,
  type BindingStoreTraceEvent,
  type RegisterResult,
} from './binding-store.js';
