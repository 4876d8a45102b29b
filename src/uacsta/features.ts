/**
 * The `supportedServices` of a `GetCSTAFeaturesResponse` (ECMA-269 §13.1.9, ECMA-323 §13.1.9;
 * digest §4.2), built from the services a switching function answers.
 *
 * @remarks
 * Each service is flagged by an empty element in one of the `…ServList` sequences of
 * `GetCSTAFeaturesResponse/supportedServices`. The flag is the lowerCamelCase of the service
 * element for most services, but ECMA-323 abbreviates some (`SingleStepTransferCall` →
 * `singleStepTransfer`, `PlayMessage` → `playMsg`); those are listed in
 * {@link FEATURE_NAME_EXCEPTIONS}. Lists and flags that an edition does not have (ed6's
 * `getRegistrations`, `locationServicesServList`) are left out of a reply in an older edition.
 */

import { SCHEMA } from '../csta/index.js';
import type { Edition } from '../csta/model/types.js';

/**
 * Service elements whose feature flag is not the lowerCamelCase of the element name
 * (ECMA-323 `CapExchangeServList`, `SystemStatusServList`, … `VoiceServList`).
 */
export const FEATURE_NAME_EXCEPTIONS: Readonly<Record<string, string>> = {
  CDRNotification: 'cdrNotification',
  CDRReport: 'cdrReport',
  CallBackMessageNonCallRelated: 'callBackMsgNonCallRel',
  CallBackNonCallRelated: 'callBackNonCallRel',
  CamponCall: 'campOnCall',
  CancelCallBackMessage: 'cancelCallBackMsg',
  ChangeSysStatFilter: 'changeSystemStatusFilter',
  ConcatenateMessage: 'concatenateMsg',
  DeleteMessage: 'deleteMsg',
  GetAuditoryApparatusInformation: 'getAuditoryApparatusInfo',
  GetHookswitchStatus: 'getHookSwitchStatus',
  GetLampInformation: 'getLampInfo',
  IORegister: 'ioRegister',
  IORegisterAbort: 'ioRegisterAbort',
  IORegisterCancel: 'ioRegisterCancel',
  PlayMessage: 'playMsg',
  QueryVoiceAttribute: 'queryVoiceAttrib',
  RecordMessage: 'recordMsg',
  SendStoredCDR: 'sendStoredCDRs',
  SetHookswitchStatus: 'setHookSwitchStatus',
  SetVoiceAttribute: 'setVoiceAttrib',
  SingleStepConferenceCall: 'singleStepConference',
  SingleStepTransferCall: 'singleStepTransfer',
  SynthesizeMessage: 'synthesizeMsg',
  SystemRegisterAbort: 'systemStatusRegisterAbort',
  SystemRegisterCancel: 'systemStatusRegisterCancel',
};

/** Where a service is flagged: the list (`callControlServList`), the flag, the first edition that has it. */
export interface ServiceFeature {
  readonly list: string;
  readonly flag: string;
  readonly since: number;
}

let flags: ReadonlyMap<string, ServiceFeature> | undefined;

/** Every flag of `supportedServices`, read from the schema once. */
function featureFlags(): ReadonlyMap<string, ServiceFeature> {
  if (flags !== undefined) return flags;
  const map = new Map<string, ServiceFeature>();
  const top = SCHEMA.types['GetCSTAFeaturesResponseSupportedServices'];
  if (top !== undefined && top.k === 'seq') {
    for (const list of top.f) {
      const def = SCHEMA.types[list.t];
      if (def === undefined || def.k !== 'seq') continue;
      for (const item of def.f) {
        const flag = item.f ?? item.n;
        const since = Math.max(list.s ?? 0, item.s ?? 0);
        // a flag listed twice keeps its first place
        if (!map.has(flag)) map.set(flag, { list: list.f ?? list.n, flag, since });
      }
    }
  }
  flags = map;
  return map;
}

/** The feature flag of service element `service`, or `undefined` when ECMA-323 has none for it. */
export function serviceFeature(service: string): ServiceFeature | undefined {
  const flag = FEATURE_NAME_EXCEPTIONS[service] ?? (service === '' ? '' : service[0]!.toLowerCase() + service.slice(1));
  const found = featureFlags().get(flag);
  if (found === undefined) return undefined;
  const elementSince = SCHEMA.elements[service]?.s ?? 0;
  return elementSince > found.since ? { ...found, since: elementSince } : found;
}

/**
 * `supportedServices` for the given services, written in `edition`: services without a flag and
 * flags the edition does not have are left out.
 */
export function supportedServicesFor(services: Iterable<string>, edition: Edition): Record<string, Record<string, object>> {
  const n = Number(edition.slice(2));
  const out: Record<string, Record<string, object>> = {};
  for (const s of services) {
    const f = serviceFeature(s);
    if (f === undefined || f.since > n) continue;
    (out[f.list] ??= {})[f.flag] = {};
  }
  return out;
}
