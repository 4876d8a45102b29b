/**
 * A UDP-like `Transport` without a socket, for driving a `SipEndpoint` with bytes in process:
 * `deliver` hands it a datagram as if from 127.0.0.1:5061, and every message it sends goes to
 * `onSend` (synchronously, unbatched). Used by tests that look at what stays in memory and by
 * the in-process bench, where sockets would only add noise.
 */
import type { Transport, TransportSink, TransportTarget } from '../../src/sip/transport/transport.js';

/** Where {@link transportDouble}'s datagrams come from. */
export const DOUBLE_PEER: TransportTarget = { protocol: 'udp', host: '127.0.0.1', port: 5061 };

export function transportDouble(onSend: (bytes: Uint8Array) => void): {
  readonly transport: Transport;
  deliver(bytes: Uint8Array): void;
} {
  let sink: TransportSink | undefined;
  const transport: Transport = {
    protocol: 'udp',
    reliable: false,
    local: { host: '127.0.0.1', port: 5070 },
    sentBy: { host: '127.0.0.1', port: 5070 },
    state: 'Open',
    attach: (s) => (sink = s),
    send: (bytes) => onSend(bytes),
    alias: () => {},
    close: async () => {},
  };
  return { transport, deliver: (bytes) => sink?.receive(bytes, DOUBLE_PEER, undefined) };
}
