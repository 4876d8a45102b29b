/**
 * The peer's "no" at the uaCSTA level (STYLE §6): a CSTA negative response, or a non-2xx SIP
 * status to a CSTA request. Both carry the peer's payload.
 */

import { UaCstaError } from '../errors.js';
import type { UniversalFailure } from '../csta/model/types.js';

/** The category of a `<CSTAErrorCode>` (its one child): `operation`, `security`, … */
export type CstaErrorCategory = UniversalFailure extends infer U
  ? U extends unknown
    ? keyof U
    : never
  : never;

/**
 * A CSTA negative response (`<CSTAErrorCode>`, ECMA-323 §9.2 / digest §4.1.6), code
 * `CSTA_ERR_SERVICE`. A `CstaServer` handler throws one to answer with that error.
 *
 * @example
 * throw new CstaServiceError({ operation: 'invalidCallingDevice' });
 */
export class CstaServiceError extends UaCstaError {
  override readonly name: string = 'CstaServiceError';
  /** The whole choice, as in the model. */
  readonly errorValue: UniversalFailure;
  /** Its category (`operation`, `stateIncompatibility`, …). */
  readonly category: CstaErrorCategory;
  /** Its value as text (`invalidCallingDevice`; `true` for `unspecified`). */
  readonly value: string;
  constructor(errorValue: UniversalFailure, message?: string) {
    const entry = Object.entries(errorValue)[0];
    const category = (entry?.[0] ?? 'unspecified') as CstaErrorCategory;
    const value = String(entry?.[1] ?? true);
    super('CSTA_ERR_SERVICE', message ?? `the peer answered CSTAErrorCode ${category}: ${value}`);
    this.errorValue = errorValue;
    this.category = category;
    this.value = value;
  }
}

/** A non-2xx final response to a CSTA request (code `SIP_ERR_REJECTED`). */
export class CstaRejectedError extends UaCstaError {
  override readonly name: string = 'CstaRejectedError';
  readonly status: number;
  readonly reasonPhrase: string;
  /** The body of the response as text (`''` when none). */
  readonly body: string;
  constructor(what: string, status: number, reasonPhrase: string, body = '') {
    super('SIP_ERR_REJECTED', `${what} was answered ${status} ${reasonPhrase}; expected 2xx`);
    this.status = status;
    this.reasonPhrase = reasonPhrase;
    this.body = body;
  }
}
