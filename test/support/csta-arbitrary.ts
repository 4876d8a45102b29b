/**
 * fast-check arbitraries for every ECMA-323 message, built from the generated schema table.
 *
 * @remarks
 * Values are generated from the model (types, enumerations, mandatory children, lists), so the
 * property test covers every element the codec knows without a hand-written generator per type.
 */
import fc from 'fast-check';
import { SCHEMA } from '../../src/csta/model/schema.js';
import type { FieldDef } from '../../src/csta/model/schema-types.js';
import type { CstaMessage, Edition } from '../../src/csta/model/types.js';

const XML_CHAR = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

/** Any XML-legal text, umlauts, euro signs, markup characters and leading zeros included. */
const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => XML_CHAR.test(s)),
  fc.constantFrom('0045', '+4930123', '-12', 'Müller €', 'A&B <c> "d" \'e\'', 'sip:1001@pbx.example.com', ' 7 ', ''),
);
const hex = fc.uint8Array({ maxLength: 6 }).map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(''));
const raw = fc.constantFrom(
  '<lcs:line xmlns:lcs="http://schemas.microsoft.com/Lcs/2005/04/RCCExtension">tel:73124;phone-context=dialstring</lcs:line>',
  '<v:x xmlns:v="urn:vendor"><v:y a="1">Müller &amp; €</v:y><v:z/></v:x>',
  'plain &lt;text&gt;',
);
const float = fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? 0 : d));

/** The largest nesting of optional complex children generated (mandatory ones are always generated). */
const MAX_DEPTH = 4;

const memo = new Map<string, fc.Arbitrary<unknown>>();

/** Arbitraries are memoised per type, depth and edition: building them is otherwise exponential. */
function valueOf(t: string, depth: number, ed: number): fc.Arbitrary<unknown> {
  const key = `${t}|${depth}|${ed}`;
  let a = memo.get(key);
  if (a === undefined) {
    a = buildValue(t, depth, ed);
    memo.set(key, a);
  }
  return a;
}

function buildValue(t: string, depth: number, ed: number): fc.Arbitrary<unknown> {
  switch (t) {
    case '$string':
      return text;
    case '$hex':
      return hex;
    case '$raw':
      return raw;
    case '$int':
      return fc.integer({ min: -2_147_483_648, max: 2_147_483_647 });
    case '$float':
      return float;
    case '$bool':
      return fc.boolean();
    case '$empty':
      return fc.constant(true);
    default:
      break;
  }
  if (t.startsWith('%')) return fc.constantFrom(...(SCHEMA.enums[t.slice(1)] ?? ['x']));
  const def = SCHEMA.types[t];
  if (def === undefined) throw new Error(`no type ${t}`);
  switch (def.k) {
    case 'empty':
      return fc.constant(true);
    case 'raw':
      return raw;
    case 'text': {
      const attrs: Record<string, fc.Arbitrary<unknown>> = {};
      for (const a of def.a) attrs[a.n] = valueOf(a.t, depth + 1, ed);
      const withAttrs = fc
        .record({ value: text, ...attrs }, { requiredKeys: ['value'] })
        .filter((o) => Object.keys(o).length > 1);
      return fc.oneof({ weight: 4, arbitrary: text }, { weight: 1, arbitrary: withAttrs });
    }
    case 'choice':
      return fc.oneof(...def.f.map((f) => valueOf(f.t, depth + 1, ed).map((v) => ({ [f.n]: v }))));
    case 'choiceList':
      return fc.array(fc.oneof(...def.f.map((f) => valueOf(f.t, depth + 1, ed).map((v) => ({ [f.n]: v })))), {
        maxLength: 2,
      });
    case 'conn':
      return fc
        .record({ callID: text, deviceID: valueOf('LocalDeviceID', depth + 1, ed) }, { requiredKeys: [] })
        .filter((o) => Object.keys(o).length > 0);
    case 'seq':
      return seqOf(def.f, depth, ed);
  }
}

function fieldValue(f: FieldDef, depth: number, ed: number): fc.Arbitrary<unknown> {
  const item = valueOf(f.t, depth + 1, ed);
  if (f.l !== undefined || f.r === 1) return fc.array(item, { maxLength: f.m ? 2 : 2, minLength: f.r === 1 ? 1 : 0 });
  if (f.l5 !== undefined) return ed >= 5 ? fc.array(item, { minLength: 1, maxLength: 2 }) : item;
  return item;
}

function seqOf(fields: readonly FieldDef[], depth: number, ed: number): fc.Arbitrary<Record<string, unknown>> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  const required: string[] = [];
  for (const f of fields) {
    if (f.s !== undefined && f.s > ed) continue;
    const name = f.f ?? f.n;
    const complex = !f.t.startsWith('$') && !f.t.startsWith('%');
    if (!f.m && complex && depth >= MAX_DEPTH) continue;
    shape[name] = fieldValue(f, depth, ed);
    if (f.m) required.push(name);
  }
  return fc.record(shape, { requiredKeys: required }) as fc.Arbitrary<Record<string, unknown>>;
}

/** Messages of one root element, written in the given edition. */
export function messageArbitrary(type: string, edition: Edition): fc.Arbitrary<CstaMessage> {
  const el = SCHEMA.elements[type];
  if (el === undefined) throw new Error(`no element ${type}`);
  const ed = Number(edition.slice(2));
  const def = SCHEMA.types[el.t];
  if (def === undefined) throw new Error(`no type ${el.t}`);
  const content: fc.Arbitrary<Record<string, unknown>> =
    def.k === 'seq'
      ? seqOf(def.f, 0, ed)
      : def.k === 'empty'
        ? fc.constant({})
        : (valueOf(el.t, 0, ed) as fc.Arbitrary<Record<string, unknown>>);
  return content.map((c) => ({ type, edition, ...c }) as unknown as CstaMessage);
}

/** Every root element the model knows, with the editions it exists in. */
export function allMessageTypes(): { type: string; since: number }[] {
  return Object.entries(SCHEMA.elements).map(([type, e]) => ({ type, since: e.s ?? 2 }));
}
