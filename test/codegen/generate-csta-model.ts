/**
 * Generates the typed ECMA-323 model (`src/csta/model/schema.ts` and `src/csta/model/types.ts`)
 * from the ed3 and ed6 element models in `test/codegen/data/`.
 *
 * @remarks
 * The data files are the machine-readable ECMA-323 ed3 and ed6 element models (element names,
 * child order, types, enumerations; extracted from xsd.exe output of the ECMA schemas), plus
 * `digest-mandatory.json`: the mandatory children of the elements a uaCSTA stack uses, taken from
 * the M/O columns of the project's uaCSTA digest (the xsd.exe output records `minOccurs` only for
 * value types). Run `npm run generate`; `test/codegen/generated.test.ts` fails when the committed
 * output differs from what this script produces.
 *
 * Merge rules (ed3 is the base; ed6 adds):
 * - every ed3 type and child, in ed3 order, with ed6-only children inserted where ed6 puts them
 *   and marked with the edition that introduced them (ed6; `ringDuration` and the
 *   `DeflectCall/newDestination` device list ed5, as the digest says);
 * - renamed children (`LampMode` → `lampMode`, `MaxDeviceHistoryEntries`, the `Profiles` flags)
 *   keep one field with an ed6 wire name;
 * - enumerations are the union of both editions;
 * - the ed6 model maps the element `SnapshotCallData` to the list type (an extraction defect);
 *   the ed3 mapping (the segment structure) is used for both.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

interface ModelChild {
  name?: string;
  type?: string;
  optional?: boolean;
  default?: string;
  listItem?: string;
  repeated?: boolean;
  xsdType?: string;
  any?: boolean;
  choice?: ModelChild[];
}
interface ModelType {
  children: ModelChild[];
  attributes?: ModelChild[];
  text?: string;
  extends?: string;
}
interface Model {
  namespace: string;
  elements: Record<string, string>;
  types: Record<string, ModelType>;
  enums: Record<string, string[]>;
}

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');

function load(name: string): Model {
  return JSON.parse(readFileSync(join(here, 'data', name), 'utf8')) as Model;
}

/** Renames that make the two editions' type names line up (see the file comment). */
const ED3_TYPE_RENAMES: Record<string, string> = {
  SnapshotCallData: 'SnapshotCallDataList',
  SnapshotCallData1: 'SnapshotCallData',
};

/** Children renamed between ed3 and ed6: ed3 wire name → [field name, ed6 wire name]. */
const RENAMED_CHILDREN: Record<string, Record<string, [string, string]>> = {
  SetLampMode: { LampMode: ['lampMode', 'lampMode'] },
  GetSwitchingFunctionCapsResponse: {
    MaxDeviceHistoryEntries: ['maxDeviceHistoryEntries', 'maxDeviceHistoryEntries'],
  },
  Profiles: {
    minimalEndpointCallControlProfile: ['minimalEndpointCallControlProfile', 'minimalUACSTACallControlProfile'],
    basicEndpointCallControlProfile: ['basicEndpointCallControlProfile', 'basicUACSTAtCallControlProfile'],
    advancedEndpointCallControlProfile: ['advancedEndpointCallControlProfile', 'advancedUACSTACallControlProfile'],
    conferencingEndpointCallControlProfile: [
      'conferencingEndpointCallControlProfile',
      'conferencingUACSTACallControlProfile',
    ],
    basicEndpointDeviceProfile: ['basicEndpointDeviceProfile', 'basicUACSTADeviceFeatureProfile'],
    advancedEndpointDeviceProfile: ['advancedEndpointDeviceProfile', 'speakerUACSTADeviceFeatureProfile'],
  },
};

/** ed6-only children the digest dates to ed5 (§6.2: "emit ringDuration … only when talking ed5/ed6"). */
const SINCE_ED5 = new Set(['ringDuration']);

function renameEd3(m: Model): Model {
  const types: Record<string, ModelType> = {};
  const rn = (t: string | undefined): string | undefined => (t && ED3_TYPE_RENAMES[t]) ?? t;
  const fixChild = (c: ModelChild): ModelChild => ({
    ...c,
    ...(c.type !== undefined ? { type: rn(c.type) } : {}),
    ...(c.choice ? { choice: c.choice.map(fixChild) } : {}),
  });
  for (const [name, t] of Object.entries(m.types)) {
    types[rn(name) ?? name] = {
      ...t,
      children: t.children.map(fixChild),
      ...(t.extends ? { extends: rn(t.extends) } : {}),
    };
  }
  const elements: Record<string, string> = {};
  for (const [e, t] of Object.entries(m.elements)) elements[e] = rn(t) ?? t;
  return { ...m, types, elements };
}

// ---------------------------------------------------------------------------------------------
// The merged schema, in the runtime form of src/csta/model/schema-types.ts.

type Prim = '$string' | '$hex' | '$int' | '$float' | '$bool' | '$raw' | '$empty';

interface OutField {
  n: string; // wire name (ed2–ed5)
  f?: string; // field name when it differs from n
  w6?: string; // ed6 wire name when it differs
  t: string; // type name, Prim, or '%Enum'
  m?: 1; // mandatory
  l?: string; // list wrapper item element name
  l5?: string; // list wrapper item from ed5 on (plain element before)
  r?: 1; // repeated element
  s?: number; // edition that introduced it
}
type OutType =
  | { k: 'seq'; f: OutField[] }
  | { k: 'choice'; f: OutField[] }
  | { k: 'choiceList'; f: OutField[] }
  | { k: 'conn'; f: OutField[] }
  | { k: 'text'; a: OutField[] }
  | { k: 'raw' }
  | { k: 'empty' };

const ed3 = renameEd3(load('ecma323-ed3-model.json'));
const ed6 = load('ecma323-ed6-model.json');
ed6.elements['SnapshotCallData'] = 'SnapshotCallData';
const mandatoryByElement = JSON.parse(
  readFileSync(join(here, 'data', 'digest-mandatory.json'), 'utf8'),
) as Record<string, string[]>;

const enums: Record<string, string[]> = {};
for (const m of [ed3, ed6]) {
  for (const [name, values] of Object.entries(m.enums)) {
    const have = enums[name] ?? [];
    for (const v of values) if (!have.includes(v)) have.push(v);
    enums[name] = have;
  }
}

function resolveExtends(m: Model, name: string): string {
  let t = m.types[name];
  let n = name;
  while (t && t.extends && t.children.length === 0 && !t.attributes) {
    n = t.extends;
    t = m.types[n];
  }
  return n;
}

/** Aliases: types that only extend another without adding anything. */
const aliases: Record<string, string> = {};
for (const m of [ed3, ed6]) {
  for (const name of Object.keys(m.types)) {
    const r = resolveExtends(m, name);
    if (r !== name) aliases[name] = r;
  }
}

function typeRef(c: ModelChild, m: Model): string {
  const xsd = c.xsdType;
  if (xsd === 'integer' || xsd === 'nonNegativeInteger') return '$int';
  if (xsd === 'hexBinary') return '$hex';
  if (xsd === 'language') return '$string';
  const t = c.type ?? 'string';
  switch (t) {
    case 'string':
      return '$string';
    case 'hexBinary':
      return '$hex';
    case 'integer':
      return '$int';
    case 'float':
      return '$float';
    case 'boolean':
      return '$bool';
    case 'any':
    case 'anyElement':
      return '$raw';
    default:
      break;
  }
  if (m.enums[t] || enums[t]) return `%${t}`;
  const base = aliases[t] ?? t;
  if (base === 'Empty') return '$empty';
  return base;
}

const VALUE_PRIMS = new Set(['$int', '$float', '$bool']);

function convertType(name: string, t: ModelType, m: Model, other: ModelType | undefined): OutType {
  if (t.text !== undefined) {
    const a: OutField[] = (t.attributes ?? []).map((x) => ({ n: x.name ?? '', t: typeRef(x, m) }));
    return { k: 'text', a };
  }
  const kids = t.children.filter((c) => c.type !== 'System.Xml.XmlAttribute');
  if (kids.length === 0) return { k: 'empty' };
  if (kids.length === 1 && kids[0]!.any) return { k: 'raw' };
  const only = kids[0]!;
  if (kids.length === 1 && only.choice) {
    const f = only.choice.map((c) => ({ n: c.name ?? '', t: typeRef(c, m) }));
    if (name === 'ConnectionID') {
      // ECMA-323: <callID>? then <deviceID>?, at least one (xsd.exe shows a repeated choice).
      const order = ['callID', 'deviceID'];
      f.sort((x, y) => order.indexOf(x.n) - order.indexOf(y.n));
      return { k: 'conn', f };
    }
    return { k: only.repeated ? 'choiceList' : 'choice', f };
  }
  void other;
  return { k: 'seq', f: kids.map((c) => convertChild(c, m)) };
}

function convertChild(c: ModelChild, m: Model): OutField {
  const f: OutField = { n: c.name ?? '', t: typeRef(c, m) };
  if (c.listItem) f.l = c.listItem;
  if (c.repeated) f.r = 1;
  if (
    (VALUE_PRIMS.has(f.t) || f.t.startsWith('%')) &&
    !c.optional &&
    c.default === undefined &&
    !c.listItem &&
    !c.repeated &&
    !c.xsdType
  ) {
    f.m = 1;
  }
  return f;
}

/** Merges the ed6 sequence into the ed3 one: ed3 order, ed6-only children inserted in place. */
function mergeSeq(typeName: string, a: OutField[], b: OutField[] | undefined): OutField[] {
  const renamed = RENAMED_CHILDREN[typeName] ?? {};
  const out: OutField[] = a.map((x) => {
    const r = renamed[x.n];
    if (!r) return { ...x };
    const y: OutField = { ...x, w6: r[1] };
    if (r[0] !== x.n) y.f = r[0];
    return y;
  });
  if (!b) return out;
  const ed6Names = new Set(Object.values(renamed).map((r) => r[1]));
  const known = new Set(a.map((x) => x.n));
  let insertAt = 0;
  for (const y of b) {
    const idx = out.findIndex((x) => x.n === y.n || x.w6 === y.n);
    if (idx >= 0) {
      const x = out[idx]!;
      if (y.l && !x.l) x.l5 = y.l; // DeflectCall/newDestination becomes a <device> list
      insertAt = idx + 1;
      continue;
    }
    if (known.has(y.n) || ed6Names.has(y.n)) continue;
    const added: OutField = { ...y, s: SINCE_ED5.has(y.n) ? 5 : 6 };
    delete added.m; // an element added in ed6 cannot be mandatory for older peers
    out.splice(insertAt, 0, added);
    insertAt++;
  }
  return out;
}

const types: Record<string, OutType> = {};
const typeSince: Record<string, number> = {};
const allTypeNames = new Set([...Object.keys(ed3.types), ...Object.keys(ed6.types)]);
for (const name of [...allTypeNames].sort()) {
  if (aliases[name]) continue;
  const a = ed3.types[name];
  const b = ed6.types[name];
  const base = a ?? b!;
  const m = a ? ed3 : ed6;
  const ta = convertType(name, base, m, b);
  if (!a) typeSince[name] = 6;
  if (a && b && ta.k === 'seq') {
    const tb = convertType(name, b, ed6, undefined);
    ta.f = mergeSeq(name, ta.f, tb.k === 'seq' ? tb.f : undefined);
  } else if (ta.k === 'seq') {
    ta.f = mergeSeq(name, ta.f, undefined);
  }
  if (a && b && ta.k === 'text' && b.attributes) {
    // attribute enumerations grew (switchingSubDomainCCIEType gains 'sip'); the names are the same
  }
  types[name] = ta;
}

// Global elements: messages are the upper-case ones (services, responses, events); the
// lower-case globals are children declared globally and are not roots of a CSTA message.
const elements: Record<string, string> = {};
const elementSince: Record<string, number> = {};
for (const m of [ed3, ed6]) {
  for (const [e, t] of Object.entries(m.elements)) {
    if (elements[e]) continue;
    elements[e] = aliases[t] ?? t;
    if (m === ed6) elementSince[e] = 6;
  }
}

// Mandatory children from the digest (it names elements; apply to each element's type).
const conflicts: string[] = [];
for (const [element, mandatory] of Object.entries(mandatoryByElement)) {
  const tn = elements[element];
  const t = tn ? types[tn] : undefined;
  if (!t || t.k !== 'seq') {
    conflicts.push(`digest names ${element}, which is not a sequence type in the model`);
    continue;
  }
  for (const f of t.f) {
    if (mandatory.includes(f.n)) f.m = 1;
    else if (f.m && f.s === undefined) {
      // the digest says O for a value type the model marks required: the digest was checked
      // against traffic, keep it optional
      delete f.m;
      conflicts.push(`${element}/${f.n}: model says required, digest says optional (kept optional)`);
    }
  }
  for (const n of mandatory) {
    if (!t.f.some((f) => f.n === n)) conflicts.push(`${element}/${n}: mandatory in digest, not in model`);
  }
}

// ---------------------------------------------------------------------------------------------
// Output 1: the runtime schema table.

const messageNames = Object.keys(elements)
  .filter((e) => /^[A-Z]/.test(e))
  .sort();

function schemaSource(): string {
  const lines: string[] = [];
  lines.push('// Generated by test/codegen/generate-csta-model.ts from the ECMA-323 ed3 and ed6 element');
  lines.push('// models. Do not edit: change the generator and run `npm run generate`.');
  lines.push("import type { SchemaTable } from './schema-types.js';");
  lines.push('');
  lines.push('/** The merged ECMA-323 ed3 + ed6 element model (see docs/csta-model.md). */');
  lines.push('export const SCHEMA: SchemaTable = {');
  lines.push('  elements: {');
  for (const e of messageNames) {
    const since = elementSince[e];
    lines.push(`    ${e}: ${since ? `{ t: '${elements[e]}', s: ${since} }` : `{ t: '${elements[e]}' }`},`);
  }
  lines.push('  },');
  lines.push('  types: {');
  for (const [name, t] of Object.entries(types)) {
    lines.push(`    ${name}: ${JSON.stringify(t).replace(/"([a-zA-Z0-9]+)":/g, '$1:').replace(/"/g, "'")},`);
  }
  lines.push('  },');
  lines.push('  enums: {');
  for (const [name, values] of Object.entries(enums).sort()) {
    lines.push(`    ${name}: ${JSON.stringify(values).replace(/"/g, "'")},`);
  }
  lines.push('  },');
  lines.push('};');
  lines.push('');
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Output 2: TypeScript types.

/** Interface name of a type's content; `Fields` is appended when an element of the same name exists. */
function contentName(t: string): string {
  return messageNames.includes(t) ? `${t}Fields` : t;
}

function tsType(ref: string): string {
  switch (ref) {
    case '$string':
    case '$hex':
    case '$raw':
      return 'string';
    case '$int':
    case '$float':
      return 'number';
    case '$bool':
      return 'boolean';
    case '$empty':
      return 'true';
    default:
      if (ref.startsWith('%')) return `Known<${ref.slice(1)}>`;
      return contentName(ref);
  }
}

function fieldTs(f: OutField): string {
  let t = tsType(f.t);
  if (f.l5) t = `${t} | readonly ${t}[]`;
  else if (f.l || f.r) t = `readonly ${t}[]`;
  const name = f.f ?? f.n;
  const doc: string[] = [];
  if (f.s) doc.push(`since ed${f.s}`);
  if (f.w6) doc.push(`ed6 element <${f.w6}>`);
  if (f.f) doc.push(`element <${f.n}>`);
  if (f.l5) doc.push(`ed5+: a <${f.l5}> list`);
  const comment = doc.length ? ` // ${doc.join('; ')}` : '';
  return `  readonly ${name}${f.m ? '' : '?'}: ${t};${comment}`;
}

function typesSource(): string {
  const out: string[] = [];
  out.push('// Generated by test/codegen/generate-csta-model.ts from the ECMA-323 ed3 and ed6 element');
  out.push('// models. Do not edit: change the generator and run `npm run generate`.');
  out.push('/* eslint-disable */');
  out.push('');
  out.push('/** A value of an enumeration: one of the schema values, or (as real phones send) another string. */');
  out.push('export type Known<T extends string> = T | (string & Record<never, never>);');
  out.push('');
  out.push("/** The ECMA-323 editions the codec reads and writes. */");
  out.push("export type Edition = 'ed2' | 'ed3' | 'ed4' | 'ed5' | 'ed6';");
  out.push('');
  for (const [name, values] of Object.entries(enums).sort()) {
    out.push(`export type ${name} =`);
    for (const v of values) out.push(`  | '${v}'`);
    out[out.length - 1] += ';';
  }
  out.push('');
  for (const [name, aliasOf] of Object.entries(aliases).sort()) {
    if (aliasOf === 'Empty') continue;
    if (messageNames.includes(name)) continue;
    out.push(`export type ${name} = ${contentName(aliasOf)};`);
  }
  out.push('');
  for (const [name, t] of Object.entries(types)) {
    const cn = contentName(name);
    switch (t.k) {
      case 'empty':
        out.push(`export type ${cn} = true;`);
        break;
      case 'raw':
        out.push(`/** Raw XML content, kept byte for byte. */`);
        out.push(`export type ${cn} = string;`);
        break;
      case 'text': {
        out.push(`export interface ${cn}Value {`);
        out.push('  readonly value: string;');
        for (const a of t.a) out.push(`  readonly ${a.n}?: ${tsType(a.t)};`);
        out.push('}');
        out.push(`/** The text of the element, or an object when it carries attributes. */`);
        out.push(`export type ${cn} = string | ${cn}Value;`);
        break;
      }
      case 'choice':
        out.push(`export type ${cn} =`);
        for (const f of t.f) out.push(`  | { readonly ${f.n}: ${tsType(f.t)} }`);
        out[out.length - 1] += ';';
        break;
      case 'choiceList':
        out.push(`export type ${cn} = readonly (`);
        for (const f of t.f) out.push(`  | { readonly ${f.n}: ${tsType(f.t)} }`);
        out.push(')[];');
        break;
      case 'conn':
        out.push(`/** At least one of \`callID\` and \`deviceID\` (ECMA-323 ConnectionID). */`);
        out.push(`export interface ${cn} {`);
        for (const f of t.f) out.push(`  readonly ${f.n}?: ${tsType(f.t)};`);
        out.push('}');
        break;
      case 'seq':
        out.push(`export interface ${cn} {`);
        for (const f of t.f) out.push(fieldTs(f));
        out.push('}');
        break;
    }
  }
  out.push('');
  out.push('/** What every decoded message carries besides its fields. */');
  out.push('export interface CstaEnvelope<T extends string> {');
  out.push('  /** The ECMA-323 root element name. */');
  out.push('  readonly type: T;');
  out.push('  /** The edition the message was read in, or is to be written in. */');
  out.push('  readonly edition?: Edition;');
  out.push('}');
  out.push('');
  for (const e of messageNames) {
    const t = elements[e]!;
    const tt = types[t];
    const since = elementSince[e] ? ` (since ed${elementSince[e]})` : '';
    out.push(`/** ECMA-323 \`<${e}>\`${since}. */`);
    if (tt && (tt.k === 'choice' || tt.k === 'empty')) {
      // a message whose content is a choice: the envelope plus one of the alternatives
      out.push(`export type ${e} = CstaEnvelope<'${e}'> & ${tt.k === 'empty' ? 'Record<never, never>' : contentName(t)};`);
    } else {
      out.push(`export interface ${e} extends CstaEnvelope<'${e}'>, ${contentName(t)} {}`);
    }
  }
  out.push('');
  out.push('/** A well-formed CSTA document whose root element the model does not know. */');
  out.push("export interface UnknownCstaMessage extends CstaEnvelope<'Unknown'> {");
  out.push('  /** Local name of the root element. */');
  out.push('  readonly root: string;');
  out.push('  /** The whole document as received. */');
  out.push('  readonly xml: string;');
  out.push('}');
  out.push('');
  out.push('/** Every ECMA-323 message (root element) the codec reads and writes. */');
  out.push('export type CstaMessage =');
  for (const e of messageNames) out.push(`  | ${e}`);
  out.push('  | UnknownCstaMessage;');
  out.push('');
  out.push('/** The root element names of {@link CstaMessage}. */');
  out.push("export type CstaMessageType = CstaMessage['type'];");
  out.push('');
  out.push('/**');
  out.push(' * Every service whose request element `X` has a positive response element `XResponse`:');
  out.push(" * `request({ type: 'MakeCall', … })` resolves with a `MakeCallResponse`.");
  out.push(' */');
  out.push('export interface CstaServiceMap {');
  for (const e of messageNames) {
    if (messageNames.includes(`${e}Response`)) {
      out.push(`  ${e}: { readonly request: ${e}; readonly response: ${e}Response };`);
    }
  }
  out.push('}');
  out.push('');
  return out.join('\n');
}

/** The generated files: path relative to the project root → content. */
export function generate(): Record<string, string> {
  return {
    'src/csta/model/schema.ts': schemaSource(),
    'src/csta/model/types.ts': typesSource(),
  };
}

/** Notes for whoever runs the generator: where the digest and the model disagree. */
export const GENERATOR_NOTES: readonly string[] = conflicts;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const [path, text] of Object.entries(generate())) {
    writeFileSync(join(root, path), text);
    process.stdout.write(`wrote ${path} (${text.length} bytes)\n`);
  }
  for (const c of conflicts) process.stdout.write(`note: ${c}\n`);
}
