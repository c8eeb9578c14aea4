import { afterEach, describe, expect, it } from 'vitest';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { encodeMessage, generatePeerId, MAX_PIECE_COUNT } from '@tc/wire';
import { ManualClock } from '../src/clock.js';
import type { EngineError } from '../src/errors.js';
import { MetadataFetcher } from '../src/magnet/fetcher.js';
import { heldBytes } from './held-bytes.js';
import { connectMemPeer } from './mem-peer.js';

/**
 * Issue 10, defect 1: while the metadata is unknown, what a peer says (bitfield, haves, chokes) is
 * kept to be replayed to the torrent. It was capped by message count only and kept every bitfield:
 * one peer sending 1,000 bitfields of 256 KiB grew memory by about 250 MiB and stayed connected.
 */

const MIB = 1024 * 1024;
const t = createTestTorrent({ length: 50_000, seed: 31 });
const open: MetadataFetcher[] = [];
afterEach(async () => {
  for (const f of open.splice(0)) await f.close();
});

function fetcher(): { f: MetadataFetcher; clock: ManualClock; gone: { reason: EngineError | undefined }[] } {
  const clock = new ManualClock();
  const f = new MetadataFetcher({ infoHash: t.infoHash, announceTiers: [], peerId: generatePeerId(), clock, listenPort: 0, isSelf: () => false, maxPeers: 10 });
  open.push(f);
  f.start();
  const gone: { reason: EngineError | undefined }[] = [];
  f.on('peer-disconnected', (e) => gone.push(e));
  return { f, clock, gone };
}

describe('what a peer says before the metadata is known (magnet/fetcher.ts)', () => {
  it('2,000 maximum-size bitfields: the peer is dropped and memory grows by less than 4 MiB', () => {
    const { f, clock, gone } = fetcher();
    // The largest bitfield the decoder accepts while the piece count is unknown: 256 KiB.
    const bitfield = encodeMessage({ type: 'bitfield', bytes: Buffer.alloc(MAX_PIECE_COUNT / 8, 0xa5) });
    const peer = connectMemPeer(f, { infoHash: t.infoHash, now: clock.now(), port: 1 });
    const before = heldBytes();
    for (let i = 0; i < 2_000 && !peer.closed; i++) peer.sendRaw(bitfield);
    const grown = heldBytes() - before;

    console.log(`2,000 bitfields of 256 KiB: held bytes grew by ${(grown / MIB).toFixed(2)} MiB`);
    expect(peer.closed).toBe(true);
    expect(gone.map((g) => g.reason?.code)).toEqual(['ENGINE_PEER_PROTOCOL']);
    expect(grown).toBeLessThan(4 * MIB);
  });
});
