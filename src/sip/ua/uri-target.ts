/**
 * From a SIP URI to the address to send to, without DNS: the host and port written in the URI
 * and the protocol of its `transport` parameter (RFC 3261 §19.1.1). RFC 3263 resolution (NAPTR,
 * SRV) is not done here; a host name is passed to the transport as written.
 */

import { UaCstaError } from '../../errors.js';
import {
  DEFAULT_PORT,
  type TransportProtocol,
  type TransportTarget,
} from '../transport/transport.js';

const PROTOCOLS: ReadonlySet<string> = new Set(['udp', 'tcp', 'tls', 'ws', 'wss', 'memory']);

/**
 * The transport target of `uri`: host and port as written (the protocol's default port when
 * none), the protocol from `;transport=`, else `fallback` (`tls` for a `sips:` URI).
 *
 * @throws `ERR_INVALID_ARG` for a URI that is not `sip:`/`sips:` or has no host.
 */
export function uriTarget(uri: string, fallback: TransportProtocol): TransportTarget {
  const m = /^(sips?):(?:[^@;?]*@)?(\[[^\]]+\]|[^:;?]+)(?::(\d+))?([^?]*)/i.exec(uri);
  if (m === null || m[2] === undefined || m[2].length === 0) {
    const what = `cannot send to ${JSON.stringify(uri)}: not a sip or sips URI with a host`;
    throw new UaCstaError('ERR_INVALID_ARG', what);
  }
  const secure = m[1]!.toLowerCase() === 'sips';
  const transport = /;transport=([^;?]+)/i.exec(m[4] ?? '')?.[1]?.toLowerCase();
  let protocol: TransportProtocol = secure ? 'tls' : fallback;
  if (transport !== undefined && PROTOCOLS.has(transport))
    protocol = transport as TransportProtocol;
  const host = m[2].startsWith('[') ? m[2].slice(1, -1) : m[2];
  const port = m[3] === undefined ? DEFAULT_PORT[protocol] : Number(m[3]);
  return { protocol, host, port };
}
