import bencode from 'bencode';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BDict, CodecError, decode, encode, parseMetainfo, type BEncodable } from '../src/index.js';

/** A comparable form of a value: bytes as hex, dictionaries as key-sorted pairs, integers as strings. */
type Plain = string | Plain[] | { d: [string, Plain][] };
function plain(v: unknown): Plain {
  if (v instanceof Uint8Array) return `b:${Buffer.from(v).toString('hex')}`;
  if (typeof v === 'number' || typeof v === 'bigint') return `i:${v}`;
  if (Array.isArray(v)) return v.map(plain);
  let pairs: [string, Plain][];
  if (v instanceof BDict) pairs = [...v.entries.values()].map((e) => [Buffer.from(e.key, 'latin1').toString('hex'), plain(e.value)]);
  else if (v instanceof Map) pairs = [...(v as Map<string, unknown>)].map(([k, x]) => [Buffer.from(k, 'utf8').toString('hex'), plain(x)]);
  else pairs = Object.entries(v as object).map(([k, x]) => [Buffer.from(k, 'utf8').toString('hex'), plain(x)]);
  return { d: pairs.sort((a, b) => Buffer.compare(Buffer.from(a[0], 'hex'), Buffer.from(b[0], 'hex'))) };
}

/** Any bencodable value: byte strings, safe integers and bigints, lists, dictionaries with any byte keys. */
const anyValue = fc.letrec<{ value: BEncodable }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
    fc.maxSafeInteger(),
    fc.bigInt({ min: -(2n ** 80n), max: 2n ** 80n }),
    fc.array(tie('value'), { maxLength: 6 }),
    fc.uniqueArray(fc.tuple(fc.string({ maxLength: 12, unit: 'binary' }), tie('value')), { maxLength: 6, selector: ([k]) => k }).map((pairs) => new Map(pairs)),
  ),
})).value;

/** What the `bencode` package handles exactly: ASCII keys, safe integers, no bigints, no `__proto__` key. */
const oracleValue = fc.letrec<{ value: BEncodable }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.uint8Array({ maxLength: 40 }).map((u) => Buffer.from(u)),
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
    fc.array(tie('value'), { maxLength: 6 }),
    // No `__proto__` key: the package assigns it onto a plain object and loses it (a known flaw our
    // decoder does not share; the prototype test in bencode.test.ts covers ours).
    fc.dictionary(
      fc.string({ maxLength: 10, unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz_ -.0123'.split('')) }).filter((k) => k !== '__proto__'),
      tie('value'),
      { maxKeys: 6, noNullPrototype: true },
    ),
  ),
})).value;

function onlyCodecErrors(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
  }
}

describe('bencode properties', () => {
  it('decode(encode(x)) is x, and re-encoding is byte-identical', () => {
    fc.assert(
      fc.property(anyValue, (x) => {
        const bytes = encode(x);
        const back = decode(bytes);
        expect(plain(back)).toEqual(plain(x));
        expect(encode(back).equals(bytes)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with the bencode package on canonical input (differential oracle)', () => {
    fc.assert(
      fc.property(oracleValue, (x) => {
        const ours = encode(x);
        expect(Buffer.from(bencode.encode(x)).equals(ours)).toBe(true);
        expect(plain(decode(ours))).toEqual(plain(bencode.decode(ours)));
      }),
      { numRuns: 500 },
    );
  });

  it('random bytes never throw anything but CodecError, in either mode', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (u) => {
        onlyCodecErrors(() => decode(u));
        onlyCodecErrors(() => decode(u, { mode: 'lenient' }));
        onlyCodecErrors(() => parseMetainfo(u));
      }),
      { numRuns: 2000 },
    );
  });

  it('random bencode-like text never throws anything but CodecError', () => {
    const token = fc.constantFrom(
      'd',
      'l',
      'e',
      'i',
      '-',
      '0',
      '1',
      '9',
      ':',
      '4:info',
      '4:name',
      '12:piece length',
      '6:pieces',
      '5:files',
      '4:path',
      '6:length',
      'i1e',
      '1:a',
      '2:..',
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 60 }), (parts) => {
        const u = Buffer.from(parts.join(''), 'latin1');
        onlyCodecErrors(() => decode(u, { mode: 'lenient' }));
        onlyCodecErrors(() => parseMetainfo(u));
      }),
      { numRuns: 3000 },
    );
  });

  it('a real torrent with random bytes changed only ever fails with CodecError', () => {
    const torrent = encode({
      announce: 'http://127.0.0.1:1/a',
      info: {
        files: [
          { length: 40_000, path: ['a', 'b.bin'] },
          { length: 20_000, path: ['c.bin'] },
        ],
        name: 'd',
        'piece length': 16384,
        pieces: Buffer.alloc(4 * 20, 3),
      },
    });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(torrent.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (edits) => {
        const copy = Buffer.from(torrent);
        for (const [at, byte] of edits) copy[at] = byte;
        onlyCodecErrors(() => parseMetainfo(copy));
      }),
      { numRuns: 1000 },
    );
  });
});

/**
 * Linear time on adversarial input, judged by work rather than by the clock: each adversarial input
 * of N values must decode within a generous factor of a benign input of N values (a flat list of
 * short strings), timed the same way right beside it. Both allocate and keep about N objects, so GC
 * and a busy machine weigh on both alike; quadratic work over N = 200,000 would be thousands of
 * times slower, far beyond the factor. CPU time, best of three runs.
 */
function bestCpuMs(fn: () => unknown, runs = 3): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = process.cpuUsage();
    fn();
    const d = process.cpuUsage(t);
    best = Math.min(best, (d.user + d.system) / 1000);
  }
  return best;
}

const VALUES = 200_000;
/** Generous: the adversarial shapes cost at most a few times the baseline per value. */
const MAX_FACTOR = 12;
const key = (i: number) => `k${String(i).padStart(9, '0')}`;
const ADVERSARIAL: [string, (n: number) => Buffer][] = [
  ['nesting to the depth limit, repeated', (n) => Buffer.from(`l${`${'l'.repeat(60)}${'e'.repeat(60)}`.repeat(n / 60)}e`)],
  ['a long run of empty lists', (n) => Buffer.from(`l${'le'.repeat(n)}e`)],
  ['a huge count of empty strings', (n) => Buffer.from(`l${'0:'.repeat(n)}e`)],
  ['string length prefixes claiming more than is left', (n) => Buffer.from(`l${'1:a'.repeat(n)}99999999999:e`)],
  ['a dictionary with many keys', (n) => encode(new Map(Array.from({ length: n }, (_, i) => [key(i), 0])))],
  [
    'unsorted keys (lenient)',
    (n) => Buffer.concat([Buffer.from('d'), ...Array.from({ length: n }, (_, i) => Buffer.from(`10:${key(n - i)}i0e`)), Buffer.from('e')]),
  ],
];

describe('decoding stays linear on adversarial input', () => {
  const baseline = Buffer.from(`l${'1:a'.repeat(VALUES)}e`);
  const opts = { mode: 'lenient' as const, maxTokens: 10_000_000 };

  it.each(ADVERSARIAL)('%s', (_name, make) => {
    const input = make(VALUES);
    const run = () => {
      try {
        decode(input, opts);
      } catch (e) {
        if (!(e instanceof CodecError)) throw e;
      }
    };
    run(); // warm up the JIT
    decode(baseline, opts);
    const tBase = bestCpuMs(() => decode(baseline, opts));
    const tAdv = bestCpuMs(run);
    expect(tAdv).toBeLessThan(Math.max(tBase, 5) * MAX_FACTOR);
  });

  it('the 3M-token and depth limits hold on inputs built to defeat them', () => {
    const deep = Buffer.from('l'.repeat(1_000_000));
    expect(() => decode(deep)).toThrow(expect.objectContaining({ code: 'CODEC_TOO_DEEP' }));
    // Integers allocate nothing, so 3M of them are cheap to build and to reject.
    const tokens = Buffer.from(`l${'i0e'.repeat(3_000_001)}e`);
    expect(() => decode(tokens)).toThrow(expect.objectContaining({ code: 'CODEC_TOO_MANY_TOKENS' }));
  });
});

describe('metainfo validation stays linear', () => {
  it('costs a small multiple of decoding, even with 100-deep unique paths or many duplicates', () => {
    const deep = encode({
      info: {
        name: 'deep',
        'piece length': 16384,
        pieces: Buffer.alloc(20),
        files: Array.from({ length: 4000 }, (_, i) => ({ length: 1, path: [`${i}`, ...Array.from({ length: 98 }, () => 'a')] })),
      },
    });
    const dups = encode({
      info: { name: 'dups', 'piece length': 16384, pieces: Buffer.alloc(20 * 4), files: Array.from({ length: 50_000 }, () => ({ length: 1, path: ['same'] })) },
    });
    for (const input of [deep, dups]) {
      const parse = () => {
        try {
          parseMetainfo(input);
        } catch (e) {
          if (!(e instanceof CodecError)) throw e;
        }
      };
      parse();
      const tDecode = bestCpuMs(() => decode(input));
      const tParse = bestCpuMs(parse);
      // Work quadratic in the number of files (50,000²) would be thousands of times the decode;
      // per-file work growing with depth would show on the 99-component paths.
      expect(tParse).toBeLessThan(Math.max(tDecode, 5) * MAX_FACTOR);
    }
    // CPU time is compared, not wall time; the generous limit is for a loaded machine (each
    // measurement is the best of several runs of 50,000-file inputs).
  }, 120_000);
});
