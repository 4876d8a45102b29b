/**
 * One-call ways to open a uaCSTA association over our SIP user agent (digest §1.3, §1.13 item 1).
 *
 * @remarks
 * Node-side glue: each builds the channel factory `(init) => openSipCstaChannel(ua, target, …)`
 * and hands it to the runtime-neutral {@link CstaClient.connect} or {@link CstaAssociation.open}.
 */

import type { UserAgent } from '../sip/ua/user-agent.js';
import { CstaAssociation, type CstaAssociationOptions } from '../uacsta/association.js';
import type { CstaChannelFactory } from '../uacsta/channel.js';
import { CstaClient, type CstaConnectOptions } from '../uacsta/client.js';
import { openSipCstaChannel } from './sip-csta-channel.js';

/** Further INVITE headers for the helpers below. */
export interface SipOpenOptions {
  /** Further INVITE headers (e.g. `Accept`, `Supported`). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** The channel factory of session mode over `ua`: each call sends one INVITE to `target`. */
export function sipCstaChannelFactory(ua: UserAgent, target: string, options: SipOpenOptions = {}): CstaChannelFactory {
  return (init) =>
    openSipCstaChannel(ua, target, {
      ...(init.body === undefined ? {} : { body: init.body }),
      ...(init.signal === undefined ? {} : { signal: init.signal }),
      ...(options.headers === undefined ? {} : { headers: options.headers }),
    });
}

/**
 * Opens a CSTA session to `target` (INVITE → 200 → ACK) and returns a {@link CstaClient} on it.
 * With `requestSystemStatus`, the INVITE carries `<RequestSystemStatus>` and its answer must say
 * `normal` (`UACSTA_ERR_SYSTEM_STATUS` otherwise).
 *
 * @example
 * const client = await connectCsta(ua, 'sip:1001@192.0.2.10', { requestSystemStatus: true });
 * await client.request({ type: 'MakeCall', callingDevice: '1001', calledDirectoryNumber: '1002' });
 */
export function connectCsta(
  ua: UserAgent,
  target: string,
  options: Omit<CstaConnectOptions, 'open'> & SipOpenOptions = {},
): Promise<CstaClient> {
  const { headers, ...rest } = options;
  return CstaClient.connect({ ...rest, open: sipCstaChannelFactory(ua, target, headers === undefined ? {} : { headers }) });
}

/**
 * Opens a long-lived {@link CstaAssociation} to `target`: refreshed, and re-opened with its
 * monitors when lost.
 *
 * @example
 * const assoc = await openCstaAssociation(ua, 'sip:1001@192.0.2.10', { requestSystemStatus: true });
 * const line = await assoc.monitor('1001');
 */
export function openCstaAssociation(
  ua: UserAgent,
  target: string,
  options: Omit<CstaAssociationOptions, 'open'> & SipOpenOptions = {},
): Promise<CstaAssociation> {
  const { headers, ...rest } = options;
  return CstaAssociation.open({ ...rest, open: sipCstaChannelFactory(ua, target, headers === undefined ? {} : { headers }) });
}
