/**
 * INFO transactions across a network that loses 20 % of the messages in each direction: every
 * transaction completes through retransmissions (RFC 3261 §17.1.2.2, §17.2.2), the server runs
 * each request exactly once, and no response is ever taken for another request's.
 */

import { createSocket, type RemoteInfo } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { createResponse } from '../../../src/sip/message/serialize.js';
import type { SipResponse } from '../../../src/sip/message/types.js';
import { createMemoryPair } from '../../../src/sip/transport/memory.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import type { TransportTarget } from '../../../src/sip/transport/transport.js';
import { manualClock } from '../../../src/util/clock.js';
import { createIdGenerator, seededRandom } from '../../../src/util/ids.js';
import type { SipEndpoint } from '../../../src/sip/endpoint.js';
import { endpoint, info, text } from './support.js';
import { seeded } from '../../support/seeded.js';


/** Counts executions per CSeq and answers each INFO with its own CSeq in the body. */
function countingServer(server: SipEndpoint): Map<number, number> {
  const runs = new Map<number, number>();
  server.onRequest((request, tx) => {
    runs.set(request.cseq.seq, (runs.get(request.cseq.seq) ?? 0) + 1);
    tx.respond(
      createResponse(request, 200, 'OK', { toTag: 'srv', body: `answer to ${request.cseq.seq}` }),
    );
  });
  return runs;
}

/**
 * Sends INFOs with CSeq 1..count in one dialog, `window` at a time, and checks each response
 * against its request.
 */
async function run(
  client: SipEndpoint,
  target: TransportTarget,
  count: number,
  window: number,
  pump: () => Promise<void>,
): Promise<SipResponse[]> {
  const responses: SipResponse[] = [];
  const mismatches: string[] = [];
  let next = 1;
  let inFlight = 0;
  const failures: unknown[] = [];
  const start = (): void => {
    const seq = next++;
    inFlight++;
    client.sendRequest(info(target, seq, `request ${seq}`, 'lossy-dialog'), target).then(
      (r) => {
        inFlight--;
        if (r.cseq.seq !== seq || text(r.body) !== `answer to ${seq}`)
          mismatches.push(`${seq} got ${r.cseq.seq}`);
        responses.push(r);
      },
      (e: unknown) => {
        inFlight--;
        failures.push(e);
      },
    );
  };
  while (responses.length + failures.length < count) {
    while (inFlight < window && next <= count) start();
    await pump();
  }
  expect(failures).toEqual([]);
  expect(mismatches).toEqual([]);
  return responses;
}

describe('INFO under 20 % loss each way', () => {
  it(
    'completes 250 transactions over the lossy memory pair, each run once',
    { timeout: 30_000 },
    async () => {
      const clock = manualClock();
      const [a, b] = createMemoryPair({
        lossRate: 0.2,
        delayMs: 5,
        random: seeded(20240611),
        clock,
      });
      const ids = (seed: number) => createIdGenerator(seededRandom(seed));
      const client = endpoint([a], { clock, ids: ids(1) });
      const server = endpoint([b], { clock, ids: ids(2) });
      const runs = countingServer(server.endpoint);
      const target: TransportTarget = { protocol: 'memory', ...b.local };
      const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
      const responses = await run(client.endpoint, target, 250, 8, async () => {
        clock.tick(5);
        await flush();
      });
      expect(responses).toHaveLength(250);
      expect([...runs.keys()].sort((x, y) => x - y)).toEqual(
        Array.from({ length: 250 }, (_, i) => i + 1),
      );
      expect([...runs.values()].every((n) => n === 1)).toBe(true);
      // the loss was real: both directions lost about a fifth, and retransmissions made up for it
      expect(a.stats.lost / a.stats.sent).toBeGreaterThan(0.12);
      expect(b.stats.lost / b.stats.sent).toBeGreaterThan(0.12);
      expect(a.stats.sent).toBeGreaterThan(250);
      await Promise.all([client.endpoint.close(), server.endpoint.close()]);
    },
  );

  it(
    'completes 200 transactions through a lossy UDP relay on loopback, each run once',
    { timeout: 30_000 },
    async () => {
      // Timer F is 64·T1: 3.2 s and some 30 retransmissions, so an event loop stalled by a loaded
      // machine cannot run a transaction out of time (T1 = 10 ms gave 640 ms and failed under load)
      const timers = { T1: 50, T2: 100 };
      const client = endpoint([await UdpTransport.listen({ port: 0 })], { timers });
      const server = endpoint([await UdpTransport.listen({ port: 0 })], { timers });
      const runs = countingServer(server.endpoint);
      const serverPort = server.endpoint.transports[0]!.local.port;

      // the relay: the client talks to `front`, the server to `back`; 20 % of each direction is lost
      const random = seeded(7);
      const front = createSocket('udp4');
      const back = createSocket('udp4');
      await Promise.all(
        [front, back].map((s) => new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()))),
      );
      let clientAddress: RemoteInfo | undefined;
      let lost = 0;
      let passed = 0;
      front.on('message', (msg, rinfo) => {
        clientAddress = rinfo;
        if (random() < 0.2) lost++;
        else {
          passed++;
          back.send(msg, serverPort, '127.0.0.1');
        }
      });
      back.on('message', (msg) => {
        if (random() < 0.2) lost++;
        else if (clientAddress !== undefined) {
          passed++;
          front.send(msg, clientAddress.port, clientAddress.address);
        }
      });
      const target: TransportTarget = {
        protocol: 'udp',
        host: '127.0.0.1',
        port: front.address().port,
      };
      try {
        const responses = await run(
          client.endpoint,
          target,
          200,
          16,
          () => new Promise((r) => setTimeout(r, 2)),
        );
        expect(responses).toHaveLength(200);
        expect([...runs.keys()].sort((x, y) => x - y)).toEqual(
          Array.from({ length: 200 }, (_, i) => i + 1),
        );
        expect([...runs.values()].every((n) => n === 1)).toBe(true);
        expect(lost / (lost + passed)).toBeGreaterThan(0.12);
      } finally {
        front.close();
        back.close();
        await Promise.all([client.endpoint.close(), server.endpoint.close()]);
      }
    },
  );
});
