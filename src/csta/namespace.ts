/**
 * ECMA-323 namespace URIs: which edition a document uses, and the URI to write for an edition.
 *
 * @remarks
 * ECMA-323 ed2–ed6 each have their own namespace (`…/ecma-323/csta/edN`). Field practice: parse
 * by local name, accept every edition and the known vendor misspellings, answer in the peer's
 * edition (uaCSTA digest §1.11, §6, §7 item 6).
 */
import type { Edition } from './model/types.js';

/** The editions, oldest first. */
export const EDITIONS: readonly Edition[] = ['ed2', 'ed3', 'ed4', 'ed5', 'ed6'];

/** The edition written when nothing else chooses one: ed3, the edition ECMA TR/87 is built on. */
export const DEFAULT_EDITION: Edition = 'ed3';

const CANONICAL_PREFIX = 'http://www.ecma-international.org/standards/ecma-323/csta/';

/** The namespace URI of an edition. */
export function namespaceOf(edition: Edition): string {
  return CANONICAL_PREFIX + edition;
}

/** Edition number: `'ed5'` → 5. */
export function editionNumber(edition: Edition): number {
  return edition.charCodeAt(2) - 48;
}

/** What a namespace URI says about the edition. */
export interface NamespaceInfo {
  readonly edition: Edition;
  /** True for a URI that is not the edition's canonical one (a vendor misspelling, the old ecma.ch host). */
  readonly variant: boolean;
}

/** Each edition's canonical namespace URI → its (shared, frozen) answer. */
const CANONICAL: ReadonlyMap<string, NamespaceInfo> = new Map(
  EDITIONS.map((edition) => [namespaceOf(edition), Object.freeze({ edition, variant: false })]),
);

const HOSTS: Readonly<Record<string, boolean>> = {
  // host → is it the canonical one
  'www.ecma-international.org': true,
  'ecma-international.org': false,
  'www.ecmainternational.org': false, // Yealink (digest §7 item 6)
  'www.ecma.ch': false, // ed2 era (digest §6.1)
};

/**
 * Recognises an ECMA-323 CSTA namespace URI and its edition.
 *
 * @returns `undefined` for anything that is not an ECMA-323 CSTA namespace.
 */
export function editionOfNamespace(uri: string | undefined): NamespaceInfo | undefined {
  if (uri === undefined) return undefined;
  // nearly every body names a canonical namespace: answer those from a table
  const canonical = CANONICAL.get(uri);
  if (canonical !== undefined) return canonical;
  let s = uri.trim();
  let variant = s !== uri;
  if (s.startsWith('https://')) {
    s = 'http://' + s.slice(8);
    variant = true;
  }
  if (!s.startsWith('http://')) return undefined;
  const slash = s.indexOf('/', 7);
  if (slash < 0) return undefined;
  const host = s.slice(7, slash).toLowerCase();
  const canonicalHost = HOSTS[host];
  if (canonicalHost === undefined) return undefined;
  if (!canonicalHost) variant = true;
  let path = s.slice(slash);
  if (path.endsWith('/')) {
    path = path.slice(0, -1);
    variant = true;
  }
  const m = /^\/standards\/ecma-323\/csta\/(ed[2-6])$/i.exec(path);
  if (!m) return undefined;
  const edition = m[1]!.toLowerCase() as Edition;
  if (m[1] !== edition) variant = true;
  return { edition, variant };
}
