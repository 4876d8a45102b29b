/**
 * Random identifiers for SIP: Via branches, From/To tags, Call-IDs.
 *
 * @remarks
 * Randomness comes from `crypto.getRandomValues` (a global in Node 20 and in browsers), never
 * from a non-cryptographic generator. A branch carries 96 random bits: npm `sip` drew its
 * branches from 10^6 values, so two INFOs of one dialog reused a branch within Timer J and the
 * second was answered with the first one's response (research/libfit.md §1.6). Tests inject a
 * {@link RandomFill} such as {@link seededRandom} to make identifiers deterministic.
 */

/**
 * The prefix of every branch built by an RFC 3261 element.
 *
 * @remarks
 * RFC 3261 §8.1.1.7: "The branch ID inserted by an element compliant with this specification
 * MUST always begin with the characters "z9hG4bK"."
 */
export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

/** Random bits in each kind of identifier. */
export const ID_RANDOM_BITS = {
  /** RFC 3261 §8.1.1.7 asks for a branch unique across space and time; 96 bits. */
  branch: 96,
  /** RFC 3261 §19.3 asks for at least 32 random bits in a tag; 64 bits. */
  tag: 64,
  /** RFC 3261 §8.1.1.4 asks for a globally unique Call-ID; 128 bits. */
  callId: 128,
} as const;

/** Fills `bytes` with random values; `crypto.getRandomValues` in production. */
export type RandomFill = (bytes: Uint8Array<ArrayBuffer>) => void;

/** Makes the identifiers a SIP element puts on the wire. */
export interface IdGenerator {
  /** A Via branch: `z9hG4bK` and 96 random bits as 24 lower-case hex digits. */
  branch(): string;
  /** A From or To tag: 64 random bits as 16 lower-case hex digits. */
  tag(): string;
  /** A Call-ID: 128 random bits as 32 lower-case hex digits (no `@host`). */
  callId(): string;
}

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).padStart(2, '0'),
);

/** Random bytes drawn from the source at a time; getRandomValues accepts up to 65,536. */
const POOL_BYTES = 4_096;

const cryptoFill: RandomFill = (bytes) => {
  crypto.getRandomValues(bytes);
};

/**
 * Creates an {@link IdGenerator} over a random source.
 *
 * @remarks
 * Bytes are drawn from the source in blocks of 4 KiB, so one identifier costs no system call.
 *
 * @param fill - the random source; `crypto.getRandomValues` unless a test passes another.
 *
 * @example
 * const ids = createIdGenerator();
 * ids.branch();   // 'z9hG4bK3f1c…' (24 hex digits after the cookie)
 */
export function createIdGenerator(fill: RandomFill = cryptoFill): IdGenerator {
  const pool = new Uint8Array(new ArrayBuffer(POOL_BYTES));
  let used = POOL_BYTES;

  const hex = (bytes: number): string => {
    if (used + bytes > POOL_BYTES) {
      fill(pool);
      used = 0;
    }
    let s = '';
    for (let i = used; i < used + bytes; i++) s += HEX[pool[i] ?? 0];
    used += bytes;
    return s;
  };

  return {
    branch: () => BRANCH_MAGIC_COOKIE + hex(ID_RANDOM_BITS.branch / 8),
    tag: () => hex(ID_RANDOM_BITS.tag / 8),
    callId: () => hex(ID_RANDOM_BITS.callId / 8),
  };
}

/**
 * A deterministic {@link RandomFill} for tests and fixtures: the same seed gives the same bytes.
 *
 * @remarks
 * Not cryptographic (a 32-bit counter through an integer hash). Never pass it in production.
 *
 * @example
 * const ids = createIdGenerator(seededRandom(42));   // same branches on every run
 */
export function seededRandom(seed: number): RandomFill {
  let state = seed >>> 0;
  return (bytes) => {
    for (let i = 0; i < bytes.length; i += 4) {
      state = (state + 0x9e3779b9) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      z = (z ^ (z >>> 16)) >>> 0;
      for (let k = 0; k < 4 && i + k < bytes.length; k++) bytes[i + k] = (z >>> (8 * k)) & 0xff;
    }
  };
}
