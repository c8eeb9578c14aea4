import { describe, expect, it } from 'vitest';
import { BLOCK_BYTES, makeLayout } from '../layout.js';
import { PiecePicker, type PieceSet } from './picker.js';

// The orders a reader asks for (issue 14): sequential downloads and the pieces streams wait for.

const all: PieceSet = { has: () => true };
const only = (...xs: number[]): PieceSet => ({ has: (i) => xs.includes(i) });

function layout(pieces: number): ReturnType<typeof makeLayout> {
  return makeLayout({ pieceLength: 2 * BLOCK_BYTES, files: [{ path: ['f'], length: pieces * 2 * BLOCK_BYTES }], pieceHashes: new Uint8Array(20 * pieces) });
}

/** Receives every block requested from peer `id` and passes the complete pieces. */
function deliver(p: PiecePicker, id: number, reqs: readonly { piece: number; offset: number; length: number }[]): void {
  for (const r of reqs) {
    const o = p.onBlock(id, r.piece, r.offset, r.length);
    if (o.kind === 'accepted' && o.complete) p.piecePassed(r.piece);
  }
}

describe('sequential picking', () => {
  it('starts pieces in index order, skipping what the peer lacks, and still ends in endgame', () => {
    const p = new PiecePicker(layout(8), { sequential: true, random: () => 0.5 });
    p.addPeer(1, only(0, 2, 3, 4, 5, 6, 7));
    p.addPeer(2, all);
    expect(p.pick(1, 4, 0).map((r) => r.piece)).toEqual([0, 0, 2, 2]);
    expect(p.pick(2, 4, 0).map((r) => r.piece)).toEqual([1, 1, 3, 3]);
    expect(p.pick(1, 6, 0).map((r) => r.piece)).toEqual([4, 4, 5, 5, 6, 6]);
    expect(p.pick(2, 2, 0).map((r) => r.piece)).toEqual([7, 7]);
    // Nothing queued: endgame hands peer 2 blocks already asked of peer 1.
    expect(p.endgame).toBe(true);
    expect(p.pick(2, 2, 0).map((r) => r.piece)).toEqual([0, 0]);
    p.checkInvariants();
  });

  it('can be switched on and off', () => {
    const p = new PiecePicker(layout(50), { random: () => 0.99, randomFirstPieces: 0 });
    p.addPeer(1, all);
    expect(p.sequential).toBe(false);
    p.setSequential(true);
    expect(p.pick(1, 2, 0)[0]!.piece).toBe(0);
    expect(p.pick(1, 2, 0)[0]!.piece).toBe(1);
  });

  it('comes back to a piece that failed its hash', () => {
    const p = new PiecePicker(layout(4), { sequential: true });
    p.addPeer(1, all);
    const reqs = p.pick(1, 2, 0);
    for (const r of reqs) p.onBlock(1, r.piece, r.offset, r.length);
    p.pieceFailed(0);
    expect(p.pick(1, 2, 0).map((r) => r.piece)).toEqual([0, 0]);
    p.checkInvariants();
  });
});

describe('urgent pieces (streams)', () => {
  it('are started first, in the order given', () => {
    const p = new PiecePicker(layout(10), { random: () => 0.3 });
    p.addPeer(1, all);
    p.setUrgent([6, 3]);
    expect(p.pick(1, 6, 0).map((r) => r.piece)).toEqual([6, 6, 3, 3, expect.any(Number), expect.any(Number)]);
    p.checkInvariants();
  });

  it('are started even when the buffer budget allows no new piece', () => {
    const p = new PiecePicker(layout(10));
    p.addPeer(1, all);
    p.setUrgent([9, 8]);
    expect(p.pick(1, 10, 0, undefined, 0).map((r) => r.piece)).toEqual([9, 9, 8, 8]);
  });

  it('skips pieces the peer lacks, has, or does not want', () => {
    const p = new PiecePicker(layout(10), { sequential: true });
    p.addPeer(1, only(1, 2, 3, 4));
    p.markHave(2);
    p.setWanted(3, false);
    p.setUrgent([0, 2, 3, 4, 12, -1]);
    expect(p.pick(1, 2, 0).map((r) => r.piece)).toEqual([4, 4]);
    expect(p.pick(1, 2, 0).map((r) => r.piece)).toEqual([1, 1]);
    p.checkInvariants();
  });

  it('once fetched, leave the rest of the order as it was', () => {
    const p = new PiecePicker(layout(6), { sequential: true });
    p.addPeer(1, all);
    p.setUrgent([4]);
    deliver(p, 1, p.pick(1, 2, 0));
    expect(p.hasPiece(4)).toBe(true);
    expect(p.pick(1, 2, 0).map((r) => r.piece)).toEqual([0, 0]);
    p.checkInvariants();
  });
});

describe('urgent pieces already started', () => {
  it('get their missing blocks before other started pieces', () => {
    const p = new PiecePicker(layout(6), { sequential: true });
    p.addPeer(1, all);
    p.addPeer(2, all);
    // Peer 1 starts pieces 0..2, then leaves: their blocks are missing again, the pieces stay started
    // only if something was received, so receive one block of each.
    const reqs = p.pick(1, 6, 0);
    for (const r of reqs.filter((r) => r.offset === 0)) p.onBlock(1, r.piece, r.offset, r.length);
    p.removePeer(1);
    p.setUrgent([2]);
    expect(p.pick(2, 1, 0)).toEqual([{ piece: 2, offset: BLOCK_BYTES, length: BLOCK_BYTES }]);
    expect(p.pick(2, 1, 0)[0]!.piece).toBe(0);
    p.checkInvariants();
  });
});
