import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_METADATA_BYTES, METADATA_PIECE_BYTES } from '@tc/wire';
import { MAX_METADATA_FAULTS, METADATA_REJECT_BACKOFF_MS, METADATA_REQUEST_TIMEOUT_MS, METADATA_REQUESTS_PER_PEER, MetadataExchange } from './exchange.js';

/** Metadata of `size` bytes (any bytes will do: only the SHA-1 is checked here) and its info-hash. */
function meta(size: number, seed = 1): { info: Buffer; hash: Buffer } {
  const info = Buffer.alloc(size);
  for (let i = 0; i < size; i++) info[i] = (i * 31 + seed) & 0xff;
  return { info, hash: createHash('sha1').update(info).digest() };
}

const piece = (info: Buffer, i: number): Buffer => info.subarray(i * METADATA_PIECE_BYTES, Math.min(info.length, (i + 1) * METADATA_PIECE_BYTES));

describe('MetadataExchange', () => {
  it('skips peers without ut_metadata or with a size of 0, negative or beyond the cap (4 GiB)', () => {
    const x = new MetadataExchange(meta(10).hash);
    expect(x.addPeer(1, false, 100)).toBe('no-ut-metadata');
    expect(x.addPeer(2, true, undefined)).toBe('no-ut-metadata');
    expect(x.addPeer(3, true, 0)).toBe('bad-size');
    expect(x.addPeer(4, true, -5)).toBe('bad-size');
    expect(x.addPeer(5, true, 4 * 1024 ** 3)).toBe('bad-size');
    expect(x.addPeer(6, true, MAX_METADATA_BYTES + 1)).toBe('bad-size');
    expect(x.sourceCount).toBe(0);
    expect(x.requests(0)).toEqual([]);
    expect(x.size).toBeUndefined();
  });

  it('assembles pieces that arrive out of order, with a short last piece, from two peers', () => {
    const { info, hash } = meta(3 * METADATA_PIECE_BYTES + 100);
    const x = new MetadataExchange(hash);
    expect(x.addPeer(1, true, info.length)).toBeUndefined();
    expect(x.addPeer(2, true, info.length)).toBeUndefined();
    const reqs = x.requests(0);
    expect(reqs.map((r) => r.piece).sort()).toEqual([0, 1, 2, 3]);
    // Spread over both peers, at most METADATA_REQUESTS_PER_PEER each.
    for (const id of [1, 2]) expect(reqs.filter((r) => r.peer === id).length).toBeLessThanOrEqual(METADATA_REQUESTS_PER_PEER);
    const order = [...reqs].reverse();
    for (const r of order.slice(0, 3)) expect(x.onData(r.peer, r.piece, info.length, piece(info, r.piece)).kind).toBe('stored');
    expect(x.progress()).toEqual({ have: 3, total: 4 });
    const last = order[3]!;
    const out = x.onData(last.peer, last.piece, info.length, piece(info, last.piece));
    expect(out.kind).toBe('done');
    expect(out.kind === 'done' && out.info.equals(info)).toBe(true);
    expect(x.done).toBe(true);
    expect(x.requests(1)).toEqual([]);
  });

  it('ignores data it did not ask that peer for, and duplicates', () => {
    const { info, hash } = meta(2 * METADATA_PIECE_BYTES);
    const x = new MetadataExchange(hash);
    x.addPeer(1, true, info.length);
    x.addPeer(2, true, info.length);
    const reqs = x.requests(0);
    const r0 = reqs.find((r) => r.piece === 0)!;
    const other = r0.peer === 1 ? 2 : 1;
    expect(x.onData(other, 0, info.length, piece(info, 0)).kind).toBe('ignored');
    expect(x.onData(r0.peer, 0, info.length, piece(info, 0)).kind).toBe('stored');
    expect(x.onData(r0.peer, 0, info.length, piece(info, 0)).kind).toBe('ignored');
    expect(x.onData(9, 1, info.length, piece(info, 1)).kind).toBe('ignored');
  });

  it('re-requests a rejected piece from another peer, and backs the rejecting peer off', () => {
    const { info, hash } = meta(100);
    const x = new MetadataExchange(hash);
    x.addPeer(1, true, info.length);
    const [r] = x.requests(0);
    expect(r).toEqual({ peer: 1, piece: 0 });
    x.onReject(1, 0, 10);
    // Peer 1 is backed off and nobody else has it: nothing to send yet.
    expect(x.requests(20)).toEqual([]);
    x.addPeer(2, true, info.length);
    expect(x.requests(30)).toEqual([{ peer: 2, piece: 0 }]);
    x.removePeer(2);
    expect(x.requests(40)).toEqual([]);
    expect(x.requests(10 + METADATA_REJECT_BACKOFF_MS)).toEqual([{ peer: 1, piece: 0 }]);
    expect(x.onData(1, 0, info.length, info).kind).toBe('done');
  });

  it('re-requests a piece after a timeout, and stops asking a peer after too many faults', () => {
    const { info, hash } = meta(100);
    const x = new MetadataExchange(hash);
    x.addPeer(1, true, info.length);
    let now = 0;
    for (let i = 0; i < MAX_METADATA_FAULTS; i++) {
      expect(x.requests(now)).toEqual([{ peer: 1, piece: 0 }]);
      now += METADATA_REQUEST_TIMEOUT_MS;
    }
    expect(x.requests(now)).toEqual([]);
    expect(x.sourceCount).toBe(0);
    // The late answer is not used (the request had expired).
    expect(x.onData(1, 0, info.length, info).kind).toBe('ignored');
  });

  it('drops a peer whose data has a total_size other than it announced, or a wrong piece length', () => {
    const { info, hash } = meta(METADATA_PIECE_BYTES + 10);
    const x = new MetadataExchange(hash);
    x.addPeer(1, true, info.length);
    x.requests(0);
    expect(x.onData(1, 0, info.length + 1, piece(info, 0)).kind).toBe('drop');
    expect(x.onData(1, 1, info.length, Buffer.alloc(11)).kind).toBe('drop');
  });

  it('on a hash mismatch discards everything, distrusts the senders and fetches the honest size', () => {
    const { info, hash } = meta(METADATA_PIECE_BYTES + 500);
    const x = new MetadataExchange(hash);
    // Two liars with the same wrong size outvote the honest peer at first.
    const fake = meta(700, 9).info;
    x.addPeer(1, true, fake.length);
    x.addPeer(2, true, fake.length);
    x.addPeer(3, true, info.length);
    const [r] = x.requests(0);
    expect(x.size).toBe(fake.length);
    const out = x.onData(r!.peer, 0, fake.length, fake);
    expect(out.kind).toBe('mismatch');
    expect(out.kind === 'mismatch' && out.blamed).toEqual([r!.peer]);
    // The other liar still has the vote (1 against 1, first come): it is asked, and fails too.
    const [r2] = x.requests(1);
    expect(r2!.peer).not.toBe(r!.peer);
    expect(x.onData(r2!.peer, 0, fake.length, fake).kind).toBe('mismatch');
    // Now only the honest peer is trusted: its size wins.
    const reqs = x.requests(2);
    expect(x.size).toBe(info.length);
    expect(reqs).toEqual([
      { peer: 3, piece: 0 },
      { peer: 3, piece: 1 },
    ]);
    expect(x.onData(3, 1, info.length, piece(info, 1)).kind).toBe('stored');
    const done = x.onData(3, 0, info.length, piece(info, 0));
    expect(done.kind === 'done' && done.info.equals(info)).toBe(true);
  });

  it('a mismatch with pieces from two peers blames both', () => {
    const { info, hash } = meta(2 * METADATA_PIECE_BYTES);
    const x = new MetadataExchange(hash);
    x.addPeer(1, true, info.length);
    x.addPeer(2, true, info.length);
    const reqs = x.requests(0);
    const bad = Buffer.from(piece(info, 1));
    bad[0] = bad[0]! ^ 1;
    for (const r of reqs) x.onData(r.peer, r.piece, info.length, r.piece === 1 ? bad : piece(info, r.piece));
    expect(x.sourceCount).toBe(0);
    expect(x.requests(1)).toEqual([]);
    expect(x.done).toBe(false);
  });
});
