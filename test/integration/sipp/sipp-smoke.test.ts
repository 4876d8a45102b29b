/**
 * The SIPp uaCSTA scenarios against each other (issue #4): `test/sipp/uac-info.xml` ⇄
 * `test/sipp/uas-info.xml` on 127.0.0.1, a few dialogs over UDP, over one TCP connection and
 * over a TCP connection per call. This pins the scenarios that the benchmark uses and that later
 * tests point at our stack. CI installs sipp (`.ci/run`), so there these run; elsewhere they are
 * skipped when sipp is missing.
 */
import { describe, expect, it } from 'vitest';
import { parseCsta } from '../../../src/csta/index.js';
import {
  hasSipp,
  runSippUac,
  scenarioBodies,
  startSippUas,
  type SippReport,
  type SippTransport,
} from '../../sipp/sipp.js';

const CALLS = 6;
const INFOS = 5;
const IN_FLIGHT = 3;

function decode(file: string, root: string): unknown {
  const body = scenarioBodies(file).get(root);
  if (body === undefined) throw new Error(`${file} has no ${root} body`);
  const r = parseCsta(body);
  if (!r.ok) throw new Error(`${file} ${root}: ${r.error.code}`);
  return { bytes: Buffer.byteLength(body), value: r.value };
}

/** Everything in a report that says something went wrong, for one readable assertion. */
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

describe('SIPp uaCSTA scenarios', () => {
  it('carry CSTA bodies that the codec decodes, the INFO ~600 bytes and its answer ~300', () => {
    expect(decode('uac-info.xml', 'RequestSystemStatus')).toEqual({
      bytes: 134,
      value: { type: 'RequestSystemStatus', edition: 'ed3' },
    });
    expect(decode('uac-info.xml', 'MakeCall')).toEqual({
      bytes: 606,
      value: {
        type: 'MakeCall',
        edition: 'ed3',
        callingDevice: { value: 'sip:1001@pbx.example.com', typeOfNumber: 'dialingNumber' },
        calledDirectoryNumber: { value: 'sip:2002@pbx.example.com', typeOfNumber: 'dialingNumber' },
        autoOriginate: 'doNotPrompt',
        correlatorData: { string: '7C1B2E90' },
        userData: { string: 'uaCSTA bench' },
        callCharacteristics: { priorityCall: true },
        subjectOfCall: 'uaCSTA load test',
      },
    });
    expect(decode('uas-info.xml', 'RequestSystemStatusResponse')).toEqual({
      bytes: 210,
      value: { type: 'RequestSystemStatusResponse', edition: 'ed3', systemStatus: 'normal' },
    });
    expect(decode('uas-info.xml', 'MakeCallResponse')).toEqual({
      bytes: 307,
      value: {
        type: 'MakeCallResponse',
        edition: 'ed3',
        callingDevice: {
          callID: '0A1B2C3D4E5F60718293A4B5C6D7E8F9',
          deviceID: { value: 'sip:1001@pbx.example.com', typeOfNumber: 'dialingNumber' },
        },
      },
    });
  });

  const transports: ReadonlyArray<readonly [SippTransport, string]> = [
    ['u1', 'UDP'],
    ['t1', 'one TCP connection'],
    ['tn', 'a TCP connection per call'],
  ];
  for (const [transport, label] of transports) {
    it.skipIf(!hasSipp())(
      `completes ${CALLS} dialogs of INVITE, ${INFOS} INFO MakeCall and BYE between the SIPp UAC and UAS over ${label} (#4: skipped only when sipp is not installed)`,
      async () => {
        const uas = await startSippUas({ transport });
        const uac = await runSippUac({
          transport,
          port: uas.port,
          infos: INFOS,
          inFlight: IN_FLIGHT,
          calls: CALLS,
          deadlineMs: 15_000,
        }).catch(async (e: unknown) => {
          await uas.stop();
          throw e;
        });
        const server = await uas.stop();
        expect(problems(uac)).toEqual({ exitCode: 0, failedCalls: 0, infoTimeout: 0, unexpected: 0, errors: '' });
        expect(uac.successfulCalls).toBe(CALLS);
        expect(uac.counts[uac.counts.length - 1]?.infoDone).toBe(CALLS * INFOS);
        expect(problems(server)).toEqual({ exitCode: 0, failedCalls: 0, infoTimeout: 0, unexpected: 0, errors: '' });
        expect(server.successfulCalls).toBe(CALLS);
        expect(server.counts[server.counts.length - 1]?.infoDone).toBe(CALLS * INFOS);
      },
      30_000,
    );
  }
});
