/**
 * uaCSTA application sessions on a sip.js `UserAgent`, in both SIP roles, through
 * `ua.userAgentCore` (ECMA TR/87 §6; digest §1.3).
 *
 * @remarks
 * The api layer's `Inviter`/`Invitation` tear down an INVITE session without SDP (research/libfit
 * §2.5), so uaCSTA INVITEs are sent and taken at the core: {@link openSipJsCstaChannel} sends one
 * with `userAgentCore.invite`, {@link acceptSipJsCstaChannels} diverts incoming INVITEs whose body
 * is CSTA from the core delegate before the api sees them. Every other INVITE (the softphone's
 * calls, SDP offers) still goes to the app's usual `UserAgent` delegate.
 */

import { UserAgent, type Core } from 'sip.js';
import { UaCstaError } from '../../errors.js';
import { CSTA_CONTENT_TYPE, isCstaContentType } from '../../uacsta/channel.js';
import {
  answerOptions,
  CSTA_DISPOSITION_HEADER,
  cstaBody,
  requestOf,
  SipJsCstaChannel,
  type SipJsChannelTraceEvent,
} from './sipjs-csta-channel.js';

/** Options of {@link acceptSipJsCstaChannels}. */
export interface AcceptSipJsCstaChannelsOptions {
  /**
   * Also take INVITEs without a body that list `application/csta+xml` in `Accept` (a bodiless
   * INVITE is otherwise a call with a late SDP offer, and goes to the app). @defaultValue true
   */
  readonly bodilessWithAccept?: boolean;
  readonly trace?: (event: SipJsChannelTraceEvent) => void;
}

function isCstaInvite(message: Core.IncomingRequestMessage, bodilessWithAccept: boolean): boolean {
  const body = message.body ?? '';
  if (body.length > 0) return isCstaContentType(message.getHeader('content-type'));
  if (!bodilessWithAccept) return false;
  return message.getHeaders('accept').some((v) => v.toLowerCase().includes(CSTA_CONTENT_TYPE));
}

function uriText(uri: { toString(): string } | undefined): string {
  return uri === undefined ? '' : uri.toString();
}

/**
 * Takes incoming uaCSTA sessions on `ua`: for each INVITE whose body is CSTA, calls `onChannel`
 * before the answer (so the caller sets its handler, a `CstaServer`, at once), hands a CSTA body
 * in the INVITE to that handler and puts its answer in the 2xx. Returns the function that stops
 * diverting (the previous core delegate is restored).
 *
 * @example
 * acceptSipJsCstaChannels(ua, (channel) => new CstaServer({ channel }).handle('MakeCall', makeCall));
 */
export function acceptSipJsCstaChannels(
  ua: UserAgent,
  onChannel: (channel: SipJsCstaChannel) => void,
  options: AcceptSipJsCstaChannelsOptions = {},
): () => void {
  if (typeof onChannel !== 'function') throw new UaCstaError('ERR_INVALID_ARG', 'onChannel must be a function');
  const core = ua.userAgentCore;
  const delegate = core.delegate;
  const previous = delegate.onInvite;
  const bodiless = options.bodilessWithAccept ?? true;
  const onInvite = (request: Core.IncomingInviteRequest): void => {
    if (!isCstaInvite(request.message, bodiless)) {
      if (previous !== undefined) previous.call(delegate, request);
      else request.reject({ statusCode: 488 });
      return;
    }
    request.trying();
    const channel = new SipJsCstaChannel(options.trace);
    request.delegate = { onCancel: () => channel.abandon('cancelled') };
    try {
      onChannel(channel);
    } catch {
      // the application's failure to set up is answered below like a refused session
    }
    const remote = uriText(request.message.from.uri);
    const hasBody = (request.message.body ?? '').length > 0;
    const answered = hasBody ? channel.dispatch(requestOf(request.message)) : Promise.resolve({ status: 200 });
    void answered.then((answer) => {
      if (channel.state === 'Closed') return; // cancelled meanwhile
      const response = answerOptions(answer);
      try {
        if (answer.status >= 300 || answer.status < 200) {
          request.reject(answer.status < 300 ? { statusCode: 500 } : response);
          channel.abandon(`refused-${answer.status}`);
          return;
        }
        // sip.js requires a body in a 2xx to an INVITE that carried no offer: an empty CSTA one
        const { session } = request.accept(response.body === undefined ? { ...response, body: cstaBody('') } : response);
        channel.attach(session, remote);
      } catch {
        channel.abandon('accept-failed');
      }
    });
  };
  delegate.onInvite = onInvite;
  return () => {
    if (delegate.onInvite === onInvite) delegate.onInvite = previous;
  };
}

/** Options of {@link openSipJsCstaChannel}. */
export interface OpenSipJsCstaChannelOptions {
  /** A CSTA document for the INVITE (e.g. `RequestSystemStatus`); none by default. */
  readonly body?: string;
  /** Further INVITE headers, as `Name: value` lines. */
  readonly extraHeaders?: readonly string[];
}

/** A channel opened by {@link openSipJsCstaChannel}, with the body of the 2xx. */
export interface OpenedSipJsCstaChannel {
  readonly channel: SipJsCstaChannel;
  /** The CSTA body of the 2xx (the answer to a request in the INVITE); `''` when none. */
  readonly establishedBody: string;
}

/**
 * Opens a uaCSTA session from `ua` to `target` (a phone's AoR or contact): INVITE with a CSTA
 * body or none → 2xx → ACK, at the core (the api `Inviter` would send BYE with 400 on a 2xx
 * without SDP). Rejects `SIP_ERR_REJECTED` with the status of a non-2xx (408/503 for a timeout or
 * transport failure, generated by sip.js).
 *
 * @example
 * const { channel } = await openSipJsCstaChannel(ua, 'sip:1001@pbx.example.com', { body: rss });
 * const client = new CstaClient({ channel });
 */
export function openSipJsCstaChannel(
  ua: UserAgent,
  target: string,
  options: OpenSipJsCstaChannelOptions = {},
): Promise<OpenedSipJsCstaChannel> {
  const uri = /^sips?:/i.test(target) ? UserAgent.makeURI(target) : undefined;
  if (uri === undefined) return Promise.reject(new UaCstaError('ERR_INVALID_ARG', `'${target}' is not a SIP URI`));
  const core = ua.userAgentCore;
  const hasBody = options.body !== undefined && options.body.length > 0;
  const extraHeaders = [
    `Contact: ${ua.contact.toString()}`,
    'Allow: INVITE, ACK, BYE, CANCEL, INFO',
    `Accept: ${CSTA_CONTENT_TYPE}`,
    ...(hasBody ? [CSTA_DISPOSITION_HEADER] : []),
    ...(options.extraHeaders ?? []),
  ];
  const message = core.makeOutgoingRequestMessage(
    'INVITE',
    uri,
    ua.configuration.uri,
    uri,
    {},
    extraHeaders,
    hasBody ? cstaBody(options.body!) : undefined,
  );
  const channel = new SipJsCstaChannel();
  return new Promise((resolve, reject) => {
    let settled = false;
    core.invite(message, {
      onAccept: (response) => {
        // a forked INVITE may be accepted more than once: keep the first dialog, end the others
        if (settled) {
          response.ack();
          response.session.bye();
          return;
        }
        settled = true;
        channel.attach(response.session, target);
        response.ack();
        resolve({ channel, establishedBody: response.message.body ?? '' });
      },
      onReject: (response) => {
        if (settled) return;
        settled = true;
        const status = response.message.statusCode ?? 0;
        reject(
          Object.assign(new UaCstaError('SIP_ERR_REJECTED', `the uaCSTA INVITE to ${target} was answered ${status}`), {
            status,
            reasonPhrase: response.message.reasonPhrase ?? '',
          }),
        );
      },
    });
  });
}

