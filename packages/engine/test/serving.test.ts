import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeHandshake, encodeMessage, MessageDecoder, type Incoming } from '@tc/wire';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { MAX_BAD_REQUESTS, MAX_QUEUED_PEER_REQUESTS } from '../src/torrent/torrent.js';
import { DEFAULT_UPLOAD_SLOTS } from '../src/choker/choker.js';
import type { Session } from '../src/session.js';
import { filledStorage, loopbackSession, range, sourceOf } from './helpers.js';

const sessions: Session[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(sessions.splice(0).map((s) => s.close()));
});

/** A scripted leecher: dials, handshakes, and records what the engine sends back. */
async function fakeLeecher(port: number, infoHash: Buffer, pieceCount: number) {
  const sock = connect(port, '127.0.0.1');
  sockets.push(sock);
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const dec = new MessageDecoder({ pieceCount, features: { fast: true, extended: true } });
  const got: Incoming[] = [];
  let closed = false;
  const closedP = new Promise<void>((r) => sock.once('close', () => ((closed = true), r())));
  sock.on('data', (c: Buffer) => got.push(...dec.push(c)));
  sock.on('error', () => undefined);
  sock.write(encodeHandshake({ infoHash, peerId: Buffer.concat([Buffer.from('-FK0001-'), randomBytes(12)]), features: { fast: true } }));
  const waitFor = async (pred: (m: Incoming) => boolean, ms = 3_000): Promise<Incoming> => {
    const end = Date.now() + ms;
    for (;;) {
      const m = got.find(pred);
      if (m) return m;
      if (Date.now() > end || closed) throw new Error(`not received; got ${got.map((x) => x.type).join(',')}${closed ? ' (closed)' : ''}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { sock, got, waitFor, closedP, isClosed: () => closed };
}

describe('serving requests (the minimal server issue 6 builds on)', () => {
  it('serves valid blocks, rejects bad requests, and drops a peer that keeps sending them', async () => {
    const t = createTestTorrent({ pieceLength: 32 * 1024, length: 100_000, seed: 9 });
    const src = sourceOf(t);
    const seeder = await loopbackSession();
    sessions.push(seeder);
    await seeder.add(src, { storage: filledStorage(t, src), have: range(src.layout.pieceCount), noTrackers: true });
    const peer = await fakeLeecher(seeder.port, t.infoHash, src.layout.pieceCount);
    await peer.waitFor((m) => m.type === 'have-all');
    peer.sock.write(encodeMessage({ type: 'interested' }));
    await peer.waitFor((m) => m.type === 'unchoke');

    peer.sock.write(encodeMessage({ type: 'request', index: 2, begin: 16384, length: 1000 }));
    const piece = await peer.waitFor((m) => m.type === 'piece');
    expect(piece).toMatchObject({ index: 2, begin: 16384 });
    expect((piece as { block: Buffer }).block.equals(t.data.subarray(2 * 32768 + 16384, 2 * 32768 + 16384 + 1000))).toBe(true);

    // Out of range, too long, past the piece end: each rejected (BEP 6), none served.
    peer.sock.write(encodeMessage({ type: 'request', index: 99, begin: 0, length: 16384 }));
    peer.sock.write(encodeMessage({ type: 'request', index: 0, begin: 0, length: 32768 }));
    peer.sock.write(encodeMessage({ type: 'request', index: 0, begin: 30000, length: 16384 }));
    await peer.waitFor((m) => m.type === 'reject' && m.begin === 30000);
    expect(peer.got.filter((m) => m.type === 'reject')).toHaveLength(3);
    expect(peer.got.filter((m) => m.type === 'piece')).toHaveLength(1);

    // A flood of bad requests ends the connection (RELIABILITY.md case 23).
    const flood = Buffer.concat(Array.from({ length: MAX_BAD_REQUESTS + 5 }, () => encodeMessage({ type: 'request', index: 99, begin: 0, length: 16384 })));
    peer.sock.write(flood);
    await peer.closedP;
    expect(peer.isClosed()).toBe(true);
  });

  it('a peer that requests but never reads is cut off: served blocks waiting in its socket count toward the 2000-request queue', async () => {
    const t = createTestTorrent({ pieceLength: 32 * 1024, length: 4 * 1024 * 1024, seed: 3 });
    const src = sourceOf(t);
    const seeder = await loopbackSession();
    sessions.push(seeder);
    const tor = await seeder.add(src, { storage: filledStorage(t, src), have: range(src.layout.pieceCount), noTrackers: true });
    const reasons: string[] = [];
    tor.on('peer-disconnected', (e) => reasons.push(e.reason?.message ?? 'none'));
    const peer = await fakeLeecher(seeder.port, t.infoHash, src.layout.pieceCount);
    await peer.waitFor((m) => m.type === 'have-all');
    peer.sock.write(encodeMessage({ type: 'interested' }));
    await peer.waitFor((m) => m.type === 'unchoke');
    // Stop reading: once the kernel buffers are full, every served block stays in the seeder's memory.
    peer.sock.pause();
    const blocks = src.layout.pieceCount * 2;
    const n = MAX_QUEUED_PEER_REQUESTS * 2 + MAX_BAD_REQUESTS;
    // Small batches, each served before the next: the queue of unserved requests stays short, only the socket fills.
    for (let k = 0; k < n && reasons.length === 0; k += 100) {
      const reqs = range(Math.min(100, n - k)).map((j) => {
        // A different length each round: every request is distinct (a repeat of a pending one is not queued twice).
        const b = (k + j) % blocks;
        return encodeMessage({ type: 'request', index: b >> 1, begin: (b & 1) * 16384, length: 16384 - Math.floor((k + j) / blocks) });
      });
      if (!peer.sock.write(Buffer.concat(reqs))) await Promise.race([new Promise((r) => peer.sock.once('drain', r)), peer.closedP]);
      await new Promise((r) => setTimeout(r, 5));
    }
    await vi.waitFor(() => expect(reasons).toHaveLength(1), { timeout: 10_000, interval: 50 });
    expect(reasons).toEqual(['too many invalid requests']);
  }, 20_000);

  it('refuses a handshake for a torrent it does not have', async () => {
    const t = createTestTorrent({ length: 10_000 });
    const seeder = await loopbackSession();
    sessions.push(seeder);
    const peer = await fakeLeecher(seeder.port, t.infoHash, 1);
    await peer.closedP;
    expect(peer.got).toEqual([]);
  });

  it('never dials its own listen address', async () => {
    const t = createTestTorrent({ length: 10_000 });
    const src = sourceOf(t);
    const s = await loopbackSession();
    sessions.push(s);
    const tor = await s.add(src, { storage: filledStorage(t, src, () => false), noTrackers: true, peers: [{ host: '127.0.0.1', port: s.port }] });
    await new Promise((r) => setTimeout(r, 300));
    expect(tor.stats().candidates).toBe(0);
    expect(tor.stats().peers).toBe(0);
  });

  it('choking: six interested leechers, four upload slots (BEP 3); a freed slot goes to a waiting peer at once', async () => {
    const t = createTestTorrent({ pieceLength: 32 * 1024, length: 100_000, seed: 4 });
    const src = sourceOf(t);
    const seeder = await loopbackSession();
    sessions.push(seeder);
    await seeder.add(src, { storage: filledStorage(t, src), have: range(src.layout.pieceCount), noTrackers: true });
    const leechers: Awaited<ReturnType<typeof fakeLeecher>>[] = [];
    for (let i = 0; i < 6; i++) {
      const p = await fakeLeecher(seeder.port, t.infoHash, src.layout.pieceCount);
      await p.waitFor((m) => m.type === 'have-all');
      p.sock.write(encodeMessage({ type: 'interested' }));
      leechers.push(p);
    }
    const unchoked = () => leechers.filter((p) => p.got.some((m) => m.type === 'unchoke'));
    const until = async (n: number): Promise<void> => {
      for (let i = 0; i < 150 && unchoked().length < n; i++) await new Promise((r) => setTimeout(r, 20));
    };
    await until(DEFAULT_UPLOAD_SLOTS);
    await new Promise((r) => setTimeout(r, 200)); // and no more than that
    expect(unchoked()).toHaveLength(DEFAULT_UPLOAD_SLOTS);
    // One of them loses interest: its slot goes to one of the two waiting peers without waiting for the 10 s round.
    const leaving = unchoked()[0]!;
    leaving.sock.write(encodeMessage({ type: 'not-interested' }));
    await until(DEFAULT_UPLOAD_SLOTS + 1);
    await leaving.waitFor((m) => m.type === 'choke');
    expect(unchoked()).toHaveLength(DEFAULT_UPLOAD_SLOTS + 1);
    expect(leaving.got.some((m) => m.type === 'choke')).toBe(true);
  });
});
