import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { until } from '@tc/testkit/wait';
import { formatMagnet, parseMagnet, parseMetainfo } from '@tc/codec';
import { startFakeMetadataPeer } from '@tc/testkit/fake-metadata-peer';
import { encodeMessage } from '@tc/wire';
import { ManualClock } from '../src/clock.js';
import type { Finding } from '../src/diagnosis/diagnose.js';
import type { Session, SessionOptions } from '../src/session.js';
import { memoryStorage } from '../src/storage/memory.js';
import { startFakePeer, type FakePeer } from './fake-peer.js';
import { filledStorage, loopbackSession, range, sourceOf } from './helpers.js';

/** Issue 15 on loopback: real sessions, real sockets, the diagnosis the user would see. */

const sessions: Session[] = [];
const fakes: FakePeer[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function session(opts: SessionOptions = {}): Promise<Session> {
  const s = await loopbackSession(opts);
  sessions.push(s);
  return s;
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((res) => srv.close(() => res()));
  return port;
}

const PIECE = 16 * 1024;
/** Three files of ten pieces each: pieces 10–19 are exactly b.bin. */
function threeFiles(announce: string[] = []) {
  return createTestTorrent({
    name: 'why',
    pieceLength: PIECE,
    announce,
    files: [
      { path: ['a.bin'], length: 10 * PIECE },
      { path: ['b.bin'], length: 10 * PIECE },
      { path: ['c.bin'], length: 10 * PIECE },
    ],
  });
}

const codes = (f: readonly Finding[]): string[] => f.map((x) => x.code);

describe('diagnosis on loopback (issue 15)', () => {
  it('all trackers dead: no peers known, naming the tracker and its error', async () => {
    const port = await closedPort();
    const url = `http://127.0.0.1:${port}/announce`;
    const t = threeFiles([url]);
    const s = await session();
    const tor = await s.add(sourceOf(t), { storage: memoryStorage() });
    await until('the tracker fails', () => tor.trackerStatus().some((x) => x.lastError !== undefined), { timeoutMs: 20_000 });
    const [f] = tor.diagnoseNow();
    expect(f?.code).toBe('no-peers-known');
    expect(f?.text).toContain(url);
    expect(f?.text).toMatch(/refused|ECONNREFUSED/i);
  });

  it('a peer list of closed ports: none connect, all refused, and nobody connected to us', async () => {
    const ports = [await closedPort(), await closedPort()];
    const t = threeFiles();
    const s = await session();
    const tor = await s.add(sourceOf(t), { storage: memoryStorage(), noTrackers: true, peers: ports.map((port) => ({ host: '127.0.0.1', port })) });
    await until('both dials fail', () => (tor.snapshot().dials.failed.refused ?? 0) >= 2);
    const [f] = tor.diagnoseNow();
    expect(f?.code).toBe('peers-unreachable');
    expect(f?.text).toBe('peers known but none connect: 2 addresses, 2 failed dials (100% refused); nobody has connected to us either');
    expect(f?.facts['incomingEver']).toBe(0);
  });

  it('the debounced diagnosis appears as a `diagnosis` event once it has held (manual clock)', async () => {
    const clock = new ManualClock();
    const t = threeFiles();
    const s = await session({ clock });
    const tor = await s.add(sourceOf(t), { storage: memoryStorage(), noTrackers: true, peers: [{ host: '127.0.0.1', port: await closedPort() }] });
    const events: Finding[][] = [];
    tor.on('diagnosis', (f) => events.push(f));
    await until('the dial fails', () => (tor.snapshot().dials.failed.refused ?? 0) >= 1);
    await clock.advanceAsync(4_000);
    expect(tor.diagnose()).toEqual([]);
    await clock.advanceAsync(4_000);
    expect(events.map(codes)).toEqual([['peers-unreachable']]);
    expect(codes(tor.diagnose())).toEqual(['peers-unreachable']);
  });

  it('a partial seeder: the swarm lacks exactly pieces 10–19, all of b.bin', async () => {
    const t = threeFiles();
    const src = sourceOf(t);
    const seeder = await session();
    const has = (i: number): boolean => i < 10 || i >= 20;
    await seeder.add(src, { storage: filledStorage(t, src, has), have: range(30).filter(has), noTrackers: true });
    const leecher = await session();
    const tor = await leecher.add(src, { storage: memoryStorage(), noTrackers: true, peers: [{ host: '127.0.0.1', port: seeder.port }] });
    await until('all the seeder has', () => tor.stats().piecesHave === 20);
    const [f] = tor.diagnoseNow();
    expect(f?.code).toBe('swarm-lacks-pieces');
    expect(f?.text).toBe('10 pieces (1 file) are on no connected peer: why/b.bin 100%; waiting for a seeder');
    expect(f?.facts['sample']).toBe('10-19');
  });

  it('b.bin unselected and a low download limit: limited by ourselves, and the wanted files can complete', async () => {
    const t = threeFiles();
    const src = sourceOf(t);
    const seeder = await session();
    const has = (i: number): boolean => i < 10 || i >= 20;
    await seeder.add(src, { storage: filledStorage(t, src, has), have: range(30).filter(has), noTrackers: true });
    const leecher = await session({ downloadRateBps: 32 * 1024 });
    const wanted = new Uint8Array(30).map((_, i) => (has(i) ? 1 : 0));
    const tor = await leecher.add(src, { storage: memoryStorage(), wanted, noTrackers: true, peers: [{ host: '127.0.0.1', port: seeder.port }] });
    await until('the limit is reached', () => codes(tor.diagnoseNow()).includes('download-limit'), { timeoutMs: 10_000 });
    const now = codes(tor.diagnoseNow());
    expect(now).not.toContain('swarm-lacks-pieces');
    expect(now).toContain('unwanted-pieces-missing');
    expect(tor.diagnoseNow().find((x) => x.code === 'unwanted-pieces-missing')?.text).toBe(
      '10 pieces of unselected files are on no connected peer; the wanted files can complete',
    );
  });

  it('a seeder that never unchokes: choked by all', async () => {
    const t = threeFiles();
    const fake = await startFakePeer(t, 'scripted');
    fakes.push(fake);
    const s = await session();
    const tor = await s.add(sourceOf(t), { storage: memoryStorage(), noTrackers: true, peers: [{ host: '127.0.0.1', port: fake.port }] });
    await until('connected', () => tor.stats().peers === 1);
    fake.write(encodeMessage({ type: 'have-all' }));
    fake.write(encodeMessage({ type: 'choke' }));
    await until('choked by all', () => codes(tor.diagnoseNow())[0] === 'choked-by-all');
    expect(tor.diagnoseNow()[0]?.text).toBe('choked by all 1 peer that has what we want (1 seeding, 0 interested in us); uploading 0 B/s');
  });

  it('a corrupt peer: corrupt data, naming the banned peer', async () => {
    const t = threeFiles();
    const fake = await startFakePeer(t, 'corrupt');
    fakes.push(fake);
    const s = await session();
    const tor = await s.add(sourceOf(t), { storage: memoryStorage(), noTrackers: true, peers: [{ host: '127.0.0.1', port: fake.port }] });
    await until('the peer is banned', () => tor.snapshot().banned.length > 0, { timeoutMs: 15_000 });
    const f = tor.diagnoseNow().find((x) => x.code === 'corrupt-data');
    expect(f?.text).toMatch(new RegExp(`^corrupt data: \\d+ hash failures?, \\d+ KiB wasted; banned 127\\.0\\.0\\.1:${fake.port}$`));
  });

  it('a magnet whose only peer lacks the metadata: metadata not arriving, its rejects counted', async () => {
    const mi = parseMetainfo(threeFiles().torrent).metainfo;
    const fake = await startFakeMetadataPeer({ infoHash: mi.infoHash, announcedSize: mi.infoBytes.length });
    const s = await session();
    const magnet = parseMagnet(formatMagnet({ infoHash: mi.infoHash, peers: [{ host: '127.0.0.1', port: fake.port }] })).magnet;
    const fetch = s.fetchMetadata(magnet, { noTrackers: true });
    try {
      await until('a reject', () => fetch.metadataSnapshot().rejects > 0);
      const [f] = fetch.diagnose();
      expect(f?.code).toBe('metadata-not-arriving');
      expect(f?.text).toMatch(/^metadata not arriving: \d+ requests? rejected by 1 offering peer$/);
    } finally {
      await fake.close();
    }
  });
});
