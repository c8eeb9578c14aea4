import { afterEach, describe, expect, it, vi } from 'vitest';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { encodeExtendedHandshake, generatePeerId } from '@tc/wire';
import { ManualClock } from '../src/clock.js';
import { EngineBug, EngineError } from '../src/errors.js';
import { MetadataExchange } from '../src/magnet/exchange.js';
import { MetadataFetcher } from '../src/magnet/fetcher.js';
import type { Torrent } from '../src/torrent/torrent.js';
import { connectMemPeer, memTorrent } from './mem-peer.js';

/**
 * Issue 10, defect 3: a bug (neither an EngineError nor a WireError) thrown while handling one
 * peer's message used to escape the socket callback and kill the process. Now it closes that peer
 * with ENGINE_PEER_INTERNAL and a warning; the torrent and its other peers carry on.
 */

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const o of open.splice(0)) await o.close();
});

describe('a bug reached from peer input', () => {
  it('closes that peer of a torrent (ENGINE_PEER_INTERNAL, a warning); the torrent and its other peers carry on', async () => {
    const t = createTestTorrent({ pieceLength: 32 * 1024, length: 4 * 32 * 1024, seed: 11 });
    const clock = new ManualClock();
    const tor: Torrent = await memTorrent(t, { clock });
    open.push(tor);
    const gone: { address: string; reason: EngineError | undefined }[] = [];
    const warnings: { message: string; cause?: unknown }[] = [];
    tor.on('peer-disconnected', (e) => gone.push(e));
    tor.on('warning', (w) => warnings.push(w));
    const a = connectMemPeer(tor, { infoHash: t.infoHash, pieceCount: 4, now: clock.now(), port: 1 });
    const b = connectMemPeer(tor, { infoHash: t.infoHash, pieceCount: 4, now: clock.now(), port: 2 });
    expect(tor.stats().peers).toBe(2);

    const bug = new EngineBug('injected: availability out of step');
    vi.spyOn(tor.picker, 'peerHave').mockImplementationOnce(() => {
      throw bug;
    });
    expect(() => a.send({ type: 'have', index: 0 })).not.toThrow();

    expect(a.closed).toBe(true);
    expect(gone).toHaveLength(1);
    const reason = gone[0]!.reason;
    expect(reason).toBeInstanceOf(EngineError);
    expect(reason?.code).toBe('ENGINE_PEER_INTERNAL');
    expect(reason?.cause).toBe(bug);
    expect(gone[0]!.address).toBe('10.0.0.1:1');
    expect(warnings.some((w) => w.message.includes('injected: availability out of step') && w.cause === bug)).toBe(true);

    // The other peer and the torrent are unharmed: b's have makes us interested.
    expect(b.closed).toBe(false);
    b.send({ type: 'have', index: 1 });
    expect(b.got.some((m) => m.type === 'interested')).toBe(true);
    expect(tor.stats()).toMatchObject({ state: 'downloading', peers: 1 });
    tor.picker.checkInvariants();
  });

  it('closes that peer of a magnet fetch the same way; the fetch carries on', async () => {
    const t = createTestTorrent({ length: 50_000, seed: 12 });
    const clock = new ManualClock();
    const fetcher = new MetadataFetcher({
      infoHash: t.infoHash,
      announceTiers: [],
      peerId: generatePeerId(),
      clock,
      listenPort: 0,
      isSelf: () => false,
      maxPeers: 10,
    });
    open.push(fetcher);
    fetcher.start();
    const gone: { reason: EngineError | undefined }[] = [];
    const warnings: { message: string }[] = [];
    fetcher.on('peer-disconnected', (e) => gone.push(e));
    fetcher.on('warning', (w) => warnings.push(w));
    const a = connectMemPeer(fetcher, { infoHash: t.infoHash, now: clock.now(), port: 1 });
    const b = connectMemPeer(fetcher, { infoHash: t.infoHash, now: clock.now(), port: 2 });
    vi.spyOn(MetadataExchange.prototype, 'addPeer').mockImplementationOnce(() => {
      throw new TypeError('injected: cannot read properties of undefined');
    });
    const handshake = encodeExtendedHandshake({ m: { ut_metadata: 3 }, metadataSize: 1000 });
    expect(() => a.send({ type: 'extended', id: 0, payload: handshake })).not.toThrow();
    expect(a.closed).toBe(true);
    expect(gone.map((g) => g.reason?.code)).toEqual(['ENGINE_PEER_INTERNAL']);
    expect(warnings.some((w) => w.message.includes('injected: cannot read properties'))).toBe(true);
    // b still offers the metadata and is asked for it.
    b.send({ type: 'extended', id: 0, payload: handshake });
    expect(b.closed).toBe(false);
    expect(fetcher.stats()).toMatchObject({ peers: 1, sources: 1 });
    expect(b.got.filter((m) => m.type === 'extended' && m.id === 3)).not.toHaveLength(0);
  });
});
