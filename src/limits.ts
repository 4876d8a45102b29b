/**
 * Every default limit of the stack, in one place.
 *
 * @remarks
 * Untrusted input never grows without bound (STYLE §7). Each limit is an option with the default
 * given here; a limit is lifted only with an explicit `Infinity`, never with `0`.
 */

/** Limits of the ECMA-323 reader (`src/csta/xml/read.ts`). */
export const CSTA_LIMITS = {
  /** Largest CSTA body in bytes. A CSTA body is a few kilobytes; 64 KiB leaves ample room. */
  maxXmlBytes: 65_536,
  /** Deepest element nesting. The deepest ECMA-323 structure used in practice is under 12. */
  maxXmlDepth: 32,
  /** Most elements in one document. */
  maxXmlElements: 4_096,
  /** Most attributes on one element. */
  maxXmlAttributes: 32,
} as const;

/** The shape of {@link CSTA_LIMITS}, for options that override some of them. */
export interface CstaLimits {
  readonly maxXmlBytes: number;
  readonly maxXmlDepth: number;
  readonly maxXmlElements: number;
  readonly maxXmlAttributes: number;
}

/**
 * Limits of the SIP message layer (`src/sip/message/`) and of the stream framer.
 *
 * @remarks
 * Counted in bytes and in items (STYLE §7). Over a limit, a datagram is dropped and a stream
 * connection is closed (`SIP_ERR_LIMIT`).
 */
export const SIP_LIMITS = {
  /** Largest whole message (start line, headers and body) in bytes: the largest UDP payload. */
  maxMessageBytes: 65_535,
  /** Largest header section (start line, header lines and the empty line) in bytes. */
  maxHeaderSectionBytes: 16_384,
  /** Most header lines in one message (a folded header counts once). */
  maxHeaderCount: 128,
  /** Largest body in bytes; on a stream it is checked against Content-Length before buffering. */
  maxBodyBytes: 65_536,
} as const;

/** The shape of {@link SIP_LIMITS}, for options that override some of them. */
export interface SipLimits {
  readonly maxMessageBytes: number;
  readonly maxHeaderSectionBytes: number;
  readonly maxHeaderCount: number;
  readonly maxBodyBytes: number;
}

/**
 * Limits and buffer sizes of the SIP transports (`src/sip/transport/`).
 *
 * @remarks
 * Counted in bytes and in items (STYLE §7); each is an option of its transport with this default.
 */
export const TRANSPORT_LIMITS = {
  /**
   * UDP socket receive and send buffers, asked of the kernel (which caps them at
   * `net.core.rmem_max` / `wmem_max`). 4 MiB holds the arrivals of a 0.4 s GC pause at 10k
   * INFO/s of 1 KiB (research/performance.md); the kernel default of ~208 KiB drops datagrams.
   */
  udpBufferBytes: 4 * 1024 * 1024,
  /**
   * Datagrams one UDP transport holds for the end of the event-loop turn before it sends them at
   * once: writes made while a burst of received datagrams is handled go out back to back, so the
   * peer wakes once per burst rather than once per datagram (measured on loopback: ~1 µs per
   * datagram sent in a burst, ~30 µs interleaved with our own work; 1.5× the INFO rate). libuv
   * reads at most 32 datagrams per wake-up, so a turn rarely produces more.
   */
  maxUdpSendBatch: 64,
  /** Largest WebSocket message accepted (RFC 7118: one SIP message per frame); `ws` defaults to 100 MiB. */
  maxWsPayloadBytes: 65_536,
  /**
   * Longest time one SIP message may take to arrive on a stream connection, from its first byte
   * to its last (a slow-loris defence). A 64 KiB message needs well under a second on any link a
   * SIP peer uses; 10 s leaves room for a congested one.
   */
  streamMessageTimeoutMs: 10_000,
  /** Most open connections of one stream or WebSocket transport, inbound and outbound together. */
  maxConnections: 4_096,
  /** Bytes queued for writing on one connection above which its reading is paused until it drains. */
  streamHighWaterBytes: 1024 * 1024,
  /** Bytes queued for writing on one connection above which it is closed (the peer does not read). */
  maxStreamWriteBufferBytes: 16 * 1024 * 1024,
} as const;

/**
 * Limits of digest authentication (`src/sip/auth/`): header reading and the nonce tables.
 *
 * @remarks
 * A challenge or a credential is a few hundred bytes with about ten parameters (RFC 7616 §3.3,
 * §3.4); the limits leave ample room. The nonce tables are bounded so that a flood of challenges
 * cannot grow them; a server nonce that falls out of its table is answered with `stale=true`, so a
 * genuine client just retries with a fresh one.
 */
export const AUTH_LIMITS = {
  /** Longest single authentication header value (one header line) in bytes. */
  maxAuthHeaderBytes: 4_096,
  /** Most auth-params in one header value, over all the challenges it carries. */
  maxAuthParams: 32,
  /** Most challenges read from one 401 or 407, over all its header lines. */
  maxChallenges: 16,
  /** Nonces a digest server tracks at once (issue time and highest nonce-count seen). */
  maxServerNonces: 10_000,
  /** Nonces a digest client keeps a nonce-count for. */
  maxClientNonces: 256,
} as const;

/** The shape of {@link AUTH_LIMITS}, for options that override some of them. */
export interface AuthLimits {
  readonly maxAuthHeaderBytes: number;
  readonly maxAuthParams: number;
  readonly maxChallenges: number;
  readonly maxServerNonces: number;
  readonly maxClientNonces: number;
}

/**
 * Limits of the registrar's binding store (`src/sip/registrar/`, RFC 3261 §10.3).
 *
 * @remarks
 * Over a limit, the REGISTER that would add a binding is answered 503 and nothing is stored.
 */
export const REGISTRAR_LIMITS = {
  /** Most addresses-of-record with at least one binding. */
  maxAors: 10_000,
  /** Most bindings (contacts) under one address-of-record. */
  maxContactsPerAor: 16,
} as const;

/** Limits of the SIP UA core (`src/sip/ua/`). */
export const UA_LIMITS = {
  /**
   * Most retries of one re-INVITE or UPDATE answered 491 Request Pending (RFC 3261 §14.1): each
   * waits the RFC's random back-off; two UAs that keep colliding give up after this many.
   */
  maxGlareRetries: 3,
} as const;

/** The shape of {@link REGISTRAR_LIMITS}, for options that override some of them. */
export interface RegistrarLimits {
  readonly maxAors: number;
  readonly maxContactsPerAor: number;
}

/**
 * Limits of the uaCSTA session layer (`src/uacsta/`).
 *
 * @remarks
 * Events and invokes come from the peer or pile up behind a slow consumer; each buffer is bounded
 * (STYLE §7). Past `maxBufferedEvents` an `events()` iterator ends with
 * `UACSTA_ERR_EVENT_OVERFLOW` (saying how many were lost) rather than growing; past
 * `maxHeldEvents` early events are released before the response they wait for rather than kept.
 */
export const UACSTA_LIMITS = {
  /** Events one `events()` iterator buffers for a consumer that has not pulled them. */
  maxBufferedEvents: 1_024,
  /** Events held while a request is in flight (digest §1.5 item 6, ordering hazard). */
  maxHeldEvents: 256,
  /** Requests that may wait behind those in flight. */
  maxQueuedInvokes: 64,
  /** Requests sent at once on one association (many phones process INFO serially). */
  maxInFlightInvokes: 1,
  /** Monitors one association restarts after a recovery. */
  maxMonitors: 256,
} as const;

/** The shape of {@link UACSTA_LIMITS}, for options that override some of them. */
export interface UaCstaLimits {
  readonly maxBufferedEvents: number;
  readonly maxHeldEvents: number;
  readonly maxQueuedInvokes: number;
  readonly maxInFlightInvokes: number;
  readonly maxMonitors: number;
}

/**
 * Limits of the simulated phone's SDP reader (`src/phone/sip/sdp.ts`).
 *
 * @remarks
 * A phone's offer is well under 1 KiB with one or two `m=` lines; past a limit the description is
 * refused and the INVITE answered 488 (RFC 3261 §21.4.26).
 */
export const SDP_LIMITS = {
  /** Largest session description in characters. */
  maxSdpBytes: 8_192,
  /** Most lines in one description. */
  maxSdpLines: 256,
  /** Most `m=` sections in one description. */
  maxSdpMedia: 8,
} as const;

/** The shape of {@link SDP_LIMITS}, for options that override some of them. */
export interface SdpLimits {
  readonly maxSdpBytes: number;
  readonly maxSdpLines: number;
  readonly maxSdpMedia: number;
}

/**
 * Limits of the CLI's message trace (`src/cli/trace-options.ts`, `src/trace/`).
 *
 * @remarks
 * `--ladder` and `--pcap` keep the messages until the command ends; a long `monitor` run would
 * otherwise keep every event it ever saw. Past the limit the oldest messages are left out of the
 * files (and a note says how many); `--trace` lines are printed as they come and keep nothing.
 */
export const TRACE_LIMITS = {
  /** Most messages kept for `--ladder` and `--pcap` (at most 64 KiB each: SIP_LIMITS). */
  maxRecords: 20_000,
} as const;

/**
 * Limits of the simulated phone (`src/phone/`).
 *
 * @remarks
 * A controller that never acknowledges events, or opens monitor after monitor, must not grow a
 * phone without bound. Past `maxQueuedEventsPerSession` the phone ends that session (BYE) rather
 * than drop events silently: the controller's association sees the session end, re-opens it and
 * re-syncs (SnapshotDevice…), and is told the gap it may have missed events in; past `maxMonitorsPerSession` MonitorStart is answered
 * `subscribedResourceAvailability/objectMonitorLimitExceeded` (digest §4.1.6).
 */
export const PHONE_LIMITS = {
  /** Monitors one CSTA session may hold on a phone at once. */
  maxMonitorsPerSession: 64,
  /**
   * Events waiting to be sent on one session (one event INFO is in flight at a time). 8,192 holds
   * 16 s of a monitor seeing 500 events/s (a controller stalled by GC or a loaded machine, seen
   * in `npm run soak`), at about 1 KiB each.
   */
  maxQueuedEventsPerSession: 8_192,
} as const;
