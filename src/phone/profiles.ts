/**
 * Vendor profiles of the simulated phone: the field behaviour the uaCSTA digest documents
 * (§3.3, §7), as data. A profile never forks the code: the simulator and the SIP binding read
 * its flags.
 */

import type { Edition } from '../csta/model/types.js';

/** How the phone treats a CSTA request that arrives outside an INVITE dialog (digest §1.1, §7.1). */
export type OutOfDialogCsta = 'ignore' | 'reject-481' | 'accept';

/** Which requests of the controller the SIP binding challenges with digest (digest §7.11). */
export type CstaChallenge = 'none' | 'invite' | 'every-request';

/** One vendor behaviour, read by the simulator and by the SIP binding (`phone/sip/`). */
export interface PhoneProfile {
  readonly name: string;
  /** One line saying which product behaviour this mimics. */
  readonly description: string;
  /** Lines (appearances) of the device, each its own deviceID; at least 1. */
  readonly lines: number;
  /** Sends call-control events (Delivered, Established, …); OpenStage sends none (digest §7.2). */
  readonly callEvents: boolean;
  /** Sends logical and physical device-feature events (DoNotDisturb, Forwarding, …). */
  readonly featureEvents: boolean;
  /**
   * Edition of every CSTA reply and event, whatever the request's; `undefined` answers in the
   * request's edition (Snom answers ed5 to ed3, digest §7.6).
   */
  readonly replyEdition: Edition | undefined;
  /** Digest-challenge the controller's INVITE, or every request of the session (SIP binding). */
  readonly challenge: CstaChallenge;
  /** Out-of-dialog CSTA (SIP binding). */
  readonly outOfDialogCsta: OutOfDialogCsta;
  /**
   * `monitorCrossRefID` values: a counter per phone (Snom `43`), or the line index
   * (Yealink `0`, `1`, digest §1.5).
   */
  readonly monitorCrossRefIDs: 'counter' | 'line-index';
  /**
   * The services the phone answers; the others get `operation/serviceNotSupported`.
   * `undefined` means every service of the simulator.
   */
  readonly services: readonly string[] | undefined;
}

const ALL_SERVICES = undefined;

/** The profiles shipped, by name. */
export const PHONE_PROFILES = {
  generic: {
    name: 'generic',
    description: 'Every service and event of the uaCSTA profiles, in the request edition (ECMA TR/87 §8).',
    lines: 1,
    callEvents: true,
    featureEvents: true,
    replyEdition: undefined,
    challenge: 'none',
    outOfDialogCsta: 'ignore',
    monitorCrossRefIDs: 'counter',
    services: ALL_SERVICES,
  },
  'no-events': {
    name: 'no-events',
    description: 'Unify OpenStage style: accepts a handful of services, sends no events (digest §3.3, §7.2).',
    lines: 1,
    callEvents: false,
    featureEvents: false,
    replyEdition: undefined,
    challenge: 'none',
    outOfDialogCsta: 'accept',
    monitorCrossRefIDs: 'counter',
    services: [
      'AnswerCall',
      'ClearConnection',
      'ConsultationCall',
      'GenerateDigits',
      'HoldCall',
      'MakeCall',
      'RetrieveCall',
      'GetMicrophoneMute',
      'SetMicrophoneMute',
      'GetSpeakerVolume',
      'SetSpeakerVolume',
      'RequestSystemStatus',
      'GetCSTAFeatures',
    ],
  },
  ed5: {
    name: 'ed5',
    description: 'Snom style: answers and reports in the ed5 namespace whatever the request used (digest §7.6).',
    lines: 1,
    callEvents: true,
    featureEvents: true,
    replyEdition: 'ed5',
    challenge: 'none',
    outOfDialogCsta: 'reject-481',
    monitorCrossRefIDs: 'counter',
    services: ALL_SERVICES,
  },
  'challenge-invite': {
    name: 'challenge-invite',
    description: 'Snom/Gigaset csta_challenge=1: digest-challenges the controller INVITE (digest §7.11).',
    lines: 1,
    callEvents: true,
    featureEvents: true,
    replyEdition: undefined,
    challenge: 'invite',
    outOfDialogCsta: 'ignore',
    monitorCrossRefIDs: 'counter',
    services: ALL_SERVICES,
  },
  'challenge-every-request': {
    name: 'challenge-every-request',
    description: 'Snom/Gigaset csta_challenge=2: digest-challenges the INVITE and every INFO (digest §7.11).',
    lines: 1,
    callEvents: true,
    featureEvents: true,
    replyEdition: undefined,
    challenge: 'every-request',
    outOfDialogCsta: 'ignore',
    monitorCrossRefIDs: 'counter',
    services: ALL_SERVICES,
  },
  'reject-out-of-dialog': {
    name: 'reject-out-of-dialog',
    description: 'Snom style: answers 481 to CSTA sent outside an INVITE dialog (digest §7.1).',
    lines: 1,
    callEvents: true,
    featureEvents: true,
    replyEdition: undefined,
    challenge: 'none',
    outOfDialogCsta: 'reject-481',
    monitorCrossRefIDs: 'counter',
    services: ALL_SERVICES,
  },
  'multi-line': {
    name: 'multi-line',
    description: 'Yealink style: two lines, each its own deviceID, monitorCrossRefID = line index (digest §1.5, §7.7).',
    lines: 2,
    callEvents: true,
    featureEvents: true,
    replyEdition: undefined,
    challenge: 'none',
    outOfDialogCsta: 'ignore',
    monitorCrossRefIDs: 'line-index',
    services: ALL_SERVICES,
  },
} as const satisfies Record<string, PhoneProfile>;

/** The name of a shipped profile. */
export type PhoneProfileName = keyof typeof PHONE_PROFILES;

/** The shipped profile called `name`, or `undefined`. */
export function phoneProfile(name: string): PhoneProfile | undefined {
  return Object.hasOwn(PHONE_PROFILES, name) ? PHONE_PROFILES[name as PhoneProfileName] : undefined;
}
