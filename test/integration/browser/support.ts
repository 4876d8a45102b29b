/**
 * The lab of the browser tests: Kamailio with WebSocket (`test/kamailio/kamailio-ws.cfg`), the
 * softphone page served on port 0, Debian's Chromium driven by playwright-core with fake media
 * devices, softphone pages registered over WebSocket (RFC 7118), and our UDP user agents
 * registered on Kamailio's UDP side. Everything it starts is ended by PID in `close()`.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserServer, type Page } from 'playwright-core';
import { startSoftphoneServer, type SoftphoneServer } from '../../../examples/browser-softphone/serve.js';
import type { CstaMessage } from '../../../src/csta/model/types.js';
import type { CstaEvent } from '../../../src/uacsta/client.js';
import { startKamailioWs, type RunningKamailio, type RunningKamailioWs } from '../../kamailio/kamailio.js';
import { digestFor, station, userAgent, type Station } from '../kamailio/support.js';

export const CHROMIUM = '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
export const SKIP_NOTE = 'skipped only when /usr/bin/chromium is absent (Debian package chromium)';
/** Screenshots go here (part of the test output). */
export const OUTPUT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../test-output');
export const NS = 'http://www.ecma-international.org/standards/ecma-323/csta/ed3';
export const RSS = `<RequestSystemStatus xmlns="${NS}"/>`;

/** What a softphone page shows (read from `window.softphone`). */
export interface PageView {
  controllers: string[];
  calls: { callID: string; direction: string; remoteDevice: string; state: string }[];
  log: string[];
}

/** `window.controller` of a page in controller mode. */
export interface ControllerApi {
  controller: {
    connect(target: string, body?: string): Promise<string>;
    request(m: CstaMessage): Promise<unknown>;
    close(): Promise<void>;
    events: CstaEvent[];
  };
}

export interface BrowserLab {
  readonly kam: RunningKamailioWs;
  /** Kamailio's UDP side as the `RunningKamailio` the Kamailio helpers take. */
  readonly udp: RunningKamailio;
  /** `sip:127.0.0.1:<udp port>`: registrar and proxy of our UDP user agents. */
  readonly registrar: string;
  /** Resolves with the probe's first defined, non-false value; fails after `ms` with Kamailio's log. */
  until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms?: number): Promise<T>;
  /** A softphone page for `user` (`extra`: more query parameters), registered over WebSocket. */
  openPage(user: string, extra?: string): Promise<Page>;
  view(page: Page): Promise<PageView>;
  media(page: Page): Promise<{ connectionState: string; bytesReceived: number; bytesSent: number }>;
  /** Waits until the page's established call carries audio both ways over a connected ICE pair. */
  mediaFlows(page: Page): Promise<void>;
  /** A UDP user agent of ours (`user`), sending through Kamailio. */
  nodeUa(user: string): Promise<{ st: Station; ua: ReturnType<typeof userAgent> }>;
  /** Runs `fn` in `close()` (last deferred first). */
  defer(fn: () => Promise<unknown>): void;
  close(): Promise<void>;
}

export async function startBrowserLab(): Promise<BrowserLab> {
  mkdirSync(OUTPUT, { recursive: true });
  const cleanups: Array<() => Promise<unknown>> = [];
  const kam = await startKamailioWs();
  let web: SoftphoneServer | undefined;
  let server: BrowserServer | undefined;
  let browser: Browser | undefined;
  const close = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    const pid = server?.process().pid;
    await server?.close().catch(() => undefined);
    // end Chromium by its PID if closing did not
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await web?.close();
    await kam.stop();
  };
  try {
    web = await startSoftphoneServer({ port: 0 });
    server = await chromium.launchServer({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', '--no-sandbox'],
    });
    browser = await chromium.connect(server.wsEndpoint());
  } catch (error) {
    await close();
    throw error;
  }
  const b = browser;
  const url = web.url;
  const udp: RunningKamailio = { pid: kam.pid, host: kam.host, port: kam.udpPort, algorithm: 'MD5', log: kam.log, stop: kam.stop };

  async function until<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, ms = 15_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n--- kamailio ---\n${kam.log().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  const view = (page: Page): Promise<PageView> =>
    page.evaluate(() => {
      const s = (window as unknown as { softphone: PageView }).softphone;
      return { controllers: [...s.controllers], calls: s.calls, log: [...s.log] };
    });
  const media = (page: Page): Promise<{ connectionState: string; bytesReceived: number; bytesSent: number }> =>
    page.evaluate(() =>
      (window as unknown as { softphone: { mediaStats(): Promise<{ connectionState: string; bytesReceived: number; bytesSent: number }> } }).softphone.mediaStats(),
    );

  return {
    kam,
    udp,
    registrar: `sip:127.0.0.1:${kam.udpPort}`,
    until,
    async openPage(user, extra = '') {
      const context = await b.newContext({ viewport: { width: 720, height: 560 } });
      cleanups.push(() => context.close());
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('pageerror', (e) => problems.push(String(e)));
      const q = `user=${user}&domain=127.0.0.1:${kam.udpPort}&ws=ws://127.0.0.1:${kam.wsPort}${extra}`;
      await page.goto(`${url}?${q}`);
      await until(`${user} registered (${problems.join('; ')})`, () =>
        page.evaluate(() => (window as unknown as { softphone: { registration: string } }).softphone.registration === 'registered'),
      );
      return page;
    },
    view,
    media,
    async mediaFlows(page) {
      await until('audio RTP both ways', async () => {
        const s = await media(page);
        return s.connectionState === 'connected' && s.bytesReceived > 0 && s.bytesSent > 0;
      });
    },
    async nodeUa(user) {
      const st = await station();
      cleanups.push(() => st.endpoint.close());
      const ua = userAgent(st, udp, user, digestFor(user, 'unused'));
      cleanups.push(() => ua.close());
      return { st, ua };
    },
    defer(fn) {
      cleanups.push(fn);
    },
    close,
  };
}
