/**
 * ECMA-323 codec: the typed model of CSTA XML and its pure parse/serialize functions.
 *
 * @remarks
 * ECMA-323 (XML protocol for CSTA Phase III), ECMA-269 (semantics). Pure: no I/O, no timers, no
 * `node:*`; runs in browsers.
 */
export { parseCsta, CstaParseError } from './parse.js';
export type { CstaParseResult, ParseCstaOptions } from './parse.js';
export { serializeCsta } from './serialize.js';
export type { SerializeCstaOptions } from './serialize.js';
export type { CstaWarning } from './decode.js';
export { DEFAULT_EDITION, EDITIONS, editionOfNamespace, namespaceOf } from './namespace.js';
export type { NamespaceInfo } from './namespace.js';
export { SCHEMA } from './model/schema.js';
export type * from './model/types.js';
