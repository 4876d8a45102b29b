/**
 * `serializeCsta`: a typed ECMA-323 message out as XML text.
 *
 * @remarks
 * ECMA-323 §7. Child order follows the schema. The namespace is the one of the chosen edition
 * (option, else `message.edition`, else ed3, the edition of ECMA TR/87).
 */
import { encodeContent } from './encode.js';
import { DEFAULT_EDITION, editionNumber, EDITIONS, namespaceOf } from './namespace.js';
import { SCHEMA } from './model/schema.js';
import type { CstaMessage, Edition } from './model/types.js';
import { UaCstaError } from '../errors.js';

/** Options of {@link serializeCsta}. */
export interface SerializeCstaOptions {
  /** Edition to write; overrides `message.edition`. @defaultValue `message.edition ?? 'ed3'` */
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
  const edition = options.edition ?? message.edition ?? DEFAULT_EDITION;
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
  const n = editionNumber(edition);
  if (element.s !== undefined && element.s > n) {
    throw new UaCstaError('CSTA_ERR_SERIALIZE', `<${message.type}> exists from ed${element.s} on; cannot be written in ${edition}`);
  }
  const root = message.type;
  const inner = encodeContent(message as unknown as Record<string, unknown>, element.t, { edition: n }, '/' + root, ENVELOPE);
  const open = `<${root} xmlns="${namespaceOf(edition)}"`;
  const body = inner === '' ? `${open}/>` : `${open}>${inner}</${root}>`;
  return options.declaration === false ? body : DECLARATION + body;
}
