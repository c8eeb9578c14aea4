import { rmSync } from 'node:fs';
import { mkdir, readFile, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMetainfo } from '@tc/codec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTorrent, globToRegExp, verifyData } from '../src/index.js';
import { codeOfAsync, makeTree, tempDir, tool } from './helpers.js';

const V2 = { allowV2Only: true } as const;
const TREE = { a: 20_000, 'a.txt': 5, 'b.bin': 100_000, empty: 0, 'sub/c': 70_000, 'sub/deeper/d': 16_384, 'z.bin': 300_001 };
let dir: { path: string; cleanup: () => Promise<void> };
let data: string;

beforeAll(async () => {
  dir = await tempDir('tc-create-');
  data = join(dir.path, 'd');
  await makeTree(data, TREE);
  await makeTree(dir.path, { 'one.bin': 123_457 });
});
afterAll(async () => {
  await dir.cleanup();
});

/** libtorrent 2's create_torrent on the same input: the .torrent bytes. */
async function libtorrent(path: string, pieceLength: number, version: 'v1' | 'v2' | 'hybrid', priv = false): Promise<Buffer> {
  const flags = { v1: 'lt.create_torrent.v1_only', v2: 'lt.create_torrent.v2_only', hybrid: '0' }[version];
  const out = join(dir.path, `lt-${version}-${pieceLength}-${priv}.torrent`);
  const script = `
import libtorrent as lt, sys, os
fs = lt.file_storage(); lt.add_files(fs, sys.argv[1])
ct = lt.create_torrent(fs, ${pieceLength}, flags=${flags})
ct.set_priv(${priv ? 'True' : 'False'})
lt.set_piece_hashes(ct, os.path.dirname(sys.argv[1]))
open(sys.argv[2], 'wb').write(lt.bencode(ct.generate()))`;
  await tool('/usr/bin/python3', ['-c', script, path, out]);
  return readFile(out);
}

describe('createTorrent v2 and hybrid: byte-identical info dictionaries with libtorrent 2', () => {
  it.each([
    ['hybrid', 32768, false],
    ['v2', 32768, false],
    ['hybrid', 16384, true],
    ['v2', 65536, true],
  ] as const)('folder, %s, %i-byte pieces, private %s', async (version, pieceLength, priv) => {
    const theirs = parseMetainfo(await libtorrent(data, pieceLength, version, priv), V2).metainfo;
    const bytes = await createTorrent({ path: data, version, pieceLength, private: priv, threads: 2 });
    const ours = parseMetainfo(bytes, V2).metainfo;
    expect(ours.version).toBe(version);
    expect(ours.infoBytes.toString('hex')).toBe(theirs.infoBytes.toString('hex'));
    expect(ours.v2!.infoHashHex).toBe(theirs.v2!.infoHashHex);
    expect(ours.v2!.layersComplete).toBe(true);
    // The piece layers (outside info) agree too.
    expect(ours.v2!.files.map((f) => f.layer?.toString('hex'))).toEqual(theirs.v2!.files.map((f) => f.layer?.toString('hex')));
  });

  it.each(['v1', 'v2', 'hybrid'] as const)('single file, %s', async (version) => {
    const file = join(dir.path, 'one.bin');
    const theirs = parseMetainfo(await libtorrent(file, 16384, version), V2).metainfo;
    const ours = parseMetainfo(await createTorrent({ path: file, version, pieceLength: 16384 }), V2).metainfo;
    expect(ours.infoBytes.equals(theirs.infoBytes)).toBe(true);
  });

  it('a hybrid made by tc verifies against its data, and its v1 pieces cover the padding', async () => {
    const { metainfo } = parseMetainfo(await createTorrent({ path: data, version: 'hybrid', pieceLength: 16384 }));
    const report = await verifyData(metainfo, dir.path);
    expect(report.piecesOk).toBe(metainfo.pieceCount);
  });

  it('pieces larger than a worker read (8 MiB) and a file ending mid-block', async () => {
    const d = join(dir.path, 'large-pieces');
    await makeTree(d, { 'x.bin': 9 * 1024 * 1024 + 5, 'y.bin': 3 });
    const ours = parseMetainfo(await createTorrent({ path: d, version: 'hybrid', pieceLength: 8 * 1024 * 1024 })).metainfo;
    const theirs = parseMetainfo(await libtorrent(d, 8 * 1024 * 1024, 'hybrid')).metainfo;
    expect(ours.infoBytes.equals(theirs.infoBytes)).toBe(true);
    expect(ours.v2!.files[0]!.layer!.equals(theirs.v2!.files[0]!.layer!)).toBe(true);
  });

  it('files with the same content share one piece layer entry, as in libtorrent', async () => {
    const d = join(dir.path, 'twins');
    await makeTree(d, { 'a.bin': 50_000 });
    await writeFile(join(d, 'b.bin'), await readFile(join(d, 'a.bin')));
    const bytes = await createTorrent({ path: d, version: 'hybrid', pieceLength: 16384, creationDate: null, createdBy: null });
    const ours = parseMetainfo(bytes).metainfo;
    const theirs = parseMetainfo(await libtorrent(d, 16384, 'hybrid')).metainfo;
    expect(ours.infoBytes.equals(theirs.infoBytes)).toBe(true);
    expect(ours.v2!.files[0]!.piecesRoot!.equals(ours.v2!.files[1]!.piecesRoot!)).toBe(true);
    expect(ours.v2!.files.map((f) => f.layerState)).toEqual(['present', 'present']);
  });

  it('uses one thread or many with the same result', async () => {
    const one = await createTorrent({ path: data, version: 'hybrid', pieceLength: 16384, threads: 1, creationDate: null });
    const two = await createTorrent({ path: data, version: 'hybrid', pieceLength: 16384, threads: 2, creationDate: null });
    expect(one.equals(two)).toBe(true);
  });
});

describe('createTorrent on hostile input', () => {
  it('refuses or skips symlinks, and never follows one out of the folder', async () => {
    const d = join(dir.path, 'links');
    await makeTree(d, { real: 10, 'in/x': 5 });
    await makeTree(dir.path, { outside: 7 });
    await symlink(join(dir.path, 'outside'), join(d, 'out-link'));
    expect(parseMetainfo(await createTorrent({ path: d, version: 'v2' }), V2).metainfo.files.filter((f) => !f.padding).length).toBe(2);
    expect(await codeOfAsync(createTorrent({ path: d, symlinks: 'refuse' }))).toBe('CODEC_UNSAFE_PATH');
    expect(await codeOfAsync(createTorrent({ path: d, symlinks: 'follow' }))).toBe('CODEC_UNSAFE_PATH');
    const loop = join(dir.path, 'loop');
    await makeTree(loop, { f: 3 });
    await symlink(loop, join(loop, 'again'));
    expect(await codeOfAsync(createTorrent({ path: loop, symlinks: 'follow' }))).toBe('CODEC_UNSAFE_PATH');
    const ok = join(dir.path, 'inner-link');
    await makeTree(ok, { 'f.bin': 3 });
    await symlink(join(ok, 'f.bin'), join(ok, 'g.bin'));
    const { metainfo } = parseMetainfo(await createTorrent({ path: ok, symlinks: 'follow' }));
    expect(metainfo.files.map((f) => f.path.at(-1))).toEqual(['f.bin', 'g.bin']);
  });

  it('follows the path it is given when that is a symlink (the rules are for what lies inside)', async () => {
    const real = join(dir.path, 'real-folder');
    await makeTree(real, { 'f.bin': 30 });
    await symlink(real, join(dir.path, 'link-to-folder'));
    await symlink(join(real, 'f.bin'), join(dir.path, 'link-to-file'));
    const folder = parseMetainfo(await createTorrent({ path: join(dir.path, 'link-to-folder'), symlinks: 'refuse' })).metainfo;
    expect([folder.name, folder.files.map((f) => f.path.join('/'))]).toEqual(['link-to-folder', ['link-to-folder/f.bin']]);
    const file = parseMetainfo(await createTorrent({ path: join(dir.path, 'link-to-file'), symlinks: 'refuse' })).metainfo;
    expect([file.name, file.totalLength]).toEqual(['link-to-file', 30]);
  });

  it('refuses an empty folder and a folder of empty files', async () => {
    await mkdir(join(dir.path, 'nothing'));
    expect(await codeOfAsync(createTorrent({ path: join(dir.path, 'nothing'), version: 'hybrid' }))).toBe('CODEC_EMPTY_FILE_LIST');
    await makeTree(join(dir.path, 'zeros'), { a: 0, b: 0 });
    expect(await codeOfAsync(createTorrent({ path: join(dir.path, 'zeros'), version: 'v2' }))).toBe('CODEC_BAD_LENGTH');
  });

  it('names a file that cannot be read (removed while the torrent is made)', async () => {
    const d = join(dir.path, 'unreadable');
    await makeTree(d, { b: 10 });
    await writeFile(join(d, 'a'), '');
    await truncate(join(d, 'a'), 40 * 1024 * 1024); // two hashing jobs: b is read in the second
    const e = await createTorrent({ path: d, version: 'hybrid', threads: 1, onProgress: () => void rmSync(join(d, 'b'), { force: true }) }).catch(
      (x: unknown) => x as Error,
    );
    expect((e as { code?: string }).code).toBe('CODEC_IO');
    expect((e as Error).message).toContain(join(d, 'b'));
  });

  it('refuses a v2 piece length that is not a power of two of at least 16 KiB', async () => {
    expect(await codeOfAsync(createTorrent({ path: data, version: 'v2', pieceLength: 8192 }))).toBe('CODEC_BAD_PIECE_LENGTH');
    expect(await codeOfAsync(createTorrent({ path: data, version: 'hybrid', pieceLength: 3 * 16384 }))).toBe('CODEC_BAD_PIECE_LENGTH');
  });
});

describe('file selection', () => {
  it('skips hidden files when asked, and applies include and exclude globs', async () => {
    const d = join(dir.path, 'sel');
    await makeTree(d, { '.hidden': 1, 'a.iso': 2, 'b.nfo': 3, 'sub/c.iso': 4, 'sub/.git/x': 5 });
    const names = async (o: object) => parseMetainfo(await createTorrent({ path: d, ...o })).metainfo.files.map((f) => f.path.slice(1).join('/'));
    expect(await names({})).toEqual(['.hidden', 'a.iso', 'b.nfo', 'sub/.git/x', 'sub/c.iso']);
    expect(await names({ hidden: false })).toEqual(['a.iso', 'b.nfo', 'sub/c.iso']);
    expect(await names({ exclude: ['*.nfo', '.git'] })).toEqual(['.hidden', 'a.iso', 'sub/c.iso']);
    expect(await names({ include: ['**/*.iso'] })).toEqual(['a.iso', 'sub/c.iso']);
    expect(globToRegExp('sub/**/x').test('sub/.git/x')).toBe(true);
  });
});
