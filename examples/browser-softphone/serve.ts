/**
 * Bundles the softphone page with esbuild (in memory) and serves it on localhost:
 *
 *   npm run softphone -- [port]        # default 8080; then open the printed URL with
 *                                      # ?user=alice&domain=<proxy host:port>&ws=ws://<proxy>:<ws port>
 *
 * The browser tests import {@link startSoftphoneServer} and serve on port 0.
 */
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The page's script, bundled (sip.js and the uaCSTA browser code included). */
export async function bundleSoftphone(): Promise<string> {
  const result = await build({
    entryPoints: [join(here, 'softphone.ts')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  const out = result.outputFiles[0];
  if (out === undefined) throw new Error('esbuild produced no output');
  return out.text;
}

/** A running static server of the page. */
export interface SoftphoneServer {
  /** `http://127.0.0.1:<port>/` */
  readonly url: string;
  close(): Promise<void>;
}

/** Bundles the page and serves `index.html` and `softphone.js` on `host:port` (port 0: any free one). */
export async function startSoftphoneServer(options: { readonly port?: number; readonly host?: string } = {}): Promise<SoftphoneServer> {
  const [html, js] = await Promise.all([readFile(join(here, 'index.html'), 'utf8'), bundleSoftphone()]);
  const files: Record<string, { type: string; body: string }> = {
    '/': { type: 'text/html; charset=utf-8', body: html },
    '/index.html': { type: 'text/html; charset=utf-8', body: html },
    '/softphone.js': { type: 'text/javascript; charset=utf-8', body: js },
  };
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const file = files[path];
    if (req.method !== 'GET' || file === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const port = Number(process.argv[2] ?? 8080);
  const s = await startSoftphoneServer({ port });
  console.log(`softphone: ${s.url}?user=alice&domain=127.0.0.1:5060&ws=ws://127.0.0.1:8088`);
  console.log('(see docs/browser.md for the Kamailio WebSocket setup; Ctrl+C to stop)');
}
