/**
 * Writes typed ECMA-323 values as XML, guided by the generated schema table.
 *
 * @remarks
 * Child order follows the schema sequence whatever the key order of the object (ECMA-323 XSD
 * `sequence`). XML is produced only here and in `xml/write.ts`, which escapes by construction.
 * A value that does not fit the model (unknown field, missing mandatory field, wrong type, a
 * child the chosen edition does not have) is programmer misuse: `CSTA_ERR_SERIALIZE` is thrown.
 */
import type { FieldDef } from './model/schema-types.js';
import { SCHEMA } from './model/schema.js';
import { escapeAttr, escapeText } from './xml/write.js';
import { readXml } from './xml/read.js';
import { UaCstaError } from '../errors.js';

/** Settings of one encode run. */
export interface EncodeContext {
  /** Edition number (2–6) being written. */
  readonly edition: number;
}

function fail(path: string, message: string): never {
  throw new UaCstaError('CSTA_ERR_SERIALIZE', `${path}: ${message}`);
}

/** A field that the edition being written does not have; `needs` is the first edition with it. */
export class EditionTooOld extends UaCstaError {
  readonly needs: number;
  constructor(path: string, message: string, needs: number) {
    super('CSTA_ERR_SERIALIZE', `${path}: ${message}`);
    this.needs = needs;
  }
}

const fieldMaps = new Map<string, ReadonlyMap<string, FieldDef>>();

/** Field lookup by model field name, built once per type. */
function fieldsByName(typeName: string, fields: readonly FieldDef[]): ReadonlyMap<string, FieldDef> {
  let m = fieldMaps.get(typeName);
  if (m === undefined) {
    const mm = new Map<string, FieldDef>();
    for (const f of fields) mm.set(f.f ?? f.n, f);
    m = mm;
    fieldMaps.set(typeName, m);
  }
  return m;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Encodes the content (children) of an object of the given type.
 *
 * @param skip - keys of `value` that are not fields (the message envelope: `type`, `edition`)
 */
export function encodeContent(
  value: Record<string, unknown>,
  typeName: string,
  ctx: EncodeContext,
  path: string,
  skip?: ReadonlySet<string>,
): string {
  const def = SCHEMA.types[typeName];
  if (def === undefined) fail(path, `no type ${typeName} in the model`);
  switch (def.k) {
    case 'seq':
    case 'conn': {
      const byName = fieldsByName(typeName, def.f);
      for (const key in value) {
        if (skip?.has(key)) continue;
        if (!byName.has(key) && value[key] !== undefined) fail(path, `${typeName} has no field '${key}'`);
      }
      let out = '';
      let count = 0;
      for (const f of def.f) {
        const name = f.f ?? f.n;
        const v = value[name];
        if (v === undefined) {
          if (f.m === 1) fail(path, `mandatory field '${name}' missing`);
          continue;
        }
        count++;
        if (f.s !== undefined && f.s > ctx.edition) {
          throw new EditionTooOld(path, `'${name}' exists from ed${f.s} on; cannot be written in ed${ctx.edition}`, f.s);
        }
        out += encodeField(f, v, ctx, path);
      }
      if (def.k === 'conn' && count === 0) fail(path, 'a ConnectionID needs callID, deviceID or both');
      return out;
    }
    case 'choice': {
      const chosen: string[] = [];
      for (const key in value) {
        if (skip?.has(key) || value[key] === undefined) continue;
        chosen.push(key);
      }
      if (chosen.length !== 1) {
        fail(path, `${typeName} takes exactly one of ${def.f.map((f) => f.n).join(', ')}; found ${chosen.length}`);
      }
      const key = chosen[0]!;
      const f = def.f.find((x) => x.n === key);
      if (f === undefined) fail(path, `${typeName} has no alternative '${key}'`);
      return encodeField(f, value[key], ctx, path);
    }
    case 'empty':
      for (const key in value) {
        if (!skip?.has(key) && value[key] !== undefined) fail(path, `${typeName} has no field '${key}'`);
      }
      return '';
    default:
      fail(path, `${typeName} is not an object type`);
  }
}

function wireName(f: FieldDef, ctx: EncodeContext): string {
  return ctx.edition >= 6 && f.w6 !== undefined ? f.w6 : f.n;
}

function encodeField(f: FieldDef, v: unknown, ctx: EncodeContext, path: string): string {
  const name = wireName(f, ctx);
  const cpath = path + '/' + name;
  if (f.l !== undefined || (f.l5 !== undefined && ctx.edition >= 5)) {
    const item = (f.l ?? f.l5)!;
    const items = f.l5 !== undefined && !Array.isArray(v) ? [v] : v;
    if (!Array.isArray(items)) fail(cpath, 'an array is expected');
    let inner = '';
    for (const x of items) inner += encodeElement(item, x, f.t, ctx, cpath + '/' + item);
    return inner === '' ? `<${name}/>` : `<${name}>${inner}</${name}>`;
  }
  if (f.l5 !== undefined && Array.isArray(v)) {
    // Before ed5 the element holds one device (DeflectCall/newDestination).
    if (v.length !== 1) fail(cpath, `ed${ctx.edition} holds exactly one device; found ${v.length}`);
    return encodeElement(name, v[0], f.t, ctx, cpath);
  }
  if (f.r === 1) {
    if (!Array.isArray(v)) fail(cpath, 'an array is expected');
    let out = '';
    for (const x of v) out += encodeElement(name, x, f.t, ctx, cpath);
    return out;
  }
  return encodeElement(name, v, f.t, ctx, cpath);
}

/** Encodes one element `<name>` holding a value of the given type reference. */
export function encodeElement(
  name: string,
  v: unknown,
  typeRef: string,
  ctx: EncodeContext,
  path: string,
): string {
  switch (typeRef) {
    case '$string':
    case '$hex':
      if (typeof v !== 'string') fail(path, `a string is expected, found ${typeof v}`);
      return v === '' ? `<${name}/>` : `<${name}>${escapeText(v)}</${name}>`;
    case '$raw':
      return encodeRaw(name, v, path);
    case '$int':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) fail(path, `an integer is expected, found ${String(v)}`);
      return `<${name}>${v}</${name}>`;
    case '$float':
      if (typeof v !== 'number') fail(path, `a number is expected, found ${typeof v}`);
      return `<${name}>${v === Infinity ? 'INF' : v === -Infinity ? '-INF' : String(v)}</${name}>`;
    case '$bool':
      if (typeof v !== 'boolean') fail(path, `a boolean is expected, found ${typeof v}`);
      return `<${name}>${v}</${name}>`;
    case '$empty':
      if (v !== true) fail(path, `true is expected for an empty element, found ${String(v)}`);
      return `<${name}/>`;
    default:
      break;
  }
  if (typeRef.charCodeAt(0) === 37 /* % */) {
    if (typeof v !== 'string' || v === '') fail(path, `a ${typeRef.slice(1)} value is expected`);
    return `<${name}>${escapeText(v)}</${name}>`;
  }
  const def = SCHEMA.types[typeRef];
  if (def === undefined) fail(path, `no type ${typeRef} in the model`);
  switch (def.k) {
    case 'text':
      return encodeText(name, v, def.a, path);
    case 'raw':
      return encodeRaw(name, v, path);
    case 'empty':
      if (v !== true) fail(path, `true is expected for an empty element, found ${String(v)}`);
      return `<${name}/>`;
    case 'choiceList': {
      if (!Array.isArray(v)) fail(path, 'an array of one-key objects is expected');
      let inner = '';
      for (const x of v) {
        const keys = isRecord(x) ? Object.keys(x).filter((k) => x[k] !== undefined) : [];
        const f = keys.length === 1 ? def.f.find((a) => a.n === keys[0]) : undefined;
        if (f === undefined) fail(path, `each item of ${typeRef} is an object with one of ${def.f.map((a) => a.n).join(', ')}`);
        inner += encodeField(f, (x as Record<string, unknown>)[f.n], ctx, path);
      }
      return inner === '' ? `<${name}/>` : `<${name}>${inner}</${name}>`;
    }
    default: {
      if (!isRecord(v)) fail(path, `an object of type ${typeRef} is expected, found ${Array.isArray(v) ? 'an array' : typeof v}`);
      const inner = encodeContent(v, typeRef, ctx, path);
      return inner === '' ? `<${name}/>` : `<${name}>${inner}</${name}>`;
    }
  }
}

function encodeText(name: string, v: unknown, attrs: readonly FieldDef[], path: string): string {
  if (typeof v === 'string') return v === '' ? `<${name}/>` : `<${name}>${escapeText(v)}</${name}>`;
  if (!isRecord(v) || typeof v['value'] !== 'string') {
    fail(path, 'a string, or an object with a string `value` and attributes, is expected');
  }
  let open = `<${name}`;
  for (const key in v) {
    if (key === 'value' || v[key] === undefined) continue;
    const a = attrs.find((x) => x.n === key);
    if (a === undefined) fail(path, `no attribute '${key}'`);
    const av = v[key];
    if (a.t === '$int') {
      if (typeof av !== 'number' || !Number.isSafeInteger(av)) fail(path, `attribute ${key}: an integer is expected`);
    } else if (typeof av !== 'string') fail(path, `attribute ${key}: a string is expected`);
  }
  for (const a of attrs) {
    const av = v[a.n];
    if (av !== undefined) open += ` ${a.n}="${escapeAttr(String(av))}"`;
  }
  const text = v['value'] as string;
  return text === '' ? `${open}/>` : `${open}>${escapeText(text)}</${name}>`;
}

/**
 * Writes raw XML content (`privateData/private` and the like) unchanged, after checking that it
 * is a self-contained well-formed fragment: raw text is the one place where the caller writes
 * markup, so it must not be able to close the element or inject siblings.
 */
function encodeRaw(name: string, v: unknown, path: string): string {
  if (typeof v !== 'string') fail(path, `raw XML (a string) is expected, found ${typeof v}`);
  if (v === '') return `<${name}/>`;
  const check = readXml(`<${name}>${v}</${name}>`, { maxXmlBytes: Infinity, maxXmlDepth: Infinity, maxXmlElements: Infinity });
  if (!check.ok) fail(path, `raw content is not a self-contained well-formed XML fragment (${check.error.message})`);
  return `<${name}>${v}</${name}>`;
}
