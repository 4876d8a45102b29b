/**
 * SIP transports (RFC 3261 §18, RFC 7118 WebSocket, RFC 5626 keep-alives, RFC 5923 connection
 * reuse): UDP, TCP, TLS and WebSocket for Node under `node/`, and an in-memory pair with loss and
 * delay for tests. A transport moves whole messages as bytes; the endpoint (`sip/endpoint.ts`)
 * parses them and applies the Via rules.
 *
 * @remarks
 * This index holds what runs anywhere (no `node:*`); import the Node transports from
 * `./node/udp.js`, `./node/tcp.js`, `./node/tls.js` and `./node/ws.js`.
 */

export {
  DEFAULT_PORT,
  VIA_TRANSPORT,
  addressKey,
  protocolOfVia,
  type FlowId,
  type SendOptions,
  type Transport,
  type TransportAddress,
  type TransportProtocol,
  type TransportSink,
  type TransportState,
  type TransportTarget,
  type TransportTraceEvent,
} from './transport.js';
export {
  MEMORY_PAIR_DEFAULTS,
  MemoryTransport,
  createMemoryPair,
  type MemoryLinkOptions,
  type MemoryPairOptions,
  type MemoryTransportStats,
} from './memory.js';
export { FlowTable } from './flow-table.js';
