/**
 * Byte-level mutations for fuzzing parsers (SIP messages, CSTA bodies): set, insert, delete,
 * repeat and truncate at random positions, biased towards the bytes that matter to the grammars
 * (CR, LF, separators, quotes, angle brackets, NUL, bytes of multi-byte UTF-8 and invalid UTF-8).
 */
import fc from 'fast-check';

/** Bytes that matter to the grammar, for insertions and overwrites. */
export const INTERESTING = [
  0x0d, 0x0a, 0x20, 0x09, 0x3a, 0x3b, 0x2c, 0x22, 0x5c, 0x3c, 0x3e, 0x3d, 0x40, 0x2f, 0x00, 0x7f,
  0x80, 0xc3, 0xff, 0x30, 0x39, 0x2d,
];

export type Mutation =
  | { readonly kind: 'set'; readonly at: number; readonly byte: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: readonly number[] }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | {
      readonly kind: 'repeat';
      readonly at: number;
      readonly length: number;
      readonly times: number;
    }
  | { readonly kind: 'truncate'; readonly at: number };

export const byteArb = fc.oneof(fc.constantFrom(...INTERESTING), fc.integer({ min: 0, max: 255 }));
const position = fc.nat({ max: 1 << 16 });
export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: position, byte: byteArb }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: position,
    bytes: fc.array(byteArb, { minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    at: position,
    length: fc.integer({ min: 1, max: 16 }),
  }),
  fc.record({
    kind: fc.constant('repeat' as const),
    at: position,
    length: fc.integer({ min: 1, max: 40 }),
    times: fc.integer({ min: 2, max: 400 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
);

export function mutate(seed: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let b = Array.from(seed);
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    switch (m.kind) {
      case 'set':
        if (at < b.length) b[at] = m.byte;
        break;
      case 'insert':
        b.splice(at, 0, ...m.bytes);
        break;
      case 'delete':
        b.splice(at, m.length);
        break;
      case 'repeat': {
        const piece = b.slice(at, at + m.length);
        const copies: number[] = [];
        for (let i = 0; i < m.times && copies.length < 70_000; i++) copies.push(...piece);
        b.splice(at, 0, ...copies);
        break;
      }
      case 'truncate':
        b = b.slice(0, at);
        break;
      default: {
        const never: never = m;
        throw new Error(`unknown mutation ${JSON.stringify(never)}`);
      }
    }
  }
  return Uint8Array.from(b);
}

