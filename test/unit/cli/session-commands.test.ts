/**
 * The pieces of `uacsta invoke|monitor|responder` that need no network: the minimal responses
 * derived from the schema, the flag readers, RFC 3263 transport selection, and every usage error
 * (exit 2, a message that says what was expected and what was found).
 */
import { describe, expect, it } from 'vitest';
import { parseCsta, serializeCsta, SCHEMA, type CstaMessage } from '../../../src/csta/index.js';
import { readHostPort, readListen, readSeconds, readTargetUri, UsageError } from '../../../src/cli/args.js';
import { readRefusal, makeCallEvents, startResponder } from '../../../src/cli/commands/responder.js';
import type { CliIo } from '../../../src/cli/io.js';
import { runCli } from '../../../src/cli/main.js';
import { MinimalResponder, SERVICES } from '../../../src/cli/minimal-response.js';
import { transportOf } from '../../../src/cli/target.js';

function io(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    readInput: () => Promise.reject(new Error('no input')),
  };
}

describe('minimal positive responses (uacsta responder)', () => {
  it('covers every service of the model: each request element that has a …Response element', () => {
    const expected = Object.keys(SCHEMA.elements).filter(
      (n) => !n.endsWith('Response') && !n.endsWith('Event') && SCHEMA.elements[`${n}Response`] !== undefined,
    );
    expect([...SERVICES].sort()).toEqual(expected.sort());
    expect(SERVICES).toContain('MakeCall');
    expect(SERVICES).toContain('MonitorStart');
    expect(SERVICES.length).toBeGreaterThan(100);
  });

  it('answers every service with a response of the right type that the codec writes and reads back', () => {
    const answers = new MinimalResponder();
    const failures: string[] = [];
    for (const service of SERVICES) {
      const edition = SCHEMA.elements[`${service}Response`]!.s === 6 ? 'ed6' : 'ed3';
      const res = answers.respond({ type: service } as CstaMessage);
      if (res?.type !== `${service}Response`) {
        failures.push(`${service}: ${res?.type}`);
        continue;
      }
      try {
        const parsed = parseCsta(serializeCsta(res, { edition }));
        if (!parsed.ok) failures.push(`${service}: ${parsed.error.message}`);
        else if (parsed.value.type !== res.type) failures.push(`${service}: read back as ${parsed.value.type}`);
      } catch (e) {
        failures.push(`${service}: ${(e as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('gives MakeCall a fresh callID on the calling device and MonitorStart a fresh monitorCrossRefID', () => {
    const answers = new MinimalResponder();
    const mc = { type: 'MakeCall', callingDevice: '1001', calledDirectoryNumber: '2002' } as CstaMessage;
    const a = answers.respond(mc) as { callingDevice: { callID: string; deviceID: string } };
    const b = answers.respond(mc) as { callingDevice: { callID: string; deviceID: string } };
    expect(a.callingDevice.deviceID).toBe('1001');
    expect(a.callingDevice.callID).not.toBe(b.callingDevice.callID);
    const ms = { type: 'MonitorStart', monitorObject: { deviceObject: '1001' } } as CstaMessage;
    const m1 = answers.respond(ms) as { monitorCrossRefID: string };
    const m2 = answers.respond(ms) as { monitorCrossRefID: string };
    expect(m1).toEqual({ type: 'MonitorStartResponse', monitorCrossRefID: expect.stringMatching(/^\d+$/) });
    expect(m1.monitorCrossRefID).not.toBe(m2.monitorCrossRefID);
  });

  it('answers RequestSystemStatus normal (digest §1.3) and has no answer for events or responses', () => {
    const answers = new MinimalResponder();
    expect(answers.respond({ type: 'RequestSystemStatus' } as CstaMessage)).toEqual({
      type: 'RequestSystemStatusResponse',
      systemStatus: 'normal',
    });
    expect(answers.respond({ type: 'MakeCallResponse' } as CstaMessage)).toBeUndefined();
    expect(answers.respond({ type: 'DeliveredEvent' } as CstaMessage)).toBeUndefined();
  });

  it('writes the four events of digest Example 3 as valid ed3 documents', () => {
    const events = makeCallEvents('17', '41', 'sip:1001@pbx.example.com', 'sip:2002@pbx.example.com');
    expect(events.map((e) => e.type)).toEqual(['ServiceInitiatedEvent', 'OriginatedEvent', 'DeliveredEvent', 'EstablishedEvent']);
    for (const e of events) {
      const back = parseCsta(serializeCsta(e));
      expect(back.ok && back.value).toEqual({ ...e, edition: 'ed3' });
    }
  });
});

describe('flag readers', () => {
  it('reads HOST:PORT, IPv6 in brackets, port 0', () => {
    expect(readHostPort('127.0.0.1:5070', '--local')).toEqual({ host: '127.0.0.1', port: 5070 });
    expect(readHostPort('[::1]:0', '--local')).toEqual({ host: '::1', port: 0 });
    expect(() => readHostPort('127.0.0.1', '--local')).toThrow("--local expects HOST:PORT (e.g. 127.0.0.1:5070, [::1]:0); found '127.0.0.1'");
    expect(() => readHostPort('h:70000', '--local')).toThrow(UsageError);
  });

  it('reads --listen TRANSPORT:HOST:PORT with an IP address to bind', () => {
    expect(readListen('udp:127.0.0.1:0')).toEqual({ transport: 'udp', host: '127.0.0.1', port: 0 });
    expect(readListen('TLS:[::1]:5061')).toEqual({ transport: 'tls', host: '::1', port: 5061 });
    expect(() => readListen(undefined)).toThrow('--listen is required');
    expect(() => readListen('127.0.0.1:5060')).toThrow("expects one of udp, tcp, tls, ws; found '127.0.0.1'");
    expect(() => readListen('udp:pbx.example.com:5060')).toThrow("expects an IP address to bind; found host 'pbx.example.com'");
  });

  it('reads seconds as milliseconds and refuses zero, negatives and words', () => {
    expect(readSeconds('0.5', '--duration', 0)).toBe(500);
    expect(readSeconds(undefined, '--duration', 7)).toBe(7);
    for (const bad of ['0', '-1', 'soon', '']) expect(() => readSeconds(bad, '--timeout', 0)).toThrow(UsageError);
  });

  it('accepts sip: and sips: URIs with a host only', () => {
    expect(readTargetUri('sip:1001@192.0.2.10:5060;transport=tcp')).toBe('sip:1001@192.0.2.10:5060;transport=tcp');
    expect(readTargetUri('sips:[2001:db8::1]')).toBe('sips:[2001:db8::1]');
    expect(() => readTargetUri('tel:+4930123')).toThrow(UsageError);
    expect(() => readTargetUri('sip:1001@')).toThrow(UsageError);
  });

  it('reads --refuse SERVICE[=CATEGORY:VALUE]', () => {
    expect(readRefusal('MakeCall')).toEqual(['MakeCall', { operation: 'generic' }]);
    expect(readRefusal('SnapshotDevice=operation:invalidDeviceID')).toEqual(['SnapshotDevice', { operation: 'invalidDeviceID' }]);
    expect(() => readRefusal('MakeCoffee')).toThrow(UsageError);
  });
});

describe('transport selection (RFC 3263 §4.1, without DNS)', () => {
  it('takes the ;transport= parameter, else UDP for sip: and TLS for sips:, and --transport overrides', () => {
    expect(transportOf('sip:1001@192.0.2.10')).toBe('udp');
    expect(transportOf('sip:1001@192.0.2.10;transport=TCP')).toBe('tcp');
    expect(transportOf('sip:1001@192.0.2.10:8080;transport=ws')).toBe('ws');
    expect(transportOf('sips:1001@pbx.example.com')).toBe('tls');
    expect(transportOf('sip:1001@192.0.2.10;transport=tcp', 'udp')).toBe('udp');
  });
});

describe('usage errors of the session commands (exit 2, nothing on stdout)', () => {
  const target = 'sip:1001@127.0.0.1:9';
  const MAKE_CALL = '{"type":"MakeCall","callingDevice":"1001","calledDirectoryNumber":"2002"}';
  const cases: [string[], string][] = [
    [['invoke', target, '{"type":"MakeCoffee"}'], "found 'MakeCoffee'"],
    [['invoke', target, '{"type":"DeliveredEvent"}'], "expects a CSTA service request (MakeCall, MonitorStart, SnapshotDevice, …); found 'DeliveredEvent'"],
    [['invoke', target, '[1]'], 'expects an object with a "type" naming a CSTA request; found [1]'],
    [['invoke', target, '{"type":'], 'JSON-REQUEST expects JSON'],
    [['invoke', target, '{"type":"MakeCall","callingDevice":"1001"}'], "mandatory field 'calledDirectoryNumber' missing"],
    [['invoke', target, MAKE_CALL, '--transport', 'sctp'], "--transport expects one of udp, tcp, tls, ws; found 'sctp'"],
    [['invoke', 'http://example.com', MAKE_CALL], 'TARGET-URI expects a sip: or sips: URI with a host'],
    [['invoke', target], "expected 'JSON-REQUEST' after TARGET-URI"],
    [['invoke'], 'expected TARGET-URI'],
    [['invoke', target, MAKE_CALL, 'extra'], 'found 3 arguments'],
    [['invoke', target, MAKE_CALL, '--timeout', 'soon'], "--timeout expects a positive number of seconds; found 'soon'"],
    [['invoke', target, MAKE_CALL, '--user', 'u'], '--user and --password go together; found only --user'],
    [['invoke', target, MAKE_CALL, '--local', 'nowhere'], "--local expects HOST:PORT"],
    [['invoke', target, MAKE_CALL, '--ca', '/nonexistent/ca.pem'], "--ca expects a readable PEM file; found '/nonexistent/ca.pem'"],
    [['monitor'], 'expected exactly one TARGET-URI; found 0 arguments'],
    [['monitor', target, '--duration=-3'], "--duration expects a positive number of seconds; found '-3'"],
    [['responder'], '--listen is required'],
    [['responder', '--listen', 'udp:127.0.0.1:0', '--refuse', 'Dance'], "--refuse expects SERVICE[=CATEGORY:VALUE]"],
    [['responder', '--listen', 'udp:127.0.0.1:0', '--cert', 'c.pem', '--key', 'k.pem'], '--cert and --key need --listen tls:HOST:PORT; found udp'],
    [['invoke', target, MAKE_CALL, '--bogus'], "Unknown option '--bogus'"],
  ];
  for (const [args, message] of cases) {
    it(`uacsta ${args.join(' ')}`, async () => {
      const t = io();
      expect(await runCli(args, t)).toBe(2);
      expect(t.out).toEqual([]);
      expect(t.err.join('')).toContain(message);
    });
  }
});

describe('uacsta responder in-process', () => {
  it('answers over UDP and counts the session; invoke gets exit 0 with the response JSON', async () => {
    const r = await startResponder({ listen: { transport: 'udp', host: '127.0.0.1', port: 0 } });
    try {
      const t = io();
      const port = r.agent.transport.local.port;
      const code = await runCli(['invoke', `sip:1001@127.0.0.1:${port}`, '{"type":"GetDoNotDisturb","device":"1001"}'], t);
      expect(t.err).toEqual([]);
      expect(code).toBe(0);
      expect(JSON.parse(t.out.join(''))).toEqual({ type: 'GetDoNotDisturbResponse', edition: 'ed3', doNotDisturbOn: false });
      expect(r.sessions()).toBe(1);
    } finally {
      await r.close();
    }
  });
});
