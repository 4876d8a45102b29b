/**
 * CstaServer's built-in GetCSTAFeatures answer (ECMA-269 §13.1.9, ECMA-323 §13.1.9, digest §4.2):
 * every answered service is flagged under its ECMA-323 name, in the edition of the request.
 */

import { describe, expect, it } from 'vitest';
import { namespaceOf, parseCsta, SCHEMA } from '../../../src/csta/index.js';
import type { CstaServiceMap, Edition } from '../../../src/csta/model/types.js';
import { serviceFeature } from '../../../src/uacsta/features.js';
import { CstaServer } from '../../../src/uacsta/server.js';
import { fakeChannelPair } from './fake-channel.js';

/** Every service of the typed map: a request element `X` with a response element `XResponse`. */
const SERVICES = Object.keys(SCHEMA.elements).filter(
  (x) => SCHEMA.elements[`${x}Response`] !== undefined && x !== 'CSTAErrorCode',
) as (keyof CstaServiceMap)[];

/**
 * Flags of `supportedServices` that name no request/response service of the model (events,
 * unacknowledged or routeing-dialogue messages, ed6 presence services the model has no element for).
 */
const NO_SERVICE = new Set([
  'switchingFunctionDevices',
  'systemStatusRegisterAbort',
  'registrationInfo',
  'monitorInfo',
  'snapshotCallData',
  'snapshotDeviceData',
  'routeRegisterAbort',
  'reRoute',
  'routeEnd',
  'routeReject',
  'routeRequest',
  'routeSelect',
  'routeUsed',
  'getPresenceState',
  'setPresenceState',
  'ioRegisterAbort',
  'escapeRegisterAbort',
  'locationSessionInfo',
]);

/** What ECMA-323 edition `n` flags: every `list/flag` of the schema that exists in `n`, less NO_SERVICE. */
function expectedFlags(n: number): string[] {
  const out: string[] = [];
  const top = SCHEMA.types['GetCSTAFeaturesResponseSupportedServices'];
  if (top?.k !== 'seq') throw new Error('schema has no supportedServices sequence');
  for (const list of top.f) {
    if ((list.s ?? 0) > n) continue;
    const def = SCHEMA.types[list.t];
    if (def?.k !== 'seq') continue;
    for (const item of def.f) if ((item.s ?? 0) <= n && !NO_SERVICE.has(item.n)) out.push(`${list.n}/${item.n}`);
  }
  return out.sort();
}

function flagsOf(supportedServices: unknown): string[] {
  const out: string[] = [];
  for (const [list, flags] of Object.entries(supportedServices as Record<string, Record<string, unknown>>))
    for (const flag of Object.keys(flags)) out.push(`${list}/${flag}`);
  return out.sort();
}

/** A server answering every service of the model with a (never used) handler. */
function serverWithEverything() {
  const pair = fakeChannelPair();
  const server = new CstaServer({ channel: pair.b });
  for (const s of SERVICES) if (s !== 'GetCSTAFeatures') server.handle(s, () => Promise.reject(new Error('not called')));
  return { pair, server };
}

async function askFeatures(pair: ReturnType<typeof fakeChannelPair>, edition: Edition) {
  const res = await pair.a.send(`<GetCSTAFeatures xmlns="${namespaceOf(edition)}"/>`);
  expect(res.status).toBe(200);
  const parsed = parseCsta(res.body);
  if (!parsed.ok) throw parsed.error;
  expect(parsed.value.edition).toBe(edition);
  if (parsed.value.type !== 'GetCSTAFeaturesResponse') throw new Error(`answered <${parsed.value.type}>`);
  return parsed.value;
}

describe('GetCSTAFeatures answered by CstaServer', () => {
  it('has an ECMA-323 feature flag for every service of the model', () => {
    const missing = SERVICES.filter((s) => serviceFeature(s) === undefined);
    expect(missing).toEqual([]);
  });

  it('maps abbreviated ECMA-323 names (SingleStepTransferCall → singleStepTransfer, PlayMessage → playMsg)', () => {
    expect(serviceFeature('SingleStepTransferCall')).toEqual({ list: 'callControlServList', flag: 'singleStepTransfer', since: 0 });
    expect(serviceFeature('CamponCall')?.flag).toBe('campOnCall');
    expect(serviceFeature('PlayMessage')).toMatchObject({ list: 'voiceServList', flag: 'playMsg' });
    expect(serviceFeature('ChangeSysStatFilter')).toMatchObject({ list: 'systemStatServList', flag: 'changeSystemStatusFilter' });
    expect(serviceFeature('GetRegistrations')).toMatchObject({ list: 'systemStatServList', since: 6 });
    expect(serviceFeature('GetLocationInformation')).toMatchObject({ list: 'locationServicesServList', since: 6 });
  });

  for (const [edition, n] of [['ed3', 3], ['ed5', 5], ['ed6', 6]] as const) {
    it(`lists exactly every service of ${edition} when all services have a handler`, async () => {
      const { pair } = serverWithEverything();
      const res = await askFeatures(pair, edition);
      expect(flagsOf(res.supportedServices)).toEqual(expectedFlags(n));
    });
  }

  it('leaves ed6-only services out of an ed3 answer and lists them in ed6', async () => {
    const { pair, server } = (() => {
      const p = fakeChannelPair();
      return { pair: p, server: new CstaServer({ channel: p.b }) };
    })();
    server.handle('GetRegistrations', () => Promise.reject(new Error('not called')));
    server.handle('MakeConnection', () => Promise.reject(new Error('not called')));
    server.handle('SingleStepTransferCall', () => Promise.reject(new Error('not called')));
    const ed3 = await askFeatures(pair, 'ed3');
    expect(flagsOf(ed3.supportedServices)).toEqual([
      'callControlServList/singleStepTransfer',
      'capExchangeServList/getCSTAFeatures',
      'systemStatServList/requestSystemStatus',
    ]);
    const ed6 = await askFeatures(pair, 'ed6');
    expect(flagsOf(ed6.supportedServices)).toEqual([
      'callControlServList/makeConnection',
      'callControlServList/singleStepTransfer',
      'capExchangeServList/getCSTAFeatures',
      'systemStatServList/getRegistrations',
      'systemStatServList/requestSystemStatus',
    ]);
  });

  it('lists RequestSystemStatus only while it is answered by default or by a handler', async () => {
    const pair = fakeChannelPair();
    const server = new CstaServer({ channel: pair.b, answerSystemStatus: false });
    expect(flagsOf((await askFeatures(pair, 'ed3')).supportedServices)).toEqual(['capExchangeServList/getCSTAFeatures']);
    server.handle('RequestSystemStatus', () => ({ type: 'RequestSystemStatusResponse', systemStatus: 'normal' }));
    expect(flagsOf((await askFeatures(pair, 'ed3')).supportedServices)).toEqual([
      'capExchangeServList/getCSTAFeatures',
      'systemStatServList/requestSystemStatus',
    ]);
  });
});
