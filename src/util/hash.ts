/**
 * MD5 (RFC 1321), SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), synchronous and portable.
 *
 * @remarks
 * Digest authentication (RFC 7616, RFC 8760) needs MD5 and SHA-256 on every challenged request.
 * `node:crypto` is off limits under `src/sip/` (it must run in browsers too), and WebCrypto's
 * `crypto.subtle.digest` has no MD5 and is asynchronous, which would make every digest computation
 * a promise. These implementations are written from the two standards and checked against their
 * published test vectors (test/unit/util/hash.test.ts). They hash a few hundred bytes per SIP
 * request, so they favour clarity over speed. Measured on the 2-vCPU Node 20 box (tsx, medians of
 * 7 runs of 100k calls, UTF-8 encoding and hex included): a 64-byte string takes 3–4 µs with MD5
 * and 4–5 µs with SHA-256, 2–4 times `node:crypto` (1.1–2.7 µs, which pays a native call per
 * hash); one SHA-256 request-digest (H(A1), H(A2), KD) takes 12–25 µs; 1 MiB takes 6–10 ms (MD5)
 * and 9–17 ms (SHA-256). The ranges are the spread between a quiet and a loaded machine.
 *
 * Strings are hashed as their UTF-8 bytes. MD5 is broken for collision resistance; it is here
 * only because RFC 3261 digest authentication requires it.
 */

/** What can be hashed: bytes as they are, or text as UTF-8. */
export type HashInput = Uint8Array | string;

const utf8 = new TextEncoder();

function bytesOf(data: HashInput): Uint8Array {
  return typeof data === 'string' ? utf8.encode(data) : data;
}

/**
 * `data` followed by the padding both standards share: one 1 bit, zeros up to 56 bytes mod 64,
 * then the length in bits as a 64-bit integer, little-endian for MD5 (RFC 1321 §3.2) and
 * big-endian for SHA-256 (FIPS 180-4 §5.1.1).
 */
function pad(data: Uint8Array, littleEndian: boolean): Uint8Array {
  const n = data.length;
  const total = (((n + 8) >>> 6) + 1) << 6;
  const out = new Uint8Array(total);
  out.set(data, 0);
  out[n] = 0x80;
  const low = (n << 3) >>> 0;
  const high = Math.floor(n / 0x20000000) >>> 0;
  const view = new DataView(out.buffer);
  if (littleEndian) {
    view.setUint32(total - 8, low, true);
    view.setUint32(total - 4, high, true);
  } else {
    view.setUint32(total - 8, high, false);
    view.setUint32(total - 4, low, false);
  }
  return out;
}

/** RFC 1321 §3.4: T[i] = floor(4294967296 * abs(sin(i))), i = 1..64. */
const MD5_T = new Int32Array([
  0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
  0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
  0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
  0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
  0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
  0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
  0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
  0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
]);

/** RFC 1321 §3.4: the left-rotation amounts of rounds 1–4, four per round. */
const MD5_S = new Uint8Array([7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]);

/** Scratch space for one MD5 block; the functions are synchronous, so one is enough. */
const MD5_X = new Int32Array(16);

/**
 * The MD5 digest of `data` (RFC 1321): 16 bytes.
 *
 * @example
 * toHex(md5('abc'));   // '900150983cd24fb0d6963f7d28e17f72' (RFC 1321 §A.5)
 */
export function md5(data: HashInput): Uint8Array {
  const m = pad(bytesOf(data), true);
  const view = new DataView(m.buffer);
  const x = MD5_X;
  // RFC 1321 §3.3: A, B, C, D initialised to 01 23 45 67, 89 ab cd ef, fe dc ba 98, 76 54 32 10
  // (low-order bytes first).
  let a0 = 0x67452301 | 0;
  let b0 = 0xefcdab89 | 0;
  let c0 = 0x98badcfe | 0;
  let d0 = 0x10325476 | 0;
  for (let off = 0; off < m.length; off += 64) {
    for (let j = 0; j < 16; j++) x[j] = view.getInt32(off + 4 * j, true);
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    for (let i = 0; i < 64; i++) {
      let f: number;
      let k: number;
      const round = i >>> 4;
      if (round === 0) {
        f = (b & c) | (~b & d); // F(X,Y,Z) = XY v not(X) Z
        k = i;
      } else if (round === 1) {
        f = (b & d) | (c & ~d); // G(X,Y,Z) = XZ v Y not(Z)
        k = (5 * i + 1) & 15;
      } else if (round === 2) {
        f = b ^ c ^ d; // H(X,Y,Z) = X xor Y xor Z
        k = (3 * i + 5) & 15;
      } else {
        f = c ^ (b | ~d); // I(X,Y,Z) = Y xor (X v not(Z))
        k = (7 * i) & 15;
      }
      const s = MD5_S[(round << 2) | (i & 3)]!;
      const sum = (a + f + MD5_T[i]! + x[k]!) | 0;
      a = d;
      d = c;
      c = b;
      b = (b + ((sum << s) | (sum >>> (32 - s)))) | 0;
    }
    a0 = (a0 + a) | 0;
    b0 = (b0 + b) | 0;
    c0 = (c0 + c) | 0;
    d0 = (d0 + d) | 0;
  }
  const out = new Uint8Array(16);
  const ov = new DataView(out.buffer);
  ov.setInt32(0, a0, true);
  ov.setInt32(4, b0, true);
  ov.setInt32(8, c0, true);
  ov.setInt32(12, d0, true);
  return out;
}

/**
 * FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64
 * primes.
 */
const SHA256_K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/**
 * FIPS 180-4 §5.3.3: the first 32 bits of the fractional parts of the square roots of the first
 * eight primes.
 */
const SHA256_H0 = [
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
] as const;

/** Scratch space for the SHA-256 message schedule. */
const SHA256_W = new Int32Array(64);

const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));

/**
 * The SHA-256 digest of `data` (FIPS 180-4 §6.2): 32 bytes.
 *
 * @example
 * toHex(sha256('abc'));   // 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
 */
export function sha256(data: HashInput): Uint8Array {
  const m = pad(bytesOf(data), false);
  const view = new DataView(m.buffer);
  const w = SHA256_W;
  let h0 = SHA256_H0[0] | 0;
  let h1 = SHA256_H0[1] | 0;
  let h2 = SHA256_H0[2] | 0;
  let h3 = SHA256_H0[3] | 0;
  let h4 = SHA256_H0[4] | 0;
  let h5 = SHA256_H0[5] | 0;
  let h6 = SHA256_H0[6] | 0;
  let h7 = SHA256_H0[7] | 0;
  for (let off = 0; off < m.length; off += 64) {
    // §6.2.2 step 1: the message schedule.
    for (let t = 0; t < 16; t++) w[t] = view.getInt32(off + 4 * t, false);
    for (let t = 16; t < 64; t++) {
      const w15 = w[t - 15]!;
      const w2 = w[t - 2]!;
      const s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >>> 3); // σ0
      const s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >>> 10); // σ1
      w[t] = (s1 + w[t - 7]! + s0 + w[t - 16]!) | 0;
    }
    // Steps 2–3.
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    let f = h5;
    let g = h6;
    let h = h7;
    for (let t = 0; t < 64; t++) {
      const S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25); // Σ1
      const ch = (e & f) ^ (~e & g);
      const t1 = (h + S1 + ch + SHA256_K[t]! + w[t]!) | 0;
      const S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22); // Σ0
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      h = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    // Step 4.
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
    h5 = (h5 + f) | 0;
    h6 = (h6 + g) | 0;
    h7 = (h7 + h) | 0;
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  ov.setInt32(0, h0, false);
  ov.setInt32(4, h1, false);
  ov.setInt32(8, h2, false);
  ov.setInt32(12, h3, false);
  ov.setInt32(16, h4, false);
  ov.setInt32(20, h5, false);
  ov.setInt32(24, h6, false);
  ov.setInt32(28, h7, false);
  return out;
}

/** SHA-256's block size in bytes, which HMAC pads its key to (RFC 2104 §2: B = 64). */
const SHA256_BLOCK_BYTES = 64;

/**
 * HMAC-SHA-256 of `data` under `key` (RFC 2104): 32 bytes.
 *
 * @remarks
 * `H(K XOR opad, H(K XOR ipad, text))`, with a key longer than the block first hashed (RFC 2104
 * §2). Used to make digest nonces that the server can check without remembering them.
 */
export function hmacSha256(key: HashInput, data: HashInput): Uint8Array {
  let k = bytesOf(key);
  if (k.length > SHA256_BLOCK_BYTES) k = sha256(k);
  const msg = bytesOf(data);
  const inner = new Uint8Array(SHA256_BLOCK_BYTES + msg.length);
  const outer = new Uint8Array(SHA256_BLOCK_BYTES + 32);
  for (let i = 0; i < SHA256_BLOCK_BYTES; i++) {
    const b = k[i] ?? 0;
    inner[i] = b ^ 0x36;
    outer[i] = b ^ 0x5c;
  }
  inner.set(msg, SHA256_BLOCK_BYTES);
  outer.set(sha256(inner), SHA256_BLOCK_BYTES);
  return sha256(outer);
}

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) =>
  i.toString(16).padStart(2, '0'),
);

/** Lower-case hex of `bytes` (RFC 7616 §3.4: "a string of 2*n lowercase hexadecimal digits"). */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX[bytes[i]!];
  return s;
}

/** `toHex(md5(data))`. */
export function md5Hex(data: HashInput): string {
  return toHex(md5(data));
}

/** `toHex(sha256(data))`. */
export function sha256Hex(data: HashInput): string {
  return toHex(sha256(data));
}

/**
 * True when `a` and `b` are the same string, in a time that depends only on their lengths.
 *
 * @remarks
 * For comparing a received digest response with the expected one: an early-exit comparison tells
 * an attacker, by its timing, how many leading characters were right. The lengths are not
 * secret (a digest's length follows from its algorithm).
 */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
