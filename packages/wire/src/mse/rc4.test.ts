import { createHash } from 'node:crypto';
import { randomChunks, rng } from '@tc/testkit/random';
import { describe, expect, it } from 'vitest';
import { Rc4 } from './rc4.js';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

function keystream(key: Uint8Array, n: number): Buffer {
  const b = Buffer.alloc(n);
  new Rc4(key).process(b);
  return b;
}

describe('Rc4', () => {
  it('matches the classic test vectors', () => {
    const enc = (key: string, text: string): string => {
      const b = Buffer.from(text);
      new Rc4(Buffer.from(key)).process(b);
      return b.toString('hex');
    };
    expect(enc('Key', 'Plaintext')).toBe('bbf316e8d940af0ad3');
    expect(enc('Wiki', 'pedia')).toBe('1021bf0420');
    expect(enc('Secret', 'Attack at dawn')).toBe('45a01f645fc35b383552544b9bf5');
  });

  // RFC 6229, key 0x0102030405; the other offsets were read from OpenSSL's RC4 (through Python's
  // `cryptography`), an implementation independent of this one.
  it('matches RFC 6229 at offsets across the first 4 KiB', () => {
    const ks = keystream(hex('0102030405'), 4096 + 16);
    const at = (off: number): string => ks.subarray(off, off + 16).toString('hex');
    expect(at(0)).toBe('b2396305f03dc027ccc3524a0a1118a8');
    expect(at(240)).toBe('28cb1132c96ce286421dcaadb8b69eae');
    expect(at(1008)).toBe('45129048e6a0ed0b56b490338f078da5');
    expect(at(1024)).toBe('30abbcc7c20b01609f23ee2d5f6bb7df');
    expect(at(4080)).toBe('068326a2118416d21f9d04b2cd1ca050');
  });

  it('skips as MSE does: a 20-byte SHA-1 key, 1024 bytes dropped (value from OpenSSL)', () => {
    const r = new Rc4(createHash('sha1').update('keyA').digest());
    r.skip(1024);
    const b = Buffer.alloc(32);
    r.process(b);
    expect(b.toString('hex')).toBe('f582c20f43fd4dd079ce53607f1119905ef2db5ef102de27667db45f6105000c');
  });

  it('gives the same stream however the input is split, and decrypts what it encrypted', () => {
    const next = rng(7);
    const key = Buffer.from('a key of some length');
    const plain = Buffer.alloc(50_000);
    for (let i = 0; i < plain.length; i++) plain[i] = (i * 31) & 0xff;
    const whole = Buffer.from(plain);
    new Rc4(key).process(whole);
    for (let round = 0; round < 20; round++) {
      const enc = new Rc4(key);
      const parts = randomChunks(next, Buffer.from(plain), 3000).map((c) => {
        enc.process(c);
        return c;
      });
      // equals(), not toEqual: a deep compare of 50 KB byte by byte takes seconds.
      expect(Buffer.concat(parts).equals(whole)).toBe(true);
    }
    const back = Buffer.from(whole);
    new Rc4(key).process(back);
    expect(back.equals(plain)).toBe(true);
  });

  it('writes to a separate destination without touching the source', () => {
    const src = Buffer.from('leave me as I am');
    const dst = Buffer.alloc(src.length);
    new Rc4(Buffer.from('Key')).process(src, dst);
    expect(src.toString()).toBe('leave me as I am');
    const check = Buffer.from(src);
    new Rc4(Buffer.from('Key')).process(check);
    expect(dst).toEqual(check);
    expect(() => new Rc4(Buffer.from('Key')).process(src, Buffer.alloc(3))).toThrow(expect.objectContaining({ code: 'WIRE_BAD_ARGUMENT' }));
  });

  it('rejects keys outside 1..256 bytes', () => {
    expect(() => new Rc4(Buffer.alloc(0))).toThrow(expect.objectContaining({ code: 'WIRE_BAD_ARGUMENT' }));
    expect(() => new Rc4(Buffer.alloc(257))).toThrow(expect.objectContaining({ code: 'WIRE_BAD_ARGUMENT' }));
    expect(() => new Rc4(Buffer.alloc(256, 1))).not.toThrow();
  });
});

describe('Rc4: the WebAssembly kernel against the JavaScript loop', () => {
  it('gives the same bytes for every length around the switch-over and across the 64 KiB window', () => {
    const next = rng(11);
    const key = Buffer.from('cross-check key');
    const a = new Rc4(key);
    const b = new Rc4(key);
    for (const n of [0, 1, 3, 4, 5, 63, 64, 65, 67, 1000, 16384, 65535, 65536, 65537, 200_003]) {
      const src = Buffer.alloc(n);
      for (let i = 0; i < n; i++) src[i] = Math.floor(next() * 256);
      const viaProcess = Buffer.alloc(n);
      const viaJs = Buffer.alloc(n);
      a.process(src, viaProcess);
      b.processJs(src, viaJs);
      expect(viaProcess.equals(viaJs)).toBe(true);
    }
  });

  it('keeps each instance apart though they share one kernel', () => {
    const x = new Rc4(Buffer.from('one'));
    const y = new Rc4(Buffer.from('two'));
    const bx = Buffer.alloc(3000);
    const by = Buffer.alloc(3000);
    for (let k = 0; k < 3000; k += 1000) {
      x.process(bx.subarray(k, k + 1000)); // interleaved calls
      y.process(by.subarray(k, k + 1000));
    }
    const rx = Buffer.alloc(3000);
    new Rc4(Buffer.from('one')).processJs(rx);
    expect(bx.equals(rx)).toBe(true);
    expect(by.equals(rx)).toBe(false);
  });

  it('works on a view into a larger buffer without touching its neighbours', () => {
    const big = Buffer.alloc(10_000, 0xaa);
    new Rc4(Buffer.from('k')).process(big.subarray(100, 9_900));
    expect(big.subarray(0, 100).every((v) => v === 0xaa)).toBe(true);
    expect(big.subarray(9_900).every((v) => v === 0xaa)).toBe(true);
    const ref = Buffer.alloc(9_800, 0xaa);
    new Rc4(Buffer.from('k')).processJs(ref);
    expect(big.subarray(100, 9_900).equals(ref)).toBe(true);
  });
});
