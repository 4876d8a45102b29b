import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacSha256, md5Hex, sha256Hex, timingSafeEqual, toHex } from '../../../src/util/hash.js';

describe('md5', () => {
  it('reproduces the test suite of RFC 1321 §A.5', () => {
    expect(md5Hex('')).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(md5Hex('a')).toBe('0cc175b9c0f1b6a831c399e269772661');
    expect(md5Hex('abc')).toBe('900150983cd24fb0d6963f7d28e17f72');
    expect(md5Hex('message digest')).toBe('f96b697d7cb7938d525a2f31aaf161d0');
    expect(md5Hex('abcdefghijklmnopqrstuvwxyz')).toBe('c3fcd3d76192e4007dfb496cca67e13b');
    expect(md5Hex('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789')).toBe(
      'd174ab98d277d9f5a5611c2c9f419d9f',
    );
    expect(md5Hex('1234567890'.repeat(8))).toBe('57edf4a22be3c955ac49da2e2107b67a');
  });
});

describe('sha256', () => {
  it('reproduces the FIPS 180-4 example vectors (one block, two blocks, a million a)', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
    expect(sha256Hex('a'.repeat(1_000_000))).toBe(
      'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
    );
  });
});

describe('hmacSha256', () => {
  it('reproduces RFC 4231 test cases 1, 2 and 6 (short key, text key, key longer than a block)', () => {
    expect(toHex(hmacSha256(new Uint8Array(20).fill(0x0b), 'Hi There'))).toBe(
      'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7',
    );
    expect(toHex(hmacSha256('Jefe', 'what do ya want for nothing?'))).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    expect(
      toHex(
        hmacSha256(
          new Uint8Array(131).fill(0xaa),
          'Test Using Larger Than Block-Size Key - Hash Key First',
        ),
      ),
    ).toBe('60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54');
  });
});

describe('hashes against node:crypto', () => {
  it('agree with node:crypto on every length from 0 to 200 bytes, around each padding boundary, in UTF-8', () => {
    for (let n = 0; n <= 200; n++) {
      const s = 'ü'.repeat(n % 3) + 'x'.repeat(n);
      expect(md5Hex(s), `md5 length ${n}`).toBe(createHash('md5').update(s, 'utf8').digest('hex'));
      expect(sha256Hex(s), `sha256 length ${n}`).toBe(
        createHash('sha256').update(s, 'utf8').digest('hex'),
      );
      expect(toHex(hmacSha256('k'.repeat(n), s)), `hmac key length ${n}`).toBe(
        createHmac('sha256', 'k'.repeat(n)).update(s, 'utf8').digest('hex'),
      );
    }
  });

  it('hashes bytes as given, including every byte value', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(md5Hex(bytes)).toBe(createHash('md5').update(bytes).digest('hex'));
    expect(sha256Hex(bytes)).toBe(createHash('sha256').update(bytes).digest('hex'));
  });
});

describe('timingSafeEqual', () => {
  it('is true only for identical strings', () => {
    expect(timingSafeEqual('abc', 'abc')).toBe(true);
    expect(timingSafeEqual('', '')).toBe(true);
    expect(timingSafeEqual('abc', 'abd')).toBe(false);
    expect(timingSafeEqual('abc', 'ab')).toBe(false);
  });
});
