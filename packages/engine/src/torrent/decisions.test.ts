import { describe, expect, it } from 'vitest';
import { METADATA_PIECE_BYTES } from '@tc/wire';
import { BLOCK_BYTES, makeLayout } from '../layout.js';
import { MAX_METADATA_SERVES_EXTRA, metadataReply } from './metadata-server.js';
import { REPLACE_GRACE_MS, SNUB_DROP_FACTOR, shouldReplace, snubVerdict, weakestPeer } from './peer-policy.js';
import { refuseHandshake } from './peer-registry.js';
import { MAX_QUEUED_PEER_REQUESTS } from './peer-state.js';
import { checkRequest, servedKey, type RequestCheckInput } from './serving.js';

/** The pure decisions the torrent's parts take, each on its own. */

describe('checkRequest: which incoming request is served', () => {
  const ok: RequestCheckInput = { choked: false, inTorrent: true, have: true, pieceBytes: 32 * 1024, queued: 0 };
  const block = { index: 3, begin: 16 * 1024, length: BLOCK_BYTES };

  it('serves a block of a piece we have, to an unchoked peer with room in its queue', () => {
    expect(checkRequest(block, ok)).toBeUndefined();
    // The last block may be short, and a request may start anywhere inside the piece.
    expect(checkRequest({ index: 3, begin: 100, length: 32 * 1024 - 100 - 16 * 1024 }, ok)).toBeUndefined();
  });

  it('gives the reason when not', () => {
    expect(checkRequest(block, { ...ok, choked: true })).toBe('choked');
    expect(checkRequest(block, { ...ok, inTorrent: false, have: false })).toBe('no-such-piece');
    expect(checkRequest(block, { ...ok, have: false })).toBe('piece-missing');
    expect(checkRequest({ ...block, length: 0 }, ok)).toBe('bad-length');
    expect(checkRequest({ ...block, length: BLOCK_BYTES + 1 }, ok)).toBe('bad-length');
    expect(checkRequest({ ...block, begin: 16 * 1024 + 1 }, ok)).toBe('past-piece-end');
    expect(checkRequest(block, { ...ok, queued: MAX_QUEUED_PEER_REQUESTS - 1 })).toBeUndefined();
    expect(checkRequest(block, { ...ok, queued: MAX_QUEUED_PEER_REQUESTS })).toBe('queue-full');
  });

  it('a choke outranks everything else (a choked peer is told so, whatever it asked)', () => {
    expect(checkRequest({ index: 99, begin: 0, length: 0 }, { ...ok, choked: true, inTorrent: false, have: false })).toBe('choked');
  });

  it('keys queued requests by their torrent offset: distinct for every block of every piece', () => {
    const layout = makeLayout({ pieceLength: 32 * 1024, files: [{ path: ['f'], length: 10 * 32 * 1024 + 5 }], pieceHashes: Buffer.alloc(20 * 11) });
    const keys = new Set<number>();
    for (let i = 0; i < layout.pieceCount; i++) for (let b = 0; b < 2; b++) keys.add(servedKey(layout, i, b * BLOCK_BYTES));
    expect(keys.size).toBe(layout.pieceCount * 2);
    expect(servedKey(layout, 1, 0)).toBe(32 * 1024);
  });
});

describe('refuseHandshake: who may become a peer (RELIABILITY #21)', () => {
  const infoHash = Buffer.alloc(20, 1);
  const ours = Buffer.alloc(20, 2);
  const theirs = Buffer.alloc(20, 3);
  const none = (): boolean => false;
  it('admits a new peer of this torrent', () => {
    expect(refuseHandshake({ infoHash, peerId: theirs }, infoHash, ours, none)).toBeUndefined();
  });
  it('refuses another torrent, ourselves, and a second connection of a connected peer', () => {
    expect(refuseHandshake({ infoHash: Buffer.alloc(20, 9), peerId: theirs }, infoHash, ours, none)).toBe('wrong-torrent');
    expect(refuseHandshake({ infoHash, peerId: ours }, infoHash, ours, none)).toBe('self');
    expect(refuseHandshake({ infoHash, peerId: theirs }, infoHash, ours, (id) => id.equals(theirs))).toBe('duplicate');
  });
});

describe('snubVerdict: when a peer is snubbed, and when it is dropped', () => {
  const T = 60_000;
  it('never judges a peer we asked nothing of', () => {
    expect(snubVerdict({ outstanding: 0, snubbed: false, sinceProgressMs: 100 * T, snubTimeoutMs: T })).toBe('ok');
    expect(snubVerdict({ outstanding: 0, snubbed: true, sinceProgressMs: 100 * T, snubTimeoutMs: T })).toBe('ok');
  });
  it('snubs after the timeout with requests out, not at it', () => {
    expect(snubVerdict({ outstanding: 5, snubbed: false, sinceProgressMs: T, snubTimeoutMs: T })).toBe('ok');
    expect(snubVerdict({ outstanding: 5, snubbed: false, sinceProgressMs: T + 1, snubTimeoutMs: T })).toBe('snub');
  });
  it('drops a snubbed peer only once SNUB_DROP_FACTOR timeouts passed without a block', () => {
    expect(snubVerdict({ outstanding: 1, snubbed: true, sinceProgressMs: T + 1, snubTimeoutMs: T })).toBe('ok');
    expect(snubVerdict({ outstanding: 1, snubbed: true, sinceProgressMs: SNUB_DROP_FACTOR * T, snubTimeoutMs: T })).toBe('ok');
    expect(snubVerdict({ outstanding: 1, snubbed: true, sinceProgressMs: SNUB_DROP_FACTOR * T + 1, snubTimeoutMs: T })).toBe('drop');
    // Never straight from fine to dropped: a peer first gets its one-request chance.
    expect(snubVerdict({ outstanding: 1, snubbed: false, sinceProgressMs: 10 * T, snubTimeoutMs: T })).toBe('snub');
  });
});

describe('replacing the weakest peer', () => {
  const full = { downloading: true, peers: 50, maxPeers: 50, candidatesWaiting: 3 };
  it('replaces only when downloading, the pool is full and a candidate waits', () => {
    expect(shouldReplace(full)).toBe(true);
    expect(shouldReplace({ ...full, downloading: false })).toBe(false);
    expect(shouldReplace({ ...full, peers: 49 })).toBe(false);
    expect(shouldReplace({ ...full, candidatesWaiting: 0 })).toBe(false);
  });

  const now = 10 * REPLACE_GRACE_MS;
  const peer = (id: string, score: number, connectedAt = 0): { id: string; score: number; connectedAt: number } => ({ id, score, connectedAt });

  it('picks the lowest score among peers that had their grace period', () => {
    const peers = [peer('fast', 5_000_000), peer('slow', 10), peer('mid', 20_000)];
    expect(weakestPeer(peers, now, (p) => p.score)?.id).toBe('slow');
  });

  it('spares a newcomer however poor its score, and is undefined when every peer is new', () => {
    const peers = [peer('old', 1_000), peer('new', 0, now - REPLACE_GRACE_MS + 1)];
    expect(weakestPeer(peers, now, (p) => p.score)?.id).toBe('old');
    expect(weakestPeer([peers[1]!], now, (p) => p.score)).toBeUndefined();
    expect(weakestPeer([], now, (p: { connectedAt: number }) => p.connectedAt)).toBeUndefined();
    // Exactly at the grace period a peer is judged.
    expect(weakestPeer([peer('edge', 1, now - REPLACE_GRACE_MS)], now, (p) => p.score)?.id).toBe('edge');
  });

  it('keeps the first of equals, and scores only the peers it judges', () => {
    const scored: string[] = [];
    const peers = [peer('a', 7), peer('b', 7), peer('young', 0, now)];
    expect(weakestPeer(peers, now, (p) => (scored.push(p.id), p.score))?.id).toBe('a');
    expect(scored).toEqual(['a', 'b']);
  });
});

describe('metadataReply: BEP 9 serving', () => {
  const info = Buffer.alloc(METADATA_PIECE_BYTES * 2 + 100, 7);
  it('sends each piece, the last one short, with the total size', () => {
    const first = metadataReply(info, 0, 0);
    expect(first).toMatchObject({ type: 'data', piece: 0, totalSize: info.length });
    expect(first.type === 'data' && first.data.length).toBe(METADATA_PIECE_BYTES);
    const last = metadataReply(info, 2, 2);
    expect(last.type === 'data' && last.data.length).toBe(100);
  });
  it('rejects without info bytes, past the last piece, and once the peer had its share', () => {
    expect(metadataReply(undefined, 0, 0)).toEqual({ type: 'reject', piece: 0 });
    expect(metadataReply(info, 3, 0)).toEqual({ type: 'reject', piece: 3 });
    expect(metadataReply(info, 0, 3 + MAX_METADATA_SERVES_EXTRA - 1).type).toBe('data');
    expect(metadataReply(info, 0, 3 + MAX_METADATA_SERVES_EXTRA)).toEqual({ type: 'reject', piece: 0 });
  });
});
