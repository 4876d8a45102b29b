/**
 * Structural XML comparison for tests ("equivalent XML").
 *
 * @remarks
 * Two documents are equivalent when, after parsing both with fast-xml-parser
 * (`preserveOrder: true, ignoreAttributes: false, parseTagValue: false, trimValues: true`):
 *
 * - the sequence of top-level elements is the same (the XML declaration, processing instructions
 *   and comments are ignored);
 * - every element has the same local name (namespace prefixes are stripped) and the same
 *   namespace URI (resolved from the in-scope `xmlns` / `xmlns:p` declarations, so
 *   `<MakeCall xmlns="…ed3">` and `<csta:MakeCall xmlns:csta="…ed3">` are equivalent);
 * - every element has the same attributes, compared by local name and value, in any order
 *   (`xmlns` and `xmlns:*` declarations are not attributes here: they only feed the namespace
 *   resolution above);
 * - every element has the same children in the same order, where text is compared after
 *   trimming and whitespace-only text (indentation between elements) is ignored.
 *
 * `<a/>` and `<a></a>` are equivalent. Entity references are decoded before comparing.
 */
import { XMLParser, XMLValidator, type X2jOptions } from 'fast-xml-parser';

/** One element of the normalised tree. */
export interface XmlElement {
  readonly name: string;
  readonly ns: string | undefined;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly XmlChild[];
}

/** A child of an element: an element, or a (trimmed, non-empty) text. */
export type XmlChild = XmlElement | string;

const PARSER_OPTIONS: X2jOptions = {
  preserveOrder: true,
  ignoreAttributes: false,
  parseTagValue: false,
  trimValues: true,
};

const ATTR_PREFIX = '@_'; // fast-xml-parser's default attributeNamePrefix

const localName = (qname: string): string => qname.slice(qname.indexOf(':') + 1);
const prefixOf = (qname: string): string => {
  const i = qname.indexOf(':');
  return i < 0 ? '' : qname.slice(0, i);
};

type Scope = ReadonlyMap<string, string>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function normaliseNodes(nodes: unknown, scope: Scope, path: string): XmlChild[] {
  if (!Array.isArray(nodes)) throw new Error(`${path || '/'}: unexpected parser output`);
  const out: XmlChild[] = [];
  for (const node of nodes) {
    if (!isRecord(node)) throw new Error(`${path || '/'}: unexpected parser output`);
    const keys = Object.keys(node).filter((k) => k !== ':@');
    const key = keys[0];
    if (keys.length !== 1 || key === undefined) {
      throw new Error(`${path || '/'}: unexpected parser output`);
    }
    if (key === '#text') {
      const text = String(node[key]).trim();
      if (text !== '') out.push(text);
      continue;
    }
    // XML declaration / processing instructions ('?xml', '?pi') and comments are not content.
    if (key.startsWith('?') || key === '#comment') continue;

    const rawAttrs = isRecord(node[':@']) ? node[':@'] : {};
    const innerScope = new Map(scope);
    const attributes: Record<string, string> = {};
    for (const [rawName, value] of Object.entries(rawAttrs)) {
      const name = rawName.startsWith(ATTR_PREFIX) ? rawName.slice(ATTR_PREFIX.length) : rawName;
      if (name === 'xmlns') innerScope.set('', String(value));
      else if (name.startsWith('xmlns:')) {
        innerScope.set(name.slice('xmlns:'.length), String(value));
      }
      else attributes[localName(name)] = String(value);
    }
    const name = localName(key);
    const elementPath = `${path}/${name}`;
    out.push({
      name,
      ns: innerScope.get(prefixOf(key)),
      attributes,
      children: normaliseNodes(node[key], innerScope, elementPath),
    });
  }
  return out;
}

/**
 * Parses `xml` into the normalised tree used for comparison.
 *
 * @throws Error when the document is not well-formed.
 */
export function normaliseXml(xml: string): XmlChild[] {
  // XMLParser itself accepts unclosed/mismatched tags, so well-formedness is checked first
  // (XMLValidator is marked deprecated in favour of a separate package, but works).
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new Error(
      `not well-formed XML: ${valid.err.code} ${valid.err.msg} ` +
        `(line ${valid.err.line}, column ${valid.err.col})`,
    );
  }
  const parsed: unknown = new XMLParser(PARSER_OPTIONS).parse(xml);
  return normaliseNodes(parsed, new Map(), '');
}

function show(child: XmlChild | undefined): string {
  if (child === undefined) return 'nothing';
  if (typeof child === 'string') return `text ${JSON.stringify(child)}`;
  return `<${child.name}>`;
}

function compareChildren(
  actual: readonly XmlChild[],
  expected: readonly XmlChild[],
  path: string,
): string | null {
  const n = Math.max(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    const a = actual[i];
    const e = expected[i];
    if (a === undefined || e === undefined || typeof a !== typeof e) {
      return `${path || '/'}: child #${i + 1} is ${show(a)}, expected ${show(e)}`;
    }
    if (typeof a === 'string' || typeof e === 'string') {
      if (a !== e) return `${path || '/'}: child #${i + 1} is ${show(a)}, expected ${show(e)}`;
      continue;
    }
    const here = `${path}/${e.name}`;
    if (a.name !== e.name) {
      return `${path || '/'}: child #${i + 1} is ${show(a)}, expected ${show(e)}`;
    }
    if (a.ns !== e.ns) {
      return `${here}: namespace ${JSON.stringify(a.ns)}, expected ${JSON.stringify(e.ns)}`;
    }
    const names = new Set([...Object.keys(a.attributes), ...Object.keys(e.attributes)]);
    for (const attr of [...names].sort()) {
      const av = a.attributes[attr];
      const ev = e.attributes[attr];
      if (av !== ev) {
        return `${here}/@${attr}: ${av === undefined ? 'missing' : JSON.stringify(av)}, expected ${
          ev === undefined ? 'missing' : JSON.stringify(ev)
        }`;
      }
    }
    const diff = compareChildren(a.children, e.children, here);
    if (diff !== null) return diff;
  }
  return null;
}

/**
 * Compares two XML documents structurally (see the module comment).
 *
 * @returns `null` when they are equivalent, else a one-line description of the first difference
 *   (path and both sides), suitable for a test failure message.
 */
export function xmlDifference(actual: string, expected: string): string | null {
  let a: XmlChild[];
  let e: XmlChild[];
  try {
    a = normaliseXml(actual);
  } catch (error) {
    return `actual: ${(error as Error).message}`;
  }
  try {
    e = normaliseXml(expected);
  } catch (error) {
    return `expected: ${(error as Error).message}`;
  }
  return compareChildren(a, e, '');
}

/** True when the two documents are equivalent (see {@link xmlDifference}). */
export function isXmlEquivalent(actual: string, expected: string): boolean {
  return xmlDifference(actual, expected) === null;
}
