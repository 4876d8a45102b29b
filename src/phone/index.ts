/**
 * The simulated phone (issue #7): a pure ECMA-269 call model (`device.ts`), bound to every CSTA
 * session opened on it and to a `CallSignalling` that carries its calls (`simulator.ts`), with
 * vendor profiles as data (`profiles.ts`) and an in-process exchange for tests and demos. The SIP
 * binding of calls lives in `phone/sip/` and is the only part that may use `sip/` or `node:*`.
 */

export type { CallEndCause, CallRejectReason, CallSignalling, CallSignallingInput, PlaceCallRequest } from './call-signalling.js';
export type { ConnectionState, DeviceEvent } from './call-model.js';
export { PhoneDevice, PHONE_DEVICE_DEFAULTS } from './device.js';
export type { AppliedForwarding, LineEvent, PhoneDeviceOptions, PhoneLine } from './device.js';
export { InProcessExchange } from './in-process-exchange.js';
export type { InProcessExchangeOptions } from './in-process-exchange.js';
export { PHONE_PROFILES, phoneProfile } from './profiles.js';
export type { CstaChallenge, OutOfDialogCsta, PhoneProfile, PhoneProfileName } from './profiles.js';
export { SimulatedPhone } from './simulator.js';
export type { PhoneControl, SimulatedPhoneOptions, SimulatedPhoneState, SimulatedPhoneTraceEvent } from './simulator.js';
export { dialledDevice, namesDevice, userPart } from './device-address.js';
