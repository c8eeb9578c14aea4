import { describe, expect, it } from 'vitest';
import { BLOCK_BYTES, makeLayout } from '../layout.js';
import { PiecePicker, type PieceSet } from './picker.js';

/** The picker's side of the piece-buffer budget (issue 10, defect 5): a cap on new pieces, and abandoning a stalled one. */

const all: PieceSet = { has: () => true };
const only = (...xs: number[]): PieceSet => ({ has: (i) => xs.includes(i) });
const layout = (pieces: number) =>
  makeLayout({ pieceLength: 2 * BLOCK_BYTES, files: [{ path: ['f'], length: pieces * 2 * BLOCK_BYTES }], pieceHashes: new Uint8Array(20 * pieces) });
const pieces = (reqs: { piece: number }[]): number[] => [...new Set(reqs.map((r) => r.piece))];

describe('PiecePicker with a budget of pieces', () => {
  it('starts at most `newPieces` pieces, and none at 0', () => {
    const p = new PiecePicker(layout(10), { random: () => 0.5 });
    p.addPeer(1, all);
    expect(p.pick(1, 100, 0, undefined, 0)).toEqual([]);
    expect(pieces(p.pick(1, 100, 0, undefined, 2))).toHaveLength(2);
    expect(p.activeCount).toBe(2);
    p.checkInvariants();
  });

  it('still finishes started pieces when it may start none', () => {
    const p = new PiecePicker(layout(10), { random: () => 0.5 });
    p.addPeer(1, all);
    p.addPeer(2, all);
    const first = p.pick(1, 1, 0, undefined, 1);
    expect(first).toHaveLength(1);
    // Peer 2 may start nothing new: it gets the rest of the piece peer 1 started.
    const second = p.pick(2, 10, 0, undefined, 0);
    expect(second).toEqual([{ piece: first[0]!.piece, offset: BLOCK_BYTES, length: BLOCK_BYTES }]);
    // A peer without that piece gets nothing.
    p.addPeer(3, only(first[0]!.piece === 0 ? 1 : 0));
    expect(p.pick(3, 10, 0, undefined, 0)).toEqual([]);
    p.checkInvariants();
  });

  it('abandons a half-received piece nobody is fetching: back to queued, its bytes reported', () => {
    const p = new PiecePicker(layout(4), { random: () => 0.5 });
    p.addPeer(1, all);
    const [a, b] = p.pick(1, 2, 0, undefined, 1);
    expect(a!.piece).toBe(b!.piece);
    const i = a!.piece;
    expect(p.onBlock(1, i, 0, BLOCK_BYTES).kind).toBe('accepted');
    // A block still requested: refused.
    expect(p.abandon(i)).toBeUndefined();
    expect(p.pieceState(i)).toBe('active');
    p.removePeer(1);
    expect(p.pieceState(i)).toBe('active');
    expect(p.abandon(i)).toBe(BLOCK_BYTES);
    expect(p.pieceState(i)).toBe('queued');
    expect(p.activeCount).toBe(0);
    expect(p.abandon(i)).toBeUndefined();
    p.checkInvariants();
  });
});
