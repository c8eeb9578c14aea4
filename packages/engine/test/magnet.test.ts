import { randomBytes } from 'node:crypto';
import { formatMagnet, parseMagnet, parseMetainfo, type Metainfo } from '@tc/codec';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { startFakeMetadataPeer, type FakeMetadataPeer } from '@tc/testkit/fake-metadata-peer';
import { memoryStorage, type MemoryStorage } from '../src/storage/memory.js';
import type { Session } from '../src/session.js';
import { filledStorage, loopbackSession, memoryContents, range } from './helpers.js';
import { sourceFromMetainfo } from '../src/session.js';

const sessions: Session[] = [];
const fakes: FakeMetadataPeer[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function session(): Promise<Session> {
  const s = await loopbackSession();
  sessions.push(s);
  return s;
}

/** A multi-file torrent whose info dictionary spans three 16 KiB metadata pieces, the last one short (many long file names). */
function fixture(): { metainfo: Metainfo; data: Buffer; t: ReturnType<typeof createTestTorrent> } {
  const files = Array.from({ length: 400 }, (_, i) => ({
    path: ['a-folder-with-a-long-name', `file-number-${String(i).padStart(4, '0')}-with-padding-in-its-name.bin`],
    length: 1_000 + i * 7,
  }));
  const t = createTestTorrent({ name: 'magnet-test', pieceLength: 16 * 1024, seed: 11, files: [...files, { path: ['c.txt'], length: 123 }] });
  return { metainfo: parseMetainfo(t.torrent).metainfo, data: t.data, t };
}

async function seeder(f: ReturnType<typeof fixture>): Promise<Session> {
  const s = await session();
  const src = sourceFromMetainfo(f.metainfo);
  await s.add(f.metainfo, { storage: filledStorage(f.t, src), have: range(src.layout.pieceCount), noTrackers: true });
  return s;
}

describe('magnet links (BEP 9) between two engines on 127.0.0.1', () => {
  it('fetches the metadata from a seeding engine, then downloads byte for byte on the same connection', async () => {
    const f = fixture();
    expect(f.metainfo.infoBytes.length).toBeGreaterThan(2 * 16 * 1024); // several metadata pieces
    expect(f.metainfo.infoBytes.length % (16 * 1024)).not.toBe(0);
    const seed = await seeder(f);
    const leech = await session();
    const events: string[] = [];
    leech.on('metadata', ({ infoHash }) => events.push(`metadata ${infoHash.toString('hex')}`));
    const { magnet } = parseMagnet(formatMagnet({ infoHash: f.metainfo.infoHash, name: 'hint', peers: [{ host: '127.0.0.1', port: seed.port }] }));
    const fetch = leech.fetchMetadata(magnet, { noTrackers: true });
    expect(fetch.name).toBe('hint');
    let connects = 0;
    fetch.on('peer-connected', () => connects++);
    const meta = await fetch.metadata;
    expect(meta.infoHash.equals(f.metainfo.infoHash)).toBe(true);
    expect(meta.infoBytes.equals(f.metainfo.infoBytes)).toBe(true);
    expect(meta.name).toBe('magnet-test');
    expect(fetch.name).toBe('magnet-test');
    expect(events).toEqual([`metadata ${f.metainfo.infoHashHex}`]);
    const store = memoryStorage();
    const tor = await leech.add(meta, { storage: store, noTrackers: true });
    // The fetch's connection carries on: the torrent has its peer before dialling anything.
    expect(tor.stats().peers).toBe(1);
    let torrentConnects = 0;
    tor.on('peer-connected', () => torrentConnects++);
    await tor.done;
    expect(connects).toBe(1);
    expect(torrentConnects).toBe(0);
    expect(memoryContents(store.last as MemoryStorage).equals(f.data)).toBe(true);
    expect(tor.stats().hashFailures).toBe(0);
  });

  it('keeps the bitfields two partial seeders sent during the fetch: each has half, both are used', async () => {
    const f = fixture();
    const src = sourceFromMetainfo(f.metainfo);
    const n = src.layout.pieceCount;
    const halves = [0, 1].map(async (h) => {
      const s = await session();
      const have = range(n).filter((i) => i % 2 === h);
      await s.add(f.metainfo, { storage: filledStorage(f.t, src, (i) => i % 2 === h), have, noTrackers: true });
      return s;
    });
    const [a, b] = await Promise.all(halves);
    const leech = await session();
    const m = parseMagnet(formatMagnet({ infoHash: f.metainfo.infoHash, peers: [a!, b!].map((s) => ({ host: '127.0.0.1', port: s.port })) })).magnet;
    const fetch = leech.fetchMetadata(m, { noTrackers: true });
    const meta = await fetch.metadata;
    // Both peers have connected and sent their bitfields by now (a partial seed sends a bitfield, not have-all).
    await expect.poll(() => fetch.stats().peers).toBe(2);
    const store = memoryStorage();
    let dialled = 0;
    const tor = await leech.add(meta, { storage: store, noTrackers: true });
    tor.on('peer-connected', () => dialled++);
    await tor.done;
    expect(dialled).toBe(0);
    expect(tor.stats().peersUsed).toBe(2);
    expect(memoryContents(store.last as MemoryStorage).equals(f.data)).toBe(true);
  });

  it('a tc engine that fetched a magnet serves the metadata to a third engine', async () => {
    const f = fixture();
    const seed = await seeder(f);
    const middle = await session();
    const m1 = parseMagnet(formatMagnet({ infoHash: f.metainfo.infoHash, peers: [{ host: '127.0.0.1', port: seed.port }] })).magnet;
    const meta = await middle.fetchMetadata(m1, { noTrackers: true }).metadata;
    const mid = await middle.add(meta, { storage: memoryStorage(), noTrackers: true });
    await mid.done;
    await seed.close();
    const last = await session();
    const m2 = parseMagnet(formatMagnet({ infoHash: f.metainfo.infoHash, peers: [{ host: '127.0.0.1', port: middle.port }] })).magnet;
    const meta2 = await last.fetchMetadata(m2, { noTrackers: true }).metadata;
    const store = memoryStorage();
    const tor = await last.add(meta2, { storage: store, noTrackers: true });
    await tor.done;
    expect(memoryContents(store.last as MemoryStorage).equals(f.data)).toBe(true);
  });

  it('skips a peer announcing a 4 GiB metadata_size and bans one whose metadata does not hash', async () => {
    const f = fixture();
    const huge = await startFakeMetadataPeer({ infoHash: f.metainfo.infoHash, announcedSize: 4 * 1024 ** 3 });
    const liar = await startFakeMetadataPeer({ infoHash: f.metainfo.infoHash, metadata: randomBytes(f.metainfo.infoBytes.length) });
    fakes.push(huge, liar);
    const leech = await session();
    const hostile = parseMagnet(
      formatMagnet({
        infoHash: f.metainfo.infoHash,
        peers: [
          { host: '127.0.0.1', port: huge.port },
          { host: '127.0.0.1', port: liar.port },
        ],
      }),
    ).magnet;
    const fetch = leech.fetchMetadata(hostile, { noTrackers: true });
    const warnings: string[] = [];
    const banned: string[] = [];
    fetch.on('warning', (w) => warnings.push(`${w.peer ?? ''} ${w.message}`));
    fetch.on('peer-banned', (b) => banned.push(b.address));
    // Only the liar can answer: its whole metadata arrives, fails the hash, and it is banned.
    await expect.poll(() => banned, { timeout: 10_000 }).toEqual([`127.0.0.1:${liar.port}`]);
    expect(warnings.some((w) => w.includes(`127.0.0.1:${huge.port}`) && w.includes('metadata_size'))).toBe(true);
    expect(warnings.some((w) => w.includes('does not hash'))).toBe(true);
    expect(huge.requests).toBe(0);
    expect(fetch.done).toBe(false);
    // An honest seeder then gives the right metadata.
    const seed = await seeder(f);
    fetch.addPeers([{ host: '127.0.0.1', port: seed.port }], 'manual');
    const meta = await fetch.metadata;
    expect(meta.infoBytes.equals(f.metainfo.infoBytes)).toBe(true);
    const store = memoryStorage();
    const tor = await leech.add(meta, { storage: store, noTrackers: true });
    await tor.done;
    expect(memoryContents(store.last as MemoryStorage).equals(f.data)).toBe(true);
  });

  it('adding a .torrent emits metadata at once; closing during a fetch rejects it with ENGINE_CLOSED', async () => {
    const f = fixture();
    const s = await session();
    const seen: string[] = [];
    s.on('metadata', ({ metainfo }) => seen.push(metainfo.name));
    await s.add(f.metainfo, { storage: memoryStorage(), noTrackers: true });
    expect(seen).toEqual(['magnet-test']);
    const other = createTestTorrent({ pieceLength: 16 * 1024, length: 50_000, seed: 3 });
    const fetch = s.fetchMetadata(parseMagnet(formatMagnet({ infoHash: parseMetainfo(other.torrent).metainfo.infoHash })).magnet, { noTrackers: true });
    expect(fetch.stats()).toMatchObject({ peers: 0, sources: 0, pieceCount: 0 });
    await s.close();
    await expect(fetch.metadata).rejects.toMatchObject({ code: 'ENGINE_CLOSED' });
  });
});
