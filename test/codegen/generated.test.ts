import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate, GENERATOR_NOTES } from './generate-csta-model.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('the generated ECMA-323 model', () => {
  it('is what the generator produces from the ed3 and ed6 models (run `npm run generate`)', () => {
    for (const [path, text] of Object.entries(generate())) {
      expect(readFileSync(join(root, path), 'utf8'), path).toBe(text);
    }
  });

  it('reports only the known disagreement between the digest and the model', () => {
    expect(GENERATOR_NOTES).toEqual([
      'SingleStepConferenceCall/participationType: model says required, digest says optional (kept optional)',
    ]);
  });
});

interface ModelChild { name?: string; type?: string; choice?: ModelChild[]; any?: boolean }
interface Model {
  elements: Record<string, string>;
  types: Record<string, { children: ModelChild[]; attributes?: ModelChild[]; extends?: string }>;
}

describe('the schema table against the ECMA-323 element models', async () => {
  const { SCHEMA } = await import('../../src/csta/model/schema.js');
  for (const edition of ['ed3', 'ed6']) {
    const model = JSON.parse(readFileSync(join(root, 'test/codegen/data', `ecma323-${edition}-model.json`), 'utf8')) as Model;

    it(`has every global message element of ${edition}`, () => {
      const missing = Object.keys(model.elements).filter((e) => /^[A-Z]/.test(e) && !(e in SCHEMA.elements));
      expect(missing).toEqual([]);
    });

    it(`has every child of every ${edition} message, under its wire name`, () => {
      const missing: string[] = [];
      for (const [e, t] of Object.entries(model.elements)) {
        // The ed6 extraction maps SnapshotCallData to the list type (see the generator); the
        // element is the ed3 segment structure in both editions.
        if (!/^[A-Z]/.test(e) || (edition === 'ed6' && e === 'SnapshotCallData')) continue;
        let type = model.types[t];
        while (type && type.children.length === 0 && type.extends) type = model.types[type.extends];
        const ours = SCHEMA.types[SCHEMA.elements[e]!.t]!;
        const names = new Set<string>();
        if ('f' in ours) for (const f of ours.f) [f.n, f.w6].forEach((n) => n && names.add(n));
        for (const c of type?.children ?? []) {
          for (const x of c.choice ?? [c]) if (x.name && !names.has(x.name)) missing.push(`${e}/${x.name}`);
        }
      }
      expect(missing).toEqual([]);
    });
  }
});
