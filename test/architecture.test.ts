/**
 * Keeps the layers of ARCHITECTURE §2 true by reading the import lines under src/.
 */
import { describe, it, expect } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

interface SourceFile {
  readonly path: string; // relative to src/, with forward slashes
  readonly text: string;
  readonly imports: readonly string[]; // resolved relative to src/ for relative imports, raw otherwise
}

const IMPORT = /^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

const sources: SourceFile[] = files(src).map((p) => {
  const text = readFileSync(p, 'utf8');
  const imports: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3]!;
    if (spec.startsWith('.')) imports.push(relative(src, resolve(dirname(p), spec)).replaceAll('\\', '/'));
    else imports.push(spec);
  }
  return { path: relative(src, p).replaceAll('\\', '/'), text, imports };
});

function under(folder: string): SourceFile[] {
  return sources.filter((s) => s.path.startsWith(folder + '/'));
}

function offenders(files: SourceFile[], bad: (imp: string) => boolean): string[] {
  return files.flatMap((f) => f.imports.filter(bad).map((i) => `${f.path} imports ${i}`));
}

const isNode = (i: string): boolean => i.startsWith('node:') || ['fs', 'net', 'dgram', 'tls', 'os', 'crypto', 'path', 'http', 'https', 'events', 'buffer', 'stream'].includes(i);

describe('architecture', () => {
  it('reads the source tree', () => {
    expect(sources.length).toBeGreaterThan(5);
    expect(sources.some((s) => s.path === 'csta/parse.ts')).toBe(true);
  });

  it('keeps csta/ pure: no node:*, no other layer', () => {
    const bad = offenders(under('csta'), (i) => isNode(i) || /^(sip|uacsta|phone|adapters|cli)\//.test(i));
    expect(bad).toEqual([]);
  });

  it('keeps sip/ free of CSTA and of node:* outside sip/transport/node/', () => {
    const sip = under('sip');
    expect(offenders(sip, (i) => /^(csta|uacsta|phone|adapters|cli)\//.test(i))).toEqual([]);
    expect(offenders(sip.filter((f) => !f.path.startsWith('sip/transport/node/')), isNode)).toEqual([]);
  });

  it('keeps uacsta/ off concrete SIP stacks and node:*', () => {
    expect(offenders(under('uacsta'), (i) => isNode(i) || /^(sip|phone|adapters|cli)\//.test(i) || i === 'sip.js')).toEqual([]);
  });

  it('keeps trace/ pure: no node:*, Buffer or process, no layer but csta/', () => {
    const trace = under('trace');
    expect(offenders(trace, (i) => isNode(i) || /^(sip|uacsta|phone|adapters|cli|node)\//.test(i))).toEqual([]);
    const bad = trace.flatMap((s) =>
      s.text
        .split('\n')
        .map((line, n) => ({ line, n }))
        .filter(({ line }) => /\b(Buffer|process)\./.test(line) && !/^\s*(\*|\/\/)/.test(line))
        .map(({ n }) => `${s.path}:${n + 1}`),
    );
    expect(bad).toEqual([]);
  });

  it('keeps the phone model pure: phone/ outside phone/sip/ imports no node:*, sip/, node/ or cli/', () => {
    const pure = under('phone').filter((f) => !f.path.startsWith('phone/sip/'));
    expect(offenders(pure, (i) => isNode(i) || /^(sip|node|cli|adapters)\//.test(i) || i === 'sip.js')).toEqual([]);
  });

  it('lets only adapters/sipjs/ import sip.js', () => {
    expect(offenders(sources.filter((s) => !s.path.startsWith('adapters/sipjs/')), (i) => i === 'sip.js' || i.startsWith('sip.js/'))).toEqual([]);
  });

  it('lets nothing but cli/ import cli/', () => {
    expect(offenders(sources.filter((s) => !s.path.startsWith('cli/')), (i) => i.startsWith('cli/'))).toEqual([]);
  });

  it('keeps printing, exiting and Math.random out of the library', () => {
    const bad = sources
      .filter((s) => !s.path.startsWith('cli/'))
      .flatMap((s) =>
        s.text
          .split('\n')
          .map((line, n) => ({ line, n }))
          .filter(({ line }) => /console\.(log|error|warn|info|debug)|process\.exit|process\.stdout|process\.stderr|Math\.random/.test(line))
          .filter(({ line }) => !/^\s*(\*|\/\/)/.test(line))
          .map(({ n }) => `${s.path}:${n + 1}`),
      );
    expect(bad).toEqual([]);
  });

  it('lets only cli/main.ts call process.exit', () => {
    const bad = sources.filter((s) => s.path !== 'cli/main.ts' && /process\.exit\(/.test(s.text)).map((s) => s.path);
    expect(bad).toEqual([]);
  });

  it('allows `any` only with a reason', () => {
    const bad = sources.flatMap((s) =>
      s.text
        .split('\n')
        .map((line, n) => ({ line, n }))
        .filter(({ line }) => /(:\s*any\b|\bas any\b)/.test(line) && !/reason:/.test(line) && !/^\s*(\*|\/\/)/.test(line))
        .map(({ n }) => `${s.path}:${n + 1}`),
    );
    expect(bad).toEqual([]);
  });

  it('keeps Buffer and process out of code a browser loads (csta/, uacsta/)', () => {
    const bad = [...under('csta'), ...under('uacsta')].flatMap((s) =>
      s.text
        .split('\n')
        .map((line, n) => ({ line, n }))
        .filter(({ line }) => /\b(Buffer|process)\./.test(line) && !/^\s*(\*|\/\/)/.test(line))
        .map(({ n }) => `${s.path}:${n + 1}`),
    );
    expect(bad).toEqual([]);
  });
});

describe('browser entry', () => {
  /** The files reachable from `entry` by local imports, and every node:* import, Buffer or process among them. */
  function reach(entry: string): { seen: Set<string>; bad: string[] } {
    const byPath = new Map(sources.map((s) => [s.path.replace(/\.ts$/, ''), s]));
    const seen = new Set<string>();
    const queue = [entry];
    const bad: string[] = [];
    while (queue.length > 0) {
      const p = queue.pop()!;
      if (seen.has(p)) continue;
      seen.add(p);
      const f = byPath.get(p);
      if (f === undefined) continue;
      for (const i of f.imports) {
        if (isNode(i)) bad.push(`${f.path} imports ${i}`);
        const local = i.replace(/\.js$/, '');
        if (byPath.has(local)) queue.push(local);
      }
      if (/\b(Buffer|process)\./.test(f.text.replace(/^\s*(\*|\/\/).*$/gm, ''))) bad.push(`${f.path} mentions Buffer or process`);
    }
    return { seen, bad };
  }

  it('reaches no node:* import, Buffer or process from src/browser.ts', () => {
    const { seen, bad } = reach('browser');
    expect(seen.size).toBeGreaterThan(5);
    expect(bad).toEqual([]);
  });

  it('reaches no node:* import, Buffer or process from the sip.js entry (src/adapters/sipjs/index.ts)', () => {
    const { seen, bad } = reach('adapters/sipjs/index');
    expect(seen.has('adapters/sipjs/sipjs-csta-phone')).toBe(true);
    expect(bad).toEqual([]);
  });

  it('lets adapters/sipjs/ import only csta/, uacsta/, util/, errors and sip.js (never our Node SIP stack)', () => {
    const allowed = (i: string): boolean => i === 'sip.js' || /^(csta|uacsta|util|adapters\/sipjs)\/|^(errors|limits)\.js$/.test(i);
    const bad = offenders(under('adapters/sipjs'), (i) => isNode(i) || !allowed(i));
    expect(bad).toEqual([]);
  });
});
