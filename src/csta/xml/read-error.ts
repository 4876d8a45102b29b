/**
 * The error `readXml` returns for a CSTA body it refuses (ECMA-323 carried as XML 1.0).
 *
 * @remarks
 * A subclass because it carries typed fields: the `offset` of the problem and, for
 * `CSTA_ERR_LIMIT`, which limit was crossed. Callers still branch on `code` (STYLE §6).
 */
import { UaCstaError } from '../../errors.js';
import type { CstaLimits } from '../../limits.js';

/** The codes {@link XmlReadError} can carry. */
export type XmlReadErrorCode =
  'CSTA_ERR_PARSE' | 'CSTA_ERR_ENCODING' | 'CSTA_ERR_DOCTYPE' | 'CSTA_ERR_LIMIT';

/** A refused XML body: not well-formed, badly encoded, carrying a DOCTYPE, or over a limit. */
export class XmlReadError extends UaCstaError {
  override readonly name: string = 'XmlReadError';
  declare readonly code: XmlReadErrorCode;
  /**
   * Where the problem is: an offset in the decoded document text (`XmlDocument.source`), except
   * for `CSTA_ERR_ENCODING` and the byte limit, where it is a byte offset in the input.
   */
  readonly offset: number;
  /** For `CSTA_ERR_LIMIT`: the name of the limit that was crossed; otherwise `undefined`. */
  readonly limit: keyof CstaLimits | undefined;
  /** For `CSTA_ERR_LIMIT`: the value of that limit; otherwise `undefined`. */
  readonly limitValue: number | undefined;

  constructor(
    code: XmlReadErrorCode,
    message: string,
    offset: number,
    limit?: { readonly name: keyof CstaLimits; readonly value: number },
    options?: { readonly cause?: unknown },
  ) {
    super(code, message, options);
    this.offset = offset;
    this.limit = limit?.name;
    this.limitValue = limit?.value;
  }
}
