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
