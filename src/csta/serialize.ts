/**
 * `serializeCsta`: a typed ECMA-323 message out as XML text.
 *
 * @remarks
 * ECMA-323 §7. Child order follows the schema. The namespace is the one of the chosen edition
 * (option, else `message.edition`); with neither, ed3 (the edition of ECMA TR/87) or, when the
 * message uses an element or field that ed3 lacks, the oldest edition that has them all.
 */
import { EditionTooOld, encodeContent } from './encode.js';
import { DEFAULT_EDITION, editionNumber, EDITIONS, namespaceOf } from './namespace.js';
import { SCHEMA } from './model/schema.js';
import type { CstaMessage, Edition } from './model/types.js';
import { UaCstaError } from '../errors.js';

/** Options of {@link serializeCsta}. */
export interface SerializeCstaOptions {
  /**
   * Edition to write; overrides `message.edition`. @defaultValue `message.edition`, else the
   * oldest edition from ed3 on that has every element and field the message uses
   */
  readonly edition?: Edition;
  /** Start with `<?xml version="1.0" encoding="UTF-8"?>`. @defaultValue true */
  readonly declaration?: boolean;
}

const ENVELOPE: ReadonlySet<string> = new Set(['type', 'edition']);
const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/**
 * Writes a CSTA message as an XML document.
 *
 * @throws `CSTA_ERR_SERIALIZE` when the message does not fit the model (unknown type or field,
 *   missing mandatory field, wrong value type, a field or element the edition does not have).
 * @example
 * serializeCsta({ type: 'MakeCallResponse', callingDevice: { callID: '41', deviceID: '1001' } });
 */
export function serializeCsta(message: CstaMessage, options: SerializeCstaOptions = {}): string {
  const chosen = options.edition ?? message.edition;
  const edition = chosen ?? DEFAULT_EDITION;
  if (!EDITIONS.includes(edition)) {
    throw new UaCstaError('ERR_INVALID_ARG', `edition must be one of ${EDITIONS.join(', ')}; found '${String(edition)}'`);
  }
  if (message.type === 'Unknown') {
    throw new UaCstaError('CSTA_ERR_SERIALIZE', `cannot write an Unknown message (root <${message.root}>)`);
  }
  const element = SCHEMA.elements[message.type];
  if (element === undefined) {
    throw new UaCstaError('CSTA_ERR_SERIALIZE', `'${String(message.type)}' is not an ECMA-323 message`);
  }
  let n = editionNumber(edition);
  if (element.s !== undefined && element.s > n) {
    if (chosen !== undefined) {
      throw new UaCstaError('CSTA_ERR_SERIALIZE', `<${message.type}> exists from ed${element.s} on; cannot be written in ${edition}`);
    }
    n = element.s;
  }
  const root = message.type;
  let inner: string;
  for (;;) {
    try {
      inner = encodeContent(message as unknown as Record<string, unknown>, element.t, { edition: n }, '/' + root, ENVELOPE);
      break;
    } catch (e) {
      // no edition asked for (a message read without a namespace, or built by hand): the oldest
      // edition from DEFAULT_EDITION on that has every element and field the message uses
      if (chosen !== undefined || !(e instanceof EditionTooOld) || e.needs <= n) throw e;
      n = e.needs;
    }
  }
  const open = `<${root} xmlns="${namespaceOf(`ed${n}` as Edition)}"`;
  const body = inner === '' ? `${open}/>` : `${open}>${inner}</${root}>`;
  return options.declaration === false ? body : DECLARATION + body;
}
