import { describe, expect, it } from 'vitest';
import { BLOCK_BYTES, makeLayout } from '../layout.js';
import { PiecePicker } from '../picker/picker.js';
import { StreamPriorities } from './priorities.js';

function picker(pieces: number): PiecePicker {
  const p = new PiecePicker(
    makeLayout({ pieceLength: BLOCK_BYTES, files: [{ path: ['f'], length: pieces * BLOCK_BYTES }], pieceHashes: new Uint8Array(20 * pieces) }),
    { sequential: true },
  );
  p.addPeer(1, { has: () => true });
  return p;
}

describe('StreamPriorities', () => {
  it('puts the readers’ windows first, interleaved, and lets go when they leave', () => {
    const p = picker(20);
    const changes: (readonly number[])[] = [];
    const s = new StreamPriorities({ picker: p, changed: (b) => changes.push(b) });
    const a = {};
    const b = {};
    s.set(a, [10, 11]);
    s.set(b, [15, 16]);
    s.set(b, [15, 16]); // the same window: nothing to do
    expect(changes).toHaveLength(2);
    expect(p.pick(1, 3, 0).map((r) => r.piece)).toEqual([10, 15, 11]);
    s.clear(a);
    s.clear(b);
    expect(s.readers).toBe(0);
    expect(p.pick(1, 2, 0).map((r) => r.piece)).toEqual([0, 1]);
    p.checkInvariants();
  });

  it('borrows unwanted pieces while a window needs them, and gives them back', () => {
    const p = picker(10);
    for (let i = 5; i < 10; i++) p.setWanted(i, false);
    const borrowed: number[] = [];
    const s = new StreamPriorities({ picker: p, changed: (b) => borrowed.push(...b) });
    const r = {};
    s.set(r, [7, 8]);
    expect(borrowed).toEqual([7, 8]);
    expect(p.pieceState(7)).toBe('queued');
    expect(p.pick(1, 1, 0)[0]!.piece).toBe(7);
    s.set(r, [8]);
    // 7 is in flight: it stays so, now unwanted again; 8 is still borrowed.
    expect(p.pieceState(7)).toBe('active');
    expect(p.wants(7)).toBe(false);
    expect(p.wants(8)).toBe(true);
    s.clear(r);
    expect(p.pieceState(8)).toBe('skipped');
    p.checkInvariants();
  });
});
