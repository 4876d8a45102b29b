/**
 * `RequestSystemStatus` in the opening INVITE and in refresh re-INVITEs (digest §1.3, §1.7,
 * Example 1 and 10): the request body, and the check that its answer says `normal`.
 */

import { parseCsta, serializeCsta } from '../csta/index.js';
import type { Edition } from '../csta/model/types.js';
import { UaCstaError } from '../errors.js';

/** The CSTA body of a `RequestSystemStatus` (ECMA-323 §10.1.9), ed3 unless told. */
export function requestSystemStatusBody(edition: Edition = 'ed3'): string {
  return serializeCsta({ type: 'RequestSystemStatus' }, { edition });
}

/**
 * Checks the answer to a `RequestSystemStatus`: `undefined` when it is a
 * `RequestSystemStatusResponse` with `systemStatus` `normal` (compared case-insensitively, as
 * sipe does), else the `UACSTA_ERR_SYSTEM_STATUS` error that says what came instead.
 */
export function checkSystemStatus(body: string | undefined): UaCstaError | undefined {
  if (body === undefined || body.trim() === '')
    return new UaCstaError('UACSTA_ERR_SYSTEM_STATUS', 'the session was answered without a RequestSystemStatusResponse; expected systemStatus normal');
  const parsed = parseCsta(body);
  if (!parsed.ok)
    return new UaCstaError('UACSTA_ERR_SYSTEM_STATUS', `the answer to RequestSystemStatus is unreadable: ${parsed.error.message}`, { cause: parsed.error });
  const m = parsed.value;
  if (m.type === 'CSTAErrorCode') {
    const [category, value] = Object.entries(m).find(([k]) => k !== 'type' && k !== 'edition') ?? ['unspecified', true];
    return new UaCstaError('UACSTA_ERR_SYSTEM_STATUS', `RequestSystemStatus was answered CSTAErrorCode ${category}: ${String(value)}; expected systemStatus normal`);
  }
  if (m.type !== 'RequestSystemStatusResponse') {
    const root = m.type === 'Unknown' ? m.root : m.type;
    return new UaCstaError('UACSTA_ERR_SYSTEM_STATUS', `RequestSystemStatus was answered <${root}>; expected <RequestSystemStatusResponse>`);
  }
  if (String(m.systemStatus).toLowerCase() !== 'normal')
    return new UaCstaError('UACSTA_ERR_SYSTEM_STATUS', `the peer's systemStatus is '${String(m.systemStatus)}'; expected normal`);
  return undefined;
}
