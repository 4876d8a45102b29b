/**
 * Conformance: the ECMA-323 bodies of the 11 worked flows of the uaCSTA digest (§5).
 *
 * @remarks
 * Fixtures: `test/fixtures/ecma323/flows/*.xml` (byte-exact bodies as printed in the digest, LF,
 * no trailing newline) and `manifest.json` (one entry per file with its sha256 and the expected
 * model, written by hand from the XML and the ed3 element model following docs/csta-model.md).
 * The whole SIP messages are in `test/fixtures/uacsta/flows/*.sip` (CRLF header section); their
 * consistency with the bodies is checked here too.
 *
 * For every manifest entry:
 * 1. the file's sha256 must match (a CRLF conversion or an edit fails loudly, before the codec);
 * 2. `parseCsta(bytes)` must be ok and strictly deep-equal `expect`;
 * 3. its warnings must name exactly the entry's `unknownChildren`. Comparison rule (kept simple):
 *    the element name of a warning is the last segment of its `path` (split on `/` and `.`,
 *    without a `[n]` index or a namespace prefix); the multiset of those names must equal the
 *    multiset `unknownChildren`. So an entry without unknown children requires no warnings at all;
 * 4. `serializeCsta(value)` re-parsed must be ok, deep-equal `expect` again and warn nothing
 *    (semantic round trip), and the serialized XML must be equivalent to the fixture
 *    (test/support/xml-equivalent.ts: same elements, order, namespaces, attributes and text).
 *
 * The codec is imported dynamically so the fixture-integrity tests run even while
 * `src/csta/index.ts` is missing or broken.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { assert, describe, expect, it } from 'vitest';
import { xmlDifference } from '../support/xml-equivalent.js';

type Codec = typeof import('../../src/csta/index.js');

interface ManifestEntry {
  readonly file: string;
  readonly sha256: string;
  readonly example: number;
  readonly why: string;
  readonly expect: { readonly type: string; readonly edition?: string } & Record<string, unknown>;
  readonly unknownChildren?: readonly string[];
  readonly notes?: readonly string[];
}

const XML_DIR = new URL('../fixtures/ecma323/flows/', import.meta.url);
const SIP_DIR = new URL('../fixtures/uacsta/flows/', import.meta.url);

const manifest = JSON.parse(
  readFileSync(new URL('manifest.json', XML_DIR), 'utf8'),
) as readonly ManifestEntry[];

const xmlFiles = readdirSync(XML_DIR)
  .filter((f) => f.endsWith('.xml'))
  .sort();
const sipFiles = readdirSync(SIP_DIR)
  .filter((f) => f.endsWith('.sip'))
  .sort();

let codecPromise: Promise<Codec> | undefined;
function loadCodec(): Promise<Codec> {
  codecPromise ??= import('../../src/csta/index.js');
  return codecPromise;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Reads a fixture and checks its hash first, so that a modified file fails before the codec. */
function readChecked(entry: ManifestEntry): Buffer {
  const bytes = readFileSync(new URL(entry.file, XML_DIR));
  expect(sha256(bytes), `${entry.file}: sha256 (CRLF conversion or edit?)`).toBe(entry.sha256);
  return bytes;
}

/**
 * A deep copy made of plain objects and arrays (keeping `undefined`-valued keys), so that
 * `toStrictEqual` compares the model's content and not the prototype the codec happened to use
 * (e.g. `Object.create(null)`). Anything else (Date, Map, class instances) is kept as is.
 */
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === 'object' && value !== null) {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = plain(v);
    return out;
  }
  return value;
}

/** Element name a warning is about: the last segment of its path (see the file comment). */
function warnedElement(path: string): string {
  const last = path.split(/[/.]/).filter((s) => s !== '').pop() ?? '';
  return last.replace(/\[\d+\]$/, '').replace(/^.*:/, '');
}

/** One line for a parse failure (an Error's `message` is not enumerable, so not JSON). */
function describeError(error: { readonly code: string }): string {
  const { message, path } = error as { message?: unknown; path?: unknown };
  return `${error.code}${typeof path === 'string' ? ` at ${path}` : ''}: ${String(message)}`;
}

const sorted = (names: readonly string[]): string[] => [...names].sort();

describe('ECMA-323 flow fixtures: integrity', () => {
  it('the manifest lists every .xml file of the folder, once, and only existing files', () => {
    const listed = manifest.map((e) => e.file);
    expect(new Set(listed).size, 'duplicate manifest entries').toBe(listed.length);
    expect(sorted(listed)).toEqual(xmlFiles);
  });

  it('file names follow exNN-MM-<RootElement>.xml and match the entry', () => {
    for (const entry of manifest) {
      const m = /^ex(\d{2})-(\d{2})-([A-Za-z]+)\.xml$/.exec(entry.file);
      assert(m !== null, `${entry.file}: bad name`);
      expect(Number(m[1]), `${entry.file}: example`).toBe(entry.example);
      expect(m[3], `${entry.file}: root element`).toBe(entry.expect.type);
      expect(entry.why.trim(), `${entry.file}: why`).not.toBe('');
    }
  });

  it('SIP messages: CRLF header section, exact Content-Length, body = the .xml fixture', () => {
    const bodies = new Set<string>();
    for (const file of sipFiles) {
      assert(/^ex\d{2}-\d{2}-([A-Z]+|\d{3})\.sip$/.test(file), `${file}: bad name`);
      const bytes = readFileSync(new URL(file, SIP_DIR));
      const end = bytes.indexOf('\r\n\r\n');
      assert(end > 0, `${file}: no CRLF CRLF after the header section`);
      const head = bytes.subarray(0, end).toString('utf8');
      expect(head.replace(/\r\n/g, ''), `${file}: bare LF/CR in the header section`).not.toMatch(
        /[\r\n]/,
      );
      const body = bytes.subarray(end + 4);
      const cl = /^Content-Length: *(\d+)$/im.exec(head.replace(/\r\n/g, '\n'));
      assert(cl !== null, `${file}: no Content-Length`);
      expect(body.length, `${file}: Content-Length`).toBe(Number(cl[1]));
      if (body.length === 0) continue;
      const xmlName = xmlFiles.find((x) => x.startsWith(file.slice(0, 'exNN-MM-'.length)));
      assert(xmlName !== undefined, `${file}: no matching .xml body fixture`);
      expect(body.equals(readFileSync(new URL(xmlName, XML_DIR))), `${file}: body`).toBe(true);
      bodies.add(xmlName);
    }
    expect(sorted([...bodies]), 'every .xml body comes from a .sip message').toEqual(xmlFiles);
  });

  it.each(manifest.map((e) => [e.file, e] as const))('%s: sha256', (_file, entry) => {
    readChecked(entry);
  });
});

describe('ECMA-323 flow fixtures: parseCsta / serializeCsta', () => {
  it.each(manifest.map((e) => [e.file, e] as const))('%s', async (file, entry) => {
    const bytes = readChecked(entry);
    const { parseCsta, serializeCsta } = await loadCodec();
    const expectedUnknown = sorted(entry.unknownChildren ?? []);

    // Parse the fixture bytes.
    const parsed = parseCsta(new Uint8Array(bytes));
    if (!parsed.ok) {
      assert.fail(`${file}: parseCsta failed: ${describeError(parsed.error)}`);
    }
    expect(plain(parsed.value), `${file}: parsed model`).toStrictEqual(entry.expect);
    expect(
      sorted(parsed.warnings.map((w: { readonly path: string }) => warnedElement(w.path))),
      `${file}: warnings ${JSON.stringify(parsed.warnings)}`,
    ).toEqual(expectedUnknown);

    // Semantic round trip.
    const xml = serializeCsta(parsed.value);
    const reparsed = parseCsta(xml);
    if (!reparsed.ok) {
      const error = describeError(reparsed.error);
      assert.fail(`${file}: re-parse of serialized XML failed: ${error}\n${xml}`);
    }
    expect(plain(reparsed.value), `${file}: re-parsed model\n${xml}`).toStrictEqual(entry.expect);
    expect(reparsed.warnings, `${file}: warnings after round trip\n${xml}`).toEqual([]);

    // Serialized XML is equivalent to the fixture (unknown children are dropped by the parser,
    // so only entries without them can be compared to the original document).
    if (expectedUnknown.length === 0) {
      const difference = xmlDifference(xml, bytes.toString('utf8'));
      expect(difference, `${file}: serialized XML\n${xml}`).toBeNull();
    }
  });
});
