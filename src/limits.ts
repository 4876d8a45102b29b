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
