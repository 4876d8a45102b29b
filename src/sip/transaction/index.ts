/**
 * SIP transactions (RFC 3261 §17, RFC 6026): the four transaction state machines and their
 * timers, and the layer that creates them and matches messages to them.
 *
 * @remarks
 * Time comes from an injected clock, the network is an injected `send`, and the transport tells
 * each transaction whether it is reliable. Above this folder sits the UA core (`sip/ua`), below
 * it the transports (`sip/transport`); messages are the plain objects of `sip/message`.
 */

export {
  TransactionLayer,
  type ClientTransaction,
  type ReceiveOutcome,
  type ServerTransaction,
  type TransactionLayerOptions,
  type TransactionLayerState,
  type TransactionUser,
} from './transaction-layer.js';
export { ClientInviteTransaction, type ClientInviteState } from './client-invite.js';
export { ClientNonInviteTransaction, type ClientNonInviteState } from './client-non-invite.js';
export { ServerInviteTransaction, type ServerInviteState } from './server-invite.js';
export { ServerNonInviteTransaction, type ServerNonInviteState } from './server-non-invite.js';
export {
  TIMER_DEFAULTS,
  resolveTimers,
  type TimerOptions,
  type TransactionTimers,
} from './timers.js';
export {
  TransactionError,
  type ClientTransactionUser,
  type SendFn,
  type SerializeFn,
  type TimeoutTimer,
  type TransactionTraceEvent,
} from './transaction.js';
