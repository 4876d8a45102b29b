/**
 * A strict, single-pass XML 1.0 reader for CSTA bodies (ECMA-323 is XML; W3C XML 1.0 fifth
 * edition and Namespaces in XML 1.0 third edition are the grammar enforced here).
 *
 * @remarks
 * The body is untrusted input (STYLE §6, §7): `readXml` returns a {@link Result}, never throws
 * for any input, never recurses per nesting level (an explicit stack holds the open elements),
 * stops as soon as a limit is crossed, and does work linear in the input size.
 *
 * Limits ({@link CSTA_LIMITS}): `maxXmlBytes` is checked first, on the byte length (the UTF-8
 * length of a string, counted without encoding it); `maxXmlDepth`, `maxXmlElements` and
 * `maxXmlAttributes` (every attribute written, `xmlns` declarations included) are checked while
 * scanning. Text and attribute lengths need no limit of their own: `maxXmlBytes` bounds them.
 *
 * What it accepts: an optional XML declaration at the very start, comments, processing
 * instructions, exactly one root element, CDATA sections inside elements, the five predefined
 * entities and numeric character references. What it refuses: everything XML 1.0 says a
 * processor must refuse for a document without a DOCTYPE, plus the DOCTYPE itself and entity
 * declarations (`CSTA_ERR_DOCTYPE`), plus namespace errors (undeclared prefix, `xmlns:p=""`,
 * rebinding `xml` or `xmlns`, two attributes with the same namespace and local name).
 *
 * What it returns: a tree of plain readonly objects with source offsets, so a caller can take
 * the raw inner XML of an element byte for byte (`source.slice(el.innerStart, el.innerEnd)`),
 * as ECMA-323 `any` content (`<private>`) needs. Character data is decoded (references
 * replaced, line ends normalised as XML 1.0 §2.11 and attribute whitespace as §3.3.3); the
 * `source` text itself is never changed.
 */
import { CSTA_LIMITS, type CstaLimits } from '../../limits.js';
import { UaCstaError } from '../../errors.js';
import { err, ok, type Result } from '../../util/result.js';
import { XmlReadError, type XmlReadErrorCode } from './read-error.js';

export { XmlReadError } from './read-error.js';
export type { XmlReadErrorCode } from './read-error.js';

/** The namespace bound to the predeclared prefix `xml` (Namespaces in XML 1.0 §3). */
export const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';
/** The namespace of `xmlns` attributes; no prefix may be bound to it. */
const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/';

/** One attribute of an element, other than a namespace declaration. */
export interface XmlAttr {
  /** Local name (prefix stripped). */
  readonly name: string;
  /** The prefix as written; `''` when none. */
  readonly prefix: string;
  /** Namespace URI for a prefixed attribute; `undefined` for an unprefixed one (XML NS §6.2). */
  readonly ns: string | undefined;
  /** The decoded value: references replaced, tab, line feed and carriage return turned to spaces. */
  readonly value: string;
}

/** One element, with offsets into {@link XmlDocument.source}. */
export interface XmlElement {
  /** Local name (prefix stripped). */
  readonly name: string;
  /** The prefix as written; `''` when none. */
  readonly prefix: string;
  /** Resolved namespace URI (from the prefix, or the default namespace); `undefined` if none. */
  readonly ns: string | undefined;
  /** Attributes other than `xmlns` / `xmlns:*`, in source order. */
  readonly attrs: readonly XmlAttr[];
  /** Child elements in source order. */
  readonly children: readonly XmlElement[];
  /**
   * The decoded character data directly inside this element (text and CDATA, children's text
   * excluded), concatenated; whitespace is kept as written. `''` if none.
   */
  readonly text: string;
  /** Offset of the `<` of the start tag. */
  readonly start: number;
  /** Offset just after the start tag's `>` (equals `end` for a self-closing element). */
  readonly innerStart: number;
  /** Offset of the `<` of the end tag (equals `end` for a self-closing element). */
  readonly innerEnd: number;
  /** Offset just after the element's last `>`. */
  readonly end: number;
  /**
   * The namespace declarations written on this element itself: prefix → URI, with `''` for the
   * default namespace (`xmlns=""` appears as `'' → ''`). Empty for most elements. For every
   * declaration in scope, including inherited ones, use {@link nsInScope}.
   */
  readonly nsDecls: ReadonlyMap<string, string>;
}

/** A document that `readXml` accepted. */
export interface XmlDocument {
  /** The one root element. */
  readonly root: XmlElement;
  /**
   * The decoded document text that every offset refers to: the input string itself, or the
   * decoded bytes (without a byte order mark).
   */
  readonly source: string;
}

const EMPTY_ATTRS: readonly XmlAttr[] = Object.freeze([]);
const EMPTY_CHILDREN: XmlElement[] = Object.freeze([]) as unknown as XmlElement[];
/** Shared by every element that declares nothing; typed readonly, never to be mutated. */
const EMPTY_DECLS: ReadonlyMap<string, string> = new Map<string, string>();

/** The element while it is open; handed out as a readonly {@link XmlElement}. */
interface OpenElement {
  name: string;
  prefix: string;
  ns: string | undefined;
  attrs: readonly XmlAttr[];
  children: XmlElement[];
  text: string;
  start: number;
  innerStart: number;
  innerEnd: number;
  end: number;
  nsDecls: ReadonlyMap<string, string>;
}

// Character codes.
const TAB = 0x09;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const BANG = 0x21;
const DQUOTE = 0x22;
const HASH = 0x23;
const AMP = 0x26;
const SQUOTE = 0x27;
const SLASH = 0x2f;
const COLON = 0x3a;
const SEMI = 0x3b;
const LT = 0x3c;
const EQ = 0x3d;
const GT = 0x3e;
const QMARK = 0x3f;
const RSQB = 0x5d;
const LOWER_X = 0x78;

// ASCII class tables. NCName characters (no colon: names are split at it).
const NAME_START = new Uint8Array(128);
const NAME_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f;
  NAME_START[c] = letter ? 1 : 0;
  NAME_CHAR[c] = letter || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e ? 1 : 0;
}
// Character data: 0 plain, then what stops or flags the fast scan.
const T_PLAIN = 0;
const T_LT = 1;
const T_DECODE = 2; // '&' or CR: needs the slow path
const T_RSQB = 3;
const T_BAD = 4;
const TEXT_CLASS = new Uint8Array(128);
// Attribute values.
const A_PLAIN = 0;
const A_QUOTE = 1;
const A_DECODE = 2; // '&', TAB, LF, CR
const A_LT = 3;
const A_BAD = 4;
const ATTR_CLASS = new Uint8Array(128);
for (let c = 0; c < 0x20; c++) {
  TEXT_CLASS[c] = T_BAD;
  ATTR_CLASS[c] = A_BAD;
}
TEXT_CLASS[TAB] = T_PLAIN;
TEXT_CLASS[LF] = T_PLAIN;
TEXT_CLASS[CR] = T_DECODE;
TEXT_CLASS[AMP] = T_DECODE;
TEXT_CLASS[LT] = T_LT;
TEXT_CLASS[RSQB] = T_RSQB;
ATTR_CLASS[TAB] = A_DECODE;
ATTR_CLASS[LF] = A_DECODE;
ATTR_CLASS[CR] = A_DECODE;
ATTR_CLASS[AMP] = A_DECODE;
ATTR_CLASS[LT] = A_LT;
ATTR_CLASS[DQUOTE] = A_QUOTE;
ATTR_CLASS[SQUOTE] = A_QUOTE;

/** Width (1 or 2 code units) of a non-ASCII NameStartChar at `i`, or 0 (XML 1.0 §2.3 [4]). */
function nameStartWidth(s: string, i: number, c: number): number {
  if (c < 0xd800) {
    return (c >= 0xc0 && c <= 0xd6) ||
      (c >= 0xd8 && c <= 0xf6) ||
      (c >= 0xf8 && c <= 0x2ff) ||
      (c >= 0x370 && c <= 0x37d) ||
      (c >= 0x37f && c <= 0x1fff) ||
      c === 0x200c ||
      c === 0x200d ||
      (c >= 0x2070 && c <= 0x218f) ||
      (c >= 0x2c00 && c <= 0x2fef) ||
      c >= 0x3001
      ? 1
      : 0;
  }
  if (c <= 0xdb7f) {
    // High surrogate of U+10000..U+EFFFF.
    const d = s.charCodeAt(i + 1);
    return d >= 0xdc00 && d <= 0xdfff ? 2 : 0;
  }
  if (c < 0xe000) return 0;
  return (c >= 0xf900 && c <= 0xfdcf) || (c >= 0xfdf0 && c <= 0xfffd) ? 1 : 0;
}

/** Width of a non-ASCII NameChar at `i`, or 0 (XML 1.0 §2.3 [4a]). */
function nameCharWidth(s: string, i: number, c: number): number {
  if (c === 0xb7 || (c >= 0x300 && c <= 0x36f) || c === 0x203f || c === 0x2040) return 1;
  return nameStartWidth(s, i, c);
}

/** End of the NCName starting at `i` (before `to`); `i` itself when there is none. */
function ncNameEnd(s: string, i: number, to: number): number {
  if (i >= to) return i;
  let c = s.charCodeAt(i);
  if (c < 128) {
    if (NAME_START[c] === 0) return i;
    i++;
  } else {
    const w = nameStartWidth(s, i, c);
    if (w === 0) return i;
    i += w;
  }
  while (i < to) {
    c = s.charCodeAt(i);
    if (c < 128) {
      if (NAME_CHAR[c] === 0) break;
      i++;
    } else {
      const w = nameCharWidth(s, i, c);
      if (w === 0) break;
      i += w;
    }
  }
  return i;
}

/** True when the character at `i` could continue a name (a NameChar or a colon). */
function continuesName(s: string, i: number): boolean {
  if (i >= s.length) return false;
  const c = s.charCodeAt(i);
  if (c < 128) return c === COLON || NAME_CHAR[c] === 1;
  return nameCharWidth(s, i, c) > 0;
}

function skipSpace(s: string, i: number, n: number): number {
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c !== SPACE && c !== LF && c !== TAB && c !== CR) break;
    i++;
  }
  return i;
}

function isSpace(c: number): boolean {
  return c === SPACE || c === LF || c === TAB || c === CR;
}

/** True for a code point XML 1.0 allows (§2.2 [2] Char). */
function isXmlCodePoint(v: number): boolean {
  return v >= 0x20
    ? v <= 0xd7ff || (v >= 0xe000 && v <= 0xfffd) || (v >= 0x10000 && v <= 0x10ffff)
    : v === TAB || v === LF || v === CR;
}

/** Index of the first character in `[from, to)` that XML 1.0 does not allow, or -1. */
function badCharIndex(s: string, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20) {
      if (c !== TAB && c !== LF && c !== CR) return i;
    } else if (c >= 0xd800) {
      if (c <= 0xdbff) {
        const d = s.charCodeAt(i + 1);
        if (i + 1 < to && d >= 0xdc00 && d <= 0xdfff) i++;
        else return i;
      } else if (c <= 0xdfff || c >= 0xfffe) {
        return i;
      }
    }
  }
  return -1;
}

/** XML 1.0 §2.11: CR LF and a lone CR become LF. */
function normalizeLineEnds(text: string): string {
  let out = '';
  let last = 0;
  for (let i = text.indexOf('\r'); i >= 0; i = text.indexOf('\r', last)) {
    out += `${text.slice(last, i)}\n`;
    last = text.charCodeAt(i + 1) === LF ? i + 2 : i + 1;
  }
  return out + text.slice(last);
}

/** `1.` followed by digits (XML 1.0 §2.8 [26] VersionNum). */
function isVersionNum(v: string): boolean {
  if (v.length < 3 || !v.startsWith('1.')) return false;
  for (let i = 2; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** `[A-Za-z] ([A-Za-z0-9._] | '-')*` (XML 1.0 §4.3.3 [81] EncName). */
function isEncName(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    const letter = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    const other = (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x5f || c === 0x2d;
    if (!letter && (i === 0 || !other)) return false;
  }
  return v.length > 0;
}

/** Describes the character at `i` for a message: `'x'`, `U+0001` or `end of input`. */
function describeAt(s: string, i: number): string {
  if (i >= s.length) return 'end of input';
  const c = s.codePointAt(i) ?? 0;
  return c > 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : codePointName(c);
}

function codePointName(c: number): string {
  return `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** A name from the input, shortened for a message. */
function clip(name: string): string {
  return name.length > 40 ? `${name.slice(0, 40)}...` : name;
}

/** The predefined entities (XML 1.0 §4.6). */
function predefinedEntity(s: string, from: number, to: number): string | undefined {
  switch (to - from) {
    case 2:
      if (s.startsWith('lt', from)) return '<';
      if (s.startsWith('gt', from)) return '>';
      return undefined;
    case 3:
      return s.startsWith('amp', from) ? '&' : undefined;
    case 4:
      if (s.startsWith('quot', from)) return '"';
      if (s.startsWith('apos', from)) return "'";
      return undefined;
    default:
      return undefined;
  }
}

/**
 * The scanner for one document. Methods return the next offset, or -1 after storing the error
 * in `error` (so no exception is ever used for control flow).
 */
class Scanner {
  readonly s: string;
  readonly n: number;
  readonly maxDepth: number;
  readonly maxElements: number;
  readonly maxAttributes: number;
  error: XmlReadError | undefined = undefined;
  /** The encoding named by the XML declaration, if any. */
  encoding: string | undefined = undefined;
  root: XmlElement | undefined = undefined;
  private elements = 0;
  /** Open elements, their qualified names as written and the prefixes each declared. */
  private readonly open: OpenElement[] = [];
  private readonly openNameEnds: number[] = [];
  private readonly openDecls: (readonly string[] | undefined)[] = [];
  /** In-scope namespace bindings: prefix → stack of URIs (`''` for the default = none). */
  private readonly scope = new Map<string, string[]>([['xml', [XML_NAMESPACE]]]);
  /** The attributes of the start tag being read, before namespace resolution. */
  private readonly attrQNames: string[] = [];
  private readonly attrPrefixes: string[] = [];
  private readonly attrLocals: string[] = [];
  private readonly attrValues: string[] = [];
  private attrNameSet: Set<string> | undefined = undefined;
  /** The replacement text of the reference read last. */
  private refText = '';

  constructor(s: string, limits: CstaLimits) {
    this.s = s;
    this.n = s.length;
    this.maxDepth = limits.maxXmlDepth;
    this.maxElements = limits.maxXmlElements;
    this.maxAttributes = limits.maxXmlAttributes;
  }

  fail(code: XmlReadErrorCode, message: string, offset: number): -1 {
    this.error = new XmlReadError(code, `${message} at offset ${offset}`, offset);
    return -1;
  }

  private failChar(i: number): -1 {
    return this.fail(
      'CSTA_ERR_PARSE',
      `character ${codePointName(this.s.codePointAt(i) ?? 0)} is not allowed in XML 1.0`,
      i,
    );
  }

  private failLimit(
    name: 'maxXmlDepth' | 'maxXmlElements' | 'maxXmlAttributes',
    value: number,
    what: string,
    offset: number,
  ): -1 {
    this.error = new XmlReadError(
      'CSTA_ERR_LIMIT',
      `${what}; limit ${name} is ${value} at offset ${offset}`,
      offset,
      { name, value },
    );
    return -1;
  }

  /** Reads the whole document from `i`; the root is left in `root`. */
  document(i: number): boolean {
    const s = this.s;
    const n = this.n;
    if (
      s.startsWith('<?xml', i) &&
      (isSpace(s.charCodeAt(i + 5)) || s.charCodeAt(i + 5) === QMARK)
    ) {
      i = this.xmlDecl(i);
      if (i < 0) return false;
    }
    for (;;) {
      i = skipSpace(s, i, n);
      if (i >= n) {
        if (this.root !== undefined) return true;
        this.fail('CSTA_ERR_PARSE', 'root element expected, found end of input', i);
        return false;
      }
      if (s.charCodeAt(i) !== LT) {
        this.fail(
          'CSTA_ERR_PARSE',
          this.root === undefined
            ? `'<' of the root element expected, found ${describeAt(s, i)}`
            : `only whitespace, comments and processing instructions may follow the root element, found ${describeAt(s, i)}`,
          i,
        );
        return false;
      }
      const d = s.charCodeAt(i + 1);
      if (d === QMARK) {
        i = this.pi(i);
      } else if (d === BANG) {
        if (s.startsWith('<!--', i)) i = this.comment(i);
        else if (s.startsWith('<![CDATA[', i))
          i = this.fail('CSTA_ERR_PARSE', 'CDATA section outside the root element', i);
        else i = this.bangError(i);
      } else if (this.root !== undefined) {
        i = this.fail(
          'CSTA_ERR_PARSE',
          `end of document expected after the root element, found ${d === SLASH ? 'an end tag' : 'a second root element'}`,
          i,
        );
      } else if (d === SLASH) {
        i = this.fail('CSTA_ERR_PARSE', 'root element expected, found an end tag', i);
      } else {
        i = this.content(i);
      }
      if (i < 0) return false;
    }
  }

  /** Reads the root element from its `<` to the end of its end tag. */
  private content(i: number): number {
    const s = this.s;
    const n = this.n;
    const open = this.open;
    i = this.startTag(i);
    while (i >= 0 && open.length > 0) {
      if (s.charCodeAt(i) === LT) {
        const d = s.charCodeAt(i + 1);
        if (d === SLASH) i = this.endTag(i);
        else if (d === BANG) {
          if (s.startsWith('<!--', i)) i = this.comment(i);
          else if (s.startsWith('<![CDATA[', i)) i = this.cdata(i);
          else i = this.bangError(i);
        } else if (d === QMARK) i = this.pi(i);
        else i = this.startTag(i);
        continue;
      }
      // Character data up to the next '<'.
      const from = i;
      let decode = false;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c < 128) {
          const k = TEXT_CLASS[c];
          if (k === T_PLAIN) continue;
          if (k === T_LT) break;
          if (k === T_DECODE) {
            decode = true;
            continue;
          }
          if (k === T_RSQB) {
            if (s.charCodeAt(i + 1) === RSQB && s.charCodeAt(i + 2) === GT)
              return this.fail('CSTA_ERR_PARSE', "']]>' is not allowed in character data", i);
            continue;
          }
          return this.failChar(i);
        }
        if (c >= 0xd800) {
          if (c <= 0xdbff) {
            const d = s.charCodeAt(i + 1);
            if (d >= 0xdc00 && d <= 0xdfff) {
              i++;
              continue;
            }
            return this.failChar(i);
          }
          if (c <= 0xdfff || c >= 0xfffe) return this.failChar(i);
        }
      }
      const top = open[open.length - 1] as OpenElement;
      if (i > from) {
        const text = decode ? this.decode(from, i, false) : s.slice(from, i);
        if (text === undefined) return -1;
        top.text = top.text === '' ? text : top.text + text;
      }
      if (i >= n) {
        return this.fail(
          'CSTA_ERR_PARSE',
          `end tag </${this.nameAt((open[open.length - 1] as OpenElement).start + 1)}> expected, found end of input`,
          i,
        );
      }
    }
    return i;
  }

  /** Reads a start tag or an empty-element tag at `lt`. */
  private startTag(lt: number): number {
    const s = this.s;
    const n = this.n;
    let i = lt + 1;
    // The qualified name.
    const e1 = ncNameEnd(s, i, n);
    if (e1 === i) {
      return this.fail(
        'CSTA_ERR_PARSE',
        `element name expected after '<', found ${describeAt(s, i)}`,
        i,
      );
    }
    let prefix = '';
    let name: string;
    if (s.charCodeAt(e1) === COLON) {
      const e2 = ncNameEnd(s, e1 + 1, n);
      if (e2 === e1 + 1) {
        return this.fail(
          'CSTA_ERR_PARSE',
          `local name expected after '${clip(s.slice(i, e1 + 1))}', found ${describeAt(s, e2)}`,
          e2,
        );
      }
      prefix = s.slice(i, e1);
      name = s.slice(e1 + 1, e2);
      i = e2;
    } else {
      name = s.slice(i, e1);
      i = e1;
    }
    const nameEnd = i;
    if (++this.elements > this.maxElements) {
      return this.failLimit(
        'maxXmlElements',
        this.maxElements,
        `more than ${this.maxElements} elements`,
        lt,
      );
    }
    if (this.open.length >= this.maxDepth) {
      return this.failLimit(
        'maxXmlDepth',
        this.maxDepth,
        `elements nested more than ${this.maxDepth} deep`,
        lt,
      );
    }

    // Attributes.
    let count = 0;
    let decls: Map<string, string> | undefined;
    let selfClosing = false;
    if (this.attrQNames.length !== 0) this.resetAttributes();
    for (;;) {
      const before = i;
      i = skipSpace(s, i, n);
      const c = s.charCodeAt(i);
      if (c === GT) {
        i++;
        break;
      }
      if (c === SLASH) {
        if (s.charCodeAt(i + 1) === GT) {
          i += 2;
          selfClosing = true;
          break;
        }
        return this.fail(
          'CSTA_ERR_PARSE',
          `'>' expected after '/' in start tag <${this.nameAt(lt + 1)}>, found ${describeAt(s, i + 1)}`,
          i + 1,
        );
      }
      if (i >= n) {
        return this.fail(
          'CSTA_ERR_PARSE',
          `'>' expected to end start tag <${this.nameAt(lt + 1)}>, found end of input`,
          i,
        );
      }
      const an = i;
      const a1 = ncNameEnd(s, i, n);
      if (a1 === i) {
        return this.fail(
          'CSTA_ERR_PARSE',
          `attribute name, '>' or '/>' expected in start tag <${this.nameAt(lt + 1)}>, found ${describeAt(s, i)}`,
          i,
        );
      }
      if (before === an) {
        return this.fail(
          'CSTA_ERR_PARSE',
          `whitespace expected before attribute ${clip(s.slice(an, a1))}, found none`,
          an,
        );
      }
      let aPrefix = '';
      let aLocal: string;
      if (s.charCodeAt(a1) === COLON) {
        const a2 = ncNameEnd(s, a1 + 1, n);
        if (a2 === a1 + 1) {
          return this.fail(
            'CSTA_ERR_PARSE',
            `local name expected after '${clip(s.slice(an, a1 + 1))}', found ${describeAt(s, a2)}`,
            a2,
          );
        }
        aPrefix = s.slice(an, a1);
        aLocal = s.slice(a1 + 1, a2);
        i = a2;
      } else {
        aLocal = s.slice(an, a1);
        i = a1;
      }
      const aq = aPrefix === '' ? aLocal : s.slice(an, i);
      if (++count > this.maxAttributes) {
        return this.failLimit(
          'maxXmlAttributes',
          this.maxAttributes,
          `more than ${this.maxAttributes} attributes on <${this.nameAt(lt + 1)}>`,
          an,
        );
      }
      if (this.seenAttribute(aq)) {
        return this.fail(
          'CSTA_ERR_PARSE',
          `attribute ${clip(aq)} appears twice in <${this.nameAt(lt + 1)}>`,
          an,
        );
      }
      i = skipSpace(s, i, n);
      if (s.charCodeAt(i) !== EQ) {
        return this.fail(
          'CSTA_ERR_PARSE',
          `'=' expected after attribute name ${clip(aq)}, found ${describeAt(s, i)}`,
          i,
        );
      }
      i = skipSpace(s, i + 1, n);
      const q = s.charCodeAt(i);
      if (q !== DQUOTE && q !== SQUOTE) {
        return this.fail(
          'CSTA_ERR_PARSE',
          `quoted value expected for attribute ${clip(aq)}, found ${describeAt(s, i)}`,
          i,
        );
      }
      // The value, up to the matching quote.
      const from = i + 1;
      let decode = false;
      let j = from;
      for (; j < n; j++) {
        const v = s.charCodeAt(j);
        if (v < 128) {
          const k = ATTR_CLASS[v];
          if (k === A_PLAIN) continue;
          if (k === A_QUOTE) {
            if (v === q) break;
            continue;
          }
          if (k === A_DECODE) {
            decode = true;
            continue;
          }
          if (k === A_LT)
            return this.fail(
              'CSTA_ERR_PARSE',
              `'<' is not allowed in the value of attribute ${clip(aq)}`,
              j,
            );
          return this.failChar(j);
        }
        if (v >= 0xd800) {
          if (v <= 0xdbff) {
            const d = s.charCodeAt(j + 1);
            if (d >= 0xdc00 && d <= 0xdfff) {
              j++;
              continue;
            }
            return this.failChar(j);
          }
          if (v <= 0xdfff || v >= 0xfffe) return this.failChar(j);
        }
      }
      if (j >= n) {
        return this.fail(
          'CSTA_ERR_PARSE',
          `closing quote of attribute ${clip(aq)} expected, found end of input`,
          j,
        );
      }
      const value = decode ? this.decode(from, j, true) : s.slice(from, j);
      if (value === undefined) return -1;
      i = j + 1;
      if (aPrefix === '' ? aLocal === 'xmlns' : aPrefix === 'xmlns') {
        const declared = aPrefix === '' ? '' : aLocal;
        if (!this.checkDeclaration(declared, value, an)) return -1;
        (decls ??= new Map<string, string>()).set(declared, value);
      } else {
        this.attrPrefixes.push(aPrefix);
        this.attrLocals.push(aLocal);
        this.attrValues.push(value);
      }
    }

    // Namespaces: this element's declarations apply to its own name and attributes.
    let declared: string[] | undefined;
    if (decls !== undefined) {
      declared = [];
      for (const [p, uri] of decls) {
        const stack = this.scope.get(p);
        if (stack === undefined) this.scope.set(p, [uri]);
        else stack.push(uri);
        declared.push(p);
      }
    }
    let ns: string | undefined;
    if (prefix === '') {
      ns = this.lookup('');
      if (ns === '') ns = undefined;
    } else {
      ns = prefix === 'xmlns' ? undefined : this.lookup(prefix);
      if (ns === undefined) {
        return this.fail(
          'CSTA_ERR_PARSE',
          `namespace prefix ${clip(prefix)} of element <${this.nameAt(lt + 1)}> is not declared`,
          lt + 1,
        );
      }
    }
    let attrs = EMPTY_ATTRS;
    const na = this.attrLocals.length;
    if (na > 0) {
      const list: XmlAttr[] = [];
      let prefixed = 0;
      for (let k = 0; k < na; k++) {
        const p = this.attrPrefixes[k] as string;
        let ans: string | undefined;
        if (p !== '') {
          ans = this.lookup(p);
          if (ans === undefined) {
            return this.fail(
              'CSTA_ERR_PARSE',
              `namespace prefix ${clip(p)} of an attribute of <${this.nameAt(lt + 1)}> is not declared`,
              lt,
            );
          }
          prefixed++;
        }
        list.push({
          name: this.attrLocals[k] as string,
          prefix: p,
          ns: ans,
          value: this.attrValues[k] as string,
        });
      }
      if (prefixed > 1 && !this.uniqueExpandedNames(list)) {
        return this.fail(
          'CSTA_ERR_PARSE',
          `two attributes of <${this.nameAt(lt + 1)}> have the same namespace and local name`,
          lt,
        );
      }
      attrs = list;
    }

    const el: OpenElement = {
      name,
      prefix,
      ns,
      attrs,
      children: EMPTY_CHILDREN,
      text: '',
      start: lt,
      innerStart: i,
      innerEnd: i,
      end: i,
      nsDecls: decls ?? EMPTY_DECLS,
    };
    if (selfClosing) {
      if (declared !== undefined) this.unbind(declared);
      this.attach(el);
    } else {
      this.open.push(el);
      this.openNameEnds.push(nameEnd);
      this.openDecls.push(declared);
    }
    return i;
  }

  /** Reads an end tag at `lt`; it must close the innermost open element. */
  private endTag(lt: number): number {
    const s = this.s;
    const n = this.n;
    const depth = this.open.length - 1;
    // Compare with the start tag's name in place (no string is built).
    const nameStart = (this.open[depth] as OpenElement).start + 1;
    const length = (this.openNameEnds[depth] as number) - nameStart;
    let i = lt + 2;
    let k = 0;
    while (k < length && s.charCodeAt(i + k) === s.charCodeAt(nameStart + k)) k++;
    if (k === length && !continuesName(s, i + length)) {
      i = skipSpace(s, i + length, n);
      if (s.charCodeAt(i) !== GT) {
        return this.fail(
          'CSTA_ERR_PARSE',
          `'>' expected to end end tag </${this.nameAt(nameStart)}>, found ${describeAt(s, i)}`,
          i,
        );
      }
      i++;
    } else {
      const found = continuesName(s, i) ? `</${this.nameAt(i)}>` : `${describeAt(s, i)} after '</'`;
      return this.fail(
        'CSTA_ERR_PARSE',
        `end tag </${this.nameAt(nameStart)}> expected, found ${found}`,
        lt,
      );
    }
    const el = this.open.pop() as OpenElement;
    this.openNameEnds.pop();
    const declared = this.openDecls.pop();
    if (declared !== undefined) this.unbind(declared);
    el.innerEnd = lt;
    el.end = i;
    this.attach(el);
    return i;
  }

  /** The name written at `i` (name characters and colons), shortened, for a message. */
  private nameAt(i: number): string {
    let e = i;
    while (e - i <= 40 && continuesName(this.s, e)) e++;
    return clip(this.s.slice(i, e));
  }

  private attach(el: OpenElement): void {
    const parent = this.open[this.open.length - 1];
    if (parent === undefined) this.root = el;
    else if (parent.children === EMPTY_CHILDREN) parent.children = [el];
    else parent.children.push(el);
  }

  private lookup(prefix: string): string | undefined {
    const stack = this.scope.get(prefix);
    return stack === undefined ? undefined : stack[stack.length - 1];
  }

  private unbind(prefixes: readonly string[]): void {
    for (const p of prefixes) this.scope.get(p)?.pop();
  }

  /** Namespaces in XML 1.0 §3 constraints on one declaration. */
  private checkDeclaration(prefix: string, uri: string, at: number): boolean {
    let problem: string | undefined;
    if (prefix === 'xmlns') problem = 'the prefix xmlns must not be declared';
    else if (prefix === 'xml') {
      if (uri !== XML_NAMESPACE) problem = `the prefix xml must be bound to ${XML_NAMESPACE}`;
    } else if (uri === XML_NAMESPACE)
      problem = `only the prefix xml may be bound to ${XML_NAMESPACE}`;
    else if (uri === XMLNS_NAMESPACE) problem = `no prefix may be bound to ${XMLNS_NAMESPACE}`;
    else if (prefix !== '' && uri === '') problem = `xmlns:${clip(prefix)} must not be empty`;
    if (problem === undefined) return true;
    this.fail('CSTA_ERR_PARSE', problem, at);
    return false;
  }

  private resetAttributes(): void {
    this.attrQNames.length = 0;
    this.attrPrefixes.length = 0;
    this.attrLocals.length = 0;
    this.attrValues.length = 0;
    this.attrNameSet = undefined;
  }

  /** Records a raw attribute name; true when it was seen before in this start tag. */
  private seenAttribute(qname: string): boolean {
    const names = this.attrQNames;
    if (this.attrNameSet !== undefined) {
      if (this.attrNameSet.has(qname)) return true;
      this.attrNameSet.add(qname);
      return false;
    }
    for (const seen of names) if (seen === qname) return true;
    names.push(qname);
    if (names.length === 16) this.attrNameSet = new Set(names);
    return false;
  }

  /** False when two prefixed attributes share namespace URI and local name (XML NS §6.3). */
  private uniqueExpandedNames(list: readonly XmlAttr[]): boolean {
    const keys = new Set<string>();
    for (const a of list) {
      if (a.ns === undefined) continue;
      // U+0000 cannot occur in a decoded value or name, so the key is unambiguous.
      const key = `${a.ns}\u0000${a.name}`;
      if (keys.has(key)) return false;
      keys.add(key);
    }
    return true;
  }

  /**
   * Decodes character data or an attribute value in `[from, to)`: references replaced, line
   * ends normalised (XML 1.0 §2.11), and in attributes TAB/LF/CR turned to spaces (§3.3.3).
   */
  private decode(from: number, to: number, attribute: boolean): string | undefined {
    const s = this.s;
    let out = '';
    let last = from;
    for (let k = from; k < to; k++) {
      const c = s.charCodeAt(k);
      if (c === AMP) {
        const next = this.reference(k, to);
        if (next < 0) return undefined;
        out += s.slice(last, k) + this.refText;
        last = next;
        k = next - 1;
      } else if (c === CR) {
        out += s.slice(last, k) + (attribute ? ' ' : '\n');
        if (k + 1 < to && s.charCodeAt(k + 1) === LF) k++;
        last = k + 1;
      } else if (attribute && (c === LF || c === TAB)) {
        out += `${s.slice(last, k)} `;
        last = k + 1;
      }
    }
    return out + s.slice(last, to);
  }

  /** Reads the reference at `amp` (before `to`); leaves its text in `refText`. */
  private reference(amp: number, to: number): number {
    const s = this.s;
    let j = amp + 1;
    if (s.charCodeAt(j) === HASH) {
      j++;
      const hex = s.charCodeAt(j) === LOWER_X;
      if (hex) j++;
      const digits = j;
      let v = 0;
      for (; j < to; j++) {
        const c = s.charCodeAt(j);
        let d: number;
        if (c >= 0x30 && c <= 0x39) d = c - 0x30;
        else if (hex && c >= 0x61 && c <= 0x66) d = c - 0x57;
        else if (hex && c >= 0x41 && c <= 0x46) d = c - 0x37;
        else break;
        v = v * (hex ? 16 : 10) + d;
        if (v > 0x10ffff) v = 0x110000; // stays out of range however many digits follow
      }
      if (j === digits) {
        return this.fail(
          'CSTA_ERR_PARSE',
          `${hex ? 'hexadecimal ' : ''}digits expected in character reference, found ${describeAt(s, j)}`,
          j,
        );
      }
      if (j >= to || s.charCodeAt(j) !== SEMI) {
        return this.fail(
          'CSTA_ERR_PARSE',
          `';' expected to end character reference, found ${j >= to ? 'end of text' : describeAt(s, j)}`,
          j,
        );
      }
      if (!isXmlCodePoint(v)) {
        return this.fail(
          'CSTA_ERR_PARSE',
          `character reference ${clip(s.slice(amp, j + 1))} names a character XML 1.0 does not allow`,
          amp,
        );
      }
      this.refText = String.fromCodePoint(v);
      return j + 1;
    }
    const end = ncNameEnd(s, j, to);
    if (end === j) {
      return this.fail(
        'CSTA_ERR_PARSE',
        `entity name or '#' expected after '&', found ${describeAt(s, j)}`,
        j,
      );
    }
    if (end >= to || s.charCodeAt(end) !== SEMI) {
      return this.fail(
        'CSTA_ERR_PARSE',
        `';' expected after &${clip(s.slice(j, end))}, found ${end >= to ? 'end of text' : describeAt(s, end)}`,
        end,
      );
    }
    const text = predefinedEntity(s, j, end);
    if (text === undefined) {
      return this.fail(
        'CSTA_ERR_PARSE',
        `unknown entity &${clip(s.slice(j, end))}; (only amp, lt, gt, quot, apos and character references are allowed)`,
        amp,
      );
    }
    this.refText = text;
    return end + 1;
  }

  /** Skips a comment at `lt` (XML 1.0 §2.5: no `--` inside, no `-` before `-->`). */
  private comment(lt: number): number {
    const s = this.s;
    const from = lt + 4;
    const dashes = s.indexOf('--', from);
    if (dashes < 0)
      return this.fail(
        'CSTA_ERR_PARSE',
        "'-->' expected to end comment, found end of input",
        this.n,
      );
    if (s.charCodeAt(dashes + 2) !== GT) {
      return dashes + 2 >= this.n
        ? this.fail('CSTA_ERR_PARSE', "'-->' expected to end comment, found end of input", this.n)
        : this.fail('CSTA_ERR_PARSE', "'--' is not allowed inside a comment", dashes);
    }
    const bad = badCharIndex(s, from, dashes);
    return bad >= 0 ? this.failChar(bad) : dashes + 3;
  }

  /** Reads a CDATA section at `lt` into the current element's text. */
  private cdata(lt: number): number {
    const s = this.s;
    const from = lt + 9;
    const close = s.indexOf(']]>', from);
    if (close < 0)
      return this.fail(
        'CSTA_ERR_PARSE',
        "']]>' expected to end CDATA section, found end of input",
        this.n,
      );
    const bad = badCharIndex(s, from, close);
    if (bad >= 0) return this.failChar(bad);
    if (close > from) {
      let text = s.slice(from, close);
      if (text.includes('\r')) text = normalizeLineEnds(text);
      const top = this.open[this.open.length - 1] as OpenElement;
      top.text = top.text === '' ? text : top.text + text;
    }
    return close + 3;
  }

  /** Skips a processing instruction at `lt` (XML 1.0 §2.6). */
  private pi(lt: number): number {
    const s = this.s;
    const from = lt + 2;
    const end = ncNameEnd(s, from, this.n);
    if (end === from) {
      return this.fail(
        'CSTA_ERR_PARSE',
        `processing instruction target expected after '<?', found ${describeAt(s, from)}`,
        from,
      );
    }
    if (end - from === 3 && s.slice(from, end).toLowerCase() === 'xml') {
      return this.fail(
        'CSTA_ERR_PARSE',
        'an XML declaration is allowed only at the very start of the document',
        lt,
      );
    }
    const c = s.charCodeAt(end);
    if (c === QMARK && s.charCodeAt(end + 1) === GT) return end + 2;
    if (!isSpace(c)) {
      return this.fail(
        'CSTA_ERR_PARSE',
        `whitespace or '?>' expected after processing instruction target, found ${describeAt(s, end)}`,
        end,
      );
    }
    const close = s.indexOf('?>', end);
    if (close < 0)
      return this.fail(
        'CSTA_ERR_PARSE',
        "'?>' expected to end processing instruction, found end of input",
        this.n,
      );
    const bad = badCharIndex(s, end, close);
    return bad >= 0 ? this.failChar(bad) : close + 2;
  }

  /** `<!` that starts neither a comment nor a CDATA section. */
  private bangError(lt: number): -1 {
    const word = this.s.slice(lt + 2, lt + 9).toUpperCase();
    if (word === 'DOCTYPE' || word.startsWith('ENTITY')) {
      return this.fail(
        'CSTA_ERR_DOCTYPE',
        `${word.startsWith('ENTITY') ? 'entity declaration' : 'DOCTYPE'} found; DOCTYPE and entity declarations are refused`,
        lt,
      );
    }
    return this.fail(
      'CSTA_ERR_PARSE',
      `'<!--' or '<![CDATA[' expected, found '<!' followed by ${describeAt(this.s, lt + 2)}`,
      lt,
    );
  }

  /**
   * Reads the XML declaration at `lt` (XML 1.0 §2.8 [23]): version, then optional encoding and
   * standalone, in that order. The encoding name is left in `encoding`.
   */
  xmlDecl(lt: number): number {
    const s = this.s;
    const n = this.n;
    let i = lt + 5;
    let j = skipSpace(s, i, n);
    let spaced = j > i;
    const names = ['version', 'encoding', 'standalone'] as const;
    let seen = 0;
    for (;;) {
      if (s.startsWith('?>', j)) {
        if (seen === 0) break;
        return j + 2;
      }
      let which = -1;
      for (let k = seen; k < names.length; k++) {
        if (s.startsWith(names[k] as string, j)) {
          which = k;
          break;
        }
      }
      if (which < 0 || !spaced || (seen === 0 && which !== 0)) break;
      const key = names[which] as string;
      i = skipSpace(s, j + key.length, n);
      if (s.charCodeAt(i) !== EQ) {
        return this.fail(
          'CSTA_ERR_PARSE',
          `'=' expected after ${key} in the XML declaration, found ${describeAt(s, i)}`,
          i,
        );
      }
      i = skipSpace(s, i + 1, n);
      const q = s.charCodeAt(i);
      const close = q === DQUOTE || q === SQUOTE ? s.indexOf(q === DQUOTE ? '"' : "'", i + 1) : -1;
      if (close < 0) {
        return this.fail(
          'CSTA_ERR_PARSE',
          `quoted value expected for ${key} in the XML declaration, found ${describeAt(s, i)}`,
          i,
        );
      }
      const value = s.slice(i + 1, close);
      let valid: boolean;
      if (which === 0) valid = isVersionNum(value);
      else if (which === 1) valid = isEncName(value);
      else valid = value === 'yes' || value === 'no';
      if (!valid) {
        return this.fail(
          'CSTA_ERR_PARSE',
          `${key} "${clip(value)}" in the XML declaration is not valid`,
          i + 1,
        );
      }
      if (which === 1) this.encoding = value;
      seen = which + 1;
      i = close + 1;
      j = skipSpace(s, i, n);
      spaced = j > i;
    }
    return this.fail(
      'CSTA_ERR_PARSE',
      seen === 0
        ? `version expected in the XML declaration, found ${describeAt(s, j)}`
        : `'?>' or a further pseudo-attribute expected in the XML declaration, found ${describeAt(s, j)}`,
      j,
    );
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const UTF8_LABELS = new Set(['utf-8', 'utf8']);
const LATIN1_LABELS = new Set(['iso-8859-1', 'iso8859-1', 'iso_8859-1', 'latin1', 'latin-1', 'l1']);

/** Offset of the first byte that breaks UTF-8 (Unicode §3.9 table 3-7), or -1. */
function invalidUtf8Offset(b: Uint8Array): number {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i] as number;
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      const d = b[i + k];
      if (d === undefined) return i;
      if (k === 1 ? d < lo || d > hi : d < 0x80 || d > 0xbf) return i + k;
    }
    i += need + 1;
  }
  return -1;
}

function latin1(b: Uint8Array): string {
  let out = '';
  for (let k = 0; k < b.length; k += 8192) out += String.fromCharCode(...b.subarray(k, k + 8192));
  return out;
}

/** Decodes a byte body: UTF-8 (BOM skipped) or a declared ISO-8859-1. */
function decodeBytes(b: Uint8Array, limits: CstaLimits): Result<string, XmlReadError> {
  const bom = b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf;
  const at = bom ? 3 : 0;
  let label = 'utf-8';
  // '<?xml' followed by whitespace: look at the declaration (ASCII) before decoding.
  if (
    b[at] === 0x3c &&
    b[at + 1] === 0x3f &&
    b[at + 2] === 0x78 &&
    b[at + 3] === 0x6d &&
    b[at + 4] === 0x6c
  ) {
    const gt = b.indexOf(GT, at);
    if (gt > 0) {
      const decl = new Scanner(latin1(b.subarray(at, gt + 1)), limits);
      // A malformed declaration is reported by the main scan, at its offset in the text.
      if (decl.xmlDecl(0) > 0 && decl.encoding !== undefined) label = decl.encoding.toLowerCase();
    }
  }
  if (LATIN1_LABELS.has(label)) {
    if (bom) {
      return err(
        new XmlReadError(
          'CSTA_ERR_ENCODING',
          'the byte order mark says UTF-8 but the XML declaration says ISO-8859-1 at offset 0',
          0,
        ),
      );
    }
    return ok(latin1(b));
  }
  if (!UTF8_LABELS.has(label)) {
    return err(
      new XmlReadError(
        'CSTA_ERR_ENCODING',
        `encoding "${clip(label)}" declared; expected UTF-8 or ISO-8859-1 at offset ${at}`,
        at,
      ),
    );
  }
  try {
    return ok(UTF8.decode(b));
  } catch (cause) {
    const at2 = Math.max(0, invalidUtf8Offset(b));
    const byte = (b[at2] ?? 0).toString(16).padStart(2, '0');
    return err(
      new XmlReadError(
        'CSTA_ERR_ENCODING',
        `invalid UTF-8: byte 0x${byte} at offset ${at2}`,
        at2,
        undefined,
        { cause },
      ),
    );
  }
}

/**
 * The UTF-8 length of `s` when it exceeds `max` (possibly counted only up to the point where it
 * did), or -1 when it fits. Lone surrogates count 3, as `TextEncoder` would write U+FFFD.
 */
function utf8LengthOver(s: string, max: number): number {
  if (s.length > max) return s.length;
  if (s.length * 3 <= max) return -1;
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
    if (bytes > max) return bytes;
  }
  return -1;
}

function limitOption(v: number | undefined, name: keyof CstaLimits): number {
  if (v === undefined) return CSTA_LIMITS[name];
  if (v === Infinity || (Number.isInteger(v) && v >= 0)) return v;
  throw new UaCstaError(
    'ERR_INVALID_ARG',
    `limits.${name} must be a non-negative integer or Infinity; got ${String(v)}`,
  );
}

function resolveLimits(l: Partial<CstaLimits> | undefined): CstaLimits {
  if (l === undefined) return CSTA_LIMITS;
  return {
    maxXmlBytes: limitOption(l.maxXmlBytes, 'maxXmlBytes'),
    maxXmlDepth: limitOption(l.maxXmlDepth, 'maxXmlDepth'),
    maxXmlElements: limitOption(l.maxXmlElements, 'maxXmlElements'),
    maxXmlAttributes: limitOption(l.maxXmlAttributes, 'maxXmlAttributes'),
  };
}

/**
 * Reads one XML document: a CSTA body as bytes (UTF-8, or ISO-8859-1 when declared) or as an
 * already decoded string.
 *
 * @param input - The body. A `Uint8Array` is decoded here (a UTF-8 byte order mark is skipped);
 *   a string is taken as decoded text (a leading U+FEFF is skipped and its declared encoding, if
 *   any, is only checked for syntax).
 * @param limits - Overrides of {@link CSTA_LIMITS}; lift one only with `Infinity`.
 * @returns The document, or an {@link XmlReadError} with code `CSTA_ERR_PARSE`,
 *   `CSTA_ERR_ENCODING`, `CSTA_ERR_DOCTYPE` or `CSTA_ERR_LIMIT`. Never throws for any input.
 * @throws UaCstaError `ERR_INVALID_ARG` when a limit is not a non-negative integer or
 *   `Infinity` (programmer misuse).
 */
export function readXml(
  input: string | Uint8Array,
  limits?: Partial<CstaLimits>,
): Result<XmlDocument, XmlReadError> {
  const lim = resolveLimits(limits);
  const max = lim.maxXmlBytes;
  let source: string;
  let from = 0;
  if (typeof input === 'string') {
    const over = max === Infinity ? -1 : utf8LengthOver(input, max);
    if (over >= 0) {
      return err(
        new XmlReadError(
          'CSTA_ERR_LIMIT',
          `body is at least ${over} bytes; limit maxXmlBytes is ${max} at offset 0`,
          0,
          { name: 'maxXmlBytes', value: max },
        ),
      );
    }
    source = input;
    if (source.charCodeAt(0) === 0xfeff) from = 1;
  } else {
    if (input.length > max) {
      return err(
        new XmlReadError(
          'CSTA_ERR_LIMIT',
          `body is ${input.length} bytes; limit maxXmlBytes is ${max} at offset 0`,
          0,
          { name: 'maxXmlBytes', value: max },
        ),
      );
    }
    const decoded = decodeBytes(input, lim);
    if (!decoded.ok) return decoded;
    source = decoded.value;
  }
  const scanner = new Scanner(source, lim);
  if (!scanner.document(from) || scanner.root === undefined) {
    return err(
      scanner.error ?? new XmlReadError('CSTA_ERR_PARSE', 'root element expected at offset 0', 0),
    );
  }
  return ok({ root: scanner.root, source });
}

/**
 * Every namespace binding in scope at `el` (declarations on its ancestors and on itself; the
 * nearest wins): prefix → URI, `''` for the default namespace. The predeclared `xml` prefix is
 * left out, and an undeclared default (`xmlns=""`) removes `''`. A caller that copies raw inner
 * XML out of `el` re-declares from this map the prefixes the fragment uses.
 *
 * Costs one walk from the root to `el` (depth × siblings on the path), so call it only when
 * raw XML is captured.
 *
 * @throws UaCstaError `ERR_INVALID_ARG` when `el` is not an element of `doc`.
 */
export function nsInScope(doc: XmlDocument, el: XmlElement): ReadonlyMap<string, string> {
  const inScope = new Map<string, string>();
  let cur: XmlElement | undefined = doc.root;
  while (cur !== undefined) {
    for (const [p, uri] of cur.nsDecls) {
      if (uri === '') inScope.delete(p);
      else inScope.set(p, uri);
    }
    if (cur === el) return inScope;
    // Children are in source order: find the one whose span holds el (binary search).
    const kids: readonly XmlElement[] = cur.children;
    let lo = 0;
    let hi = kids.length - 1;
    let next: XmlElement | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const k = kids[mid] as XmlElement;
      if (el.start < k.start) hi = mid - 1;
      else if (el.start >= k.end) lo = mid + 1;
      else {
        next = k;
        break;
      }
    }
    cur = next;
  }
  throw new UaCstaError(
    'ERR_INVALID_ARG',
    'nsInScope: the element does not belong to this document',
  );
}
