/**
 * The CSTA element of a body and the fields a trace shows beside it: callID, device,
 * monitorCrossRefID, cause, and the error of a `CSTAErrorCode`.
 *
 * @remarks
 * ECMA-323 §6 (the root element names the service, response or event), §9–§13 (`callID`,
 * `deviceID`, `monitorCrossRefID`, `cause`), §7.2 (`CSTAErrorCode`). Read leniently from the
 * text, not through the codec: a trace shows bodies the codec refuses (unknown elements, other
 * editions, vendor extensions) and must never throw.
 */

/** What a trace shows of one CSTA body. */
export interface CstaSummary {
  /** The local name of the root element: `MakeCall`, `DeliveredEvent`, `CSTAErrorCode`. */
  readonly element: string;
  /** Key fields in a fixed order, first occurrence of each: `[['callID', 'c1'], …]`. */
  readonly fields: readonly (readonly [string, string])[];
}

/** The fields shown, in this order; the first occurrence of each element in the body. */
export const CSTA_KEY_FIELDS = [
  'callID',
  'deviceID',
  'deviceObject',
  'callingDevice',
  'calledDirectoryNumber',
  'monitorCrossRefID',
  'cause',
] as const;

/** Longest field value shown; longer ones are cut with an ellipsis. */
const MAX_VALUE = 40;

const NAME = '[A-Za-z_][\\w.-]*';
const ROOT = new RegExp(`<(?:${NAME}:)?(${NAME})[\\s/>]`);
const ENTITIES: Readonly<Record<string, string>> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (m, e: string) => {
    if (e.startsWith('#x')) return safeCodePoint(parseInt(e.slice(2), 16)) ?? m;
    if (e.startsWith('#')) return safeCodePoint(parseInt(e.slice(1), 10)) ?? m;
    return ENTITIES[e] ?? m;
  });
}

function safeCodePoint(n: number): string | undefined {
  return Number.isInteger(n) && n > 0 && n <= 0x10ffff ? String.fromCodePoint(n) : undefined;
}

function cut(s: string): string {
  const v = unescapeXml(s.trim()).replace(/\s+/g, ' ');
  return v.length > MAX_VALUE ? `${v.slice(0, MAX_VALUE - 1)}…` : v;
}

/** The text of the first leaf element `name` (any prefix, any attributes), or `undefined`. */
function leaf(xml: string, name: string): string | undefined {
  const m = new RegExp(`<(?:${NAME}:)?${name}(?:\\s[^>]*)?>([^<]*)</`).exec(xml);
  return m === null ? undefined : m[1];
}

/** The root element and key fields of a CSTA XML body, or `undefined` when there is no element. */
export function summarizeCsta(xml: string): CstaSummary | undefined {
  // skip the prolog: declaration, processing instructions, comments, DOCTYPE
  const body = xml.replace(/<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<![A-Za-z][^>]*>/g, '');
  const root = ROOT.exec(body);
  if (root === null) return undefined;
  const element = root[1]!;
  const fields: [string, string][] = [];
  for (const name of CSTA_KEY_FIELDS) {
    const v = leaf(body, name);
    if (v !== undefined && v.trim() !== '') fields.push([name, cut(v)]);
  }
  if (element === 'CSTAErrorCode') {
    // the one child names the error class, its text the value: <operation>invalidCallID</operation>
    const inner = new RegExp(`<(?:${NAME}:)?(${NAME})(?:\\s[^>]*)?>([^<]*)</`).exec(body.slice(root.index + root[0].length));
    if (inner !== null) fields.unshift([inner[1]!, cut(inner[2]!)]);
  }
  return { element, fields };
}

/** `MakeCall callID=c1 deviceID=1001`: the element and its key fields on one line. */
export function cstaLabel(s: CstaSummary): string {
  return [s.element, ...s.fields.map(([k, v]) => `${k}=${v}`)].join(' ');
}
