/**
 * The shape of the generated ECMA-323 schema table (`schema.ts`).
 *
 * @remarks
 * One table drives both `parseCsta` and `serializeCsta`, so that reading and writing cannot
 * disagree about an element, its children or their order (ECMA-323 XSD `sequence`).
 */

/** Built-in value kinds; any other type reference names an entry of {@link SchemaTable.types}, `%Name` an enumeration. */
export type PrimRef = '$string' | '$hex' | '$int' | '$float' | '$bool' | '$raw' | '$empty';

/** One child element (or attribute, in a `text` type) of a type. */
export interface FieldDef {
  /** Wire name in ed2–ed5. */
  readonly n: string;
  /** Field name in the model when it differs from the wire name. */
  readonly f?: string;
  /** Wire name in ed6 when it differs. */
  readonly w6?: string;
  /** Type reference: a {@link PrimRef}, `%Enum`, or a type name. */
  readonly t: string;
  /** Mandatory. */
  readonly m?: 1;
  /** A wrapper element holding repeated `<l>` items; the model holds an array. */
  readonly l?: string;
  /** From ed5 on, a wrapper of `<l5>` items; a plain element before (`DeflectCall/newDestination`). */
  readonly l5?: string;
  /** Repeated directly in the sequence; the model holds an array. */
  readonly r?: 1;
  /** The edition number that introduced the child (5 or 6); absent for ed3 children. */
  readonly s?: number;
}

/** A type of the model, by its content kind. */
export type TypeDef =
  | { readonly k: 'seq'; readonly f: readonly FieldDef[] }
  | { readonly k: 'choice'; readonly f: readonly FieldDef[] }
  | { readonly k: 'choiceList'; readonly f: readonly FieldDef[] }
  | { readonly k: 'conn'; readonly f: readonly FieldDef[] }
  | { readonly k: 'text'; readonly a: readonly FieldDef[] }
  | { readonly k: 'raw' }
  | { readonly k: 'empty' };

/** The whole generated table. */
export interface SchemaTable {
  /** Root elements (messages): element name → its type, and the edition that introduced it. */
  readonly elements: Readonly<Record<string, { readonly t: string; readonly s?: number }>>;
  readonly types: Readonly<Record<string, TypeDef>>;
  readonly enums: Readonly<Record<string, readonly string[]>>;
}
