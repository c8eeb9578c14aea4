import { describe, expect, it } from 'vitest';
import { CodecError } from './errors.js';
import { fromBase32, infoHashBase32, parseInfoHash, toBase32 } from './ids.js';

describe('base32 (RFC 4648)', () => {
  it.each([
    ['', ''],
    ['f', 'MY'],
    ['fo', 'MZXQ'],
    ['foo', 'MZXW6'],
    ['foob', 'MZXW6YQ'],
    ['fooba', 'MZXW6YTB'],
    ['foobar', 'MZXW6YTBOI'],
  ])('%j ↔ %s', (plain, coded) => {
    expect(toBase32(Buffer.from(plain))).toBe(coded);
    expect(fromBase32(coded)?.toString()).toBe(plain);
    expect(fromBase32(coded.toLowerCase())?.toString()).toBe(plain);
  });

  it('rejects characters outside the alphabet and stray bits', () => {
    expect(fromBase32('MY1')).toBeUndefined();
    expect(fromBase32('MZ')).toBeUndefined(); // 'Z' leaves non-zero padding bits
  });
});

describe('parseInfoHash', () => {
  const hex = 'd2474e86c95b19b8bcfdb92bc12c9d44667cfa36';
  it('reads hex and base32 forms of the same hash', () => {
    const h = parseInfoHash(hex);
    expect(parseInfoHash(hex.toUpperCase())).toEqual(h);
    expect(parseInfoHash(infoHashBase32(h))).toEqual(h);
  });
  it.each(['', hex.slice(2), `${hex}00`, 'z'.repeat(40), '1'.repeat(32)])('rejects %j', (s) => {
    expect(() => parseInfoHash(s)).toThrow(CodecError);
  });
});
