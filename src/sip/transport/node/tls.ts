/**
 * SIP over TLS (RFC 3261 §18, §26.2.1; RFC 5630): TCP with a TLS layer, the same connection rules.
 *
 * @remarks
 * The listener needs a key and certificate (`server`); outbound connections verify the peer's
 * certificate against `client.ca` (or the system roots) unless told otherwise, and send SNI for
 * host names (not for IP addresses, RFC 6066 §3). An inbound handshake that fails is traced
 * and its socket closed; it never reaches the SIP layer. An outbound one fails the requests
 * written to it with `SIP_ERR_TRANSPORT` ("TLS handshake with HOST:PORT failed: …", with how to
 * trust the CA when the certificate did not verify), so the transaction ends at once.
 */

import { isIP, type Socket } from 'node:net';
import { connect, createServer, type ConnectionOptions, type TlsOptions } from 'node:tls';
import { UaCstaError } from '../../../errors.js';
import type { TransportTarget } from '../transport.js';
import {
  StreamTransport,
  type StreamDriver,
  type StreamTransportOptions,
} from './stream-transport.js';

/** Options of {@link TlsTransport.listen}. */
export interface TlsTransportOptions extends StreamTransportOptions {
  /** The listener's TLS settings: at least `key` and `cert`. */
  readonly server: TlsOptions;
  /** Settings of outbound connections (`ca`, `cert`, `key`, `rejectUnauthorized`, …). */
  readonly client?: ConnectionOptions;
}

function makeDriver(o: TlsTransportOptions): StreamDriver {
  return {
    protocol: 'tls',
    readyEvent: 'secureConnect',
    createServer: (onSocket, onError) => {
      const server = createServer(o.server, onSocket);
      server.on('tlsClientError', (error) => onError(error));
      server.on('error', onError);
      return server;
    },
    connect: (target: TransportTarget): Socket => {
      const servername = isIP(target.host) === 0 ? target.host : undefined;
      return connect({
        ...o.client,
        host: target.host,
        port: target.port,
        ...(servername === undefined ? {} : { servername }),
      });
    },
  };
}

/**
 * The TLS transport.
 *
 * @example
 * const tls = await TlsTransport.listen({ port: 0, server: { key, cert }, client: { ca: cert } });
 */
export class TlsTransport extends StreamTransport {
  private constructor(options: TlsTransportOptions) {
    super(makeDriver(options), options);
  }

  /**
   * Listens on `options.host`:`options.port` and resolves with the transport.
   *
   * @remarks Rejects with `ERR_INVALID_ARG` without `server` settings and `SIP_ERR_TRANSPORT`
   * when the address cannot be bound.
   */
  static async listen(options: TlsTransportOptions): Promise<TlsTransport> {
    if (
      typeof options !== 'object' ||
      options === null ||
      typeof options.server !== 'object' ||
      options.server === null
    ) {
      throw new UaCstaError(
        'ERR_INVALID_ARG',
        'the TLS transport needs server settings (key and cert)',
      );
    }
    const transport = new TlsTransport(options);
    await transport.start();
    return transport;
  }
}
