/**
 * Maps an XML element tree onto the typed ECMA-323 model, guided by the generated schema table.
 *
 * @remarks
 * ECMA-323 (XML encoding of ECMA-269). Strict where the schema is unambiguous (a mandatory child
 * is missing, an integer is not an integer: `CSTA_ERR_INVALID`), tolerant where real phones are
 * sloppy (unknown children and enumeration values, children out of order, a device id written
 * as plain text where the schema wants a wrapper): those are kept or ignored and reported as
 * warnings, never fatal (uaCSTA digest §7).
 */
import type { XmlElement } from './xml/read.js';
import type { FieldDef, TypeDef } from './model/schema-types.js';
import { SCHEMA } from './model/schema.js';
import { escapeAttr } from './xml/write.js';

/** Something the decoder ignored or kept although the schema does not allow it. */
export interface CstaWarning {
  /**
   * `CSTA_WARN_UNKNOWN_ELEMENT` (ignored child), `CSTA_WARN_UNKNOWN_VALUE` (enumeration value not
   * in the schema, kept), `CSTA_WARN_DUPLICATE` (second occurrence of a single child, ignored),
   * `CSTA_WARN_ATTRIBUTE` (attribute ignored), `CSTA_WARN_SHAPE` (content accepted in a
   * non-schema shape), `CSTA_WARN_NAMESPACE` (not the canonical namespace of its edition).
   */
  readonly code:
    | 'CSTA_WARN_UNKNOWN_ELEMENT'
    | 'CSTA_WARN_UNKNOWN_VALUE'
    | 'CSTA_WARN_DUPLICATE'
    | 'CSTA_WARN_ATTRIBUTE'
    | 'CSTA_WARN_SHAPE'
    | 'CSTA_WARN_NAMESPACE';
  /** Element path, e.g. `/DeliveredEvent/connection/callID`. */
  readonly path: string;
  readonly message: string;
}

/** Thrown inside the decoder only; `parseCsta` turns it into a `CSTA_ERR_INVALID` value. */
export class InvalidContent {
  readonly path: string;
  readonly message: string;
  constructor(path: string, message: string) {
    this.path = path;
    this.message = message;
  }
}

/** State of one decode run. */
export interface DecodeContext {
  /** The decoded document text; raw content is sliced from it. */
  readonly source: string;
  readonly warnings: CstaWarning[];
}

type Index = ReadonlyMap<string, FieldDef>;
const indexes = new Map<string, Index>();

/** Field lookup by wire name (both the ed2–ed5 and the ed6 spelling), built once per type. */
function indexOf(typeName: string, fields: readonly FieldDef[]): Index {
  let ix = indexes.get(typeName);
  if (ix === undefined) {
    const m = new Map<string, FieldDef>();
    for (const f of fields) {
      m.set(f.n, f);
      if (f.w6 !== undefined) m.set(f.w6, f);
    }
    ix = m;
    indexes.set(typeName, ix);
  }
  return ix;
}

const enumSets = new Map<string, ReadonlySet<string>>();
function enumSet(name: string): ReadonlySet<string> {
  let s = enumSets.get(name);
  if (s === undefined) {
    s = new Set(SCHEMA.enums[name] ?? []);
    enumSets.set(name, s);
  }
  return s;
}

/** Decodes the fields of a root element's content into `out` (the message object). */
export function decodeRoot(
  el: XmlElement,
  typeName: string,
  out: Record<string, unknown>,
  ctx: DecodeContext,
): void {
  const path = '/' + el.name;
  const def = SCHEMA.types[typeName];
  if (def === undefined) throw new InvalidContent(path, `no type ${typeName} in the model`);
  if (def.k === 'seq') {
    decodeSeq(el, typeName, def.f, out, ctx, path);
    return;
  }
  const v = decodeComplex(el, typeName, def, ctx, path);
  if (v !== null && typeof v === 'object' && !Array.isArray(v)) Object.assign(out, v);
  else if (def.k !== 'empty') throw new InvalidContent(path, `root content of kind ${def.k} is not supported`);
}

function warn(ctx: DecodeContext, code: CstaWarning['code'], path: string, message: string): void {
  ctx.warnings.push({ code, path, message });
}

function isBlank(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
  }
  return true;
}

function fieldName(f: FieldDef): string {
  return f.f ?? f.n;
}

function decodeSeq(
  el: XmlElement,
  typeName: string,
  fields: readonly FieldDef[],
  out: Record<string, unknown>,
  ctx: DecodeContext,
  path: string,
  textChecked = false,
): void {
  const ix = indexOf(typeName, fields);
  const kids = el.children;
  for (let i = 0; i < kids.length; i++) {
    const c = kids[i]!;
    const f = ix.get(c.name);
    const cpath = path + '/' + c.name;
    if (f === undefined) {
      warn(ctx, 'CSTA_WARN_UNKNOWN_ELEMENT', cpath, `<${c.name}> is not a child of ${typeName}; ignored`);
      continue;
    }
    const name = fieldName(f);
    if (f.r === 1) {
      const arr = (out[name] as unknown[] | undefined) ?? [];
      arr.push(decodeValue(c, f.t, ctx, cpath));
      out[name] = arr;
      continue;
    }
    if (out[name] !== undefined) {
      warn(ctx, 'CSTA_WARN_DUPLICATE', cpath, `<${c.name}> occurs more than once; the first is kept`);
      continue;
    }
    if (f.l !== undefined) out[name] = decodeList(c, f.l, f.t, ctx, cpath);
    else if (f.l5 !== undefined && c.children.length > 0) out[name] = decodeList(c, f.l5, f.t, ctx, cpath);
    else out[name] = decodeValue(c, f.t, ctx, cpath);
  }
  // textChecked: the caller reads text itself (ConnectionID's bare callID quirk)
  if (!textChecked && !isBlank(el.text)) {
    warn(ctx, 'CSTA_WARN_SHAPE', path, `text content in <${el.name}> ignored`);
  }
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.m === 1 && out[fieldName(f)] === undefined) {
      throw new InvalidContent(path, `mandatory <${f.n}> missing in <${el.name}>`);
    }
  }
}

function decodeList(
  el: XmlElement,
  item: string,
  typeRef: string,
  ctx: DecodeContext,
  path: string,
): unknown[] {
  const out: unknown[] = [];
  for (const c of el.children) {
    if (c.name !== item) {
      warn(ctx, 'CSTA_WARN_UNKNOWN_ELEMENT', path + '/' + c.name, `<${c.name}> in a list of <${item}>; ignored`);
      continue;
    }
    out.push(decodeValue(c, typeRef, ctx, path + '/' + item));
  }
  return out;
}

const INT = /^[+-]?[0-9]{1,16}$/;
const FLOAT = /^(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?|INF|-INF|NaN)$/;

/** Decodes one element against a type reference. */
export function decodeValue(el: XmlElement, typeRef: string, ctx: DecodeContext, path: string): unknown {
  switch (typeRef) {
    case '$string':
      leafOnly(el, ctx, path);
      return el.text;
    case '$hex':
      leafOnly(el, ctx, path);
      return el.text.trim();
    case '$raw':
      return rawContent(el, ctx);
    case '$empty':
      if (el.children.length > 0 || !isBlank(el.text)) {
        warn(ctx, 'CSTA_WARN_SHAPE', path, `content of the empty element <${el.name}> ignored`);
      }
      return true;
    case '$int': {
      leafOnly(el, ctx, path);
      const t = el.text.trim();
      const n = INT.test(t) ? Number(t) : NaN;
      if (!Number.isSafeInteger(n)) throw new InvalidContent(path, `integer expected in <${el.name}>, found '${clip(t)}'`);
      return n;
    }
    case '$float': {
      leafOnly(el, ctx, path);
      const t = el.text.trim();
      if (!FLOAT.test(t)) throw new InvalidContent(path, `number expected in <${el.name}>, found '${clip(t)}'`);
      return t === 'INF' ? Infinity : t === '-INF' ? -Infinity : Number(t);
    }
    case '$bool': {
      leafOnly(el, ctx, path);
      const t = el.text.trim();
      if (t === 'true' || t === '1') return true;
      if (t === 'false' || t === '0') return false;
      throw new InvalidContent(path, `boolean expected in <${el.name}>, found '${clip(t)}'`);
    }
    default:
      break;
  }
  if (typeRef.charCodeAt(0) === 37 /* % */) {
    leafOnly(el, ctx, path);
    const t = el.text.trim();
    const name = typeRef.slice(1);
    // an unknown value is kept (a newer edition or a vendor may add one); no value at all is not
    // a value of any edition, and could not be written back
    if (t === '') throw new InvalidContent(path, `<${el.name}> is empty; a ${name} value is expected`);
    if (!enumSet(name).has(t)) {
      warn(ctx, 'CSTA_WARN_UNKNOWN_VALUE', path, `'${clip(t)}' is not a ${name} value of the schema; kept`);
    }
    return t;
  }
  const def = SCHEMA.types[typeRef];
  if (def === undefined) throw new InvalidContent(path, `no type ${typeRef} in the model`);
  if (def.k === 'seq') {
    const out: Record<string, unknown> = {};
    decodeSeq(el, typeRef, def.f, out, ctx, path);
    return out;
  }
  return decodeComplex(el, typeRef, def, ctx, path);
}

function decodeComplex(
  el: XmlElement,
  typeName: string,
  def: TypeDef,
  ctx: DecodeContext,
  path: string,
): unknown {
  switch (def.k) {
    case 'seq': {
      const out: Record<string, unknown> = {};
      decodeSeq(el, typeName, def.f, out, ctx, path);
      return out;
    }
    case 'text':
      return decodeText(el, def.a, ctx, path);
    case 'raw':
      return rawContent(el, ctx);
    case 'empty':
      return true;
    case 'conn':
      return decodeConnection(el, typeName, def.f, ctx, path);
    case 'choice':
      return decodeChoice(el, typeName, def.f, ctx, path);
    case 'choiceList': {
      const ix = indexOf(typeName, def.f);
      const out: unknown[] = [];
      for (const c of el.children) {
        const f = ix.get(c.name);
        if (f === undefined) {
          warn(ctx, 'CSTA_WARN_UNKNOWN_ELEMENT', path + '/' + c.name, `<${c.name}> is not an alternative of ${typeName}; ignored`);
          continue;
        }
        out.push({ [f.n]: decodeValue(c, f.t, ctx, path + '/' + c.name) });
      }
      return out;
    }
  }
}

function decodeChoice(
  el: XmlElement,
  typeName: string,
  alts: readonly FieldDef[],
  ctx: DecodeContext,
  path: string,
): Record<string, unknown> {
  const ix = indexOf(typeName, alts);
  let chosen: Record<string, unknown> | undefined;
  for (const c of el.children) {
    const f = ix.get(c.name);
    const cpath = path + '/' + c.name;
    if (f === undefined) {
      warn(ctx, 'CSTA_WARN_UNKNOWN_ELEMENT', cpath, `<${c.name}> is not an alternative of ${typeName}; ignored`);
      continue;
    }
    if (chosen !== undefined) {
      warn(ctx, 'CSTA_WARN_DUPLICATE', cpath, `${typeName} holds one alternative; <${c.name}> ignored`);
      continue;
    }
    chosen = { [f.n]: decodeValue(c, f.t, ctx, cpath) };
  }
  if (chosen !== undefined) return chosen;
  // Field quirk: a device written as plain text where the schema wants a wrapper
  // (`<callingDevice>1001</callingDevice>` in an event). Accept it as the device alternative.
  const text = el.text.trim();
  if (el.children.length === 0 && text !== '') {
    const dev = alts.find((a) => a.t === 'DeviceID');
    if (dev !== undefined) {
      warn(ctx, 'CSTA_WARN_SHAPE', path, `plain text in <${el.name}> read as <${dev.n}>`);
      return { [dev.n]: text };
    }
  }
  throw new InvalidContent(path, `<${el.name}> must hold one of ${alts.map((a) => `<${a.n}>`).join(', ')}`);
}

function decodeConnection(
  el: XmlElement,
  typeName: string,
  fields: readonly FieldDef[],
  ctx: DecodeContext,
  path: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  decodeSeq(el, typeName, fields, out, ctx, path, true);
  if (out['callID'] === undefined && out['deviceID'] === undefined) {
    // Field quirk (Yealink): the callID as bare text of the wrapper.
    const text = el.text.trim();
    if (el.children.length === 0 && text !== '') {
      warn(ctx, 'CSTA_WARN_SHAPE', path, `plain text in <${el.name}> read as <callID>`);
      return { callID: text };
    }
    throw new InvalidContent(path, `<${el.name}> must hold <callID>, <deviceID> or both`);
  }
  return out;
}

function decodeText(
  el: XmlElement,
  attrs: readonly FieldDef[],
  ctx: DecodeContext,
  path: string,
): unknown {
  leafOnly(el, ctx, path);
  if (el.attrs.length === 0) return el.text;
  const out: Record<string, unknown> = { value: el.text };
  let any = false;
  for (const a of el.attrs) {
    const f = a.prefix === '' ? attrs.find((x) => x.n === a.name) : undefined;
    if (f === undefined) {
      warn(ctx, 'CSTA_WARN_ATTRIBUTE', path, `attribute ${a.prefix ? a.prefix + ':' : ''}${a.name} ignored`);
      continue;
    }
    any = true;
    out[f.n] = decodeAttr(a.value, f, path);
  }
  return any ? out : el.text;
}

function decodeAttr(value: string, f: FieldDef, path: string): unknown {
  if (f.t === '$int') {
    const t = value.trim();
    const n = INT.test(t) ? Number(t) : NaN;
    if (!Number.isSafeInteger(n)) throw new InvalidContent(path, `integer expected in attribute ${f.n}, found '${clip(t)}'`);
    return n;
  }
  return value;
}

function leafOnly(el: XmlElement, ctx: DecodeContext, path: string): void {
  if (el.children.length > 0) {
    warn(ctx, 'CSTA_WARN_SHAPE', path, `child elements of <${el.name}> ignored: it holds a value`);
  }
}

/**
 * The inner XML of an element, byte for byte as received, made self-contained: a prefix that the
 * fragment uses but an ancestor declared (`xmlns:lcs` on the root) is declared again on the
 * fragment's top element, so that the fragment stays well-formed wherever it is written back.
 */
function rawContent(el: XmlElement, ctx: DecodeContext): string {
  const src = ctx.source;
  let out = '';
  let pos = el.innerStart;
  for (const top of el.children) {
    const missing = undeclaredPrefixes(top);
    if (missing.size === 0) continue;
    const nameEnd = top.start + 1 + (top.prefix === '' ? 0 : top.prefix.length + 1) + top.name.length;
    out += src.slice(pos, nameEnd);
    for (const [p, uri] of missing) out += ` xmlns:${p}="${escapeAttr(uri)}"`;
    pos = nameEnd;
  }
  return out + src.slice(pos, el.innerEnd);
}

/** Prefixes used in a subtree (elements and attributes) and not declared inside it, with their URIs. */
function undeclaredPrefixes(top: XmlElement): Map<string, string> {
  const missing = new Map<string, string>();
  const stack: { el: XmlElement; declared: ReadonlySet<string> }[] = [{ el: top, declared: new Set() }];
  while (stack.length > 0) {
    const { el, declared: outer } = stack.pop()!;
    let declared = outer;
    if (el.nsDecls.size > 0) {
      const d = new Set(outer);
      for (const p of el.nsDecls.keys()) d.add(p);
      declared = d;
    }
    if (el.prefix !== '' && !declared.has(el.prefix) && el.ns !== undefined) missing.set(el.prefix, el.ns);
    for (const a of el.attrs) {
      if (a.prefix !== '' && a.prefix !== 'xml' && !declared.has(a.prefix) && a.ns !== undefined) missing.set(a.prefix, a.ns);
    }
    for (const c of el.children) stack.push({ el: c, declared });
  }
  return missing;
}

function clip(s: string): string {
  return s.length > 40 ? s.slice(0, 40) + '…' : s;
}
