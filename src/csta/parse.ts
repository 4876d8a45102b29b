/**
 * `parseCsta`: untrusted CSTA XML in, a typed ECMA-323 message (or an error value) out.
 *
 * @remarks
 * ECMA-323 §7 (XML encoding), ECMA TR/87 (uaCSTA bodies). Never throws: a body that is not
 * well-formed, carries a DOCTYPE, breaks a limit or does not fit the model is an error value with
 * a stable code. A well-formed document with an unknown root is a value of type `'Unknown'`.
 */
import { readXml } from './xml/read.js';
import { decodeRoot, InvalidContent, type CstaWarning, type DecodeContext } from './decode.js';
import { editionOfNamespace } from './namespace.js';
import { SCHEMA } from './model/schema.js';
import type { CstaMessage } from './model/types.js';
import { UaCstaError } from '../errors.js';
import type { CstaLimits } from '../limits.js';

/** Why a CSTA body was refused; `code` is stable, `path` points at the offending element. */
export class CstaParseError extends UaCstaError {
  override readonly name: string = 'CstaParseError';
  /** Element path of the problem (`/MakeCall/callingDevice`), when it is about content. */
  readonly path: string | undefined;
  /** Character offset of the problem in the document, when it is about syntax. */
  readonly offset: number | undefined;
  constructor(
    code: 'CSTA_ERR_PARSE' | 'CSTA_ERR_ENCODING' | 'CSTA_ERR_DOCTYPE' | 'CSTA_ERR_LIMIT' | 'CSTA_ERR_INVALID',
    message: string,
    details: { path?: string; offset?: number; cause?: unknown } = {},
  ) {
    super(code, message, details.cause === undefined ? undefined : { cause: details.cause });
    this.path = details.path;
    this.offset = details.offset;
  }
}

/** What {@link parseCsta} returns. */
export type CstaParseResult =
  | { readonly ok: true; readonly value: CstaMessage; readonly warnings: readonly CstaWarning[] }
  | { readonly ok: false; readonly error: UaCstaError };

/** Options of {@link parseCsta}. */
export interface ParseCstaOptions {
  /** Overrides of the reader limits; see `CSTA_LIMITS` in `limits.ts`. */
  readonly limits?: Partial<CstaLimits>;
}

const NO_WARNINGS: readonly CstaWarning[] = Object.freeze([]);

/**
 * Reads one CSTA XML document (a SIP body) into a typed message.
 *
 * @example
 * const r = parseCsta(body);
 * if (!r.ok) return reply400(r.error.code);
 * if (r.value.type === 'MakeCall') phone.dial(r.value.calledDirectoryNumber);
 */
export function parseCsta(input: string | Uint8Array, options: ParseCstaOptions = {}): CstaParseResult {
  try {
    const doc = readXml(input, options.limits);
    if (!doc.ok) return doc;
    const root = doc.value.root;
    const ns = editionOfNamespace(root.ns);
    const warnings: CstaWarning[] = [];
    if (ns?.variant) {
      warnings.push({
        code: 'CSTA_WARN_NAMESPACE',
        path: '/' + root.name,
        message: `namespace '${root.ns ?? ''}' read as ${ns.edition}`,
      });
    }
    const element = SCHEMA.elements[root.name];
    if (element === undefined || (root.ns !== undefined && ns === undefined)) {
      const unknown: Record<string, unknown> = { type: 'Unknown' };
      if (ns) unknown['edition'] = ns.edition;
      unknown['root'] = root.name;
      unknown['xml'] = doc.value.source;
      return { ok: true, value: unknown as unknown as CstaMessage, warnings };
    }
    const out: Record<string, unknown> = { type: root.name };
    if (ns) out['edition'] = ns.edition;
    const ctx: DecodeContext = { source: doc.value.source, warnings };
    decodeRoot(root, element.t, out, ctx);
    return {
      ok: true,
      value: out as unknown as CstaMessage,
      warnings: warnings.length === 0 ? NO_WARNINGS : warnings,
    };
  } catch (e) {
    if (e instanceof InvalidContent) {
      return { ok: false, error: new CstaParseError('CSTA_ERR_INVALID', `${e.path}: ${e.message}`, { path: e.path }) };
    }
    // Not reached by any known input; parsing must never throw, so a defect becomes a value too.
    return { ok: false, error: new CstaParseError('CSTA_ERR_PARSE', 'internal decoder failure', { cause: e }) };
  }
}
