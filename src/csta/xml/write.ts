/**
 * Escaping for the XML that the CSTA codec writes (ECMA-323 as XML 1.0).
 *
 * @remarks
 * Every string that goes into a CSTA body passes through {@link escapeText} or
 * {@link escapeAttr} (STYLE §7.5). Both return their input unchanged when nothing needs
 * escaping, and both throw `CSTA_ERR_SERIALIZE` for a character that XML 1.0 cannot carry at all
 * (U+0000 and the other C0 controls except tab, line feed and carriage return; lone surrogates;
 * U+FFFE, U+FFFF): that is bad data from the program, not something to send.
 *
 * The escapes are chosen so that `readXml` gives back exactly the string written: a carriage
 * return is written `&#xD;` (a raw one would be read as a line feed, XML 1.0 §2.11) and, in
 * attribute values, tab and line feed are written `&#x9;` and `&#xA;` (raw ones would be read as
 * spaces, §3.3.3). Attribute values are meant to be written in double quotes.
 */
import { UaCstaError } from '../../errors.js';

// Per ASCII code: 0 copy, 1 escape, 2 not allowed in XML 1.0.
const TEXT_ACTION = new Uint8Array(128);
const ATTR_ACTION = new Uint8Array(128);
const ESCAPES: (string | undefined)[] = [];
for (let c = 0; c < 0x20; c++) {
  TEXT_ACTION[c] = 2;
  ATTR_ACTION[c] = 2;
}
for (const [c, escape, inText] of [
  [0x09, '&#x9;', false],
  [0x0a, '&#xA;', false],
  [0x0d, '&#xD;', true],
  [0x22, '&quot;', false],
  [0x26, '&amp;', true],
  [0x3c, '&lt;', true],
  [0x3e, '&gt;', true],
] as const) {
  ESCAPES[c] = escape;
  ATTR_ACTION[c] = 1;
  TEXT_ACTION[c] = inText ? 1 : 0;
}

function invalidChar(s: string, i: number): never {
  const cp = (s.codePointAt(i) ?? 0).toString(16).toUpperCase().padStart(4, '0');
  throw new UaCstaError(
    'CSTA_ERR_SERIALIZE',
    `character U+${cp} at index ${i} cannot be written in XML 1.0`,
  );
}

/**
 * Index of the first character of `s` that needs an escape or is not allowed; `s.length` when
 * there is none. Lone surrogates and U+FFFE/U+FFFF throw here.
 */
function firstSpecial(s: string, from: number, table: Uint8Array): number {
  const n = s.length;
  for (let i = from; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 128) {
      if (table[c] !== 0) return i;
    } else if (c >= 0xd800) {
      if (c <= 0xdbff) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) i++;
        else invalidChar(s, i);
      } else if (c <= 0xdfff || c >= 0xfffe) {
        invalidChar(s, i);
      }
    }
  }
  return n;
}

function escapeWith(s: string, table: Uint8Array): string {
  let i = firstSpecial(s, 0, table);
  if (i === s.length) return s;
  let out = '';
  let last = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (table[c] === 2) invalidChar(s, i);
    out += s.slice(last, i) + (ESCAPES[c] as string);
    last = i + 1;
    i = firstSpecial(s, last, table);
  }
  return out + s.slice(last);
}

/**
 * Escapes `s` for character data: `&`, `<`, `>` and carriage return.
 *
 * @throws UaCstaError `CSTA_ERR_SERIALIZE` when `s` holds a character XML 1.0 does not allow.
 */
export function escapeText(s: string): string {
  return escapeWith(s, TEXT_ACTION);
}

/**
 * Escapes `s` for an attribute value written in double quotes: `&`, `<`, `>`, `"`, tab, line
 * feed and carriage return.
 *
 * @throws UaCstaError `CSTA_ERR_SERIALIZE` when `s` holds a character XML 1.0 does not allow.
 */
export function escapeAttr(s: string): string {
  return escapeWith(s, ATTR_ACTION);
}

/**
 * True when every character of `s` is allowed in XML 1.0 (§2.2 [2] Char), so `escapeText` and
 * `escapeAttr` will not throw for it.
 */
export function isXmlText(s: string): boolean {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20) {
      if (c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
    } else if (c >= 0xd800) {
      if (c <= 0xdbff) {
        const d = s.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) i++;
        else return false;
      } else if (c <= 0xdfff || c >= 0xfffe) {
        return false;
      }
    }
  }
  return true;
}
