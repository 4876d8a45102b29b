/**
 * Our RFC 5626 §4.4.1 keep-alive against an independent peer: Kamailio (Debian), whose TCP
 * listener answers a CRLFCRLF ping with a CRLF pong (`tcp_crlf_ping`, on by default). The TCP
 * listener of `kamailio-ws.cfg` is used (the plain config has TCP disabled). Real time, short
 * intervals: a ping every 240–300 ms of quiet, 500 ms for each pong.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { TcpTransport } from '../../../src/sip/transport/node/tcp.js';
import type { TransportTraceEvent } from '../../../src/sip/transport/transport.js';
import { hasKamailioWs, startKamailioWs } from '../../kamailio/kamailio.js';
import { until } from '../sip/support.js';

const KAMAILIO_WS = hasKamailioWs();
const SKIP_NOTE = '#4: skipped only when kamailio with kamailio-websocket-modules is not installed';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('TCP keep-alive against Kamailio', () => {
  it.skipIf(!KAMAILIO_WS)(`keeps the flow: every ping gets Kamailio's pong (${SKIP_NOTE})`, { timeout: 30_000 }, async () => {
    const kam = await startKamailioWs();
    cleanups.push(() => kam.stop());
    const tcp = await TcpTransport.listen({ port: 0, keepAliveMs: 300, pongTimeoutMs: 500 });
    cleanups.push(() => tcp.close());
    const traces: TransportTraceEvent[] = [];
    const answers: string[] = [];
    tcp.attach({ receive: (bytes) => void answers.push(new TextDecoder().decode(bytes)), trace: (e) => traces.push(e) });
    const options =
      `OPTIONS sip:127.0.0.1:${kam.wsPort};transport=tcp SIP/2.0\r\n` +
      `Via: SIP/2.0/TCP 127.0.0.1:${tcp.local.port};branch=z9hG4bK-keepalive-1\r\nMax-Forwards: 70\r\n` +
      'From: <sip:uacsta@127.0.0.1>;tag=ka\r\nTo: <sip:127.0.0.1>\r\nCall-ID: keepalive-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n';
    tcp.send(new TextEncoder().encode(options), { protocol: 'tcp', host: '127.0.0.1', port: kam.wsPort });
    await until(() => answers.length === 1, 5_000, "Kamailio's answer to OPTIONS");
    expect(answers[0]).toMatch(/^SIP\/2\.0 \d{3} /);
    // then nothing but keep-alives on the connection
    await until(() => traces.filter((e) => e.type === 'pong').length >= 5, 10_000, 'five pongs');
    expect(traces.filter((e) => e.type === 'flow-closed')).toEqual([]);
    expect(traces.filter((e) => e.type === 'flow-open')).toHaveLength(1);
  });
});
