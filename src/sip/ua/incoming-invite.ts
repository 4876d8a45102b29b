/**
 * What an INVITE handler gets besides the request and the dialog: the means to send provisional
 * responses before answering (RFC 3261 §13.3.1.1), the CANCEL signal (§9.2), and the Replaces
 * header of the INVITE (RFC 3891).
 */

import type { Replaces } from '../dialog/replaces.js';
import type { SipBodyInit, SipHeaderInit } from '../message/serialize.js';
import type { SipRequest } from '../message/types.js';

/** A provisional response to send: reason, body and extra headers are optional. */
export interface ProgressOptions {
  readonly reason?: string;
  readonly body?: SipBodyInit;
  /** Content-Type of the body; required with a body. */
  readonly contentType?: string;
  readonly headers?: SipHeaderInit;
}

/**
 * An INVITE being answered, as its handler sees it (third argument of the INVITE handler).
 *
 * @example
 * ua.onInvite(async (req, dialog, invite) => {
 *   invite.progress(180);                       // ringing: 180 with To tag and Contact
 *   const answered = await userAnswers(invite.cancelled);
 *   if (invite.cancelled.aborted) return { status: 487 }; // the UA has answered 487 already
 *   return answered ? { status: 200 } : { status: 486 };
 * });
 */
export interface IncomingInvite {
  readonly request: SipRequest;
  /**
   * Aborted when the caller cancels (CANCEL: the UA answers 200 to it and 487 to the INVITE,
   * RFC 3261 §9.2), when the caller ends the early dialog with BYE (§15.1.2), or when the UA
   * closes before the answer. A ringing phone stops on it; the handler's answer is then
   * ignored. The reason is a `UaCstaError` with code `ERR_ABORTED`.
   */
  readonly cancelled: AbortSignal;
  /** The parsed Replaces header (RFC 3891), when the INVITE has a readable one. */
  readonly replaces: Replaces | undefined;
  /**
   * The dialog of ours that {@link IncomingInvite.replaces} names (matched on Call-ID, local
   * and remote tag, RFC 3891 §3), when there is one; answering, and ending the replaced dialog,
   * are the handler's job.
   */
  readonly replacedDialog: import('./user-agent.js').DialogHandle | undefined;
  /**
   * Sends a provisional response (101–199, e.g. 180 Ringing or 183 Session Progress with a
   * body) with the dialog's To tag, our Contact and the INVITE's Record-Route, which makes the
   * dialog early at both ends (RFC 3261 §12.1.1): requests in the early dialog (INFO, UPDATE)
   * reach `dialog.onRequest` from then on. Returns false, sending nothing, once the INVITE has
   * been answered finally or cancelled.
   *
   * @throws `ERR_INVALID_ARG` for a status outside 101–199 or a body without a contentType.
   */
  progress(status: number, options?: ProgressOptions): boolean;
}
