/**
 * Our side of the Kamailio tests: UDP endpoints on 127.0.0.1 that record every message in and
 * out, a REGISTER client (the UA core has no registration client, so it is written here with
 * `SipEndpoint.sendRequest` and `DigestClient`), and user agents on those endpoints.
 */
import { randomBytes } from 'node:crypto';
import { DigestClient, withCredentials } from '../../../src/sip/auth/digest-client.js';
import type { DigestAlgorithm } from '../../../src/sip/auth/digest-header.js';
import { SipEndpoint } from '../../../src/sip/endpoint.js';
import { parseSipMessage } from '../../../src/sip/message/parse.js';
import { createRequest } from '../../../src/sip/message/serialize.js';
import type { SipMessage, SipRequest, SipResponse } from '../../../src/sip/message/types.js';
import type { TransportTarget } from '../../../src/sip/transport/transport.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import { UserAgent } from '../../../src/sip/ua/user-agent.js';
import type { UaCstaError } from '../../../src/errors.js';
import { KAMAILIO_REALM, type RunningKamailio } from '../../kamailio/kamailio.js';

export const CSTA = 'application/csta+xml';

/** One message our endpoint sent or received, parsed, with the far address. */
export interface Wire {
  readonly dir: 'in' | 'out';
  readonly peer: TransportTarget;
  readonly message: SipMessage;
  readonly text: string;
}

/** A UDP endpoint on 127.0.0.1 and what went over it. */
export interface Station {
  readonly endpoint: SipEndpoint;
  readonly port: number;
  readonly wire: Wire[];
  /** Inputs the endpoint dropped or rejected and errors it caught. */
  readonly problems: string[];
}

export async function station(): Promise<Station> {
  const transport = await UdpTransport.listen({ host: '127.0.0.1', port: 0 });
  const wire: Wire[] = [];
  const problems: string[] = [];
  const record = (dir: Wire['dir'], peer: TransportTarget, bytes: Uint8Array): void => {
    const text = Buffer.from(bytes).toString('latin1');
    const parsed = parseSipMessage(bytes);
    if (parsed.ok) wire.push({ dir, peer, message: parsed.value, text });
    else problems.push(`unreadable ${dir}: ${text.slice(0, 200)}`);
  };
  const endpoint = new SipEndpoint({
    transports: [transport],
    trace: (e) => {
      if (e.type === 'received') record('in', e.source, e.bytes);
      else if (e.type === 'sent') record('out', e.target, e.bytes);
      else if (e.type === 'dropped') problems.push(`dropped: ${e.reason}`);
      else if (e.type === 'rejected') problems.push(`rejected ${e.status}`);
      else if (e.type === 'error' || e.type === 'user-error') problems.push(`${e.type}: ${String(e.error)}`);
    },
  });
  const port = endpoint.createVia('udp').port;
  if (port === undefined) throw new Error('the UDP transport has no port');
  return { endpoint, port, wire, problems };
}

/** A DigestClient for `user` in the realm of `kamailio.cfg`, limited to `algorithms` if given. */
export function digestFor(
  user: string,
  password: string,
  algorithms?: readonly DigestAlgorithm[],
): DigestClient {
  return new DigestClient({
    credentials: (realm) => (realm === KAMAILIO_REALM ? { username: user, password } : undefined),
    ...(algorithms === undefined ? {} : { algorithms }),
  });
}

function token(): string {
  return randomBytes(8).toString('hex');
}

export function kamTarget(kam: RunningKamailio): TransportTarget {
  return { protocol: 'udp', host: kam.host, port: kam.port };
}

/** What a registration attempt did. */
export interface RegisterResult {
  /** Every final response, in order (the 401 challenge, then the answer to the retry…). */
  readonly responses: readonly SipResponse[];
  /** Every REGISTER sent, in order. */
  readonly requests: readonly SipRequest[];
  /** Why the client stopped retrying, when it did (SIP_ERR_AUTH_REFUSED for a wrong password). */
  readonly authError: UaCstaError | undefined;
}

/**
 * Registers `sip:<user>@127.0.0.1:<kamailio port>` with the contact of `st`, answering
 * challenges with `digest` until the client refuses to (at most 3 REGISTERs).
 */
export async function register(
  st: Station,
  kam: RunningKamailio,
  user: string,
  digest: DigestClient,
): Promise<RegisterResult> {
  const aor = `sip:${user}@${kam.host}:${kam.port}`;
  // createRequest needs a Via; sendRequest puts ours on top, so the placeholder is removed.
  const built = createRequest({
    method: 'REGISTER',
    uri: `sip:${kam.host}:${kam.port}`,
    via: [st.endpoint.createVia('udp')],
    from: { displayName: undefined, uri: aor, params: { tag: token() } },
    to: { displayName: undefined, uri: aor, params: {} },
    callId: `${token()}@127.0.0.1`,
    cseq: 1,
    headers: { Contact: `<sip:${user}@127.0.0.1:${st.port}>`, Expires: '300' },
  });
  let request: SipRequest = { ...built, via: [] };
  const requests: SipRequest[] = [];
  const responses: SipResponse[] = [];
  for (let attempt = 0; attempt < 3; attempt++) {
    requests.push(request);
    const response = await st.endpoint.sendRequest(request, kamTarget(kam));
    responses.push(response);
    if (response.status !== 401 && response.status !== 407) break;
    const answer = digest.answer(request, response);
    if (!answer.ok) return { responses, requests, authError: answer.error };
    request = withCredentials(request, answer.value, {
      cseq: request.cseq.seq + 1,
      branch: `z9hG4bK${token()}`,
    });
  }
  return { responses, requests, authError: undefined };
}

/** A user agent for `user` on `st`, its AoR in Kamailio's domain. */
export function userAgent(st: Station, kam: RunningKamailio, user: string, digest: DigestClient): UserAgent {
  return new UserAgent({
    endpoint: st.endpoint,
    aor: `sip:${user}@${kam.host}:${kam.port}`,
    contact: `sip:${user}@127.0.0.1:${st.port}`,
    digest,
  });
}

/** The first value of a header of `m`, or undefined. */
export function header(m: SipMessage, name: string): string | undefined {
  return m.headers[name.toLowerCase()]?.[0];
}

export async function until(cond: () => boolean, ms = 3_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
