import { describe, expect, it } from 'vitest';
import type { Layout } from '@tc/codec';
import { globMatch, parseGlob, type Glob } from './glob.js';
import { parseSelection, planPieces, SelectionError, type SelectableFile } from './selection.js';

/** A codec Layout from piece length and file lengths (negative length, -0 included: a padding file of that size). */
function layoutOf(pieceLength: number, lengths: readonly number[]): Layout {
  let offset = 0;
  const files = lengths.map((l) => {
    const f = { offset, length: Math.abs(l), padding: l < 0 || Object.is(l, -0) };
    offset += Math.abs(l);
    return f;
  });
  return { pieceLength, pieceCount: Math.ceil(offset / pieceLength), totalLength: offset, files };
}

function glob(p: string): Glob {
  const g = parseGlob(p);
  if (typeof g === 'string') throw new Error(g);
  return g;
}

const files: SelectableFile[] = [
  { path: ['show', 'ep1.mkv'], length: 100 },
  { path: ['show', 'ep1.srt'], length: 10 },
  { path: ['show', 'extras', 'making-of.mkv'], length: 50 },
  { path: ['show', '.pad', '0'], length: 6, padding: true },
  { path: ['show', 'extras', 'deep', 'notes.txt'], length: 5 },
  { path: ['show', 'README'], length: 1 },
];

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof SelectionError) return e.code;
    throw e;
  }
  return undefined;
}

describe('glob', () => {
  it('star stays inside one path component, globstar crosses', () => {
    expect(globMatch(glob('*.mkv'), 'a.mkv')).toBe(true);
    expect(globMatch(glob('*.mkv'), 'dir/a.mkv')).toBe(false);
    expect(globMatch(glob('dir/**'), 'dir/a/b/c.txt')).toBe(true);
    expect(globMatch(glob('dir/**'), 'other/a')).toBe(false);
    expect(globMatch(glob('**/*.txt'), 'a.txt')).toBe(true);
    expect(globMatch(glob('**/*.txt'), 'x/y/a.txt')).toBe(true);
    expect(globMatch(glob('a/**/b'), 'a/b')).toBe(true);
    expect(globMatch(glob('a/**/b'), 'a/x/y/b')).toBe(true);
    expect(globMatch(glob('a/**/b'), 'ab')).toBe(false);
    expect(globMatch(glob('a/***/b'), 'a/x/b')).toBe(true);
    expect(globMatch(glob('***.txt'), 'x/y.txt')).toBe(true);
  });

  it('question mark, classes and escapes', () => {
    expect(globMatch(glob('ep?.mkv'), 'ep1.mkv')).toBe(true);
    expect(globMatch(glob('ep?.mkv'), 'ep10.mkv')).toBe(false);
    expect(globMatch(glob('ep[0-4].*'), 'ep3.srt')).toBe(true);
    expect(globMatch(glob('ep[!0-4].*'), 'ep3.srt')).toBe(false);
    expect(globMatch(glob('ep[!0-4].*'), 'ep7.srt')).toBe(true);
    expect(globMatch(glob('[]]x'), ']x')).toBe(true);
    expect(globMatch(glob('\\*.txt'), '*.txt')).toBe(true);
    expect(globMatch(glob('\\*.txt'), 'a.txt')).toBe(false);
    expect(globMatch(glob('é?'), 'é😀')).toBe(true);
  });

  it('rejects malformed patterns', () => {
    expect(parseGlob('')).toBeTypeOf('string');
    expect(parseGlob('[abc')).toBeTypeOf('string');
    expect(parseGlob('a\\')).toBeTypeOf('string');
    expect(parseGlob('[z-a]')).toBeTypeOf('string');
    expect(parseGlob('x'.repeat(2000))).toBeTypeOf('string');
  });

  it('does not blow up on patterns that make backtracking regexes explode', () => {
    // A backtracking matcher would not answer within the test's time limit (about n^10 steps);
    // how long tc's takes, beside a RegExp: bench/glob.mjs.
    const g = glob('*a*a*a*a*a*a*a*a*a*a*b');
    expect(globMatch(g, 'a'.repeat(4000))).toBe(false);
    expect(globMatch(g, `${'a'.repeat(4000)}b`)).toBe(true);
  });
});

describe('parseSelection', () => {
  it('indices and ranges, sorted and unique', () => {
    expect(parseSelection('0,2-4', files)).toEqual([0, 2, 3, 4]);
    expect(parseSelection(' 5 , 1,1, 0-1', files)).toEqual([0, 1, 5]);
  });

  it('a glob without / matches base names in any folder', () => {
    expect(parseSelection('*.mkv', files)).toEqual([0, 2]);
    expect(parseSelection('README', files)).toEqual([5]);
  });

  it('a glob with / matches whole paths, with or without the torrent folder', () => {
    expect(parseSelection('extras/**', files)).toEqual([2, 4]);
    expect(parseSelection('show/extras/**', files)).toEqual([2, 4]);
    expect(parseSelection('**/*.txt', files)).toEqual([4]);
  });

  it('globs never select padding files', () => {
    expect(parseSelection('**', files)).toEqual([0, 1, 2, 4, 5]);
  });

  it('mixes globs and indices', () => {
    expect(parseSelection('5,*.srt', files)).toEqual([1, 5]);
  });

  it('typed errors', () => {
    expect(code(() => parseSelection('6', files))).toBe('SELECT_OUT_OF_RANGE');
    expect(code(() => parseSelection('2-9', files))).toBe('SELECT_OUT_OF_RANGE');
    expect(code(() => parseSelection('99999999999999999999', files))).toBe('SELECT_OUT_OF_RANGE');
    expect(code(() => parseSelection('0', []))).toBe('SELECT_OUT_OF_RANGE');
    expect(code(() => parseSelection('*.avi', files))).toBe('SELECT_NO_MATCH');
    expect(code(() => parseSelection('1,*.avi', files))).toBe('SELECT_NO_MATCH');
    for (const bad of ['', '1,,2', '4-2', '-1', '1-', '01', '1-2-3', '[ab', 'x\\']) {
      expect(
        code(() => parseSelection(bad, files)),
        bad,
      ).toBe('SELECT_BAD_SPEC');
    }
    expect(code(() => parseSelection('1,'.repeat(5000) + '1', files))).toBe('SELECT_BAD_SPEC');
  });

  it('the error names the item at fault', () => {
    try {
      parseSelection('0,*.avi', files);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(SelectionError);
      expect((e as SelectionError).item).toBe('*.avi');
      expect((e as SelectionError).message).toContain('*.avi');
    }
  });
});

describe('planPieces', () => {
  // Piece length 10. Files: A [0,25) B [25,30) C [30,55) D [55,55) (empty) E [55,72) → 8 pieces.
  const geo = layoutOf(10, [25, 5, 25, 0, 17]);

  it('everything when nothing is selected explicitly', () => {
    const p = planPieces(geo);
    expect(p.pieceCount).toBe(8);
    expect([...p.wanted]).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(p.wantedBytes).toBe(72);
    expect(p.create).toEqual([true, true, true, true, true]);
  });

  it('a selected file brings its boundary pieces, and the neighbours they write into', () => {
    const p = planPieces(geo, [2]); // C = bytes 30..54 → pieces 3, 4, 5
    expect([...p.wanted]).toEqual([0, 0, 0, 1, 1, 1, 0, 0]);
    expect(p.wantedCount).toBe(3);
    expect(p.wantedBytes).toBe(30);
    // Piece 5 = bytes 50..59 also holds E's first 5 bytes: E must exist; A and B are untouched.
    expect(p.create).toEqual([false, false, true, false, true]);
    expect(p.covered[4]).toEqual({ start: 0, end: 5 });
    expect(p.covered[0]).toEqual({ start: 0, end: 0 });
  });

  it('a small file inside one piece pulls in both neighbours', () => {
    const p = planPieces(geo, [1]); // B = bytes 25..29, inside piece 2 (20..29)
    expect([...p.wanted]).toEqual([0, 0, 1, 0, 0, 0, 0, 0]);
    expect(p.create).toEqual([true, true, false, false, false]);
    expect(p.covered[0]).toEqual({ start: 20, end: 25 });
  });

  it('an empty selected file is created but fetches nothing', () => {
    const p = planPieces(geo, [3]);
    expect(p.wantedCount).toBe(0);
    expect(p.create).toEqual([false, false, false, true, false]);
  });

  it('two files of five: only their pieces and shared boundaries', () => {
    const p = planPieces(geo, [0, 4]); // A → 0,1,2 ; E = 55..71 → 5,6,7
    expect([...p.wanted]).toEqual([1, 1, 1, 0, 0, 1, 1, 1]);
    expect(p.create).toEqual([true, true, true, false, true]);
    expect(p.covered[1]).toEqual({ start: 0, end: 5 });
    expect(p.covered[2]).toEqual({ start: 20, end: 25 });
    expect(p.wantedBytes).toBe(30 + 22);
  });

  it('padding files are never created and never pull pieces in', () => {
    const padded = layoutOf(10, [5, -5, 10]);
    expect([...planPieces(padded, [1]).wanted]).toEqual([0, 0]);
    const p = planPieces(padded, [0]);
    expect([...p.wanted]).toEqual([1, 0]);
    expect(p.create).toEqual([true, false, false]);
  });

  it('rejects bad input', () => {
    expect(() => planPieces(geo, [5])).toThrow(RangeError);
    expect(() => planPieces(geo, [-1])).toThrow(RangeError);
  });

  it('agrees with a brute-force byte walk on random layouts', () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 200; round++) {
      const pieceLength = 1 + rnd(16);
      const fs = Array.from({ length: 1 + rnd(6) }, () => ({ length: rnd(40), padding: rnd(8) === 0 }));
      const sel = fs.map((_, i) => i).filter(() => rnd(2) === 0);
      const p = planPieces(
        layoutOf(
          pieceLength,
          fs.map((f) => (f.padding ? -f.length : f.length)),
        ),
        sel,
      );
      const owner: number[] = [];
      fs.forEach((f, i) => {
        for (let b = 0; b < f.length; b++) owner.push(i);
      });
      const want = new Set<number>();
      owner.forEach((fi, b) => {
        if (sel.includes(fi) && !fs[fi]!.padding) want.add(Math.floor(b / pieceLength));
      });
      const touched = new Set<number>();
      owner.forEach((fi, b) => {
        if (want.has(Math.floor(b / pieceLength))) touched.add(fi);
      });
      for (let x = 0; x < p.pieceCount; x++) expect(p.wanted[x] === 1).toBe(want.has(x));
      fs.forEach((f, i) => {
        expect(p.create[i]).toBe(!f.padding && (sel.includes(i) || touched.has(i)));
      });
    }
  });
});
