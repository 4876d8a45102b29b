/**
 * The peer's "no" to a request: a non-2xx final response, kept whole (STYLE §6: the peer's "no"
 * carries the peer's payload).
 */

import { UaCstaError } from '../../errors.js';
import { readNameAddrs } from '../dialog/dialog-id.js';
import type { SipResponse } from '../message/types.js';

/** A non-2xx final response to a request the UA sent (code `SIP_ERR_REJECTED`). */
export class SipResponseError extends UaCstaError {
  override readonly name: string = 'SipResponseError';
  readonly status: number;
  readonly reasonPhrase: string;
  /** The whole response, body and headers included. */
  readonly response: SipResponse;
  /**
   * The URIs of the response's Contact headers, in order: for a 3xx, where to retry (RFC 3261
   * §8.1.3.4, §21.3); empty when there are none.
   */
  readonly contacts: readonly string[];
  constructor(method: string, response: SipResponse) {
    super(
      'SIP_ERR_REJECTED',
      `${method} was answered ${response.status} ${response.reason}; expected 2xx`,
    );
    this.status = response.status;
    this.reasonPhrase = response.reason;
    this.response = response;
    this.contacts = readNameAddrs(response.headers['contact']).map((a) => a.uri);
  }
}
