import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { generatePeerId } from '@tc/wire';
import { ManualClock } from '../src/clock.js';
import { BLOCK_BYTES, makeLayout, type TorrentLayout } from '../src/layout.js';
import type { TorrentStorage } from '../src/storage/types.js';
import { bufferedPieceLimit, STALLED_PIECE_MS } from '../src/torrent/piece-buffers.js';
import { Torrent } from '../src/torrent/torrent.js';
import { heldBytes } from './held-bytes.js';
import { connectMemPeer, type MemPeer } from './mem-peer.js';

/**
 * Issue 10, defect 5: the piece buffers of a download were bounded by peers × pipeline, not by
 * bytes. With 16 MiB pieces and 20 peers each offering a different piece, every piece was started
 * at once and each got its own 16 MiB buffer (320 MiB). Now the pieces started (active or being
 * verified and written) stay within bufferedPieceLimit, and the download still completes.
 */

const MIB = 1024 * 1024;
const PIECE = 16 * MIB;
const PEERS = 20;
const BLOCKS = PIECE / BLOCK_BYTES;

/** Block `b` of piece `i`: made on demand (the torrent's 320 MiB are never held at once), each one distinct. */
function block(i: number, b: number): Buffer {
  const out = Buffer.alloc(BLOCK_BYTES, (i * 31 + b) & 0xff);
  out.writeUInt32BE(i, 0);
  out.writeUInt32BE(b, 4);
  return out;
}

function layout(): TorrentLayout {
  const hashes: Buffer[] = [];
  for (let i = 0; i < PEERS; i++) {
    const h = createHash('sha1');
    for (let b = 0; b < BLOCKS; b++) h.update(block(i, b));
    hashes.push(h.digest());
  }
  return makeLayout({ pieceLength: PIECE, files: [{ path: ['big.bin'], length: PEERS * PIECE }], pieceHashes: Buffer.concat(hashes) });
}

/** A disk that keeps nothing: this test is about the memory of the download path. */
class CountingStorage implements TorrentStorage {
  written = 0;
  write(_piece: number, _offset: number, chunks: readonly Uint8Array[]): Promise<void> {
    for (const c of chunks) this.written += c.length;
    return Promise.resolve();
  }
  read(): Promise<Buffer> {
    return Promise.reject(new Error('nothing to read'));
  }
  sync(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

const open: Torrent[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.close();
});

describe('the bytes held in piece buffers have a ceiling', () => {
  it('16 MiB pieces, 20 peers each offering a different one: at most bufferedPieceLimit pieces started at once, and every piece arrives', async () => {
    const lay = layout();
    const limit = bufferedPieceLimit(PIECE);
    expect(limit * PIECE).toBeLessThan(PEERS * PIECE);
    const clock = new ManualClock();
    const storage = new CountingStorage();
    const infoHash = Buffer.alloc(20, 5);
    const tor = new Torrent({
      infoHash,
      name: 'big',
      layout: lay,
      storage,
      peerId: generatePeerId(),
      clock,
      listenPort: 0,
      isSelf: () => false,
      random: () => 0.5,
    });
    open.push(tor);
    tor.start();
    const before = heldBytes();
    /** Pieces started: each holds (or will hold, on its first block) one piece-sized buffer. */
    const started = (): number => {
      let n = 0;
      for (let i = 0; i < PEERS; i++) {
        const s = tor.picker.pieceState(i);
        if (s === 'active' || s === 'verifying') n++;
      }
      return n;
    };
    let most = 0;
    const peers: MemPeer[] = [];
    for (let k = 0; k < PEERS; k++) {
      const p = connectMemPeer(tor, { infoHash, pieceCount: PEERS, now: clock.now(), port: k + 1 });
      // Peer k has piece k only (bitfield: the high bit of the first byte is piece 0).
      const bits = Buffer.alloc(Math.ceil(PEERS / 8));
      bits[k >> 3] = 0x80 >> (k & 7);
      p.send({ type: 'bitfield', bytes: bits }, { type: 'unchoke' });
      peers.push(p);
      most = Math.max(most, started());
    }
    expect(most).toBeLessThanOrEqual(limit);
    // Serve every request as it comes, a round at a time, until every piece is verified and written.
    for (let round = 0; round < 10_000 && tor.stats().piecesHave < PEERS; round++) {
      for (const p of peers) {
        for (const r of p.requests.splice(0)) {
          p.send({ type: 'piece', index: r.index, begin: r.begin, block: block(r.index, r.begin / BLOCK_BYTES) });
          most = Math.max(most, started());
        }
      }
      await new Promise((r) => setImmediate(r));
      most = Math.max(most, started());
    }
    expect(tor.stats()).toMatchObject({ piecesHave: PEERS, hashFailures: 0, state: 'seeding' });
    expect(storage.written).toBe(PEERS * PIECE);
    expect(most).toBeLessThanOrEqual(limit);
    // Once done, the pooled piece buffers are freed: a seed reads blocks from storage.
    const kept = heldBytes() - before;

    console.log(`piece budget: ${most} pieces of 16 MiB started at most (limit ${limit}); ${(kept / MIB).toFixed(1)} MiB still held when done`);
    expect(kept).toBeLessThan(8 * MIB);
  }, 60_000);

  it('started pieces whose peers left do not hold the budget for ever: after STALLED_PIECE_MS they are abandoned', async () => {
    const lay = layout();
    const limit = bufferedPieceLimit(PIECE);
    const clock = new ManualClock();
    const infoHash = Buffer.alloc(20, 6);
    const tor = new Torrent({
      infoHash,
      name: 'big',
      layout: lay,
      storage: new CountingStorage(),
      peerId: generatePeerId(),
      clock,
      listenPort: 0,
      isSelf: () => false,
      random: () => 0.5,
    });
    open.push(tor);
    tor.start();
    const only = (k: number): Buffer => {
      const bits = Buffer.alloc(Math.ceil(PEERS / 8));
      bits[k >> 3] = 0x80 >> (k & 7);
      return bits;
    };
    // `limit` peers each start their piece, send one block of it, and leave.
    for (let k = 0; k < limit; k++) {
      const p = connectMemPeer(tor, { infoHash, pieceCount: PEERS, now: clock.now(), port: k + 1 });
      p.send({ type: 'bitfield', bytes: only(k) }, { type: 'unchoke' });
      const r = p.requests[0]!;
      p.send({ type: 'piece', index: r.index, begin: r.begin, block: block(r.index, r.begin / BLOCK_BYTES) });
      p.conn.close(undefined);
    }
    expect(tor.picker.activeCount).toBe(limit);
    // A peer with another piece: the budget is full of pieces nobody can finish.
    const late = connectMemPeer(tor, { infoHash, pieceCount: PEERS, now: clock.now(), port: 99 });
    late.send({ type: 'bitfield', bytes: only(limit) }, { type: 'unchoke' });
    expect(late.requests).toEqual([]);
    for (let ms = 0; ms <= STALLED_PIECE_MS + 2_000 && late.requests.length === 0; ms += 1_000) clock.advance(1_000);
    expect(clock.now()).toBeGreaterThan(STALLED_PIECE_MS);
    // Abandoned (their blocks are waste), and the piece that can be had is started.
    expect(late.requests.length).toBeGreaterThan(0);
    expect(late.requests.every((r) => r.index === limit)).toBe(true);
    expect(tor.stats().wasteBytes).toBe(limit * BLOCK_BYTES);
    for (let k = 0; k < limit; k++) expect(tor.picker.pieceState(k)).toBe('queued');
    tor.picker.checkInvariants();
    while (late.requests.length > 0) {
      for (const r of late.requests.splice(0)) late.send({ type: 'piece', index: r.index, begin: r.begin, block: block(r.index, r.begin / BLOCK_BYTES) });
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setImmediate(r));
    expect(tor.picker.pieceState(limit)).toBe('have');
  }, 60_000);
});
