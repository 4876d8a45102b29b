/**
 * The session commands as processes (issue #6, CLI): `uacsta responder` listening on loopback,
 * `uacsta invoke` and `uacsta monitor` against it over UDP and TCP; exit codes 0 (positive
 * response), 1 (CSTA error), 2 (usage error); monitor printing the events of digest Example 3.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const main = join(root, 'src/cli/main.ts');

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const children = new Set<ChildProcess>();

/** Runs `uacsta ARGS` to its end (bounded); `onLine` sees stdout line by line. */
function uacsta(
  args: readonly string[],
  onLine?: (line: string, child: ChildProcess) => void,
  ms = 30_000,
): Promise<Run> {
  return new Promise((resolvePromise) => {
    const child = spawn(tsx, [main, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    let stdout = '';
    let stderr = '';
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      stdout += d;
      partial += d;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        onLine?.(partial.slice(0, nl), child);
        partial = partial.slice(nl + 1);
      }
    });
    child.stderr.on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), ms);
    child.once('exit', (status) => {
      clearTimeout(timer);
      children.delete(child);
      resolvePromise({ status, stdout, stderr });
    });
  });
}

/** A responder process; resolves once it printed its `listening` line. */
interface RunningResponder {
  readonly port: number;
  readonly address: string;
  stop(): Promise<Run>;
}

function responder(listen: string, extra: readonly string[] = []): Promise<RunningResponder> {
  return new Promise((resolveStart, reject) => {
    let started = false;
    const done = uacsta(['responder', '--listen', listen, ...extra], (line, child) => {
      const m = /^listening (\w+:[\d.]+:(\d+))$/.exec(line);
      if (m && !started) {
        started = true;
        resolveStart({
          port: Number(m[2]),
          address: m[1]!,
          stop: () => {
            child.kill('SIGTERM');
            return done;
          },
        });
      }
    }, 120_000);
    void done.then((r) => {
      if (!started) reject(new Error(`the responder exited ${r.status}: ${r.stderr}`));
    });
  });
}

const MAKE_CALL = JSON.stringify({ type: 'MakeCall', callingDevice: '1001', calledDirectoryNumber: '2002' });

let udp: RunningResponder;
let tcp: RunningResponder;

beforeAll(async () => {
  [udp, tcp] = await Promise.all([
    responder('udp:127.0.0.1:0', ['--events', '--refuse', 'SnapshotDevice=operation:invalidDeviceID']),
    responder('tcp:127.0.0.1:0', ['--events']),
  ]);
}, 60_000);

afterAll(async () => {
  const stopped = await Promise.all([udp?.stop(), tcp?.stop()]);
  for (const c of children) c.kill('SIGKILL');
  // SIGTERM is a clean stop: exit 0
  expect(stopped.map((r) => r?.status)).toEqual([0, 0]);
}, 30_000);

describe('uacsta responder', () => {
  it('prints the real address it listens on when port 0 was given', () => {
    expect(udp.address).toBe(`udp:127.0.0.1:${udp.port}`);
    expect(udp.port).toBeGreaterThan(0);
    expect(tcp.address).toBe(`tcp:127.0.0.1:${tcp.port}`);
  });

  it('refuses a --listen that is not TRANSPORT:HOST:PORT with exit 2 and says what it expected', async () => {
    const r = await uacsta(['responder', '--listen', 'sctp:127.0.0.1:5060']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("expects one of udp, tcp, tls, ws; found 'sctp'");
  }, 30_000);
});

describe('uacsta invoke against uacsta responder', () => {
  it('MakeCall over UDP: exit 0, the typed MakeCallResponse with a callID on stdout', async () => {
    const r = await uacsta(['invoke', `sip:1001@127.0.0.1:${udp.port}`, MAKE_CALL]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const res = JSON.parse(r.stdout) as { type: string; callingDevice: { callID: string; deviceID: string } };
    expect(res).toMatchObject({ type: 'MakeCallResponse', edition: 'ed3', callingDevice: { deviceID: '1001' } });
    expect(res.callingDevice.callID).toMatch(/^\d+$/);
  }, 30_000);

  it('MakeCall over TCP chosen by the URI parameter ;transport=tcp (RFC 3263 §4.1): exit 0', async () => {
    const r = await uacsta(['invoke', `sip:1001@127.0.0.1:${tcp.port};transport=tcp`, MAKE_CALL]);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ type: 'MakeCallResponse', callingDevice: { deviceID: '1001' } });
  }, 30_000);

  it('--transport tcp overrides a URI without a transport parameter: MonitorStart gets a monitorCrossRefID', async () => {
    const req = JSON.stringify({ type: 'MonitorStart', monitorObject: { deviceObject: '1001' } });
    const r = await uacsta(['invoke', `sip:1001@127.0.0.1:${tcp.port}`, req, '--transport', 'tcp']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ type: 'MonitorStartResponse', monitorCrossRefID: expect.stringMatching(/^\d+$/) });
  }, 30_000);

  it('a CSTA error (the responder refuses SnapshotDevice): exit 1, error JSON with code, category and value', async () => {
    const req = JSON.stringify({ type: 'SnapshotDevice', snapshotObject: '1001' });
    const r = await uacsta(['invoke', `sip:1001@127.0.0.1:${udp.port}`, req]);
    expect(r.status).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      error: {
        code: 'CSTA_ERR_SERVICE',
        category: 'operation',
        value: 'invalidDeviceID',
        errorValue: { operation: 'invalidDeviceID' },
      },
    });
  }, 30_000);

  it('usage errors exit 2 and say what was expected and what was found', async () => {
    const target = `sip:1001@127.0.0.1:${udp.port}`;
    // the whole table is in test/unit/cli/session-commands.test.ts (in-process); two as processes
    const cases: [string[], string][] = [
      [['invoke', target, '{"type":"MakeCoffee"}'], "expects a CSTA service request (MakeCall, MonitorStart, SnapshotDevice, …); found 'MakeCoffee'"],
      [['invoke', target, MAKE_CALL, '--transport', 'sctp'], "--transport expects one of udp, tcp, tls, ws; found 'sctp'"],
    ];
    const runs = await Promise.all(cases.map(([args]) => uacsta(args)));
    runs.forEach((r, i) => {
      expect({ status: r.status, stdout: r.stdout }).toEqual({ status: 2, stdout: '' });
      expect(r.stderr).toContain(cases[i]![1]);
    });
  }, 90_000);

  it('--help of each session command exits 0 and shows examples', async () => {
    const runs = await Promise.all(['invoke', 'monitor', 'responder'].map((c) => uacsta([c, '--help'])));
    for (const r of runs) {
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('Examples:');
      expect(r.stdout).toContain('Exit codes:');
    }
  }, 60_000);
});

describe('uacsta monitor against uacsta responder --events', () => {
  it('runs until SIGINT without --duration, then stops the monitor and exits 0', async () => {
    const r = await uacsta(['monitor', `sip:1001@127.0.0.1:${udp.port}`, '--json'], (line, child) => {
      if (line.includes('monitorStarted')) child.kill('SIGINT');
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
  }, 60_000);

  for (const transport of ['udp', 'tcp'] as const) {
    it(`prints MonitorStart, then the four events of a MakeCall on the device, one JSON per line, and exits 0 after --duration (${transport.toUpperCase()})`, async () => {
      const port = transport === 'udp' ? udp.port : tcp.port;
      const target = `sip:1001@127.0.0.1:${port};transport=${transport}`;
      let started!: () => void;
      const monitorStarted = new Promise<void>((r) => (started = r));
      const monitor = uacsta(['monitor', target, '--duration', '6', '--json'], (line) => {
        if (line.includes('monitorStarted')) started();
      });
      await monitorStarted;
      const call = await uacsta(['invoke', target, MAKE_CALL]);
      expect(call.status).toBe(0);
      const callID = (JSON.parse(call.stdout) as { callingDevice: { callID: string } }).callingDevice.callID;
      const r = await monitor;
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const crossRef = (lines[0] as { monitorStarted: { monitorCrossRefID: string } }).monitorStarted.monitorCrossRefID;
      expect(lines[0]).toEqual({ monitorStarted: { monitorCrossRefID: crossRef, device: '1001' } });
      const events = lines.slice(1).filter((e) => (e['originatedConnection'] ?? e['initiatedConnection'] ?? e['connection'] ?? e['establishedConnection']) !== undefined);
      const ofThisCall = events.filter((e) => JSON.stringify(e).includes(`"callID":"${callID}"`));
      expect(ofThisCall.map((e) => e['type'])).toEqual(['ServiceInitiatedEvent', 'OriginatedEvent', 'DeliveredEvent', 'EstablishedEvent']);
      expect(ofThisCall.every((e) => e['monitorCrossRefID'] === crossRef)).toBe(true);
      expect(ofThisCall[1]).toMatchObject({ callingDevice: { deviceIdentifier: '1001' }, calledDevice: { deviceIdentifier: '2002' }, cause: 'newCall' });
    }, 60_000);
  }
});
