/**
 * The peer's "no" to a request: a non-2xx final response, kept whole (STYLE §6: the peer's "no"
 * carries the peer's payload).
 */

import { UaCstaError } from '../../errors.js';
import type { SipResponse } from '../message/types.js';

/** A non-2xx final response to a request the UA sent (code `SIP_ERR_REJECTED`). */
export class SipResponseError extends UaCstaError {
  override readonly name: string = 'SipResponseError';
  readonly status: number;
  readonly reasonPhrase: string;
  /** The whole response, body and headers included. */
  readonly response: SipResponse;
  constructor(method: string, response: SipResponse) {
    super(
      'SIP_ERR_REJECTED',
      `${method} was answered ${response.status} ${response.reason}; expected 2xx`,
    );
    this.status = response.status;
    this.reasonPhrase = response.reason;
    this.response = response;
  }
}
