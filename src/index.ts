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

// SIP stack (Node): message layer, transports, transactions, endpoint, UA core, digest, registrar.
export { parseSipMessage } from './sip/message/parse.js';
export { serializeSipMessage, createRequest, createResponse } from './sip/message/serialize.js';
export type { SipMessage, SipRequest, SipResponse, Via, NameAddr, CSeq } from './sip/message/types.js';
export { SipParseError } from './sip/message/parse-error.js';
export { SIP_LIMITS, TRANSPORT_LIMITS } from './limits.js';
export type { SipLimits } from './limits.js';
export { UdpTransport } from './sip/transport/node/udp.js';
export type { UdpTransportOptions } from './sip/transport/node/udp.js';
export { TcpTransport } from './sip/transport/node/tcp.js';
export type { TcpTransportOptions } from './sip/transport/node/tcp.js';
export { TlsTransport } from './sip/transport/node/tls.js';
export type { TlsTransportOptions } from './sip/transport/node/tls.js';
export { WsTransport } from './sip/transport/node/ws.js';
export type { WsTransportOptions } from './sip/transport/node/ws.js';
export { createMemoryPair, MemoryTransport } from './sip/transport/memory.js';
export type { Transport, TransportTarget, TransportProtocol } from './sip/transport/transport.js';
export { SipEndpoint } from './sip/endpoint.js';
export type { SipEndpointOptions, SipEndpointUser, SipHop } from './sip/endpoint-types.js';
export { UserAgent, DialogHandle } from './sip/ua/user-agent.js';
export type { UserAgentOptions, InviteOptions, InviteHandler, RequestAnswer, DialogTermination } from './sip/ua/user-agent.js';
export { SipResponseError } from './sip/ua/response-error.js';
export type {
  OutOfDialogHandler,
  OutOfDialogRequestOptions,
  ReferHandler,
  DialogRequestHandler,
  TerminationReason,
} from './sip/ua/user-agent.js';
export type { IncomingInvite, ProgressOptions } from './sip/ua/incoming-invite.js';
export type { IncomingRefer, ReferOptions, ReferProgress, ReferSubscription } from './sip/ua/refer.js';
export { formatReplaces, parseReplaces, replacesFor, type Replaces } from './sip/dialog/replaces.js';
export { DigestClient } from './sip/auth/digest-client.js';
export type { DigestClientOptions, DigestCredentialsSupplier } from './sip/auth/digest-client.js';
export { DigestServer } from './sip/auth/digest-server.js';
export type { DigestServerOptions, DigestVerdict, CredentialLookup, AuthPolicy } from './sip/auth/digest-server.js';
export { BindingStore } from './sip/registrar/binding-store.js';
export type { BindingStoreOptions, Binding, RegisterResult } from './sip/registrar/binding-store.js';
export { systemClock, manualClock } from './util/clock.js';
export type { Clock, ManualClock } from './util/clock.js';

// uaCSTA session layer: controller (CstaClient, CstaAssociation), controlled side (CstaServer),
// the CstaChannel seam, and its Node bindings (session mode over INVITE/INFO, style B over NOTIFY).
export { CstaClient, CLIENT_DEFAULTS } from './uacsta/client.js';
export type { CstaClientOptions, CstaClientEvents, CstaClientState, CstaClientTraceEvent, CstaConnectOptions, CstaEvent, CstaEventsOptions, CstaRequestOptions } from './uacsta/client.js';
export { CstaServer } from './uacsta/server.js';
export type { CstaServerOptions, CstaServerState, CstaServerTraceEvent, CstaServiceHandler } from './uacsta/server.js';
export { CstaServiceError, CstaRejectedError } from './uacsta/errors.js';
export type { CstaErrorCategory } from './uacsta/errors.js';
export { CSTA_CONTENT_TYPE, CSTA_CONTENT_DISPOSITION, isCstaContentType } from './uacsta/channel.js';
export type { CstaChannel, CstaChannelAnswer, CstaChannelClosed, CstaChannelFactory, CstaChannelHandler, CstaChannelInit, CstaChannelRequest, CstaChannelResponse, CstaChannelState } from './uacsta/channel.js';
export { CstaAssociation, CstaMonitor, ASSOCIATION_DEFAULTS } from './uacsta/association.js';
export type { CstaAssociationOptions, CstaAssociationEvents, CstaAssociationState, CstaAssociationTraceEvent, CstaMonitorState, CstaRecovery, DeviceResync, RestartedMonitor, ResyncResult } from './uacsta/association.js';
export { createEventStream } from './uacsta/event-stream.js';
export type { EventIterator, EventSink } from './uacsta/event-stream.js';
export { checkSystemStatus, requestSystemStatusBody } from './uacsta/system-status.js';
export { UACSTA_LIMITS } from './limits.js';
export type { UaCstaLimits } from './limits.js';
export { SipCstaChannel, openSipCstaChannel, acceptSipCstaChannels, MAX_HELD_REQUESTS } from './node/sip-csta-channel.js';
export type { OpenSipCstaChannelOptions } from './node/sip-csta-channel.js';
export { connectCsta, openCstaAssociation, sipCstaChannelFactory } from './node/connect-csta.js';
export type { SipOpenOptions } from './node/connect-csta.js';
export { NotifyCstaChannel, openNotifyCstaChannel, acceptNotifyCstaChannels, UACSTA_EVENT_PACKAGE } from './node/notify-csta-channel.js';
export type { NotifyCstaOptions, AcceptNotifyCstaOptions } from './node/notify-csta-channel.js';

// Simulated phone (issue #7): the pure call model and simulator, vendor profiles as data, the
// in-process exchange, and the SIP binding (many phones on one socket).
export { SimulatedPhone, PhoneDevice, PHONE_DEVICE_DEFAULTS, InProcessExchange, PHONE_PROFILES, phoneProfile } from './phone/index.js';
export type {
  CallEndCause,
  CallRejectReason,
  CallSignalling,
  CallSignallingInput,
  PlaceCallRequest,
  ConnectionState,
  DeviceEvent,
  AppliedForwarding,
  LineEvent,
  PhoneDeviceOptions,
  PhoneLine,
  InProcessExchangeOptions,
  CstaChallenge,
  OutOfDialogCsta,
  PhoneProfile,
  PhoneProfileName,
  PhoneControl,
  SimulatedPhoneOptions,
  SimulatedPhoneState,
  SimulatedPhoneTraceEvent,
} from './phone/index.js';
export { SipPhoneHost, parseListenAddress, PHONE_CHALLENGE_REALM, MAX_LINES_PER_PHONE } from './phone/sip/sip-phone-host.js';
export type { SipPhoneHostOptions, SipPhoneOptions, SipPhone, SipPhoneLine, SipPhoneHostLogEvent, SipCredentials, ListenAddress } from './phone/sip/sip-phone-host.js';
export { SipCallSignalling } from './phone/sip/sip-call-signalling.js';
export type { SipCallSignallingOptions, SipCallLogEvent, SipLineBinding } from './phone/sip/sip-call-signalling.js';
