import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');

function uacsta(args: string[], input?: string): { status: number | null; stdout: string } {
  const r = spawnSync(tsx, [join(root, 'src/cli/main.ts'), ...args], { input, encoding: 'utf8', timeout: 20_000, cwd: root });
  return { status: r.status, stdout: r.stdout };
}

// each case starts tsx processes (one to three seconds each on a loaded 2-core machine)
describe('the uacsta process', () => {
  it('decodes examples/csta/make-call.xml to typed JSON and exits 0', () => {
    const r = uacsta(['decode', 'examples/csta/make-call.xml']);
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ type: 'MakeCall', edition: 'ed3', calledDirectoryNumber: '2002' });
  }, 60_000);

  it('pipes decode into encode and exits 1 on bad input', () => {
    const dec = uacsta(['decode', 'examples/csta/make-call.xml']);
    const enc = uacsta(['encode', '-', '--edition', 'ed5'], dec.stdout);
    expect(enc.status).toBe(0);
    expect(enc.stdout).toContain('ecma-323/csta/ed5');
    expect(uacsta(['decode', '-'], '<a><b></a>').status).toBe(1);
  }, 60_000);
});
