import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeHandshake, encodeMessage, MessageDecoder, type Incoming } from '@tc/wire';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { until } from '@tc/testkit/wait';
import { ManualClock } from '../src/clock.js';
import { MAX_BAD_REQUESTS, MAX_QUEUED_PEER_REQUESTS } from '../src/torrent/torrent.js';
import { DEFAULT_UPLOAD_SLOTS } from '../src/choker/choker.js';
import type { Session, SessionOptions } from '../src/session.js';
import { filledStorage, loopbackSession, range, sourceOf } from './helpers.js';

const sessions: Session[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(sessions.splice(0).map((s) => s.close()));
});

const randomPeerId = (): Buffer => Buffer.concat([Buffer.from('-FK0001-'), randomBytes(12)]);

/** A scripted leecher: dials, handshakes, and records what the engine sends back. */
async function fakeLeecher(port: number, infoHash: Buffer, pieceCount: number, peerId = randomPeerId()) {
  const sock = connect(port, '127.0.0.1');
  sockets.push(sock);
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const dec = new MessageDecoder({ pieceCount, features: { fast: true, extended: true } });
  const got: Incoming[] = [];
  let closed = false;
  const waiters = new Set<() => void>();
  const wake = (): void => {
    for (const w of [...waiters]) w();
  };
  const closedP = new Promise<void>((r) =>
    sock.once('close', () => {
      closed = true;
      r();
      wake();
    }),
  );
  sock.on('data', (c: Buffer) => {
    got.push(...dec.push(c));
    wake();
  });
  sock.on('error', () => undefined);
  sock.write(encodeHandshake({ infoHash, peerId, features: { fast: true } }));
  /** Resolves with the first `count` messages matching `pred`, as they arrive; fails if the engine hangs up first (or after `ms`). */
  const waitFor = (pred: (m: Incoming) => boolean, count = 1, ms = 5_000): Promise<Incoming[]> =>
    new Promise((resolve, reject) => {
      const describe = (): string => `got ${got.length} messages (${[...new Set(got.map((x) => x.type))].join(',')})${closed ? ', then closed' : ''}`;
      const check = (): void => {
        const found = got.filter(pred);
        if (found.length >= count) finish(() => resolve(found.slice(0, count)));
        else if (closed) finish(() => reject(new Error(`closed before ${count} expected message(s); ${describe()}`)));
      };
      const timer = setTimeout(() => finish(() => reject(new Error(`not received within ${ms} ms; ${describe()}`))), ms);
      const finish = (then: () => void): void => {
        clearTimeout(timer);
        waiters.delete(check);
        then();
      };
      waiters.add(check);
      check();
    });
  const first = async (pred: (m: Incoming) => boolean): Promise<Incoming> => (await waitFor(pred))[0]!;
  return { sock, got, waitFor, first, closedP, isClosed: () => closed };
}

/**
 * A session seeding `t` (every piece, or only `pieces`), with the reasons of every disconnect its
 * torrent reports.
 */
async function seeding(t: TestTorrent, opts: { pieces?: readonly number[]; session?: SessionOptions } = {}) {
  const src = sourceOf(t);
  const seeder = await loopbackSession(opts.session);
  sessions.push(seeder);
  const pieces = opts.pieces ?? range(src.layout.pieceCount);
  const tor = await seeder.add(src, { storage: filledStorage(t, src, (i) => pieces.includes(i)), have: pieces, noTrackers: true });
  const reasons: string[] = [];
  const codes: (string | undefined)[] = [];
  tor.on('peer-disconnected', (e) => {
    reasons.push(e.reason?.message ?? 'none');
    codes.push(e.reason?.code);
  });
  return { src, seeder, tor, reasons, codes };
}

const isType =
  <T extends Incoming['type']>(type: T, index?: number) =>
  (m: Incoming): boolean =>
    m.type === type && (index === undefined || (m as { index?: number }).index === index);

describe('serving requests (the minimal server issue 6 builds on)', () => {
  it('serves valid blocks, rejects bad requests, and drops a peer that keeps sending them', async () => {
    const t = createTestTorrent({ pieceLength: 32 * 1024, length: 100_000, seed: 9 });
    const { src, seeder } = await seeding(t);
    const peer = await fakeLeecher(seeder.port, t.infoHash, src.layout.pieceCount);
    await peer.first(isType('have-all'));
    peer.sock.write(encodeMessage({ type: 'interested' }));
    await peer.first(isType('unchoke'));

    peer.sock.write(encodeMessage({ type: 'request', index: 2, begin: 16384, length: 1000 }));
    const piece = await peer.first(isType('piece'));
    expect(piece).toMatchObject({ index: 2, begin: 16384 });
    expect((piece as { block: Buffer }).block.equals(t.data.subarray(2 * 32768 + 16384, 2 * 32768 + 16384 + 1000))).toBe(true);

    // Out of range, too long, past the piece end: each rejected (BEP 6), none served.
    peer.sock.write(encodeMessage({ type: 'request', index: 99, begin: 0, length: 16384 }));
    peer.sock.write(encodeMessage({ type: 'request', index: 0, begin: 0, length: 32768 }));
    peer.sock.write(encodeMessage({ type: 'request', index: 0, begin: 30000, length: 16384 }));
    await peer.first((m) => m.type === 'reject' && m.begin === 30000);
    expect(peer.got.filter((m) => m.type === 'reject')).toHaveLength(3);
    expect(peer.got.filter((m) => m.type === 'piece')).toHaveLength(1);

    // A flood of bad requests ends the connection (RELIABILITY.md case 23).
    const flood = Buffer.concat(Array.from({ length: MAX_BAD_REQUESTS + 5 }, () => encodeMessage({ type: 'request', index: 99, begin: 0, length: 16384 })));
    peer.sock.write(flood);
    await peer.closedP;
    expect(peer.isClosed()).toBe(true);
  });

  it('requests for a piece we lack are rejected (BEP 6) and counted: MAX_BAD_REQUESTS are tolerated, the next drops the peer (RELIABILITY #23)', async () => {
    const t = createTestTorrent({ pieceLength: 32 * 1024, length: 4 * 32 * 1024, seed: 12 });
    // A partial seeder: pieces 0 and 2 only.
    const { src, seeder, reasons } = await seeding(t, { pieces: [0, 2] });
    const peer = await fakeLeecher(seeder.port, t.infoHash, src.layout.pieceCount);
    await peer.first(isType('bitfield'));
    peer.sock.write(encodeMessage({ type: 'interested' }));
    await peer.first(isType('unchoke'));
    const lacking = encodeMessage({ type: 'request', index: 1, begin: 0, length: 16384 });
    const valid = (begin: number): Buffer => encodeMessage({ type: 'request', index: 0, begin, length: 1024 });
    // One bad request short of the limit, then a valid one: messages are handled in order, so once
    // that block arrives every bad request before it has been counted, and the peer is still served.
    peer.sock.write(Buffer.concat([...Array.from({ length: MAX_BAD_REQUESTS }, () => lacking), valid(0)]));
    await peer.first(isType('piece', 0));
    expect(peer.got.filter(isType('reject', 1))).toHaveLength(MAX_BAD_REQUESTS);
    expect(peer.got.filter(isType('piece', 1))).toEqual([]);
    expect(peer.isClosed()).toBe(false);
    expect(reasons).toEqual([]);
    // One more is one too many.
    peer.sock.write(lacking);
    await peer.closedP;
    await until('the disconnect event', () => reasons.length > 0);
    expect(reasons).toEqual(['too many invalid requests']);
  });

  it('requests while choked are rejected (BEP 6) and counted: MAX_BAD_REQUESTS are tolerated, the next drops the peer (RELIABILITY #23)', async () => {
    const t = createTestTorrent({ pieceLength: 32 * 1024, length: 100_000, seed: 13 });
    const { src, seeder, reasons } = await seeding(t);
    const peer = await fakeLeecher(seeder.port, t.infoHash, src.layout.pieceCount);
    await peer.first(isType('have-all'));
    // Not interested yet, so choked: every request, even for a piece the seeder has, is refused.
    const req = encodeMessage({ type: 'request', index: 0, begin: 0, length: 16384 });
    // The limit's worth, then interest: messages are handled in order, so the unchoke it earns comes
    // after every one of those requests was counted, and shows the peer is still welcome.
    peer.sock.write(Buffer.concat([...Array.from({ length: MAX_BAD_REQUESTS }, () => req), encodeMessage({ type: 'interested' })]));
    await peer.first(isType('unchoke'));
    expect(peer.got.filter(isType('reject', 0))).toHaveLength(MAX_BAD_REQUESTS);
    expect(peer.got.filter(isType('piece'))).toEqual([]);
    expect(peer.isClosed()).toBe(false);
    // Losing interest frees its slot (choked at once); one more request while choked is one too many.
    peer.sock.write(encodeMessage({ type: 'not-interested' }));
    await peer.first(isType('choke'));
    peer.sock.write(req);
    await peer.closedP;
    await until('the disconnect event', () => reasons.length > 0);
    expect(reasons).toEqual(['too many invalid requests']);
    expect(peer.got.filter(isType('piece'))).toEqual([]);
  });

  it('a second incoming connection with the peer id of a connected peer is closed; the first stays and is served (RELIABILITY #21)', async () => {
    const t = createTestTorrent({ pieceLength: 32 * 1024, length: 100_000, seed: 14 });
    const { src, seeder, tor, codes: reasons } = await seeding(t);
    const id = randomPeerId();
    const first = await fakeLeecher(seeder.port, t.infoHash, src.layout.pieceCount, id);
    await first.first(isType('have-all'));
    const second = await fakeLeecher(seeder.port, t.infoHash, src.layout.pieceCount, id);
    await second.closedP;
    // Closed right after the handshake: it never got the seeder's pieces or anything else a peer gets.
    expect(second.got.filter((m) => m.type !== 'handshake')).toEqual([]);
    await until('the disconnect event', () => reasons.length > 0);
    expect(reasons).toEqual(['ENGINE_PEER_PROTOCOL']);
    expect(tor.stats().peers).toBe(1);
    first.sock.write(encodeMessage({ type: 'interested' }));
    first.sock.write(encodeMessage({ type: 'request', index: 1, begin: 0, length: 1024 }));
    await first.first(isType('piece', 1));
    expect(first.isClosed()).toBe(false);
  });

  it('a peer that requests but never reads is cut off: served blocks waiting in its socket count toward the 2000-request queue', async () => {
    const t = createTestTorrent({ pieceLength: 32 * 1024, length: 4 * 1024 * 1024, seed: 3 });
    const { src, seeder, tor, reasons } = await seeding(t);
    const peer = await fakeLeecher(seeder.port, t.infoHash, src.layout.pieceCount);
    await peer.first(isType('have-all'));
    peer.sock.write(encodeMessage({ type: 'interested' }));
    await peer.first(isType('unchoke'));
    // Stop reading: once the kernel buffers are full, every served block stays in the seeder's memory.
    peer.sock.pause();
    const pieces = src.layout.pieceCount;
    const BATCH = 100;
    const n = MAX_QUEUED_PEER_REQUESTS * 2 + MAX_BAD_REQUESTS;
    let requestedBytes = 0;
    const send = async (k: number): Promise<void> => {
      const reqs = range(Math.min(BATCH, n - k)).map((j) => {
        // A different offset each round: every request is distinct (a repeat of a queued (index, begin) replaces it).
        const index = (k + j) % pieces;
        const begin = Math.floor((k + j) / pieces);
        const length = 16384;
        requestedBytes += length;
        return encodeMessage({ type: 'request', index, begin, length });
      });
      if (!peer.sock.write(Buffer.concat(reqs))) await Promise.race([new Promise((r) => peer.sock.once('drain', r)), peer.closedP]);
    };
    // Below the limit, each batch is served before the next is sent: the queue of unserved requests
    // is empty, only the socket fills. (Were socket bytes not counted, this would never end.)
    let k = 0;
    for (; k < MAX_QUEUED_PEER_REQUESTS - BATCH; k += BATCH) {
      await send(k);
      await until(
        () => `batch ${k} served (${tor.stats().uploaded} of ${requestedBytes} bytes)`,
        () => tor.stats().uploaded >= requestedBytes,
      );
    }
    expect(reasons).toEqual([]);
    // Past it, with nothing unserved, the blocks in its socket alone make every request too many.
    for (; k < n && reasons.length === 0; k += BATCH) await send(k);
    await until('the disconnect event', () => reasons.length > 0, { timeoutMs: 10_000 });
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
    // Filtered when added (a dial starts as soon as a candidate is added): nothing there to dial, now or later.
    expect(tor.stats().candidates).toBe(0);
    expect(tor.stats().peers).toBe(0);
    // Another port is a candidate at once: the count above is not zero for want of counting.
    tor.addPeers([{ host: '127.0.0.1', port: s.port === 65535 ? s.port - 1 : s.port + 1 }], 'manual');
    expect(tor.stats().candidates).toBe(1);
  });

  it('choking: six interested leechers, four upload slots (BEP 3); a freed slot goes to a waiting peer at once', async () => {
    const t = createTestTorrent({ pieceLength: 32 * 1024, length: 100_000, seed: 4 });
    // A manual clock: no rechoke round (10 s) or optimistic unchoke runs unless the test says so.
    const { src, seeder } = await seeding(t, { session: { clock: new ManualClock() } });
    const leechers: Awaited<ReturnType<typeof fakeLeecher>>[] = [];
    const probe = encodeMessage({ type: 'request', index: 0, begin: 0, length: 1024 });
    for (let i = 0; i < 6; i++) {
      const p = await fakeLeecher(seeder.port, t.infoHash, src.layout.pieceCount);
      await p.first(isType('have-all'));
      // Interested, then a request: its answer (a block if unchoked, a reject if not) comes after any
      // unchoke the interest earned, as the seeder handles a peer's messages in order.
      p.sock.write(Buffer.concat([encodeMessage({ type: 'interested' }), probe]));
      await p.first((m) => (m.type === 'piece' || m.type === 'reject') && m.index === 0);
      leechers.push(p);
    }
    const unchoked = () => leechers.filter((p) => p.got.some((m) => m.type === 'unchoke'));
    expect(unchoked()).toHaveLength(DEFAULT_UPLOAD_SLOTS);
    const waiting = leechers.filter((p) => !unchoked().includes(p));
    // One of them loses interest: its slot goes to one of the two waiting peers without waiting for the 10 s round.
    const leaving = unchoked()[0]!;
    leaving.sock.write(encodeMessage({ type: 'not-interested' }));
    await leaving.first(isType('choke'));
    await Promise.any(waiting.map((p) => p.first(isType('unchoke'))));
    expect(unchoked()).toHaveLength(DEFAULT_UPLOAD_SLOTS + 1);
  });
});
