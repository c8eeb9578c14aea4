import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatMagnet, parseMetainfo, type Metainfo } from '@tc/codec';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { afterEach, describe, expect, it } from 'vitest';
import type { HandleStatus } from '../src/handle.js';
import { memoryStorage, type MemoryStorage } from '../src/storage/memory.js';
import { sourceFromMetainfo, type Session } from '../src/session.js';
import { filledStorage, loopbackSession, memoryContents, range } from './helpers.js';

const sessions: Session[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function session(): Promise<Session> {
  const s = await loopbackSession();
  sessions.push(s);
  return s;
}

function fixture(): { metainfo: Metainfo; t: ReturnType<typeof createTestTorrent> } {
  const t = createTestTorrent({
    name: 'handle-test',
    pieceLength: 16 * 1024,
    seed: 5,
    files: [
      { path: ['a.bin'], length: 100_000 },
      { path: ['b.txt'], length: 7_000 },
    ],
  });
  return { metainfo: parseMetainfo(t.torrent).metainfo, t };
}

async function seeder(f: ReturnType<typeof fixture>): Promise<Session> {
  const s = await session();
  const src = sourceFromMetainfo(f.metainfo);
  await s.add(f.metainfo, { storage: filledStorage(f.t, src), have: range(src.layout.pieceCount), noTrackers: true });
  return s;
}

describe('session.add(): a handle at once, for every kind of input', () => {
  it('a magnet link: the handle exists before the metadata, which a `metadata` event and `ready` bring; progress() ends when done', async () => {
    const f = fixture();
    const seed = await seeder(f);
    const leech = await session();
    const link = formatMagnet({ infoHash: f.metainfo.infoHash, name: 'hint', peers: [{ host: '127.0.0.1', port: seed.port }] });
    const store = memoryStorage();
    const handle = leech.add(link, { storage: store, noTrackers: true });
    expect(handle.infoHashHex).toBe(f.metainfo.infoHashHex);
    expect(handle.name).toBe('hint');
    expect(handle.torrent).toBeUndefined();
    expect(handle.status().phase).toBe('metadata');
    const events: string[] = [];
    handle.on('metadata', (m) => events.push(`metadata ${m.name}`));
    handle.on('ready', () => events.push('ready'));
    handle.on('done', () => events.push('done'));
    const phases: HandleStatus[] = [];
    for await (const s of handle.progress({ intervalMs: 50 })) phases.push(s);
    const last = phases.at(-1)!;
    expect(last.done).toBe(true);
    expect(last.fraction).toBe(1);
    expect(last.totalBytes).toBe(107_000);
    expect(phases[0]!.phase).toBe('metadata');
    expect(events).toEqual(['metadata handle-test', 'ready', 'done']);
    expect(handle.name).toBe('handle-test');
    const torrent = await handle.ready;
    expect(torrent).toBe(handle.torrent);
    expect(memoryContents(store.last as MemoryStorage).equals(f.t.data)).toBe(true);
    await handle.done;
  });

  it('a bare info-hash (hex and base32) and .torrent bytes resolve to the same torrent; awaiting the handle gives the Torrent', async () => {
    const f = fixture();
    const seed = await seeder(f);
    const leech = await session();
    const fromBytes = leech.add(f.t.torrent, { storage: memoryStorage(), noTrackers: true, peers: [{ host: '127.0.0.1', port: seed.port }] });
    const metas: Metainfo[] = [];
    fromBytes.on('metadata', (m) => metas.push(m));
    const t = await fromBytes;
    expect(metas.map((m) => m.infoHashHex)).toEqual([f.metainfo.infoHashHex]);
    expect(t.infoHash.equals(f.metainfo.infoHash)).toBe(true);
    await fromBytes.done;
    // Already running: the same torrent comes back for the hex and base32 forms.
    expect(await leech.add(f.metainfo.infoHashHex.toUpperCase())).toBe(t);
    expect(await leech.add(f.metainfo.infoHashBase32)).toBe(t);
  });

  it('unreadable input throws ENGINE_BAD_TORRENT at once, naming what was wrong', async () => {
    const s = await session();
    expect(() => s.add('not a magnet')).toThrow(expect.objectContaining({ code: 'ENGINE_BAD_TORRENT', message: expect.stringContaining('magnet link') }));
    expect(() => s.add('magnet:?xt=urn:btih:123')).toThrow(expect.objectContaining({ code: 'ENGINE_BAD_TORRENT' }));
    expect(() => s.add(Buffer.from('d4:infoi1ee'))).toThrow(
      expect.objectContaining({ code: 'ENGINE_BAD_TORRENT', message: expect.stringContaining('.torrent') }),
    );
    expect(() => s.add({} as never)).toThrow(expect.objectContaining({ code: 'ENGINE_BAD_TORRENT' }));
  });

  it('an AbortSignal stops a metadata fetch that finds nobody: ready rejects with ENGINE_ABORTED, an error event fires, the fetch is gone', async () => {
    const s = await session();
    const ac = new AbortController();
    const handle = s.add('0123456789abcdef0123456789abcdef01234567', { noTrackers: true, signal: ac.signal });
    const errors: string[] = [];
    handle.on('error', (e) => errors.push(e.code));
    const iter = handle.progress({ intervalMs: 20 })[Symbol.asyncIterator]();
    expect((await iter.next()).value).toMatchObject({ phase: 'metadata', done: false });
    ac.abort();
    await expect(handle.ready).rejects.toMatchObject({ code: 'ENGINE_ABORTED' });
    await expect(iter.next()).rejects.toMatchObject({ code: 'ENGINE_ABORTED' });
    expect(errors).toEqual(['ENGINE_ABORTED']);
    expect(handle.status().phase).toBe('failed');
    // The fetch was removed: a new add starts afresh.
    const again = s.add('0123456789abcdef0123456789abcdef01234567', { noTrackers: true });
    expect(again.fetcher).toBeDefined();
    await again.close();
    await expect(again.ready).rejects.toMatchObject({ code: 'ENGINE_CLOSED' });
  });

  it('verify: hashes what is on disk first (checking events), downloads only the rest; an aborted verify rejects', async () => {
    const f = fixture();
    const seed = await seeder(f);
    const dir = await mkdtemp(join(tmpdir(), 'tc-handle-'));
    dirs.push(dir);
    // a.bin present and whole (its pieces check out except the one it shares with b.txt), b.txt missing.
    await mkdir(join(dir, 'handle-test'));
    await writeFile(join(dir, 'handle-test', 'a.bin'), f.t.data.subarray(0, 100_000));
    const leech = await session();
    const checks: number[] = [];
    const handle = leech.add(f.metainfo, { dir, verify: true, noTrackers: true, peers: [{ host: '127.0.0.1', port: seed.port }] });
    handle.on('checking', ({ done }) => checks.push(done));
    const t = await handle;
    expect(checks.length).toBeGreaterThan(0);
    // 100_000 bytes cover pieces 0..5 whole (6 × 16 KiB = 98_304); piece 6 spans into b.txt.
    expect(t.stats().piecesHave).toBe(6);
    await handle.done;
    expect(t.stats().downloaded).toBeLessThan(16 * 1024 + 1);
    await handle.close();

    const ac = new AbortController();
    ac.abort();
    const leech2 = await session();
    const h2 = leech2.add(f.metainfo, { dir, verify: true, noTrackers: true, signal: ac.signal });
    await expect(h2.ready).rejects.toMatchObject({ code: 'ENGINE_ABORTED' });
    expect(leech2.get(f.metainfo.infoHash)).toBeUndefined();
  });

  it('close({ signal }): an aborted wait rejects with ENGINE_ABORTED while the close completes', async () => {
    const f = fixture();
    const s = await session();
    const handle = s.add(f.metainfo, { storage: memoryStorage(), noTrackers: true });
    const t = await handle;
    const ac = new AbortController();
    ac.abort();
    await expect(handle.close({ signal: ac.signal })).rejects.toMatchObject({ code: 'ENGINE_ABORTED' });
    await expect(t.done).rejects.toMatchObject({ code: 'ENGINE_CLOSED' });
    expect(s.get(f.metainfo.infoHash)).toBeUndefined();
  });

  it('session.close({ signal }): an aborted wait rejects with ENGINE_ABORTED; close() again waits for the same close', async () => {
    const f = fixture();
    const s = await loopbackSession();
    const t = await s.add(f.metainfo, { storage: memoryStorage(), noTrackers: true });
    const ac = new AbortController();
    ac.abort();
    await expect(s.close({ signal: ac.signal })).rejects.toMatchObject({ code: 'ENGINE_ABORTED' });
    await s.close();
    expect(t.state.kind).toBe('closed');
    expect(s.list()).toEqual([]);
    expect(() => s.add(f.metainfo)).not.toThrow();
    await expect(s.add(f.metainfo).ready).rejects.toMatchObject({ code: 'ENGINE_CLOSED' });
  });
});
