/**
 * Minimal positive responses for every CSTA service of the model, derived from the generated
 * ECMA-323 schema table: what `uacsta responder` answers.
 *
 * @remarks
 * ECMA-269 §9 says a positive acknowledgement carries the mandatory parameters of the service's
 * result; everything optional is left out. The table (`SCHEMA`) gives each response element's
 * sequence and which children are mandatory (`m`), so the answer is built once per service from
 * it, and only the fields that must be fresh per request are filled in per call: a new `callID`
 * in every `ConnectionID` (MakeCall and its kin, ECMA-269 §6.1.4), a new `monitorCrossRefID`
 * (MonitorStart, ECMA-269 §12.2.1). `RequestSystemStatus` is answered `normal` (digest §1.3:
 * the controller opens the session with it and wants `normal`).
 */

import { SCHEMA } from '../csta/index.js';
import type { CstaMessage, CstaServiceMap } from '../csta/model/types.js';

/** Every service of the model: a request element with a `…Response` element. */
export const SERVICES: readonly (keyof CstaServiceMap)[] = Object.keys(SCHEMA.elements)
  .filter((name) => !name.endsWith('Response') && !name.endsWith('Event') && SCHEMA.elements[`${name}Response`] !== undefined)
  .sort() as (keyof CstaServiceMap)[];

/** Where a fresh id goes in a response template. */
type Fresh = 'callID' | 'monitorCrossRefID';

/** Enumeration values preferred over the first one of the list, by enumeration name. */
const PREFERRED_ENUM: Readonly<Record<string, string>> = { SystemStatusValue: 'normal' };

/** A value that stands for "put a fresh id here" while the template is built. */
const FRESH_CALL = Symbol('callID');
const FRESH_MONITOR = Symbol('monitorCrossRefID');

function minimalValue(typeRef: string, field: string, depth: number): unknown {
  if (field === 'monitorCrossRefID') return FRESH_MONITOR;
  switch (typeRef) {
    case '$string':
      return '0';
    case '$hex':
      return '00';
    case '$int':
    case '$float':
      return 0;
    case '$bool':
      return false;
    case '$empty':
      return true;
    case '$raw':
      return '';
  }
  if (typeRef.startsWith('%')) {
    const name = typeRef.slice(1);
    const values = SCHEMA.enums[name] ?? [];
    return PREFERRED_ENUM[name] ?? values[0] ?? '';
  }
  const def = SCHEMA.types[typeRef];
  if (def === undefined || depth > 8) return undefined;
  switch (def.k) {
    case 'seq': {
      const out: Record<string, unknown> = {};
      for (const f of def.f) {
        if (f.m !== 1 || f.s !== undefined) continue;
        const name = f.f ?? f.n;
        out[name] = f.l !== undefined || f.r === 1 ? [] : minimalValue(f.t, name, depth + 1);
      }
      return out;
    }
    case 'choice':
    case 'choiceList': {
      const first = def.f.find((f) => f.s === undefined);
      if (first === undefined) return {};
      const name = first.f ?? first.n;
      return { [name]: minimalValue(first.t, name, depth + 1) };
    }
    case 'conn':
      return { callID: FRESH_CALL, deviceID: '0' };
    case 'text':
      return '0';
    case 'empty':
      return true;
    case 'raw':
      return '';
  }
}

/** A response template: the constant object, and the paths of the fields that get fresh ids. */
interface Template {
  readonly message: Record<string, unknown>;
  readonly fresh: readonly (readonly [path: readonly string[], kind: Fresh])[];
}

function collectFresh(value: unknown, path: string[], out: [string[], Fresh][]): void {
  if (value === FRESH_CALL) out.push([path, 'callID']);
  else if (value === FRESH_MONITOR) out.push([path, 'monitorCrossRefID']);
  else if (value !== null && typeof value === 'object' && !Array.isArray(value))
    for (const [k, v] of Object.entries(value)) collectFresh(v, [...path, k], out);
}

function template(service: string): Template {
  const name = `${service}Response`;
  const element = SCHEMA.elements[name];
  const body = element === undefined ? {} : (minimalValue(element.t, name, 0) as Record<string, unknown>);
  const fresh: [string[], Fresh][] = [];
  collectFresh(body, [], fresh);
  return { message: { type: name, ...body }, fresh };
}

/** A copy of `target` with `value` at `path` (the objects along the path copied, the rest shared). */
function setPath(target: Record<string, unknown>, path: readonly string[], value: string, at = 0): Record<string, unknown> {
  const head = path[at];
  if (head === undefined) return target;
  const copy = { ...target };
  copy[head] = at === path.length - 1 ? value : setPath(target[head] as Record<string, unknown>, path, value, at + 1);
  return copy;
}

/**
 * Builds minimal positive responses; ids come from two counters owned by the instance.
 *
 * @example
 * const answers = new MinimalResponder();
 * answers.respond({ type: 'MakeCall', callingDevice: '1001', calledDirectoryNumber: '1002' });
 * // → { type: 'MakeCallResponse', callingDevice: { callID: '1', deviceID: '1001' } }
 */
export class MinimalResponder {
  readonly #templates = new Map<string, Template>();
  #callIds = 0;
  #monitorIds = 0;

  /** The next call id, as a decimal string. */
  nextCallId(): string {
    return String(++this.#callIds);
  }

  /** The next monitor cross-reference id, as a decimal string. */
  nextMonitorId(): string {
    return String(++this.#monitorIds);
  }

  /**
   * The minimal positive response to `request`, or `undefined` when the model has no response
   * element for its type (an event, a response, an unknown root).
   */
  respond(request: CstaMessage): CstaMessage | undefined {
    const service = request.type;
    let t = this.#templates.get(service);
    if (t === undefined) {
      if (SCHEMA.elements[`${service}Response`] === undefined || service.endsWith('Response')) return undefined;
      t = template(service);
      this.#templates.set(service, t);
    }
    if (t.fresh.length === 0) return t.message as unknown as CstaMessage;
    let out = t.message;
    for (const [path, kind] of t.fresh) out = setPath(out, path, kind === 'callID' ? this.nextCallId() : this.nextMonitorId());
    // the calling device of MakeCall is the device of its connection (ECMA-269 §17.2.8)
    if (service === 'MakeCall' && path0IsConnection(out, 'callingDevice')) {
      const device = (request as { callingDevice?: unknown }).callingDevice;
      const deviceID = typeof device === 'string' ? device : (device as { value?: unknown } | undefined)?.value;
      if (typeof deviceID === 'string')
        out = { ...out, callingDevice: { ...(out['callingDevice'] as object), deviceID } };
    }
    return out as unknown as CstaMessage;
  }
}

function path0IsConnection(m: Record<string, unknown>, field: string): boolean {
  const v = m[field];
  return v !== null && typeof v === 'object' && 'callID' in v;
}
