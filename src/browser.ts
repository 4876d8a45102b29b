/**
 * The browser entry point: the pure parts only (no `node:*`, no `Buffer`, no `process`).
 */
export { parseCsta, serializeCsta, CstaParseError, SCHEMA, DEFAULT_EDITION, EDITIONS, editionOfNamespace, namespaceOf } from './csta/index.js';
export type { CstaParseResult, ParseCstaOptions, SerializeCstaOptions, CstaWarning, NamespaceInfo } from './csta/index.js';
export type { CstaMessage, CstaMessageType, CstaServiceMap, Edition, Known, UnknownCstaMessage } from './csta/model/types.js';
export { UaCstaError, isUaCstaError, ERROR_DOCS } from './errors.js';
export type { ErrorCode } from './errors.js';
