/**
 * The ECMA-269 connection-state vocabulary of the simulated phone, and the mapping of signalling
 * causes to `EventCause` values (digest §4.1.4, §4.1.5).
 */

import type { ConnectionID, EventCause, ExtendedDeviceID, RedirectionDeviceID } from '../csta/model/types.js';
import type { CstaEvent } from '../uacsta/client.js';
import type { CallEndCause } from './call-signalling.js';

/** ECMA-269 §6.1.5 local connection states (`LocalConnectionState`). */
export type ConnectionState = 'null' | 'initiated' | 'alerting' | 'connected' | 'hold' | 'queued' | 'fail';

/** An event of the device before a monitor stamps its `monitorCrossRefID` on it. */
export type DeviceEvent = CstaEvent extends infer E ? (E extends unknown ? Omit<E, 'monitorCrossRefID'> : never) : never;

/** A ConnectionID (`callID` then `deviceID`, §4.1.3). */
export function connection(callID: string, deviceID: string): ConnectionID {
  return { callID, deviceID };
}

/** A wrapped device identifier as events carry it (§4.1.2). */
export function subject(deviceID: string | undefined): ExtendedDeviceID {
  return deviceID === undefined || deviceID === '' ? { notKnown: true } : { deviceIdentifier: deviceID };
}

/** `lastRedirectionDevice`: the diverting device, or `notRequired` when the call was not redirected (§4.1.2). */
export function redirection(deviceID: string | undefined, notRedirected: RedirectionDeviceID): RedirectionDeviceID {
  return deviceID === undefined ? notRedirected : { numberDialed: deviceID };
}

/** The `cause` of a Failed event for a leg that failed with `cause` (digest §4.1.5). */
export function failedCause(cause: CallEndCause): EventCause {
  switch (cause) {
    case 'busy':
      return 'busy';
    case 'rejected':
    case 'noAnswer':
      return 'callNotAnswered';
    case 'notFound':
      return 'destNotObtainable';
    case 'invalidNumber':
      return 'invalidNumberFormat';
    case 'cancelled':
      return 'callCancelled';
    case 'doNotDisturb':
      return 'doNotDisturb';
    case 'networkCongestion':
      return 'networkCongestion';
    case 'transferred':
      return 'transfer';
    case 'redirected':
      return 'redirected';
    case 'normal':
      return 'normalClearing';
    case 'error':
      return 'reorderTone';
  }
}

/** The `cause` of a ConnectionCleared event for a leg released with `cause` (digest §4.1.5). */
export function clearedCause(cause: CallEndCause): EventCause {
  return cause === 'normal' || cause === 'cancelled' ? 'normalClearing' : failedCause(cause);
}
