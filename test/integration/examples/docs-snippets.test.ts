/**
 * The complete programs of the role guides (docs/controller.md, docs/controlled-side.md,
 * docs/simulator.md) run as written: each ```ts block after a `<!-- runs: TEXT -->` line is
 * saved as a module (with `'uacsta'` pointing at src/index.ts), run with tsx, and must exit 0
 * printing TEXT.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const dir = mkdtempSync(join(tmpdir(), 'uacsta-docs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Snippet {
  readonly guide: string;
  readonly expect: string;
  readonly code: string;
}

function snippets(guide: string): Snippet[] {
  const text = readFileSync(join(root, 'docs', guide), 'utf8');
  const out: Snippet[] = [];
  for (const m of text.matchAll(/<!-- runs: (.+?) -->\n```ts\n([\s\S]*?)\n```/g)) out.push({ guide, expect: m[1]!, code: m[2]! });
  return out;
}

function run(file: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(tsx, [file], { cwd: root, timeout: 40_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr });
    });
  });
}

const all = ['controller.md', 'controlled-side.md', 'simulator.md'].flatMap(snippets);

describe('the role guides', () => {
  it('each has a complete program marked to run', () => {
    expect(all.map((s) => s.guide)).toEqual(['controller.md', 'controlled-side.md', 'simulator.md']);
  });

  it('the programs type-check against the package entry (strict)', async () => {
    const files = all.map((s) => {
      const file = join(dir, `check-${s.guide.replace(/\.md$/, '.mts')}`);
      writeFileSync(file, s.code.replaceAll("from 'uacsta'", `from '${join(root, 'src', 'index.js')}'`));
      return file;
    });
    const tsc = join(root, 'node_modules', '.bin', 'tsc');
    const flags = ['--ignoreConfig', '--noEmit', '--target', 'es2022', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--strict', '--noUncheckedIndexedAccess', '--lib', 'es2022,dom', '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types'), '--skipLibCheck'];
    const r = await new Promise<{ code: number; out: string }>((done) =>
      execFile(tsc, [...flags, ...files], { cwd: root, timeout: 60_000, killSignal: 'SIGKILL' }, (error, stdout, stderr) =>
        done({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, out: stdout + stderr }),
      ),
    );
    expect(r.out).toBe('');
    expect(r.code).toBe(0);
  }, 90_000);

  it.each(all.map((s) => [s.guide, s] as const))('%s: the program runs and prints what the guide says', async (guide, s) => {
    const file = join(dir, guide.replace(/\.md$/, '.mts'));
    writeFileSync(file, s.code.replaceAll("from 'uacsta'", `from '${join(root, 'src', 'index.ts')}'`));
    const r = await run(file);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(s.expect);
  }, 60_000);
});
