/**
 * Header-field grammars of RFC 3261 §25.1 that the stack reads into typed fields: header names
 * (with the compact forms), Via, name-addr / addr-spec with parameters, quoted strings.
 *
 * @remarks
 * Every reader here scans with indices and character tables, never with a regular expression on
 * untrusted input (STYLE §7.3), and returns `undefined` for text that does not fit the grammar;
 * deciding what that means (400, drop) is `validate.ts`'s job. Input is one header value after
 * unfolding (RFC 3261 §7.3.1: each line folding replaced by one SP), so whitespace is SP or HTAB.
 */
import type { NameAddr, Via } from './types.js';

const SP = 0x20;
const HTAB = 0x09;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;

/** `token` characters of RFC 3261 §25.1: alphanum and `-.!%*_+`'~`. */
const TOKEN = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;
for (const ch of "-.!%*_+`'~") TOKEN[ch.charCodeAt(0)] = 1;

/** Parameter value characters: `token` plus what `host` adds (`:` `[` `]` for IPv6 addresses). */
const PVALUE = TOKEN.slice();
for (const ch of ':[]') PVALUE[ch.charCodeAt(0)] = 1;

/** Host characters: hostname (alphanum `-` `.`; `_` seen in the field) and IPv4. */
const HOST = new Uint8Array(128);
for (let c = 0x30; c <= 0x39; c++) HOST[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) HOST[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) HOST[c] = 1;
for (const ch of '-._') HOST[ch.charCodeAt(0)] = 1;

/** True when `c` (a UTF-16 code unit) is a `token` character. */
export function isTokenChar(c: number): boolean {
  return c < 128 && TOKEN[c] === 1;
}

/** True when `s` is a non-empty `token` (RFC 3261 §25.1): methods, header names, parameter names. */
export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false;
  return true;
}

/** The end of the run of `token` characters starting at `i`. */
export function scanToken(s: string, i: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TOKEN[c] !== 1) break;
    i++;
  }
  return i;
}

function scanTable(s: string, i: number, table: Uint8Array): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c >= 128 || table[c] !== 1) break;
    i++;
  }
  return i;
}

/** Skips SP and HTAB from `i`. */
export function skipWs(s: string, i: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c !== SP && c !== HTAB) break;
    i++;
  }
  return i;
}

/**
 * Compact header names (RFC 3261 §7.3.3 and the RFCs that define the others), lower case, to
 * their long forms.
 */
export const COMPACT_FORMS: Readonly<Record<string, string>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, string>, {
    a: 'accept-contact', // RFC 3841
    b: 'referred-by', // RFC 3892
    c: 'content-type',
    d: 'request-disposition', // RFC 3841
    e: 'content-encoding',
    f: 'from',
    i: 'call-id',
    j: 'reject-contact', // RFC 3841
    k: 'supported',
    l: 'content-length',
    m: 'contact',
    o: 'event', // RFC 6665
    r: 'refer-to', // RFC 3515
    s: 'subject',
    t: 'to',
    u: 'allow-events', // RFC 6665
    v: 'via',
    x: 'session-expires', // RFC 4028
    y: 'identity', // RFC 8224
  }),
);

/**
 * Long names the stack meets on nearly every message, by length and then by first letter:
 * matched in place, without slicing or hashing the name (the header loop's hottest step).
 */
const COMMON: readonly (readonly (readonly string[] | undefined)[] | undefined)[] = (() => {
  const table: (string[] | undefined)[][] = [];
  for (const name of [
    'via',
    'from',
    'to',
    'call-id',
    'cseq',
    'max-forwards',
    'content-length',
    'content-type',
    'content-disposition',
    'contact',
    'user-agent',
    'server',
    'allow',
    'supported',
    'require',
    'route',
    'record-route',
    'expires',
    'event',
    'subject',
    'accept',
    'session-expires',
    'date',
    'authorization',
    'www-authenticate',
    'proxy-authenticate',
    'proxy-authorization',
  ]) {
    const byFirst = (table[name.length] ??= []);
    (byFirst[name.charCodeAt(0)] ??= []).push(name);
  }
  return table;
})();

/** Compact forms by character code, both cases. */
const COMPACT_BY_CODE: readonly (string | undefined)[] = (() => {
  const table: (string | undefined)[] = [];
  for (const [short, long] of Object.entries(COMPACT_FORMS)) {
    table[short.charCodeAt(0)] = long;
    table[short.toUpperCase().charCodeAt(0)] = long;
  }
  return table;
})();

/** True when `s[a, a + name.length)` is `name` in any letter case (`name` is lower case). */
function equalsIgnoreCase(s: string, a: number, name: string): boolean {
  for (let k = 0; k < name.length; k++) {
    const c = s.charCodeAt(a + k);
    const want = name.charCodeAt(k);
    if (c !== want && (want < 0x61 || (c | 0x20) !== want)) return false;
  }
  return true;
}

/**
 * The model key of the header name `s[a, b)`: lower case, compact forms expanded. `undefined`
 * when it is not a `token` (RFC 3261 §7.3: `header-name = token`).
 *
 * @remarks
 * `C%6Fntact` is a header of its own, not Contact: names are not unescaped (RFC 4475
 * §3.1.1.5 `esc02`).
 */
export function headerKeyAt(s: string, a: number, b: number): string | undefined {
  const len = b - a;
  if (len === 1) {
    const compact = COMPACT_BY_CODE[s.charCodeAt(a)];
    if (compact !== undefined) return compact;
  } else {
    const common = COMMON[len]?.[s.charCodeAt(a) | 0x20];
    if (common !== undefined) {
      for (let k = 0; k < common.length; k++)
        if (equalsIgnoreCase(s, a, common[k]!)) return common[k];
    }
  }
  const name = s.slice(a, b);
  return isToken(name) ? name.toLowerCase() : undefined;
}

/** The model key of a header name: see {@link headerKeyAt}. */
export function headerKey(name: string): string | undefined {
  return headerKeyAt(name, 0, name.length);
}

/** Result of reading a quoted-string: its text (quotes removed, quoted-pairs resolved) and end. */
interface Quoted {
  readonly text: string;
  readonly end: number;
}

/**
 * Reads a `quoted-string` whose opening DQUOTE is at `i` (RFC 3261 §25.1). Returns `undefined`
 * when it is not closed.
 */
export function readQuoted(s: string, i: number): Quoted | undefined {
  const n = s.length;
  let j = i + 1;
  let text = '';
  let from = j;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c === DQUOTE) return { text: text + s.slice(from, j), end: j + 1 };
    if (c === BACKSLASH) {
      if (j + 1 >= n) return undefined;
      text += s.slice(from, j) + s.charAt(j + 1);
      j += 2;
      from = j;
      continue;
    }
    j++;
  }
  return undefined;
}

/** End of a quoted-string opening at `i`, quotes kept; -1 when not closed. */
function quotedEnd(s: string, i: number): number {
  const n = s.length;
  for (let j = i + 1; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c === DQUOTE) return j + 1;
    if (c === BACKSLASH) j++;
  }
  return -1;
}

/**
 * Reads `*( SEMI generic-param )` from `i` into `params` (names lower-cased, values as written,
 * a valueless parameter as `''`, the first of a repeated name kept). Returns the index after the
 * last parameter, or -1 when a parameter is malformed (empty name, missing value after `=`).
 */
function readParams(s: string, i: number, params: Record<string, string>): number {
  const n = s.length;
  for (;;) {
    const k = skipWs(s, i);
    if (k >= n || s.charCodeAt(k) !== 0x3b /* ; */) return i;
    let j = skipWs(s, k + 1);
    const nameEnd = scanToken(s, j);
    if (nameEnd === j) return -1;
    const name = s.slice(j, nameEnd).toLowerCase();
    j = skipWs(s, nameEnd);
    let value = '';
    if (j < n && s.charCodeAt(j) === 0x3d /* = */) {
      j = skipWs(s, j + 1);
      if (j < n && s.charCodeAt(j) === DQUOTE) {
        const end = quotedEnd(s, j);
        if (end < 0) return -1;
        value = s.slice(j, end);
        j = end;
      } else {
        const end = scanTable(s, j, PVALUE);
        if (end === j) return -1;
        value = s.slice(j, end);
        j = end;
      }
    } else {
      j = nameEnd;
    }
    if (params[name] === undefined) params[name] = value;
    i = j;
  }
}

/**
 * A constructor whose instances have no `Object.prototype` in their chain, so `__proto__`,
 * `constructor` or `toString` from the wire are plain keys, while the objects keep V8's fast
 * properties (`Object.create(null)` makes dictionary-mode objects, several times slower to build).
 */
function NullProtoRecord(): void {}
NullProtoRecord.prototype = Object.create(null) as object;

/** A fresh record for names that come from the wire (parameters, header names). */
export function newRecord<T>(): Record<string, T> {
  return new (NullProtoRecord as unknown as new () => Record<string, T>)();
}

/**
 * Reads one Via header value: one or more comma-separated `via-parm`s (RFC 3261 §20.42,
 * §25.1), appending each to `out`. Returns `false` when any of them does not fit the grammar.
 *
 * @remarks
 * LWS is allowed around `/`, `:`, `;`, `=` and `,` (`SLASH`, `COLON`, `SEMI`, `EQUAL`, `COMMA`
 * are defined with SWS), as RFC 4475 §3.1.1.1 `wsinv` exercises. The transport is upper-cased.
 */
export function parseViaValue(s: string, out: Via[]): boolean {
  const n = s.length;
  let i = 0;
  for (;;) {
    i = skipWs(s, i);
    // sent-protocol = protocol-name SLASH protocol-version SLASH transport
    let j = scanToken(s, i);
    if (j === i) return false;
    i = skipWs(s, j);
    if (s.charCodeAt(i) !== 0x2f) return false;
    i = skipWs(s, i + 1);
    j = scanToken(s, i);
    if (j === i) return false;
    i = skipWs(s, j);
    if (s.charCodeAt(i) !== 0x2f) return false;
    i = skipWs(s, i + 1);
    j = scanToken(s, i);
    if (j === i) return false;
    const transport = s.slice(i, j).toUpperCase();
    // LWS sent-by
    i = skipWs(s, j);
    if (i === j) return false;
    if (s.charCodeAt(i) === 0x5b /* [ */) {
      const close = s.indexOf(']', i);
      if (close < 0) return false;
      for (let k = i + 1; k < close; k++) {
        const c = s.charCodeAt(k);
        const hex = (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
        if (!hex && c !== 0x3a && c !== 0x2e) return false;
      }
      if (close === i + 1) return false;
      j = close + 1;
    } else {
      j = scanTable(s, i, HOST);
      if (j === i) return false;
    }
    const host = s.slice(i, j);
    i = skipWs(s, j);
    let port: number | undefined;
    if (s.charCodeAt(i) === 0x3a /* : */) {
      i = skipWs(s, i + 1);
      let p = 0;
      j = i;
      while (j < n) {
        const c = s.charCodeAt(j);
        if (c < 0x30 || c > 0x39) break;
        p = p * 10 + (c - 0x30);
        if (p > 65535) return false;
        j++;
      }
      if (j === i) return false;
      port = p;
      i = j;
    }
    const params = newRecord<string>();
    i = readParams(s, i, params);
    if (i < 0) return false;
    out.push({ transport, host, port, branch: params['branch'], params });
    i = skipWs(s, i);
    if (i >= n) return true;
    if (s.charCodeAt(i) !== 0x2c /* , */) return false;
    i++;
  }
}

/**
 * Reads a From or To value: `( name-addr / addr-spec ) *( SEMI generic-param )` (RFC 3261
 * §20.20, §20.39). Returns `undefined` when it does not fit.
 *
 * @remarks
 * Two liberties that RFC 4475 allows (§3.1.2.14 `badaspec`, §3.1.2.15 `baddn`): LWS inside the
 * angle brackets is trimmed, and an unquoted display name is taken as written up to `<` even
 * when it holds non-token characters. An unclosed quote (§3.1.2.6 `quotbal`) is refused. In the
 * addr-spec form every `;` parameter belongs to the header, not to the URI (RFC 3261 §20.10).
 */
export function parseNameAddr(s: string): NameAddr | undefined {
  const n = s.length;
  let i = skipWs(s, 0);
  if (i >= n) return undefined;
  let displayName: string | undefined;
  let uri: string;
  let c = s.charCodeAt(i);
  if (c === DQUOTE) {
    const q = readQuoted(s, i);
    if (q === undefined) return undefined;
    displayName = q.text;
    i = skipWs(s, q.end);
    if (i >= n || s.charCodeAt(i) !== 0x3c /* < */) return undefined;
    c = 0x3c;
  } else if (c !== 0x3c) {
    const lt = s.indexOf('<', i);
    if (lt >= 0) {
      let e = lt;
      while (e > i && (s.charCodeAt(e - 1) === SP || s.charCodeAt(e - 1) === HTAB)) e--;
      const dn = s.slice(i, e);
      if (dn.includes('"') || dn.includes('>')) return undefined;
      displayName = dn;
      i = lt;
      c = 0x3c;
    }
  }
  if (c === 0x3c) {
    const gt = s.indexOf('>', i + 1);
    if (gt < 0) return undefined;
    let a = skipWs(s, i + 1);
    let b = gt;
    while (b > a && (s.charCodeAt(b - 1) === SP || s.charCodeAt(b - 1) === HTAB)) b--;
    if (a === b) return undefined;
    for (let k = a; k < b; k++) {
      const ch = s.charCodeAt(k);
      if (ch <= SP || ch === 0x3c || ch === 0x7f) return undefined;
    }
    uri = s.slice(a, b);
    i = gt + 1;
  } else {
    let j = i;
    while (j < n) {
      const ch = s.charCodeAt(j);
      if (ch === 0x3b || ch === SP || ch === HTAB) break;
      if (ch < SP || ch === 0x7f || ch === 0x3e || ch === DQUOTE) return undefined;
      j++;
    }
    uri = s.slice(i, j);
    i = j;
  }
  if (!hasScheme(uri)) return undefined;
  const params = newRecord<string>();
  i = readParams(s, i, params);
  if (i < 0 || skipWs(s, i) !== n) return undefined;
  return { displayName, uri, params };
}

/** True when `uri` starts with `scheme ":"`, scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
export function hasScheme(uri: string): boolean {
  const colon = uri.indexOf(':');
  if (colon <= 0) return false;
  for (let i = 0; i < colon; i++) {
    const c = uri.charCodeAt(i);
    const alpha = (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
    if (!alpha && (i === 0 || !((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e))) {
      return false;
    }
  }
  return true;
}
