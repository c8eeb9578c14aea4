import { randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeHandshake, encodeMessage, encodePieceHeader, MessageDecoder, type Incoming } from '@tc/wire';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { until } from '@tc/testkit/wait';
import { EngineError } from '../src/errors.js';
import { pieceSize, type TorrentLayout } from '../src/layout.js';
import { MemoryStorage, memoryStorage } from '../src/storage/memory.js';
import type { StorageFactory } from '../src/storage/types.js';
import type { AnnounceRequest, TrackerTransport } from '@tc/tracker';
import type { Session, SessionOptions } from '../src/session.js';
import { loopbackSession, range, sourceOf } from './helpers.js';

const sessions: Session[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await Promise.all(sessions.splice(0).map((s) => s.close()));
});

async function session(opts: SessionOptions = {}): Promise<Session> {
  const s = await loopbackSession(opts);
  sessions.push(s);
  return s;
}

const peerId = (): Buffer => Buffer.concat([Buffer.from('-FK0001-'), randomBytes(12)]);
const blockKey = (m: { index: number; begin: number; length: number }): string => `${m.index}:${m.begin}:${m.length}`;

/** A tracker that answers every announce with no peers, asking for the next in 1 s; records each request. */
function recordingTracker(): TrackerTransport & { announces: AnnounceRequest[] } {
  const announces: AnnounceRequest[] = [];
  return {
    announces,
    announce: (_url, req) => {
      announces.push(req);
      return Promise.resolve({ interval: 1, peers: [], skipped: 0 });
    },
    scrape: () => Promise.resolve({ files: new Map() }),
    close: () => Promise.resolve(),
  };
}

/** Memory storage whose writes fail like a full disk once `okWrites` pieces are written. */
function fillingStorage(okWrites: number): StorageFactory & { failed: number[]; last: MemoryStorage | undefined } {
  const f = {
    failed: [] as number[],
    last: undefined as MemoryStorage | undefined,
    open(layout: TorrentLayout) {
      const s = new MemoryStorage(layout);
      f.last = s;
      const write = s.write.bind(s);
      s.write = (piece, offset, chunks) => {
        if (s.writes < okWrites) return write(piece, offset, chunks);
        f.failed.push(piece);
        return Promise.reject(new EngineError('ENGINE_DISK', `cannot write piece ${piece}: ENOSPC`, { piece }));
      };
      return Promise.resolve(s);
    },
  };
  return f;
}

/**
 * A scripted seeder: has every piece, unchokes, answers requests for the first `answerPieces`
 * pieces it is asked about and holds every other request, recording what the engine sends.
 */
async function holdingSeeder(t: TestTorrent, pieceCount: number, answerPieces: number) {
  const answered = new Set<number>();
  const held = new Set<string>();
  const got: Incoming[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    const dec = new MessageDecoder({ pieceCount, features: { fast: true, extended: true } });
    sock.on('data', (chunk: Buffer) => {
      for (const m of dec.push(chunk)) {
        got.push(m);
        if (m.type === 'handshake') {
          sock.write(encodeHandshake({ infoHash: t.infoHash, peerId: peerId(), features: { fast: true } }));
          sock.write(encodeMessage({ type: 'have-all' }));
          sock.write(encodeMessage({ type: 'unchoke' }));
        } else if (m.type === 'request') {
          if (!answered.has(m.index) && answered.size < answerPieces) answered.add(m.index);
          if (answered.has(m.index)) {
            const at = m.index * t.pieceLength + m.begin;
            sock.write(Buffer.concat([encodePieceHeader(m.index, m.begin, m.length), t.data.subarray(at, at + m.length)]));
          } else held.add(blockKey(m));
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  /** Writes raw bytes to every open connection. */
  const send = (bytes: Buffer): void => {
    for (const s of sockets) s.write(bytes);
  };
  return { port: (server.address() as AddressInfo).port, got, held, answered, send };
}

/** A scripted leecher: dials, handshakes, and records what the engine sends back. */
async function scriptedLeecher(port: number, infoHash: Buffer, pieceCount: number) {
  const sock = connect(port, '127.0.0.1');
  cleanups.push(() => void sock.destroy());
  sock.on('error', () => undefined);
  await new Promise<void>((r) => sock.once('connect', () => r()));
  const dec = new MessageDecoder({ pieceCount, features: { fast: true, extended: true } });
  const got: Incoming[] = [];
  sock.on('data', (c: Buffer) => got.push(...dec.push(c)));
  sock.write(encodeHandshake({ infoHash, peerId: peerId(), features: { fast: true } }));
  const waitFor = async (what: string, pred: (m: Incoming) => boolean): Promise<Incoming> => {
    await until(`${what} (got ${got.map((m) => m.type).join(',')})`, () => got.some(pred));
    return got.find(pred)!;
  };
  return { sock, got, waitFor };
}

describe('a disk error mid-download: upload-only (RELIABILITY #30, libtorrent upload mode)', () => {
  it('stops downloading (cancels, not interested), keeps announcing and serving every verified piece byte for byte, never the failed one', async () => {
    const t = createTestTorrent({ pieceLength: 32 * 1024, length: 40 * 32 * 1024 - 700, seed: 30, announce: ['http://tracker.test/announce'] });
    const src = sourceOf(t);
    const n = src.layout.pieceCount;
    const K = 3;
    const seeder = await holdingSeeder(t, n, K + 1);
    const tracker = recordingTracker();
    const a = await session({ trackerTransport: tracker, trackerMinIntervalS: 1 });
    const storage = fillingStorage(K);
    const tor = await a.add(src, { storage, peers: [{ host: '127.0.0.1', port: seeder.port }] });
    const states: string[] = [];
    tor.on('state', (s) => states.push(s.kind));

    await expect(tor.done).rejects.toMatchObject({ code: 'ENGINE_DISK' });
    expect(tor.state).toMatchObject({ kind: 'upload-only', error: { code: 'ENGINE_DISK' } });
    expect(states).toEqual(['upload-only']);
    // Every answered piece was written or failed; the other requests were still held by the seeder.
    await until('the K+1 answered pieces to be written or fail', () => tor.stats().piecesHave + storage.failed.length === K + 1);
    expect(storage.failed).toHaveLength(1);
    const failed = storage.failed[0]!;
    const have = [...seeder.answered].filter((i) => i !== failed).sort((x, y) => x - y);
    expect(have).toHaveLength(K);
    expect(seeder.held.size).toBeGreaterThan(0);

    // Not interested, and each held request cancelled (BEP 3), nothing asked for since.
    await until('not-interested', () => seeder.got.some((m) => m.type === 'not-interested'));
    const cancels = (): Set<string> => new Set(seeder.got.flatMap((m) => (m.type === 'cancel' ? [blockKey(m)] : [])));
    await until('a cancel for every held request', () => cancels().size === seeder.held.size);
    expect(cancels()).toEqual(seeder.held);
    const requests = seeder.got.filter((m) => m.type === 'request').length;
    // A whole tick (fill() runs for every peer in each tick, before 'progress'), then a probe the
    // engine answers after anything that tick sent: a request from the seeder, which never said it
    // was interested, so it is choked and gets a reject (BEP 6).
    await new Promise((r) => tor.once('progress', r));
    seeder.send(encodeMessage({ type: 'request', index: have[0]!, begin: 0, length: 1024 }));
    await until('the probe rejected', () => seeder.got.some((m) => m.type === 'reject' && m.index === have[0] && m.length === 1024));
    expect(seeder.got.filter((m) => m.type === 'request')).toHaveLength(requests);

    // The error is visible; the failed piece is not `have` and still counts in `left` (tracker stats).
    const st = tor.stats();
    expect(st.state).toBe('upload-only');
    expect(st.error).toMatchObject({ code: 'ENGINE_DISK', message: expect.stringContaining('ENOSPC') });
    expect(st.piecesHave).toBe(K);
    expect(st.left).toBe(src.layout.totalLength - have.reduce((sum, i) => sum + pieceSize(src.layout, i), 0));
    // Trackers keep hearing from us, with that `left`, and never a `completed`.
    const seen = tracker.announces.length;
    await until('an announce after the disk error', () => tracker.announces.length > seen);
    expect(tracker.announces.at(-1)).toMatchObject({ event: 'periodic', left: st.left });
    expect(tracker.announces.some((r) => r.event === 'completed')).toBe(false);

    // A pause keeps the error; resume goes back to upload-only (never to downloading).
    tor.pause();
    expect(tor.state.kind).toBe('paused');
    tor.resume();
    expect(tor.state.kind).toBe('upload-only');

    // A second engine (an incoming peer for A) downloads every verified piece from it, byte-exact.
    const b = await session();
    const wanted = new Uint8Array(n);
    for (const i of have) wanted[i] = 1;
    const store = memoryStorage();
    const leech = await b.add(src, { storage: store, wanted, noTrackers: true, peers: [{ host: '127.0.0.1', port: a.port }] });
    await leech.done;
    for (const i of have) {
      const off = i * src.layout.pieceLength;
      expect(store.last!.pieces.get(i)!.equals(t.data.subarray(off, off + pieceSize(src.layout, i)))).toBe(true);
    }
    expect(tor.stats().uploaded).toBeGreaterThanOrEqual(have.reduce((sum, i) => sum + pieceSize(src.layout, i), 0));

    // A scripted leecher sees exactly the verified pieces announced; the failed piece is rejected (BEP 6).
    const peer = await scriptedLeecher(a.port, t.infoHash, n);
    const bf = (await peer.waitFor('bitfield', (m) => m.type === 'bitfield')) as { bytes: Buffer };
    const announced = range(n).filter((i) => ((bf.bytes[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0);
    expect(announced).toEqual(have);
    peer.sock.write(encodeMessage({ type: 'interested' }));
    await peer.waitFor('unchoke', (m) => m.type === 'unchoke');
    peer.sock.write(encodeMessage({ type: 'request', index: failed, begin: 0, length: 16 * 1024 }));
    peer.sock.write(encodeMessage({ type: 'request', index: have[0]!, begin: 16 * 1024, length: 16 * 1024 }));
    const piece = (await peer.waitFor('piece', (m) => m.type === 'piece')) as { index: number; begin: number; block: Buffer };
    await peer.waitFor('reject', (m) => m.type === 'reject' && m.index === failed);
    expect(peer.got.filter((m) => m.type === 'piece')).toHaveLength(1);
    const at = have[0]! * src.layout.pieceLength + 16 * 1024;
    expect(piece).toMatchObject({ index: have[0], begin: 16 * 1024 });
    expect(piece.block.equals(t.data.subarray(at, at + 16 * 1024))).toBe(true);

    await a.close();
    expect(tor.state.kind).toBe('closed');
    expect(tracker.announces.at(-1)).toMatchObject({ event: 'stopped', left: st.left });
    expect(storage.last!.closed).toBe(true);
  });
});
