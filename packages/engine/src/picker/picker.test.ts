import { describe, expect, it } from 'vitest';
import { BLOCK_BYTES, makeLayout, pieceSize } from '../layout.js';
import { PiecePicker, type PieceSet } from './picker.js';
import { pipelineDepth, MIN_PIPELINE_BLOCKS, MAX_PIPELINE_BLOCKS } from './pipeline.js';

const all: PieceSet = { has: () => true };
const only = (...xs: number[]): PieceSet => ({ has: (i) => xs.includes(i) });

function layout(pieces: number, pieceLength = 4 * BLOCK_BYTES, lastShort = 0) {
  return makeLayout({
    pieceLength,
    files: [{ path: ['f'], length: pieces * pieceLength - lastShort }],
    pieceHashes: new Uint8Array(20 * pieces),
  });
}

/** Deterministic random for tests (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Bytes held and still to fetch, by a full scan of the piece states (what `stats()` once did on every tick). */
function scanBytes(p: PiecePicker): { have: number; left: number } {
  let have = 0;
  let left = 0;
  for (let i = 0; i < p.pieceCount; i++) {
    const s = p.pieceState(i);
    if (s === 'have') have += pieceSize(p.layout, i);
    else if (s !== 'skipped') left += pieceSize(p.layout, i);
  }
  return { have, left };
}

describe('PiecePicker', () => {
  it('finishes started pieces before starting new ones', () => {
    const p = new PiecePicker(layout(10), { random: rng(1) });
    p.addPeer(1, all);
    p.addPeer(2, all);
    const a = p.pick(1, 2, 0);
    expect(a).toHaveLength(2);
    expect(a[0]!.piece).toBe(a[1]!.piece);
    const b = p.pick(2, 2, 0);
    expect(b.every((r) => r.piece === a[0]!.piece)).toBe(true);
    expect(b.map((r) => r.offset)).toEqual([2 * BLOCK_BYTES, 3 * BLOCK_BYTES]);
    p.checkInvariants();
  });

  it('picks the rarest piece once past the random first pieces', () => {
    const p = new PiecePicker(layout(6), { random: rng(2), randomFirstPieces: 0 });
    p.addPeer(1, all);
    p.addPeer(2, only(0, 1, 2, 3, 5));
    p.addPeer(3, only(0, 1, 2, 3));
    // availability: 0-3 → 3, 4 → 1, 5 → 2
    expect(p.pick(1, 1, 0)[0]!.piece).toBe(4);
    expect(p.pick(2, 1, 0)[0]!.piece).toBe(5);
    p.checkInvariants();
  });

  it('always starts a piece of the lowest availability among those the peer has (random swarms)', () => {
    for (let seed = 0; seed < 60; seed++) {
      const r = rng(seed);
      const n = 1 + Math.floor(r() * 40);
      const p = new PiecePicker(layout(n, BLOCK_BYTES), { random: r, randomFirstPieces: seed % 3 === 0 ? 2 : 0 });
      const sets = new Map<number, Set<number>>();
      for (let id = 1; id <= 5; id++) {
        const set = new Set<number>();
        for (let i = 0; i < n; i++) if (r() < 0.5) set.add(i);
        sets.set(id, set);
        p.addPeer(id, { has: (i) => set.has(i) });
      }
      for (let step = 0; step < 60 && !p.done; step++) {
        const id = 1 + Math.floor(r() * 5);
        const set = sets.get(id)!;
        const queued = [...set].filter((i) => p.pieceState(i) === 'queued');
        const random = p.piecesHave < (seed % 3 === 0 ? 2 : 0);
        const got = p.pick(id, 1, step);
        p.checkInvariants();
        if (queued.length === 0 || got.length === 0) {
          // Nothing queued it has: it may only finish a started piece.
          expect(got.every((b) => set.has(b.piece))).toBe(true);
          if (got.length === 0) expect(queued).toHaveLength(0);
          continue;
        }
        const b = got[0]!;
        expect(set.has(b.piece)).toBe(true);
        if (queued.includes(b.piece) && !random) {
          const min = Math.min(...queued.map((i) => p.availability[i]!));
          expect(p.availability[b.piece]).toBe(min);
        }
        const o = p.onBlock(id, b.piece, b.offset, b.length);
        if (o.kind === 'accepted' && o.complete) p.piecePassed(b.piece);
        if (r() < 0.2) {
          const i = Math.floor(r() * n);
          if (!set.has(i)) (set.add(i), p.peerHave(id, i));
        }
      }
    }
  });

  it('breaks ties at random', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 40; seed++) {
      const p = new PiecePicker(layout(8), { random: rng(seed), randomFirstPieces: 0 });
      p.addPeer(1, all);
      seen.add(p.pick(1, 1, 0)[0]!.piece);
    }
    expect(seen.size).toBeGreaterThan(4);
  });

  it('gives each block a size, the last piece shorter', () => {
    const p = new PiecePicker(layout(2, 2 * BLOCK_BYTES, BLOCK_BYTES + 100), { random: rng(3) });
    p.addPeer(1, only(1));
    const r = p.pick(1, 10, 0);
    expect(r).toEqual([{ piece: 1, offset: 0, length: BLOCK_BYTES - 100 }]);
  });

  it('accepts requested blocks, flags unrequested and wrong-size ones, completes pieces', () => {
    const p = new PiecePicker(layout(1, 2 * BLOCK_BYTES), { random: rng(4) });
    p.addPeer(1, all);
    p.addPeer(2, all);
    const r = p.pick(1, 10, 0);
    expect(r).toHaveLength(2);
    expect(p.onBlock(2, 0, 0, BLOCK_BYTES).kind).toBe('unrequested');
    expect(p.onBlock(1, 0, 0, 100).kind).toBe('unrequested');
    expect(p.onBlock(1, 0, 0, BLOCK_BYTES)).toEqual({ kind: 'accepted', complete: false, cancel: [] });
    expect(p.onBlock(1, 0, 0, BLOCK_BYTES).kind).toBe('unrequested');
    expect(p.onBlock(1, 0, BLOCK_BYTES, BLOCK_BYTES)).toEqual({ kind: 'accepted', complete: true, cancel: [] });
    expect(p.pieceState(0)).toBe('verifying');
    expect(p.sendersOf(0)).toEqual([1]);
    p.checkInvariants();
    p.piecePassed(0);
    expect(p.done).toBe(true);
    p.checkInvariants();
  });

  it('re-queues a failed piece and the blocks of a departed peer', () => {
    const p = new PiecePicker(layout(2, BLOCK_BYTES), { random: rng(5) });
    p.addPeer(1, all);
    const [a, b] = p.pick(1, 2, 0);
    p.onBlock(1, a!.piece, 0, BLOCK_BYTES);
    p.pieceFailed(a!.piece);
    expect(p.pieceState(a!.piece)).toBe('queued');
    p.removePeer(1);
    expect(p.pieceState(b!.piece)).toBe('queued');
    expect(p.availability.every((x) => x === 0)).toBe(true);
    p.checkInvariants();
  });

  it('enters endgame, duplicates requests and reports whom to cancel', () => {
    const p = new PiecePicker(layout(1, 2 * BLOCK_BYTES), { random: rng(6) });
    p.addPeer(1, all);
    p.addPeer(2, all);
    p.pick(1, 2, 0);
    expect(p.endgame).toBe(true);
    const dup = p.pick(2, 5, 0);
    expect(dup).toHaveLength(2);
    p.checkInvariants();
    const out = p.onBlock(2, 0, 0, BLOCK_BYTES);
    expect(out).toEqual({ kind: 'accepted', complete: false, cancel: [1] });
    expect(p.outstanding(1)).toBe(1);
    // the cancelled peer's late copy is waste, not an error
    expect(p.onBlock(1, 0, 0, BLOCK_BYTES).kind).toBe('unrequested');
    p.checkInvariants();
  });

  it('on parole, a peer downloads pieces alone', () => {
    const p = new PiecePicker(layout(3), { random: rng(7) });
    p.addPeer(1, all);
    p.addPeer(2, all);
    const a = p.pick(1, 2, 0);
    p.setParole(2, true);
    const b = p.pick(2, 4, 0);
    expect(b.every((r) => r.piece !== a[0]!.piece)).toBe(true);
    expect(new Set(b.map((r) => r.piece)).size).toBe(1);
    // and nobody else joins its piece
    const c = p.pick(1, 20, 0);
    expect(c.some((r) => r.piece === b[0]!.piece)).toBe(false);
    p.checkInvariants();
  });

  it('honours the allowed-fast restriction and wanted flags', () => {
    const p = new PiecePicker(layout(4), { random: rng(8) });
    p.addPeer(1, all);
    p.setWanted(0, false);
    expect(p.pick(1, 100, 0, only(0, 2)).every((r) => r.piece === 2)).toBe(true);
    const rest = p.pick(1, 100, 0);
    expect(rest.some((r) => r.piece === 0)).toBe(false);
    p.checkInvariants();
  });

  it('keeps its invariants under random events', () => {
    const lay = layout(12, 3 * BLOCK_BYTES, 5000);
    for (let seed = 0; seed < 30; seed++) {
      const r = rng(seed);
      const p = new PiecePicker(lay, { random: r });
      const peers = [1, 2, 3, 4];
      const sets = new Map(peers.map((id) => [id, new Set<number>()]));
      for (const id of peers) {
        for (let i = 0; i < 12; i++) if (r() < 0.7) sets.get(id)!.add(i);
        p.addPeer(id, { has: (i) => sets.get(id)!.has(i) });
      }
      for (let step = 0; step < 400 && !p.done; step++) {
        const id = peers[Math.floor(r() * peers.length)]!;
        const x = r();
        if (x < 0.4) p.pick(id, 1 + Math.floor(r() * 6), step);
        else if (x < 0.8) {
          const reqs = [...p.requestsOf(id).keys()];
          const k = reqs[Math.floor(r() * reqs.length)];
          if (k !== undefined) {
            const b = p.requestOfKey(k);
            const o = p.onBlock(id, b.piece, b.offset, b.length);
            if (o.kind === 'accepted' && o.complete) r() < 0.8 ? p.piecePassed(b.piece) : p.pieceFailed(b.piece);
          }
        } else if (x < 0.9) {
          const reqs = [...p.requestsOf(id).keys()];
          const k = reqs[0];
          if (k !== undefined) {
            const b = p.requestOfKey(k);
            p.release(id, b.piece, b.offset);
          }
        } else if (x < 0.93) {
          p.removePeer(id);
          p.addPeer(id, { has: (i) => sets.get(id)!.has(i) });
        } else if (x < 0.95) {
          const i = Math.floor(r() * 12);
          if (!sets.get(id)!.has(i)) {
            sets.get(id)!.add(i);
            p.peerHave(id, i);
          }
        } else if (x < 0.98) {
          // File priorities change mid-download (issue 6), pieces in flight included.
          p.setWanted(Math.floor(r() * 12), r() < 0.5);
        } else {
          // A piece found on disk (recheck), unless it is being verified right now.
          const i = Math.floor(r() * 12);
          if (p.pieceState(i) !== 'verifying') p.markHave(i);
        }
        p.checkInvariants();
        const scan = scanBytes(p);
        expect([p.haveBytes, p.leftBytes]).toEqual([scan.have, scan.left]);
      }
    }
  });
});

describe('pipelineDepth', () => {
  it('follows rate × delay within bounds', () => {
    expect(pipelineDepth(0)).toBe(MIN_PIPELINE_BLOCKS);
    expect(pipelineDepth(10 * 1024 * 1024)).toBe(250);
    expect(pipelineDepth(10 * 1024 * 1024, 2000)).toBe(MAX_PIPELINE_BLOCKS);
    expect(pipelineDepth(1024 * 1024, 2000)).toBe(128);
    expect(pipelineDepth(1e9, 5)).toBe(5);
    expect(pipelineDepth(1e9, 500, true)).toBe(1);
  });
});
