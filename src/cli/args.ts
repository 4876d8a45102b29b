/**
 * Shared argument readers of the session commands (`invoke`, `monitor`, `responder`): each
 * returns the value or a {@link UsageError} whose message says what was expected and what was
 * found, which `main.ts`-dispatched commands turn into exit code 2.
 */

import { isIP } from 'node:net';

/** The SIP transports the CLI can open (RFC 3261 §18, RFC 5630, RFC 7118). */
export const CLI_TRANSPORTS = ['udp', 'tcp', 'tls', 'ws'] as const;
export type CliTransport = (typeof CLI_TRANSPORTS)[number];

/** A usage error: exit 2 with its message on stderr. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `--transport` value, or `undefined` when not given. */
export function readTransport(value: string | undefined, flag = '--transport'): CliTransport | undefined {
  if (value === undefined) return undefined;
  const v = value.toLowerCase();
  if (!(CLI_TRANSPORTS as readonly string[]).includes(v))
    throw new UsageError(`${flag} expects one of ${CLI_TRANSPORTS.join(', ')}; found '${value}'`);
  return v as CliTransport;
}

/** `HOST:PORT` (IPv6 in brackets); the port may be 0. */
export function readHostPort(value: string, flag: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(value);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || !(port >= 0 && port <= 65535))
    throw new UsageError(`${flag} expects HOST:PORT (e.g. 127.0.0.1:5070, [::1]:0); found '${value}'`);
  const host = m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!;
  return { host, port };
}

/** `udp:HOST:PORT` (also tcp, tls, ws) of `--listen`. */
export function readListen(value: string | undefined): { transport: CliTransport; host: string; port: number } {
  if (value === undefined) throw new UsageError('--listen is required: expected TRANSPORT:HOST:PORT, e.g. udp:127.0.0.1:5070');
  const colon = value.indexOf(':');
  const transport = readTransport(colon < 0 ? value : value.slice(0, colon), '--listen transport');
  if (transport === undefined || colon < 0)
    throw new UsageError(`--listen expects TRANSPORT:HOST:PORT (e.g. udp:127.0.0.1:5070); found '${value}'`);
  const { host, port } = readHostPort(value.slice(colon + 1), '--listen');
  if (isIP(host) === 0 && host !== 'localhost')
    throw new UsageError(`--listen expects an IP address to bind; found host '${host}'`);
  return { transport, host, port };
}

/** A positive number of seconds (`--timeout`, `--duration`), as milliseconds. */
export function readSeconds(value: string | undefined, flag: string, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0)
    throw new UsageError(`${flag} expects a positive number of seconds; found '${value}'`);
  return Math.round(n * 1000);
}

/** A SIP or SIPS URI with a host (RFC 3261 §19.1.1). */
export function readTargetUri(value: string | undefined): string {
  if (value === undefined) throw new UsageError('expected TARGET-URI (e.g. sip:1001@127.0.0.1:5070;transport=tcp); found nothing');
  if (!/^sips?:(?:[^@;?]*@)?(\[[^\]]+\]|[^:;?@]+)(?::\d+)?(?:[;?].*)?$/i.test(value))
    throw new UsageError(`TARGET-URI expects a sip: or sips: URI with a host (e.g. sip:1001@127.0.0.1:5070); found '${value}'`);
  return value;
}
