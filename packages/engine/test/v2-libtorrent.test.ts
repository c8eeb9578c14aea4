import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMetainfo, type Metainfo } from '@tc/codec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTorrentWithLibtorrent, hasLibtorrent, startLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import { seededRandomBytes } from '@tc/testkit/random';
import { tempDir } from '@tc/testkit/tmp';
import { sourceFromMetainfo, type Session } from '../src/session.js';
import { loopbackSession } from './helpers.js';

/** Files that exercise BEP 52: a multi-piece file with a short last piece, files under one piece, one exactly a piece. */
const FILES: readonly { path: string; length: number }[] = [
  { path: 'a.txt', length: 1_234 },
  { path: 'sub/big.bin', length: 2 * 1024 * 1024 + 17 },
  { path: 'sub/one-piece.bin', length: 64 * 1024 },
  { path: 'sub/small.bin', length: 40_000 },
  { path: 'z.dat', length: 16 * 1024 * 5 + 3 },
];
const PIECE = 64 * 1024;

async function writeData(root: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  let seed = 52;
  for (const f of FILES) {
    const bytes = seededRandomBytes(seed++)(f.length);
    const p = join(root, 'v2data', f.path);
    await mkdir(join(p, '..'), { recursive: true });
    await writeFile(p, bytes);
    out.set(f.path, bytes);
  }
  return out;
}

async function expectFiles(dir: string, data: Map<string, Buffer>): Promise<void> {
  for (const [path, bytes] of data) {
    const got = await readFile(join(dir, 'v2data', path));
    expect(got.equals(bytes), path).toBe(true);
  }
}

describe.each([
  ['v2-only', { v2Only: true }],
  ['hybrid', { hybrid: true }],
] as const)('download a %s torrent from a libtorrent seeder', (kind, flags) => {
  let seeder: LibtorrentPeer;
  let session: Session;
  let meta: Metainfo;
  let data: Map<string, Buffer>;
  const dirs: { cleanup: () => Promise<void> }[] = [];

  beforeAll(async () => {
    expect(hasLibtorrent(), 'python3-libtorrent is needed').toBe(true);
    const seedDir = await tempDir();
    dirs.push(seedDir);
    data = await writeData(seedDir.path);
    const torrentPath = join(seedDir.path, 'x.torrent');
    await createTorrentWithLibtorrent({ dataPath: join(seedDir.path, 'v2data'), torrentPath, pieceLength: PIECE, ...flags });
    meta = parseMetainfo(await readFile(torrentPath), { allowV2Only: true }).metainfo;
    expect(meta.version).toBe(kind === 'v2-only' ? 'v2' : 'hybrid');
    seeder = await startLibtorrent({ torrentPath, savePath: seedDir.path, seed: true });
    await seeder.waitFor('finished', undefined, 20_000);
    session = await loopbackSession();
  });

  afterAll(async () => {
    await session?.close();
    await seeder?.stop();
    for (const d of dirs) await d.cleanup();
  });

  it('gets every byte, verified by merkle proofs', async () => {
    const d = await tempDir();
    dirs.push(d);
    const src = sourceFromMetainfo(meta);
    expect(src.layout.v2?.complete).toBe(true);
    const verified: number[] = [];
    const tor = await session.add(src, { dir: d.path, noTrackers: true, peers: [{ host: '127.0.0.1', port: seeder.port }] });
    tor.on('piece-verified', ({ index }) => verified.push(index));
    await tor.done;
    expect(tor.stats().hashFailures).toBe(0);
    expect(new Set(verified).size).toBe(meta.pieceCount);
    await session.remove(meta.infoHash);
    await expectFiles(d.path, data);
  }, 60_000);
});

describe.each([
  ['v2-only', { v2Only: true }],
  ['hybrid', { hybrid: true }],
] as const)('a libtorrent downloader gets a %s torrent from tc', (_kind, flags) => {
  const dirs: { cleanup: () => Promise<void> }[] = [];
  let session: Session | undefined;
  let leecher: LibtorrentPeer | undefined;

  afterAll(async () => {
    await leecher?.stop();
    await session?.close();
    for (const d of dirs) await d.cleanup();
  });

  it('byte-exact, from tc alone', async () => {
    const seedDir = await tempDir();
    dirs.push(seedDir);
    const data = await writeData(seedDir.path);
    const torrentPath = join(seedDir.path, 'x.torrent');
    await createTorrentWithLibtorrent({ dataPath: join(seedDir.path, 'v2data'), torrentPath, pieceLength: PIECE, ...flags });
    const meta = parseMetainfo(await readFile(torrentPath), { allowV2Only: true }).metainfo;
    session = await loopbackSession();
    const all = Array.from({ length: meta.pieceCount }, (_, i) => i);
    await session.add(meta, { dir: seedDir.path, noTrackers: true, have: all });
    const dest = await tempDir();
    dirs.push(dest);
    leecher = await startLibtorrent({ torrentPath, savePath: dest.path, connectTo: [{ ip: '127.0.0.1', port: session.port }] });
    await leecher.waitFor('finished', undefined, 60_000);
    await expectFiles(dest.path, data);
  }, 90_000);
});
