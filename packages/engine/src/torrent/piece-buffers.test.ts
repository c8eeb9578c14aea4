import { describe, expect, it } from 'vitest';
import { bufferedPieceLimit, MIN_BUFFERED_PIECES, PIECE_BUFFER_BUDGET_BYTES, PieceBuffers } from './piece-buffers.js';

const MIB = 1024 * 1024;

describe('piece buffers (issue 10, defect 5)', () => {
  it('allows the budget in pieces, or a few pieces when they are large', () => {
    expect(bufferedPieceLimit(MIB)).toBe(PIECE_BUFFER_BUDGET_BYTES / MIB);
    expect(bufferedPieceLimit(256 * 1024)).toBe(256);
    expect(bufferedPieceLimit(16 * MIB)).toBe(MIN_BUFFERED_PIECES);
    expect(bufferedPieceLimit(64 * MIB)).toBe(MIN_BUFFERED_PIECES);
  });

  it('counts pieces being verified against the room, until released', () => {
    const b = new PieceBuffers(32 * MIB);
    expect(b.limit).toBe(MIN_BUFFERED_PIECES);
    b.forBlock(0, 0);
    b.forBlock(1, 0);
    expect(b.room(2)).toBe(2);
    const buf = b.take(0)!;
    // One active (1), one verifying (0).
    expect(b.room(1)).toBe(2);
    expect(b.verifying).toBe(1);
    b.release(buf);
    expect(b.verifying).toBe(0);
    expect(b.room(1)).toBe(3);
  });

  it('never holds more buffers, in use and pooled, than the limit', () => {
    const b = new PieceBuffers(16 * MIB);
    const taken = [0, 1, 2, 3].map((i) => {
      b.forBlock(i, 0);
      return b.take(i)!;
    });
    for (const buf of taken) b.release(buf);
    // Four pooled: new pieces reuse them rather than allocating (identity, not the 16 MiB contents).
    const reused = [9, 10, 11, 12].map((i) => b.forBlock(i, 0));
    expect(reused.every((r) => taken.some((t) => t === r))).toBe(true);
    expect(new Set(reused).size).toBe(4);
    // Past the limit (it cannot happen through `room`, but if it did) a freed buffer is not pooled.
    b.forBlock(13, 0);
    for (const i of [9, 10, 11, 12, 13]) b.drop(i);
    const after = [20, 21, 22, 23].map((i) => b.forBlock(i, 0));
    expect(after.filter((r) => taken.some((t) => t === r))).toHaveLength(3);
  });

  it('finds the pieces that got no block for a while, and drops their buffers', () => {
    const b = new PieceBuffers(MIB);
    b.forBlock(1, 0);
    b.forBlock(2, 0);
    b.forBlock(2, 50_000);
    expect(b.stalled(70_000, 60_000)).toEqual([1]);
    b.drop(1);
    expect(b.stalled(200_000, 60_000)).toEqual([2]);
    expect(b.take(1)).toBeUndefined();
  });
});
