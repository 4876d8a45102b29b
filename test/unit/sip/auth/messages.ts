/**
 * Small builders for the digest tests: a request, and the 401/407 a server answers it with.
 */
import {
  createRequest,
  createResponse,
  type SipHeaderInit,
} from '../../../../src/sip/message/serialize.js';
import type { SipRequest, SipResponse } from '../../../../src/sip/message/types.js';

export interface RequestSpec {
  readonly method?: string;
  readonly uri?: string;
  readonly cseq?: number;
  readonly callId?: string;
  readonly toTag?: string;
  readonly headers?: SipHeaderInit;
  readonly body?: string;
}

/** A request from the controller `sip:cti@example.com` to phone 1001. */
export function request(spec: RequestSpec = {}): SipRequest {
  return createRequest({
    method: spec.method ?? 'INVITE',
    uri: spec.uri ?? 'sip:1001@192.0.2.10:5060',
    via: [{ transport: 'UDP', host: '192.0.2.1', port: 5060, branch: 'z9hG4bKfirst', params: {} }],
    from: { displayName: undefined, uri: 'sip:cti@example.com', params: { tag: 'a1' } },
    to: {
      displayName: undefined,
      uri: 'sip:1001@example.com',
      params: spec.toTag === undefined ? {} : { tag: spec.toTag },
    },
    callId: spec.callId ?? 'call-1@192.0.2.1',
    cseq: spec.cseq ?? 1,
    ...(spec.headers === undefined ? {} : { headers: spec.headers }),
    ...(spec.body === undefined ? {} : { body: spec.body }),
  });
}

/** The 401 (or 407) with these challenge header values. */
export function challenged(
  req: SipRequest,
  status: 401 | 407,
  challenges: readonly string[],
): SipResponse {
  const name = status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate';
  return createResponse(
    req,
    status,
    status === 401 ? 'Unauthorized' : 'Proxy Authentication Required',
    {
      toTag: 'b2',
      headers: { [name]: challenges },
    },
  );
}

/** The response a server built from a verdict or a challenge. */
export function responseWith(
  req: SipRequest,
  v: {
    readonly status: number;
    readonly reasonPhrase: string;
    readonly headers: Readonly<Record<string, readonly string[]>>;
  },
): SipResponse {
  return createResponse(req, v.status, v.reasonPhrase, { toTag: 'b2', headers: v.headers });
}

/** The named parameter of a credential or challenge, read loosely, for assertions. */
export function param(value: string, name: string): string | undefined {
  const at = value.search(new RegExp(`[ ,]${name}=`));
  if (at < 0) return undefined;
  const rest = value.slice(at + name.length + 2);
  if (rest.startsWith('"')) return rest.slice(1, rest.indexOf('"', 1));
  const end = rest.indexOf(',');
  return end < 0 ? rest : rest.slice(0, end);
}
