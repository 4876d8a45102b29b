/**
 * What `uacsta invoke` and `uacsta monitor` share: reading the session flags, opening a uaCSTA
 * session (INVITE → 200 → ACK, digest §1.3) with a `CstaClient` on it, closing it, and the
 * machine-readable error JSON of exit code 1.
 */

import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { isUaCstaError, UaCstaError } from '../errors.js';
import { openSipCstaChannel } from '../node/sip-csta-channel.js';
import { TLS_TRUST_HINT } from '../sip/transport/node/stream-connection.js';
import { uriTarget } from '../sip/ua/uri-target.js';
import { CstaClient } from '../uacsta/client.js';
import { CstaRejectedError, CstaServiceError } from '../uacsta/errors.js';
import { readHostPort, readTargetUri, readTransport, UsageError, type CliTransport } from './args.js';
import { createCliUserAgent, localAddressFor, transportOf, type CliUserAgent, type CliUserAgentOptions } from './target.js';

/** The options every session command takes, as `parseArgs` declares them. */
export const SESSION_OPTIONS = {
  transport: { type: 'string' },
  user: { type: 'string' },
  password: { type: 'string' },
  local: { type: 'string' },
  timeout: { type: 'string' },
  ca: { type: 'string' },
  insecure: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The help lines of {@link SESSION_OPTIONS}. */
export const SESSION_HELP = `  --transport T        udp, tcp, tls or ws; overrides the URI's ;transport= parameter
                       (RFC 3263: without one, sip: is UDP and sips: is TLS)
  --user U --password P
                       digest credentials for a 401/407 challenge (any realm)
  --local HOST:PORT    local address to bind (default: the address that reaches the target,
                       port chosen by the system)
  --timeout S          seconds to wait for the session and for each response (default 10)
  --ca FILE            TLS: trust this CA certificate (PEM) for the target
  --insecure           TLS: do not verify the target's certificate (lab use only)
  -h, --help           this text`;

/** Session settings read from the flags. */
export interface SessionSettings {
  readonly target: string;
  readonly transport: CliTransport;
  readonly local: { readonly host: string; readonly port: number } | undefined;
  readonly credentials: { readonly username: string; readonly password: string } | undefined;
  readonly timeoutMs: number;
  readonly tlsClient: ConnectionOptions | undefined;
}

/** Reads the session flags; throws {@link UsageError}. */
export function readSession(
  targetArg: string | undefined,
  values: { transport?: string; user?: string; password?: string; local?: string; ca?: string; insecure?: boolean },
  timeoutMs: number,
): SessionSettings {
  const target = readTargetUri(targetArg);
  const transport = transportOf(target, readTransport(values.transport));
  if ((values.user === undefined) !== (values.password === undefined))
    throw new UsageError(`--user and --password go together; found only ${values.user === undefined ? '--password' : '--user'}`);
  let tlsClient: ConnectionOptions | undefined;
  if (values.ca !== undefined) {
    try {
      tlsClient = { ca: readFileSync(values.ca) };
    } catch (e) {
      throw new UsageError(`--ca expects a readable PEM file; found '${values.ca}' (${(e as Error).message})`);
    }
  }
  if (values.insecure) tlsClient = { ...tlsClient, rejectUnauthorized: false };
  return {
    target,
    transport,
    local: values.local === undefined ? undefined : readHostPort(values.local, '--local'),
    credentials: values.user === undefined ? undefined : { username: values.user, password: values.password! },
    timeoutMs,
    tlsClient,
  };
}

/** An open session: the UA, the client on its channel, and what ends both. */
export interface CliSession {
  readonly agent: CliUserAgent;
  readonly client: CstaClient;
  /** BYE (through the client), then the UA and its transport. Never rejects. */
  close(): Promise<void>;
}

/**
 * Opens the session; resolves with it, or rejects with what the INVITE failed with (the agent is
 * closed then).
 */
export async function openSession(s: SessionSettings, extra: Pick<CliUserAgentOptions, 'endpoint'> = {}): Promise<CliSession> {
  const targetHost = uriTarget(s.target, 'udp').host;
  const host = s.local?.host ?? (await localAddressFor(targetHost));
  const agent = await createCliUserAgent({
    transport: s.transport,
    host,
    port: s.local?.port ?? 0,
    listen: false,
    ...(extra.endpoint === undefined ? {} : { endpoint: extra.endpoint }),
    ...(s.tlsClient === undefined ? {} : { tlsClient: s.tlsClient }),
    ...(s.credentials === undefined ? {} : { credentials: s.credentials }),
  });
  try {
    // the UA cancels on the signal only once a provisional came; the bound holds either way
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abort.abort();
        reject(new UaCstaError('UACSTA_ERR_TIMEOUT', `no final answer to the INVITE within ${s.timeoutMs} ms`));
      }, s.timeoutMs);
    });
    let channel;
    try {
      channel = await Promise.race([openSipCstaChannel(agent.ua, s.target, { signal: abort.signal }), timedOut]);
    } finally {
      clearTimeout(timer);
    }
    const client = new CstaClient({ channel, invokeTimeoutMs: s.timeoutMs });
    return {
      agent,
      client,
      close: async () => {
        await client.close().catch(() => undefined);
        await agent.close();
      },
    };
  } catch (e) {
    await agent.close();
    if (isUaCstaError(e) && e.code === 'ERR_ABORTED')
      throw new UaCstaError('UACSTA_ERR_TIMEOUT', `no answer to the INVITE within ${s.timeoutMs} ms`);
    throw connectionFailure(e) ?? e;
  }
}

/**
 * A connection that could not be opened (refused, TLS handshake failed), as the transport named
 * it, with the CLI's own way to trust a CA; `undefined` for any other failure.
 */
function connectionFailure(e: unknown): UaCstaError | undefined {
  if (!isUaCstaError(e) || e.code !== 'SIP_ERR_TRANSPORT') return undefined;
  const inner = e.cause;
  if (!isUaCstaError(inner) || inner.code !== 'SIP_ERR_TRANSPORT') return undefined;
  const message = inner.message.replace(TLS_TRUST_HINT, `trust its CA with --ca FILE or the transport's client.ca option`);
  return new UaCstaError('SIP_ERR_TRANSPORT', message, { cause: inner });
}

/**
 * The error JSON of exit code 1: `{"error":{"code","category","value"}}` for a CSTA negative
 * response, `{"error":{"code","status","reason"}}` for a SIP failure, `{"error":{"code","message"}}`
 * otherwise.
 */
export function errorJson(e: unknown): { error: Record<string, unknown> } {
  if (e instanceof CstaServiceError)
    return { error: { code: e.code, category: e.category, value: e.value, errorValue: e.errorValue } };
  if (e instanceof CstaRejectedError) return { error: { code: e.code, status: e.status, reason: e.reasonPhrase } };
  if (isUaCstaError(e)) {
    const x = e as { status?: unknown; reasonPhrase?: unknown };
    if (typeof x.status === 'number')
      return { error: { code: e.code, status: x.status, reason: String(x.reasonPhrase ?? ''), message: e.message } };
    return { error: { code: e.code, message: e.message } };
  }
  if (e instanceof Error && e.name === 'TimeoutError') return { error: { code: 'SIP_ERR_TIMEOUT', message: e.message } };
  return { error: { code: 'ERR_INTERNAL', message: e instanceof Error ? e.message : String(e) } };
}

export { UsageError };
