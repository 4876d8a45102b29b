/**
 * Every program in examples/ runs as its own process (`tsx examples/x.ts`) against simulated
 * phones it starts itself, and prints what its header comment promises: so the examples cannot
 * rot while the API under them moves.
 */
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');

/** Runs an example; the child is killed (by its PID, through execFile) after 40 s. */
function run(file: string, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(tsx, [join(root, 'examples', file), ...args], { cwd: root, timeout: 40_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      done({ code, stdout, stderr });
    });
  });
}

const lines = (s: string): string[] => s.trim().split('\n');

// each case starts one tsx process (one to three seconds on a loaded 2-core machine)
describe('examples/', () => {
  it('make-call-and-watch.ts: MakeCall, the events of the call until Established, then ClearConnection', async () => {
    const r = await run('make-call-and-watch.ts');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toMatch(/^simulated phones 1000 and 1001; session to sip:1000@127\.0\.0\.1:\d+$/);
    expect(out.slice(1)).toEqual([
      'monitoring sip:1000@127.0.0.1 (monitorCrossRefID 1)',
      'MakeCall accepted: callID 1',
      '  event ServiceInitiatedEvent callID=1 device=sip:1000@127.0.0.1 cause=makeCall',
      '  event OriginatedEvent callID=1 device=sip:1000@127.0.0.1 cause=newCall',
      '  event DeliveredEvent callID=1 device=sip:1001@127.0.0.1 cause=newCall',
      '  event EstablishedEvent callID=1 device=sip:1001@127.0.0.1 cause=normal',
      'call established',
      '  event ConnectionClearedEvent callID=1 device=sip:1000@127.0.0.1 cause=normalClearing',
      'call cleared',
      'session closed',
    ]);
  }, 60_000);

  it('auto-answer.ts: answers each call that rings at the monitored phone', async () => {
    const r = await run('auto-answer.ts');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(lines(r.stdout).slice(1)).toEqual([
      'answered call 1 from sip:1000@127.0.0.1',
      'answered call 2 from sip:1000@127.0.0.1',
      'auto-answer: 2 calls answered',
    ]);
  }, 60_000);

  it('click-to-dial-http.ts --self-test: POST /dial → MakeCall → 200 {callID}; a bad body → 400', async () => {
    const r = await run('click-to-dial-http.ts', ['--self-test']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toMatch(/^click-to-dial listening on http:\/\/127\.0\.0\.1:\d+\/dial \(simulated phones 1000, 1001, 1002\)$/);
    expect(out).toContain('POST /dial {"from":"1000","to":"1001"} → 200 {"callID":"1"}');
    expect(out).toContain('POST /dial {"from":"1000"} → 400 {"error":"expected {\\"from\\":\\"1000\\",\\"to\\":\\"1001\\"}"}');
    expect(out).toContain('POST /dial {"from":"1002","to":"1000"} → 200 {"callID":"1"}');
  }, 60_000);

  it('many-phones-controller.ts --count 40: 40 sessions and monitors, 20 calls, every event', async () => {
    const r = await run('many-phones-controller.ts', ['--count', '40']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(lines(r.stdout).slice(0, 4)).toEqual([
      '40 sessions, 40 monitors',
      '20 calls established',
      '20 calls cleared',
      '160 events: ServiceInitiatedEvent 20, OriginatedEvent 20, DeliveredEvent 40, EstablishedEvent 40, ConnectionClearedEvent 40',
    ]);
  }, 60_000);

  it('a usage mistake ends with a message and exit 1', async () => {
    const r = await run('many-phones-controller.ts', ['--count', '3']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--count expects an even number from 2 to 2000; found 3');
  }, 60_000);
});
