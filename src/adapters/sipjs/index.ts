/**
 * The sip.js adapter (entry `uacsta/sipjs`): uaCSTA for browser softphones built on sip.js
 * 0.21 (an optional peer dependency), in both CSTA roles, over the softphone's own `UserAgent`
 * (WebSocket transport, RFC 7118).
 *
 * @remarks
 * The only folder that imports `sip.js`. uaCSTA dialogs go through `ua.userAgentCore`, because the
 * api layer's `Inviter`/`Invitation` end INVITE sessions without SDP (research/libfit §2.5).
 * Nothing here imports `node:*` or touches `Buffer`/`process`.
 */
export { SipJsCstaChannel, cstaBody, SIPJS_MAX_HELD_REQUESTS } from './sipjs-csta-channel.js';
export type { SipJsChannelTraceEvent } from './sipjs-csta-channel.js';
export { acceptSipJsCstaChannels, openSipJsCstaChannel } from './sipjs-csta-sessions.js';
export type { AcceptSipJsCstaChannelsOptions, OpenSipJsCstaChannelOptions, OpenedSipJsCstaChannel } from './sipjs-csta-sessions.js';
export { SipJsCstaPhone } from './sipjs-csta-phone.js';
export type { SipJsCall, SipJsCallState, SipJsCstaPhoneEvents, SipJsCstaPhoneOptions, SipJsCstaPhoneTraceEvent } from './sipjs-csta-phone.js';
