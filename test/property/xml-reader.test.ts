/**
 * Property tests of the XML reader: it never throws, it reads back what the writer wrote, and it
 * accepts exactly what fast-xml-parser's validator accepts, on the inputs where both notions of
 * well-formedness coincide.
 *
 * Deliberate differences from `XMLValidator.validate` (fast-xml-parser 5.12.1), which is more
 * lenient than XML 1.0 in these places; the oracle below normalises for them instead of skipping
 * the inputs:
 * - several root elements when the first one is self-closing (`<a/><b/>`), and text after a
 *   self-closing root (`<a/>x`): the validator accepts both, XML 1.0 §2.1 does not;
 * - `<` inside an attribute value (§3.1 [10]) and `&` that does not start a reference, anywhere;
 * - `]]>` in character data (§2.4);
 * - entity references other than the five predefined ones (`&nbsp;`, which would need a DOCTYPE),
 *   `&#;`, and character references to characters XML 1.0 does not allow (`&#0;`);
 * - a lone surrogate (a mutation can split a pair): not an XML 1.0 character (§2.2);
 * - a stray `=` in a start tag with no attribute name before it (`<a =>`);
 * - an end tag written like an empty-element tag (`</a/>`);
 * - a document cut off after the `/` of its last tag (`<a x="1"/`): the validator accepts it
 *   (and fast-xml-parser's own parser then throws on it).
 * Left out of the comparison altogether (the generator never produces them in mutated input):
 * comments, CDATA sections, processing instructions and the XML declaration (the validator skips
 * unterminated ones and accepts `--` in comments), control characters and
 * namespace prefixes (the validator does not check namespaces). Those are covered by unit tests.
 */
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { readXml, type XmlElement } from '../../src/csta/xml/read.js';
import { escapeAttr, escapeText } from '../../src/csta/xml/write.js';
import { ERROR_DOCS } from '../../src/errors.js';

const numRuns = Number(process.env['FUZZ_RUNS'] ?? 300);
/** Room for long fuzzing runs (`npm run test:fuzz`). */
const timeout = Math.max(5_000, numRuns * 5);

/** A generated element: names without prefixes, raw (unescaped) text and attribute values. */
interface Tree {
  readonly name: string;
  readonly attrs: readonly (readonly [string, string])[];
  readonly content: readonly (Tree | string)[];
  readonly selfClose: boolean;
}

const nameArb = fc.constantFrom('a', 'b', 'cd', 'x1', 'é', 'a-b', '_z', 'n.m', 'Ω');
const rawTextArb = fc.string({
  unit: fc.constantFrom(
    'a',
    'b',
    ' ',
    '\n',
    '\t',
    '&',
    '<',
    '>',
    '"',
    "'",
    'é',
    '€',
    '1',
    ']',
    '\u{1F600}',
    '\r',
  ),
  maxLength: 8,
});

const treeArb: fc.Arbitrary<Tree> = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.record({
    name: nameArb,
    attrs: fc.uniqueArray(fc.tuple(nameArb, rawTextArb), { maxLength: 3, selector: (a) => a[0] }),
    content: fc.array(
      fc.oneof({ depthSize: 'small', withCrossShrink: true }, rawTextArb, tie('tree')),
      { maxLength: 4 },
    ),
    selfClose: fc.boolean(),
  }),
})).tree;

/** How markup other than elements is written: none for the differential test, all for round trips. */
interface Style {
  readonly cdata: boolean;
  readonly extras: boolean;
}

function serialize(t: Tree, style: Style, pick: () => number): string {
  let out = `<${t.name}`;
  for (const [k, v] of t.attrs)
    out += pick() % 2 === 0 ? ` ${k}="${escapeAttr(v)}"` : `\n ${k} = "${escapeAttr(v)}"`;
  if (t.content.length === 0 && t.selfClose) return `${out}/>`;
  out += '>';
  for (const c of t.content) {
    if (typeof c !== 'string') out += serialize(c, style, pick);
    else if (style.cdata && pick() % 3 === 0 && !c.includes(']]>') && !c.includes('\r'))
      out += `<![CDATA[${c}]]>`;
    else out += escapeText(c);
    if (style.extras && pick() % 4 === 0) out += pick() % 2 === 0 ? '<!-- note -->' : '<?pi data?>';
  }
  return `${out}</${t.name}>`;
}

/**
 * The text the reader should report for an element: its string content. (escapeText writes CR
 * as `&#xD;` so it survives, and the serializer puts no CR into CDATA, where it would become LF.)
 */
function expectedText(t: Tree): string {
  return t.content.filter((c): c is string => typeof c === 'string').join('');
}

function sameTree(el: XmlElement, t: Tree): boolean {
  if (el.name !== t.name || el.text !== expectedText(t)) return false;
  if (el.attrs.length !== t.attrs.length) return false;
  for (let i = 0; i < t.attrs.length; i++) {
    const a = el.attrs[i];
    const [k, v] = t.attrs[i] as readonly [string, string];
    if (a === undefined || a.name !== k || a.value !== v) return false;
  }
  const kids = t.content.filter((c): c is Tree => typeof c !== 'string');
  return (
    el.children.length === kids.length &&
    kids.every((k, i) => sameTree(el.children[i] as XmlElement, k))
  );
}

/** A seeded counter for serialization choices, so a counterexample replays exactly. */
function picker(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

interface Mutation {
  readonly op: 'delete' | 'insert' | 'replace';
  readonly at: number;
  readonly ch: string;
}
const mutationArb = fc.record({
  op: fc.constantFrom('delete', 'insert', 'replace') as fc.Arbitrary<Mutation['op']>,
  at: fc.nat(),
  ch: fc.constantFrom(
    '<',
    '>',
    '/',
    '"',
    "'",
    ' ',
    'a',
    'b',
    '&',
    ';',
    '#',
    'x',
    '1',
    '-',
    '\n',
    'é',
    '=',
  ),
});

function mutate(s: string, ms: readonly Mutation[]): string {
  for (const m of ms) {
    const at = m.at % (s.length + 1);
    if (m.op === 'insert') s = s.slice(0, at) + m.ch + s.slice(at);
    else if (at < s.length) s = s.slice(0, at) + (m.op === 'replace' ? m.ch : '') + s.slice(at + 1);
  }
  return s;
}

const fxpTree = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
});

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const REFERENCE = /&(?:amp|lt|gt|quot|apos|#([0-9]+)|#x([0-9a-fA-F]+));/y;

/** Every '&' starts a reference XML 1.0 allows without a DOCTYPE. */
function referencesAllowed(s: string): boolean {
  for (let i = s.indexOf('&'); i >= 0; i = s.indexOf('&', i + 1)) {
    REFERENCE.lastIndex = i;
    const m = REFERENCE.exec(s);
    if (m === null) return false;
    const num = m[1] ?? m[2];
    if (num !== undefined) {
      const v = num.length > 8 ? Infinity : Number.parseInt(num, m[1] !== undefined ? 10 : 16);
      const ok =
        v === 0x9 ||
        v === 0xa ||
        v === 0xd ||
        (v >= 0x20 && v <= 0xd7ff) ||
        (v >= 0xe000 && v <= 0xfffd) ||
        (v >= 0x10000 && v <= 0x10ffff);
      if (!ok) return false;
    }
  }
  return true;
}

/** A stray '=' in a start tag: '=' after whitespace or the tag name, not after an attribute name. */
function strayEquals(s: string): boolean {
  return /<[^\s<>/"'=]+(?:\s+[^\s<>/"'=]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*=/.test(s);
}

type Node = Record<string, unknown>;
/** `<` in an attribute value or `]]>` in text, anywhere in fast-xml-parser's tree. */
function forbiddenInTree(nodes: readonly Node[]): boolean {
  for (const node of nodes) {
    for (const [k, v] of Object.entries(node)) {
      if (
        k === ':@' &&
        Object.values(v as Record<string, unknown>).some(
          (x) => typeof x === 'string' && x.includes('<'),
        )
      )
        return true;
      if (k === '#text' && typeof v === 'string' && v.includes(']]>')) return true;
      if (Array.isArray(v) && forbiddenInTree(v as Node[])) return true;
    }
  }
  return false;
}

/** fast-xml-parser's validator, normalised for the differences listed at the top of this file. */
function oracleAccepts(s: string): boolean {
  if (XMLValidator.validate(s) !== true) return false;
  if (!referencesAllowed(s) || strayEquals(s) || LONE_SURROGATE.test(s)) return false;
  if (!/>[ \t\r\n]*$/.test(s)) return false; // cut off inside the last tag (`<a/`)
  if (/<\/[^<>]*\/>/.test(s)) return false; // `</a/>`, which the validator takes for `<a/>`
  // The parser drops text after the root, so read the input inside a wrapper element: what is
  // at the top level of the input becomes the wrapper's content. (Safe: the inputs compared
  // here hold no XML declaration, PI, comment or CDATA.)
  let top: Node[];
  try {
    const wrapped = fxpTree.parse(`<w>${s}</w>`) as Node[];
    top = (wrapped[0]?.['w'] ?? []) as Node[];
  } catch {
    return false; // the validator let it through, but fast-xml-parser cannot read it either
  }
  const roots = top.filter((n) => !('#text' in n)).length;
  const topText = top.some((n) => '#text' in n);
  return roots === 1 && !topText && !forbiddenInTree(top);
}

function checkResult(s: string | Uint8Array): boolean {
  const r = readXml(s);
  if (r.ok) return true;
  expect(r.error.code in ERROR_DOCS).toBe(true);
  expect(['CSTA_ERR_PARSE', 'CSTA_ERR_ENCODING', 'CSTA_ERR_DOCTYPE', 'CSTA_ERR_LIMIT']).toContain(
    r.error.code,
  );
  expect(r.error.offset).toBeGreaterThanOrEqual(0);
  expect(r.error.offset).toBeLessThanOrEqual(s.length);
  return false;
}

const plain: Style = { cdata: false, extras: false };
const rich: Style = { cdata: true, extras: true };

describe('readXml properties', () => {
  it(
    'never throws on arbitrary strings and reports an error code and an offset within the input',
    () => {
      const markup = fc.string({
        unit: fc.constantFrom(
          '<',
          '>',
          '/',
          '!',
          '?',
          '-',
          '[',
          ']',
          '=',
          '"',
          "'",
          '&',
          ';',
          '#',
          'x',
          'a',
          ':',
          ' ',
          'DOCTYPE',
          'CDATA',
          'xml',
          'xmlns',
          '\u0000',
          '\ud800',
          '\uffff',
          'é',
        ),
        maxLength: 60,
      });
      fc.assert(
        fc.property(fc.oneof(markup, fc.string({ unit: 'binary', maxLength: 60 })), (s) => {
          checkResult(s);
        }),
        { numRuns },
      );
    },
    timeout,
  );

  it(
    'never throws on arbitrary bytes',
    () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 60 }), treeArb, fc.nat(), (bytes, t, seed) => {
          checkResult(bytes);
          const doc = new TextEncoder().encode(serialize(t, rich, picker(seed)));
          const at = seed % (doc.length + 1);
          checkResult(
            new Uint8Array([...doc.subarray(0, at), ...bytes.subarray(0, 3), ...doc.subarray(at)]),
          );
        }),
        { numRuns },
      );
    },
    timeout,
  );

  it(
    'reads back every document the writer produces, with the same names, attributes and text',
    () => {
      fc.assert(
        fc.property(treeArb, fc.nat(), fc.boolean(), (t, seed, decl) => {
          const xml =
            (decl ? '<?xml version="1.0" encoding="UTF-8"?>\n' : '') +
            serialize(t, rich, picker(seed));
          const r = readXml(xml);
          expect(r.ok && sameTree(r.value.root, t)).toBe(true);
          const b = readXml(new TextEncoder().encode(xml));
          expect(b.ok && sameTree(b.value.root, t)).toBe(true);
        }),
        { numRuns },
      );
    },
    timeout,
  );

  it(
    'rejects every proper prefix of a generated document',
    () => {
      fc.assert(
        fc.property(treeArb, fc.nat(), fc.nat(), (t, seed, cut) => {
          const xml = serialize(t, rich, picker(seed));
          expect(readXml(xml.slice(0, cut % xml.length)).ok).toBe(false);
        }),
        { numRuns },
      );
    },
    timeout,
  );

  it(
    'accepts a mutated document exactly when the (normalised) fast-xml-parser validator does',
    () => {
      const outcomes = { accepted: 0, rejected: 0 };
      fc.assert(
        fc.property(
          treeArb,
          fc.nat(),
          fc.array(mutationArb, { minLength: 0, maxLength: 3 }),
          (t, seed, ms) => {
            const s = mutate(serialize(t, plain, picker(seed)), ms);
            const accepted = checkResult(s);
            expect(accepted, JSON.stringify(s)).toBe(oracleAccepts(s));
            outcomes[accepted ? 'accepted' : 'rejected']++;
          },
        ),
        { numRuns },
      );
      // The comparison means something only if both outcomes are common.
      expect(Math.min(outcomes.accepted, outcomes.rejected)).toBeGreaterThan(numRuns / 10);
    },
    timeout,
  );
});
