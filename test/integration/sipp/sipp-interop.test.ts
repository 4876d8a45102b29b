/**
 * Interop (issue #4): our transactions against SIPp running the scripted uaCSTA UAS and UAC of
 * `test/sipp/`, on 127.0.0.1 over UDP and TCP.
 *
 * - SIPp's UAC (`uac-info.xml`) against our UAS (`uacsta-uas.ts`, a `SipEndpoint` answering
 *   INVITE, INFO and BYE and retransmitting its 2xx until the ACK): every call succeeds in SIPp,
 *   and every INFO SIPp sent reached our transaction user exactly once.
 * - Our UAC (`uacsta-uac.ts`: INVITE client transaction, the 2xx ACK built by the UA, in-dialog
 *   INFOs and BYE with `sendRequest`) against SIPp's UAS (`uas-info.xml`).
 * - SIPp's UAC against our UAS with 20 % of the datagrams lost each way: SIPp's retransmissions
 *   and our server transactions still complete every INFO, each executed once.
 *
 * CI installs sipp (`.ci/run`); elsewhere these are skipped when it is missing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseCsta } from '../../../src/csta/index.js';
import { SipEndpoint } from '../../../src/sip/endpoint.js';
import { TcpTransport } from '../../../src/sip/transport/node/tcp.js';
import { UdpTransport } from '../../../src/sip/transport/node/udp.js';
import { ANSWERS } from '../../bench/servers/common.js';
import {
  hasSipp,
  runSippUac,
  scenarioBodies,
  startSippUas,
  type SippReport,
  type SippTransport,
} from '../../sipp/sipp.js';
import { lossy, type LossCounts } from './lossy-transport.js';
import { runAssociation } from './uacsta-uac.js';
import { startUacstaUas, type UacstaUas } from './uacsta-uas.js';

const SIPP = hasSipp();
const SKIP_NOTE = '#4: skipped only when sipp is not installed';

/** Everything in a SIPp report that says something went wrong, for one readable assertion. */
function problems(r: SippReport): Record<string, unknown> {
  const last = r.counts[r.counts.length - 1];
  return {
    exitCode: r.exitCode,
    failedCalls: r.failedCalls,
    infoTimeout: last?.infoTimeout,
    unexpected: last?.unexpected,
    errors: r.errors.slice(0, 2000),
  };
}
const CLEAN = { exitCode: 0, failedCalls: 0, infoTimeout: 0, unexpected: 0, errors: '' };

/** INFO keys seen more than once by our TU. */
function repeated(uas: UacstaUas): string[] {
  return [...uas.stats.infos].filter(([, n]) => n !== 1).map(([k, n]) => `${k} ×${n}`);
}

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const TRANSPORTS: ReadonlyArray<readonly [SippTransport, 'udp' | 'tcp', string]> = [
  ['u1', 'udp', 'UDP'],
  ['t1', 'tcp', 'TCP'],
];

describe('SIPp UAC against our UAS', () => {
  const CALLS = 8;
  const INFOS = 10;

  for (const [sippTransport, transport, label] of TRANSPORTS) {
    it.skipIf(!SIPP)(
      `completes ${CALLS} dialogs × ${INFOS} INFO MakeCall from the SIPp UAC over ${label}, each INFO executed once by our UAS (${SKIP_NOTE})`,
      async () => {
        const uas = await startUacstaUas({ transport, watch: true });
        cleanups.push(() => uas.close());
        const report = await runSippUac({
          transport: sippTransport,
          port: uas.port,
          infos: INFOS,
          inFlight: CALLS,
          calls: CALLS,
          deadlineMs: 20_000,
        });
        const last = report.counts[report.counts.length - 1];

        expect(problems(report)).toEqual(CLEAN);
        expect(report.successfulCalls).toBe(CALLS);
        expect(last?.infoSent).toBe(CALLS * INFOS);
        expect(last?.infoDone).toBe(CALLS * INFOS);

        // Our side: exactly the INFOs SIPp sent, each handed to the TU once.
        expect(uas.stats.infos.size).toBe(last?.infoSent);
        expect(repeated(uas)).toEqual([]);
        expect(uas.stats.invites).toBe(CALLS);
        expect(uas.stats.byes).toBe(CALLS);
        expect(uas.stats.acks).toBeGreaterThanOrEqual(CALLS);
        expect(uas.stats.otherRequests).toEqual([]);
        expect(uas.stats.problems).toEqual([]);
      },
      30_000,
    );
  }
});

describe('our UAC against the SIPp UAS', () => {
  const DIALOGS = 4;
  const INFOS = 10;
  const makeCallResponse = scenarioBodies('uas-info.xml').get('MakeCallResponse');
  const systemStatusResponse = scenarioBodies('uas-info.xml').get('RequestSystemStatusResponse');

  for (const [sippTransport, transport, label] of TRANSPORTS) {
    it.skipIf(!SIPP)(
      `runs ${DIALOGS} dialogs of INVITE, ACK to the 2xx, ${INFOS} in-dialog INFO and BYE against the SIPp UAS over ${label} (${SKIP_NOTE})`,
      async () => {
        const sipp = await startSippUas({ transport: sippTransport });
        let sippStopped = false;
        cleanups.push(() => (sippStopped ? Promise.resolve() : sipp.stop()));
        const listening =
          transport === 'udp'
            ? await UdpTransport.listen({ host: '127.0.0.1', port: 0 })
            : await TcpTransport.listen({ host: '127.0.0.1', port: 0 });
        const sent: string[] = [];
        const dropped: string[] = [];
        const endpoint = new SipEndpoint({
          transports: [listening],
          trace: (e) => {
            if (e.type === 'sent') sent.push(Buffer.from(e.bytes).toString('latin1'));
            else if (e.type === 'dropped' || e.type === 'rejected' || e.type === 'error')
              dropped.push(e.type);
          },
        });
        cleanups.push(() => endpoint.close());
        const target = { protocol: transport, host: '127.0.0.1', port: sipp.port } as const;

        const results = await Promise.all(
          Array.from({ length: DIALOGS }, (_, index) =>
            runAssociation({ endpoint, protocol: transport, target, infos: INFOS, index }),
          ),
        );
        await endpoint.close();
        sippStopped = true;
        const server = await sipp.stop();

        expect(problems(server)).toEqual(CLEAN);
        expect(server.successfulCalls).toBe(DIALOGS);
        expect(server.counts[server.counts.length - 1]?.infoDone).toBe(DIALOGS * INFOS);
        expect(dropped).toEqual([]);

        const contactRe = new RegExp(`^sip:phone@127\\.0\\.0\\.1:${sipp.port};transport=${transport}$`, 'i');
        for (const r of results) {
          expect(r.invite.status).toBe(200);
          expect(r.invite.body).toBe(systemStatusResponse);
          expect(r.remoteTag).toMatch(/uas/);
          expect(r.remoteUri).toMatch(contactRe);
          expect(r.remoteTarget).toEqual(target);

          // The ACK for the 2xx: its own transaction (a new branch), CSeq 1 ACK, the remote tag.
          const inviteText = sent.find((t) => t.startsWith('INVITE ') && t.includes(r.callId));
          const inviteBranch = /branch=([^;\s,]+)/.exec(inviteText ?? '')?.[1];
          expect(inviteBranch).toMatch(/^z9hG4bK/);
          expect(r.ack.via[0]?.branch).toMatch(/^z9hG4bK/);
          expect(r.ack.via[0]?.branch).not.toBe(inviteBranch);
          expect(r.ack.cseq).toEqual({ seq: 1, method: 'ACK' });
          expect(r.ack.to.params['tag']).toBe(r.remoteTag);
          expect(r.ack.uri).toBe(r.remoteUri);
          expect(r.acksSent).toBeGreaterThanOrEqual(1);
          expect(sent.filter((t) => t.startsWith('ACK ') && t.includes(r.callId)).length).toBe(r.acksSent);

          expect(r.infos.map((x) => [x.status, x.cseq, x.responseCseq, x.responseMethod, x.callIdMatches])).toEqual(
            Array.from({ length: INFOS }, (_, i) => [200, i + 2, i + 2, 'INFO', true]),
          );
          for (const x of r.infos) expect(x.body).toBe(makeCallResponse);
          const decoded = parseCsta(r.infos[0]!.body);
          expect(decoded.ok && decoded.value.type).toBe('MakeCallResponse');
          expect(r.bye).toMatchObject({
            status: 200,
            cseq: INFOS + 2,
            responseCseq: INFOS + 2,
            responseMethod: 'BYE',
            callIdMatches: true,
          });
        }
      },
      30_000,
    );
  }
});

describe('SIPp UAC against our UAS, 20 % of datagrams lost each way', () => {
  const CALLS = 4;
  const INFOS = 5;

  it.skipIf(!SIPP)(
    `completes ${CALLS} dialogs × ${INFOS} INFO over lossy UDP, each INFO executed once by our UAS (${SKIP_NOTE})`,
    async () => {
      const loss: LossCounts = { receivedKept: 0, receivedDropped: 0, sentKept: 0, sentDropped: 0 };
      const uas = await startUacstaUas({
        transport: 'udp',
        wrap: (t) => lossy(t, 0.2, 0x5eed4, loss),
      });
      cleanups.push(() => uas.close());
      const report = await runSippUac({
        transport: 'u1',
        port: uas.port,
        infos: INFOS,
        inFlight: CALLS,
        calls: CALLS,
        deadlineMs: 25_000,
        extraArgs: ['-max_invite_retrans', '10', '-max_non_invite_retrans', '10'],
      });
      const last = report.counts[report.counts.length - 1];

      expect(problems(report)).toEqual(CLEAN);
      expect(report.successfulCalls).toBe(CALLS);
      expect(last?.infoSent).toBe(CALLS * INFOS);
      expect(last?.infoDone).toBe(CALLS * INFOS);
      // The loss was real: datagrams were dropped both ways and SIPp retransmitted.
      expect(loss.receivedDropped).toBeGreaterThan(0);
      expect(loss.sentDropped).toBeGreaterThan(0);

      expect(uas.stats.infos.size).toBe(CALLS * INFOS);
      expect(repeated(uas)).toEqual([]);
      expect(uas.stats.invites).toBe(CALLS);
      expect(uas.stats.byes).toBe(CALLS);
      expect(uas.stats.otherRequests).toEqual([]);
    },
    30_000,
  );
});

// The answers our UAS sends are the SIPp anchor's, byte for byte.
it('answers with the CSTA bodies of the SIPp UAS scenario', () => {
  expect(ANSWERS.info).toBe(scenarioBodies('uas-info.xml').get('MakeCallResponse'));
  expect(ANSWERS.invite).toBe(scenarioBodies('uas-info.xml').get('RequestSystemStatusResponse'));
});
