/**
 * The Node entry point of uacsta: explicit named exports, no `export *` of internals.
 *
 * @remarks
 * Today: the ECMA-323 codec and the error model. The SIP stack, the uaCSTA session layer and the
 * simulated phone are exported here as they land.
 */
export { parseCsta, serializeCsta, CstaParseError, SCHEMA, DEFAULT_EDITION, EDITIONS, editionOfNamespace, namespaceOf } from './csta/index.js';
export type { CstaParseResult, ParseCstaOptions, SerializeCstaOptions, CstaWarning, NamespaceInfo } from './csta/index.js';
export type { CstaMessage, CstaMessageType, CstaServiceMap, Edition, Known, UnknownCstaMessage } from './csta/model/types.js';
export { UaCstaError, isUaCstaError, ERROR_DOCS } from './errors.js';
export type { ErrorCode } from './errors.js';
export { CSTA_LIMITS } from './limits.js';
export type { CstaLimits } from './limits.js';
