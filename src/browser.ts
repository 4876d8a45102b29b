/**
 * The browser entry point: the pure parts only (no `node:*`, no `Buffer`, no `process`).
 */
export { parseCsta, serializeCsta, CstaParseError, SCHEMA, DEFAULT_EDITION, EDITIONS, editionOfNamespace, namespaceOf } from './csta/index.js';
export type { CstaParseResult, ParseCstaOptions, SerializeCstaOptions, CstaWarning, NamespaceInfo } from './csta/index.js';
export type { CstaMessage, CstaMessageType, CstaServiceMap, Edition, Known, UnknownCstaMessage } from './csta/model/types.js';
export { UaCstaError, isUaCstaError, ERROR_DOCS } from './errors.js';
export type { ErrorCode } from './errors.js';
// uaCSTA session layer (runtime-neutral); the sip.js adapter is the separate entry `uacsta/sipjs`
export { CstaClient } from './uacsta/client.js';
export type { CstaClientOptions, CstaClientEvents, CstaEvent } from './uacsta/client.js';
export { CstaServer } from './uacsta/server.js';
export type { CstaServerOptions, CstaServiceHandler } from './uacsta/server.js';
export { CstaServiceError, CstaRejectedError } from './uacsta/errors.js';
export { CSTA_CONTENT_TYPE, CSTA_CONTENT_DISPOSITION } from './uacsta/channel.js';
export type { CstaChannel, CstaChannelAnswer, CstaChannelRequest, CstaChannelResponse, CstaChannelHandler } from './uacsta/channel.js';
export type { CstaChannelFactory, CstaChannelInit } from './uacsta/channel.js';
export { CLIENT_DEFAULTS } from './uacsta/client.js';
export type { CstaConnectOptions, CstaEventsOptions, CstaRequestOptions } from './uacsta/client.js';
export { CstaAssociation, CstaMonitor, ASSOCIATION_DEFAULTS } from './uacsta/association.js';
export type {
  CstaAssociationOptions,
  CstaAssociationEvents,
  CstaAssociationState,
  CstaAssociationTraceEvent,
  CstaMonitorState,
  CstaRecovery,
  DeviceResync,
  RestartedMonitor,
  ResyncResult,
} from './uacsta/association.js';
export { createEventStream } from './uacsta/event-stream.js';
export type { EventIterator, EventSink } from './uacsta/event-stream.js';
export { checkSystemStatus, requestSystemStatusBody } from './uacsta/system-status.js';
export { UACSTA_LIMITS } from './limits.js';
export type { UaCstaLimits } from './limits.js';
