import { describe, expect, it } from 'vitest';
import { codeOf } from '../../test/helpers.js';
import { BDict, BRaw, decode, decodePrefix, encode } from '../index.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('bencode decode', () => {
  it('decodes every type', () => {
    const v = decode(b('d1:ai-12e1:bl4:spami0ee1:cd1:xi1eee'));
    expect(v).toBeInstanceOf(BDict);
    const d = v as BDict;
    expect(d.get('a')).toBe(-12);
    expect(d.get('b')).toEqual([b('spam'), 0]);
    expect((d.get('c') as BDict).get('x')).toBe(1);
  });

  it('records the byte span of every dictionary value', () => {
    const input = b('d4:infod1:xi1ee1:zi2ee');
    const d = decode(input) as BDict;
    const s = d.span('info')!;
    expect(input.toString('latin1', s.start, s.end)).toBe('d1:xi1ee');
  });

  it.each([
    ['i03e', 'CODEC_LEADING_ZERO'],
    ['03:abc', 'CODEC_LEADING_ZERO'],
    ['i-0e', 'CODEC_NEGATIVE_ZERO'],
    ['ie', 'CODEC_BAD_SYNTAX'],
    ['i-e', 'CODEC_BAD_SYNTAX'],
    ['i1.5e', 'CODEC_BAD_SYNTAX'],
    ['i+5e', 'CODEC_BAD_SYNTAX'],
    ['-1:a', 'CODEC_BAD_SYNTAX'],
    ['i1egarbage', 'CODEC_TRAILING_DATA'],
    ['999999999:abc', 'CODEC_TRUNCATED'],
    ['99999999999999999999999:abc', 'CODEC_TRUNCATED'],
    ['d1:bi1e1:ai2ee', 'CODEC_UNSORTED_KEYS'],
    ['d1:ai1e1:ai2ee', 'CODEC_DUPLICATE_KEY'],
    ['di1ei2ee', 'CODEC_BAD_SYNTAX'],
    ['d1:ai1e', 'CODEC_TRUNCATED'],
    ['d1:ae', 'CODEC_BAD_SYNTAX'],
    ['l', 'CODEC_TRUNCATED'],
    ['', 'CODEC_TRUNCATED'],
    ['x', 'CODEC_BAD_SYNTAX'],
  ])('strict mode rejects %j with %s', (input, code) => {
    expect(codeOf(() => decode(b(input)))).toBe(code);
  });

  it('lenient mode accepts unsorted keys but not duplicates', () => {
    const d = decode(b('d1:bi1e1:ai2ee'), { mode: 'lenient' }) as BDict;
    expect(d.sorted).toBe(false);
    expect([...d.keys()]).toEqual(['b', 'a']);
    expect(codeOf(() => decode(b('d1:bi1e1:ai2e1:bi3ee'), { mode: 'lenient' }))).toBe('CODEC_DUPLICATE_KEY');
  });

  it('keeps integers beyond 2^53 exact as bigint', () => {
    expect(decode(b('i9007199254740993e'))).toBe(9007199254740993n);
    expect(decode(b('i-9007199254740993e'))).toBe(-9007199254740993n);
    expect(decode(b('i9007199254740991e'))).toBe(9007199254740991);
  });

  it('treats __proto__ as an ordinary key', () => {
    const d = decode(b('d9:__proto__d1:xi1eee')) as BDict;
    expect(d.get('__proto__')).toBeInstanceOf(BDict);
    expect(Object.getPrototypeOf(d)).toBe(BDict.prototype);
  });

  it('bounds nesting depth without overflowing the stack', () => {
    const deep = 'l'.repeat(100_000) + 'e'.repeat(100_000);
    expect(codeOf(() => decode(b(deep)))).toBe('CODEC_TOO_DEEP');
  });

  it('bounds the token count', () => {
    expect(codeOf(() => decode(b('l' + 'i1e'.repeat(100) + 'e'), { maxTokens: 50 }))).toBe('CODEC_TOO_MANY_TOKENS');
  });

  it('decodePrefix reports where the value ended', () => {
    const { value, end } = decodePrefix(b('d8:msg_typei1e5:piecei0eeRAWBYTES'));
    expect((value as BDict).get('msg_type')).toBe(1);
    expect(end).toBe(25);
  });
});

describe('bencode encode', () => {
  it('sorts keys by raw bytes and round-trips', () => {
    const out = encode(
      new Map<string, number>([
        ['b', 1],
        ['a', 2],
      ]),
    );
    expect(out.toString('latin1')).toBe('d1:ai2e1:bi1ee');
    expect(encode(decode(b('d1:ai2e1:bi1ee')))).toEqual(b('d1:ai2e1:bi1ee'));
  });

  it('re-encodes a non-UTF-8 key as its raw bytes', () => {
    const input = b('d2:\xff\xfei1ee');
    expect(encode(decode(input))).toEqual(input);
  });

  it('writes BRaw verbatim and bigints exactly', () => {
    expect(encode({ info: new BRaw(b('d1:bi1e1:ai2ee')), n: 9007199254740993n }).toString('latin1')).toBe('d4:infod1:bi1e1:ai2ee1:ni9007199254740993ee');
  });

  it('refuses values it cannot encode exactly', () => {
    expect(codeOf(() => encode(1.5))).toBe('CODEC_UNENCODABLE');
    expect(codeOf(() => encode(null as never))).toBe('CODEC_UNENCODABLE');
  });
});
