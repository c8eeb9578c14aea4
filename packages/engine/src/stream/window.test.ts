import { describe, expect, it } from 'vitest';
import { borrowPlan, mergeWindows, MAX_URGENT_PIECES, MAX_WINDOW_PIECES, MIN_WINDOW_PIECES, windowPieces } from './window.js';

const g = { pieceLength: 100, pieceCount: 50 };
const none = (): boolean => false;

describe('windowPieces', () => {
  it('covers the window ahead of the read position, in order', () => {
    expect(windowPieces(g, 250, 5000, none, 300)).toEqual([2, 3, 4, 5]);
    expect(windowPieces(g, 200, 5000, none, 300)).toEqual([2, 3, 4]);
  });

  it('leaves out pieces already held', () => {
    expect(windowPieces(g, 0, 5000, (i) => i % 2 === 0, 600)).toEqual([1, 3, 5]);
  });

  it('stops at the end of the range and of the torrent', () => {
    expect(windowPieces(g, 250, 320, none, 10_000)).toEqual([2, 3]);
    expect(windowPieces(g, 4_900, 5_000, none, 10_000)).toEqual([49]);
    expect(windowPieces({ pieceLength: 100, pieceCount: 3 }, 150, 10_000, none, 10_000)).toEqual([1, 2]);
  });

  it('looks at a few pieces however small the window, and at a bounded number however large', () => {
    expect(windowPieces(g, 0, 5000, none, 1)).toHaveLength(MIN_WINDOW_PIECES);
    const big = { pieceLength: 16, pieceCount: 100_000 };
    expect(windowPieces(big, 0, 1_600_000, none, 1e9)).toHaveLength(MAX_WINDOW_PIECES);
  });

  it('is empty when the reader is done or the range is empty', () => {
    expect(windowPieces(g, 500, 500, none)).toEqual([]);
    expect(windowPieces(g, 600, 500, none)).toEqual([]);
    expect(windowPieces(g, -1, 500, none)).toEqual([]);
  });

  it('is empty when every piece of the window is held', () => {
    expect(windowPieces(g, 0, 5000, () => true)).toEqual([]);
  });
});

describe('mergeWindows', () => {
  it('interleaves readers by rank, each piece once', () => {
    expect(
      mergeWindows([
        [1, 2, 3],
        [10, 11],
        [2, 20],
      ]),
    ).toEqual([1, 10, 2, 11, 20, 3]);
  });

  it('is empty without readers', () => {
    expect(mergeWindows([])).toEqual([]);
    expect(mergeWindows(new Map<object, number[]>().values())).toEqual([]);
  });

  it('is bounded', () => {
    const lists = Array.from({ length: 10 }, (_, k) => Array.from({ length: 64 }, (_, i) => k * 1000 + i));
    expect(mergeWindows(lists)).toHaveLength(MAX_URGENT_PIECES);
  });
});

describe('borrowPlan', () => {
  const skipped = (i: number): boolean => i >= 100;
  it('borrows unwanted pieces a window needs, once', () => {
    expect(borrowPlan([5, 100, 101], new Set([101]), skipped, none)).toEqual({ borrow: [100], giveBack: [], forget: [] });
  });

  it('gives back what no window needs any more, and forgets what arrived', () => {
    expect(borrowPlan([102], new Set([100, 101, 102]), skipped, (i) => i === 101)).toEqual({ borrow: [], giveBack: [100], forget: [101] });
  });
});
