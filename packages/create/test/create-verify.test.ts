import { open, rm, symlink, truncate, writeFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode, parseMetainfo } from '@tc/codec';
import { choosePieceLength, createTorrent, verifyData, verifyPieces, type PieceResult } from '../src/index.js';
import { codeOfAsync, makeTree, pseudoRandom, tempDir } from './helpers.js';

let tmp: { path: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('choosePieceLength', () => {
  it('is a power of two between 16 KiB and 16 MiB giving about 1500 pieces or fewer', () => {
    expect(choosePieceLength(1)).toBe(16384);
    expect(choosePieceLength(1500 * 16384)).toBe(16384);
    expect(choosePieceLength(1500 * 16384 + 1)).toBe(32768);
    expect(choosePieceLength(10 * 2 ** 30)).toBe(8 * 2 ** 20);
    expect(choosePieceLength(2 ** 50)).toBe(16 * 2 ** 20);
  });
});

describe('createTorrent', () => {
  it('writes every option where BEP 3/12/19/27 put it', async () => {
    const dir = join(tmp.path, 'opts');
    await makeTree(dir, { 'b.bin': 40_000, 'a/x.bin': 1 });
    const bytes = await createTorrent({
      path: dir,
      name: 'named',
      pieceLength: 16384,
      trackers: [['http://127.0.0.1:1/a', 'http://127.0.0.1:2/a'], 'udp://127.0.0.1:3'],
      webSeeds: ['http://127.0.0.1:4/'],
      private: true,
      comment: 'c',
      createdBy: 'tc-test',
      creationDate: new Date('2020-01-01T00:00:00Z'),
      source: 'SRC',
    });
    const { metainfo, warnings } = parseMetainfo(bytes, { mode: 'strict' });
    expect(warnings).toEqual([]);
    expect(metainfo.name).toBe('named');
    expect(metainfo.files.map((f) => f.path.join('/'))).toEqual(['named/a/x.bin', 'named/b.bin']);
    expect(metainfo.announce).toBe('http://127.0.0.1:1/a');
    expect(metainfo.announceTiers).toEqual([['http://127.0.0.1:1/a', 'http://127.0.0.1:2/a'], ['udp://127.0.0.1:3']]);
    expect(metainfo.webSeeds).toEqual(['http://127.0.0.1:4/']);
    expect(metainfo.private).toBe(true);
    expect(metainfo.info.has('private')).toBe(true);
    expect(metainfo.raw.has('private')).toBe(false);
    expect(metainfo.comment).toBe('c');
    expect(metainfo.createdBy).toBe('tc-test');
    expect(metainfo.creationDate?.toISOString()).toBe('2020-01-01T00:00:00.000Z');
    expect(metainfo.source).toBe('SRC');
    expect((await verifyData(metainfo, tmp.path)).files.every((f) => f.status === 'missing')).toBe(true);
  });

  it('is reproducible without a creation date', async () => {
    const dir = join(tmp.path, 'repro');
    await makeTree(dir, { f: 100_000 });
    const a = await createTorrent({ path: dir, creationDate: null });
    const b = await createTorrent({ path: dir, creationDate: null });
    expect(a.equals(b)).toBe(true);
  });

  it('does not follow symlinks', async () => {
    const dir = join(tmp.path, 'links');
    await makeTree(dir, { real: 10 });
    await symlink('/etc/hostname', join(dir, 'link'));
    const { metainfo } = parseMetainfo(await createTorrent({ path: dir }));
    expect(metainfo.files.map((f) => f.path.at(-1))).toEqual(['real']);
  });

  it('refuses empty folders, empty data and bad piece lengths', async () => {
    await mkdir(join(tmp.path, 'empty-dir'));
    expect(await codeOfAsync(createTorrent({ path: join(tmp.path, 'empty-dir') }))).toBe('CODEC_EMPTY_FILE_LIST');
    await writeFile(join(tmp.path, 'zero'), '');
    expect(await codeOfAsync(createTorrent({ path: join(tmp.path, 'zero') }))).toBe('CODEC_BAD_LENGTH');
    await writeFile(join(tmp.path, 'one'), 'x');
    expect(await codeOfAsync(createTorrent({ path: join(tmp.path, 'one'), pieceLength: 0 }))).toBe('CODEC_BAD_PIECE_LENGTH');
    expect(await codeOfAsync(createTorrent({ path: join(tmp.path, 'nope') }))).toBe('CODEC_IO');
    expect(await codeOfAsync(createTorrent({ path: join(tmp.path, 'one'), trackers: ['ftp://127.0.0.1/x'] }))).toBe('CODEC_BAD_METAINFO');
    expect(await codeOfAsync(createTorrent({ path: join(tmp.path, 'one'), webSeeds: ['udp://127.0.0.1/x'] }))).toBe('CODEC_BAD_METAINFO');
  });

  it('stops when aborted', async () => {
    await writeFile(join(tmp.path, 'abort.bin'), pseudoRandom(3 * 1024 * 1024, 9));
    const ac = new AbortController();
    ac.abort();
    await expect(createTorrent({ path: join(tmp.path, 'abort.bin'), signal: ac.signal })).rejects.toThrow();
  });

  it('streams: hashing 512 MiB (sparse) keeps memory bounded', async () => {
    const file = join(tmp.path, 'big.sparse');
    await writeFile(file, '');
    await truncate(file, 2 ** 29);
    global.gc?.();
    const before = process.memoryUsage();
    let peak = 0;
    let calls = 0;
    const bytes = await createTorrent({
      path: file,
      pieceLength: 4 * 2 ** 20,
      onProgress: () => {
        if (++calls % 64 === 0) peak = Math.max(peak, process.memoryUsage().rss - before.rss);
      },
    });
    const { metainfo } = parseMetainfo(bytes);
    expect(metainfo.totalLength).toBe(2 ** 29);
    expect(metainfo.pieceCount).toBe(128);
    // One 1 MiB read buffer and the hashes; allow generous slack for the GC's timing.
    expect(peak).toBeLessThan(128 * 2 ** 20);
    await rm(file);
  });
});

describe('verifyData', () => {
  let dir: string;
  let torrent: Buffer;
  beforeAll(async () => {
    dir = join(tmp.path, 'v');
    await makeTree(join(dir, 'data'), { 'a.bin': 50_000, 'b.bin': 30_000, 'c/d.bin': 20_000, 'e.bin': 0 });
    torrent = await createTorrent({ path: join(dir, 'data'), pieceLength: 16384 });
  });

  it('reports every piece in order and every file complete on intact data', async () => {
    const { metainfo } = parseMetainfo(torrent);
    const seen: PieceResult[] = [];
    const report = await verifyData(metainfo, dir, { onPiece: (r) => seen.push(r) });
    expect(seen.map((r) => r.index)).toEqual([...Array(metainfo.pieceCount).keys()]);
    expect(report.piecesOk).toBe(metainfo.pieceCount);
    expect(report.files.map((f) => f.status)).toEqual(['complete', 'complete', 'complete', 'complete']);
    expect(report.bytesOk).toBe(100_000);
  });

  it('finds a flipped byte, a missing file and a wrong size', async () => {
    const { metainfo } = parseMetainfo(torrent);
    const copy = join(tmp.path, 'v2');
    await makeTree(join(copy, 'data'), { 'a.bin': 50_000, 'b.bin': 30_000, 'c/d.bin': 20_000, 'e.bin': 0 });
    const fh = await open(join(copy, 'data', 'a.bin'), 'r+');
    await fh.write(Buffer.from([0xff ^ (await readFile(join(copy, 'data', 'a.bin')))[20_000]!]), 0, 1, 20_000);
    await fh.close();
    await rm(join(copy, 'data', 'c', 'd.bin'));
    await truncate(join(copy, 'data', 'b.bin'), 29_000);
    const results: PieceResult[] = [];
    for await (const r of verifyPieces(metainfo, copy)) results.push(r);
    // a.bin [0,50000) b.bin [50000,80000) d.bin [80000,100000); pieces of 16384.
    expect(results.map((r) => r.status)).toEqual(['ok', 'mismatch', 'ok', 'ok', 'missing', 'missing', 'missing']);
    const report = await verifyData(metainfo, copy);
    expect(report.files.map((f) => [f.path.slice(1).join('/'), f.status, f.piecesOk, f.piecesTotal])).toEqual([
      ['a.bin', 'partial', 3, 4],
      ['b.bin', 'wrong-size', 1, 2],
      ['c/d.bin', 'missing', 0, 3],
      ['e.bin', 'complete', 0, 0],
    ]);
  });

  it('verifies pieces larger than its 1 MiB read chunk, across files', async () => {
    const d = join(tmp.path, 'bigpieces');
    await makeTree(join(d, 'b'), { x: 3 * 2 ** 20 + 17, y: 2 ** 20 + 5 });
    const { metainfo } = parseMetainfo(await createTorrent({ path: join(d, 'b'), pieceLength: 2 * 2 ** 20 }));
    expect(metainfo.pieceCount).toBe(3);
    const report = await verifyData(metainfo, d);
    expect(report.piecesOk).toBe(3);
    const fh = await open(join(d, 'b', 'y'), 'r+');
    await fh.write(Buffer.from('!'), 0, 1, 2 ** 20);
    await fh.close();
    const statuses: string[] = [];
    for await (const r of verifyPieces(metainfo, d)) statuses.push(r.status);
    expect(statuses).toEqual(['ok', 'ok', 'mismatch']);
  });

  it('never reads through a symlink that leaves the folder (RELIABILITY #4)', async () => {
    const outside = join(tmp.path, 'outside');
    await makeTree(outside, { 'a.bin': 50_000 });
    const { metainfo } = parseMetainfo(torrent);
    const trap = join(tmp.path, 'trap');
    await mkdir(join(trap, 'data'), { recursive: true });
    await symlink(join(outside, 'a.bin'), join(trap, 'data', 'a.bin'));
    const report = await verifyData(metainfo, trap);
    expect(report.files[0]).toMatchObject({ status: 'missing', problem: 'resolves outside the folder (symlink)' });
    expect(report.piecesOk).toBe(0);
  });

  it('treats padding files as zeros (BEP 47)', async () => {
    const d = join(tmp.path, 'pad');
    await makeTree(join(d, 'p'), { a: 10, b: 16384 });
    const a = await readFile(join(d, 'p', 'a'));
    const b = await readFile(join(d, 'p', 'b'));
    const { createHash } = await import('node:crypto');
    const h = (x: Buffer) => createHash('sha1').update(x).digest();
    const bytes = encode({
      info: {
        name: 'p',
        'piece length': 16384,
        pieces: Buffer.concat([h(Buffer.concat([a, Buffer.alloc(16374)])), h(b)]),
        files: [
          { length: 10, path: ['a'] },
          { length: 16374, path: ['.pad', '16374'], attr: 'p' },
          { length: 16384, path: ['b'] },
        ],
      },
    });
    const { metainfo } = parseMetainfo(bytes);
    const report = await verifyData(metainfo, d);
    expect(report.piecesOk).toBe(2);
    expect(report.files.map((f) => f.status)).toEqual(['complete', 'complete']);
    expect(report.bytesOk).toBe(16394);
  });
});
