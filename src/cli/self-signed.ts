/**
 * A self-signed certificate for `uacsta responder --listen tls:…` when no `--cert`/`--key` is
 * given, made with the `openssl` command in a temporary folder (Node has no X.509 writer).
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIP } from 'node:net';

/** A PEM key and certificate. */
export interface KeyAndCert {
  readonly key: Buffer;
  readonly cert: Buffer;
}

/** Creates a one-day P-256 certificate for `host`, `localhost` and 127.0.0.1. */
export function selfSignedCertificate(host: string): KeyAndCert {
  const dir = mkdtempSync(join(tmpdir(), 'uacsta-cert-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    const names = new Set(['IP:127.0.0.1', 'DNS:localhost']);
    if (host !== '0.0.0.0' && host !== '::') names.add(isIP(host) === 0 ? `DNS:${host}` : `IP:${host}`);
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=uacsta',
        '-addext', `subjectAltName=${[...names].join(',')}`,
      ],
      { stdio: 'ignore', timeout: 20_000 },
    );
    return { key: readFileSync(key), cert: readFileSync(cert) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
