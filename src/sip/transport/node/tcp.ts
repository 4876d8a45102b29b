/**
 * SIP over TCP (RFC 3261 §18): a listener on the configured host, outbound connections reused
 * per peer, stream framing, keep-alive answers, back-pressure and an idle timeout.
 *
 * @remarks
 * See {@link StreamTransport} for the connection rules (RFC 3261 §18.2.2, RFC 5923) and
 * {@link StreamConnection} for what each connection does (RFC 3261 §18.3, RFC 5626 §4.4.1).
 */

import { connect, createServer, type Socket } from 'node:net';
import type { TransportTarget } from '../transport.js';
import {
  StreamTransport,
  type StreamDriver,
  type StreamTransportOptions,
} from './stream-transport.js';

/** Options of {@link TcpTransport.listen}. */
export type TcpTransportOptions = StreamTransportOptions;

const driver: StreamDriver = {
  protocol: 'tcp',
  readyEvent: 'connect',
  createServer: (onSocket, onError) => {
    const server = createServer({ noDelay: true }, onSocket);
    server.on('error', onError);
    return server;
  },
  connect: (target: TransportTarget): Socket =>
    connect({ host: target.host, port: target.port, noDelay: true }),
};

/**
 * The TCP transport.
 *
 * @example
 * const tcp = await TcpTransport.listen({ host: '127.0.0.1', port: 0 });
 * const endpoint = new SipEndpoint({ transports: [tcp] });
 */
export class TcpTransport extends StreamTransport {
  private constructor(options: TcpTransportOptions) {
    super(driver, options);
  }

  /**
   * Listens on `options.host`:`options.port` and resolves with the transport.
   *
   * @remarks Rejects with `ERR_INVALID_ARG` for a bad option and `SIP_ERR_TRANSPORT` when the
   * address cannot be bound.
   */
  static async listen(options: TcpTransportOptions = {}): Promise<TcpTransport> {
    const transport = new TcpTransport(options);
    await transport.start();
    return transport;
  }
}
