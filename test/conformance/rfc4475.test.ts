/**
 * RFC 4475 torture messages through parseSipMessage, against verdicts written by hand from the
 * RFC's text (test/fixtures/rfc4475/manifest.json).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseSipMessage } from '../../src/sip/message/parse.js';
import { serializeErrorResponse } from '../../src/sip/message/serialize.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'rfc4475');

interface Base {
  readonly file: string;
  readonly sha256: string;
  readonly section: string;
  readonly title: string;
  readonly why: string;
}
type Verdict =
  | (Base & {
      readonly expect: 'accept';
      readonly check: Readonly<Record<string, unknown>>;
      readonly then?: string;
    })
  | (Base & { readonly expect: 'respond'; readonly status: number; readonly reason: string })
  | (Base & { readonly expect: 'drop'; readonly code: string });

const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
  messages: Verdict[];
};
/** Files in the folder that are not torture messages. */
const NOT_MESSAGES = new Set(['manifest.json', '.gitattributes']);

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function read(file: string): Uint8Array {
  return new Uint8Array(readFileSync(join(dir, file)));
}

/** Follows a '/'-separated path into a value: `via/0/branch`, `headers/call-id/0`, `body/length`. */
function at(value: unknown, path: string): unknown {
  let v: unknown = value;
  for (const key of path.split('/')) {
    if (v === null || v === undefined) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

describe('RFC 4475 fixtures', () => {
  it('lists every file of the folder in the manifest, once', () => {
    const files = readdirSync(dir)
      .filter((f) => !NOT_MESSAGES.has(f))
      .sort();
    const listed = manifest.messages.map((m) => m.file).sort();
    expect(listed).toEqual(files);
    expect(new Set(listed).size).toBe(listed.length);
    expect(files).toHaveLength(49);
  });

  it('holds the bytes of RFC 4475, unconverted (sha256 of every file)', () => {
    const wrong = manifest.messages
      .filter((m) => sha256(read(m.file)) !== m.sha256)
      .map((m) => m.file);
    expect(wrong, 'line endings converted? see .gitattributes').toEqual([]);
  });

  it('keeps CRLF line ends (no bare LF in the header sections)', () => {
    const wsinv = read('wsinv.dat');
    const text = new TextDecoder().decode(wsinv);
    expect(text.split('\r\n').length).toBeGreaterThan(20);
    expect(text.replaceAll('\r\n', '').includes('\n')).toBe(false);
  });
});

describe('RFC 4475 verdicts', () => {
  for (const m of manifest.messages) {
    const title = `${m.file} (§${m.section} ${m.title}): ${m.expect}${m.expect === 'respond' ? ` ${m.status}` : ''}`;
    it(title, () => {
      const bytes = read(m.file);
      expect(sha256(bytes), 'fixture bytes changed').toBe(m.sha256);
      const r = parseSipMessage(bytes);
      switch (m.expect) {
        case 'accept': {
          if (!r.ok)
            throw new Error(
              `expected accept, got ${r.error.code} ${r.error.status ?? ''}: ${r.error.message}`,
            );
          for (const [path, want] of Object.entries(m.check)) {
            if (path === 'bodySha256') expect(sha256(r.value.body), path).toBe(want);
            else expect(at(r.value, path), path).toEqual(want === null ? undefined : want);
          }
          break;
        }
        case 'respond': {
          if (r.ok) throw new Error(`expected ${m.status}, got a ${r.value.kind}`);
          expect(r.error.code).toBe('SIP_ERR_SEMANTIC');
          expect(r.error.status).toBe(m.status);
          expect(r.error.reasonPhrase).toBe(m.reason);
          expect(r.error.request).toBeDefined();
          const reply = serializeErrorResponse(r.error, 'tag4475');
          expect(reply).toBeDefined();
          const text = new TextDecoder().decode(reply);
          expect(text.startsWith(`SIP/2.0 ${m.status} ${m.reason}\r\n`)).toBe(true);
          expect(text).toContain('\r\nVia: ');
          expect(text.endsWith('\r\nContent-Length: 0\r\n\r\n')).toBe(true);
          break;
        }
        case 'drop': {
          if (r.ok) throw new Error(`expected a drop, got a ${r.value.kind}`);
          expect(r.error.code).toBe(m.code);
          expect(r.error.status).toBeUndefined();
          expect(serializeErrorResponse(r.error)).toBeUndefined();
          break;
        }
        default: {
          const never: never = m;
          throw new Error(`unknown verdict ${JSON.stringify(never)}`);
        }
      }
    });
  }
});
