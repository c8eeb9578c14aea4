import { afterEach, describe, expect, it } from 'vitest';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { ManualClock } from '../src/clock.js';
import type { Torrent } from '../src/torrent/torrent.js';
import { connectMemPeer, memTorrent } from './mem-peer.js';

/**
 * A block's key is piece × blocks-per-piece + block: an offset at or past the piece length has the
 * key of a block of the next piece. Found by the random-peers property (fuzz-peers.test.ts): a
 * `reject` for such an offset released another piece's request from the peer's side only, and the
 * picker's two views of its requests disagreed (STATE.md).
 */

const open: Torrent[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

describe('offsets past the end of a piece', () => {
  it('a reject or a block at an offset past the piece end touches no other piece (found by the random-peers property)', async () => {
    const t = createTestTorrent({ pieceLength: 32 * 1024, length: 4 * 32 * 1024, seed: 13 });
    const clock = new ManualClock();
    const tor = await memTorrent(t, { clock, random: () => 0 });
    open.push(tor);
    const a = connectMemPeer(tor, { infoHash: t.infoHash, pieceCount: 4, now: clock.now(), port: 1 });
    a.send({ type: 'have-all' }, { type: 'unchoke' });
    const asked = a.requests.length;
    expect(asked).toBe(8);
    // Offset 32 KiB of piece 0 is no block of piece 0, but its block key is that of piece 1's first block.
    a.send({ type: 'reject', index: 0, begin: 32 * 1024, length: 16 * 1024 });
    tor.picker.checkInvariants();
    expect(tor.picker.outstanding(1)).toBe(asked);
    a.send({ type: 'piece', index: 0, begin: 32 * 1024, block: Buffer.alloc(16 * 1024) });
    tor.picker.checkInvariants();
    expect(tor.picker.outstanding(1)).toBe(asked);
    expect(tor.stats().downloaded).toBe(0);
  });
});
