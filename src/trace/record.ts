/**
 * One SIP message as a trace saw it: the bytes, which way they went, over what, between which
 * addresses, and when.
 *
 * @remarks
 * The trace layer is pure: it takes these records from whoever sees the wire (the CLI wires the
 * SIP endpoint's `trace` hook, RFC 3261 §18 transport layer) and renders them as text lines, an
 * HTML ladder or a pcap file. It knows nothing of sockets or of the SIP stack's internals.
 */

/** The transport a message went over, as the SIP transport layer names it. */
export type TraceTransport = 'udp' | 'tcp' | 'tls' | 'ws' | 'wss' | 'memory';

/** A host (IP address or name) and a port. */
export interface TraceAddress {
  readonly host: string;
  readonly port: number;
}

/** One message in or out of one SIP element. */
export interface TraceRecord {
  /** Wall-clock milliseconds since 1970-01-01T00:00:00Z (fractions allowed). */
  readonly time: number;
  /** `'out'`: sent by the element that traced it; `'in'`: received by it. */
  readonly direction: 'in' | 'out';
  readonly transport: TraceTransport;
  /** The tracing element's address (its listening address on connection-oriented transports). */
  readonly local: TraceAddress;
  /** The peer's address: the target of a message sent, the source of a message received. */
  readonly remote: TraceAddress;
  /** The whole message as it went over the wire (one datagram or one framed stream message). */
  readonly bytes: Uint8Array;
  /** The name of the tracing element (`controller`, `phone-1001`), for lanes and lines. */
  readonly party?: string;
  /** The connection of a connection-oriented transport, when known. */
  readonly flow?: string;
}

/** `host:port`, with an IPv6 host in brackets (RFC 3986 §3.2.2). */
export function formatAddress(a: TraceAddress): string {
  return `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/** Where a record's message came from. */
export function senderOf(r: TraceRecord): TraceAddress {
  return r.direction === 'out' ? r.local : r.remote;
}

/** Where a record's message went to. */
export function receiverOf(r: TraceRecord): TraceAddress {
  return r.direction === 'out' ? r.remote : r.local;
}
