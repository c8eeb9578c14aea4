// Cross-checks with the Debian tools (mktorrent, transmission-create/-show, python3-libtorrent):
// torrents they make parse here with the hash they print, and torrents we make read there the same.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetainfo } from '@tc/codec';
import { createTorrent, verifyData } from '../src/index.js';
import { makeTree, tempDir, tool, transmissionShow } from './helpers.js';

const TREE = {
  'a.bin': 300_000,
  empty: 0,
  'sub/b.txt': 5,
  'sub/deeper/c.dat': 70_000,
  'ünï cödé/d.dat': 16_384,
  'Z upper.bin': 1,
};

let dir: { path: string; cleanup: () => Promise<void> };
let data: string;

beforeAll(async () => {
  dir = await tempDir();
  data = join(dir.path, 'data');
  await makeTree(data, TREE);
  await makeTree(dir.path, { 'single.iso': 1_000_001 });
});
afterAll(async () => {
  await dir.cleanup();
});

function libtorrentHash(file: string): Promise<string> {
  // Debian's python3 has the libtorrent module; the pyenv python3 on PATH does not.
  return tool('/usr/bin/python3', ['-c', 'import sys, libtorrent as lt; print(str(lt.torrent_info(sys.argv[1]).info_hash()))', file]).then((s) => s.trim());
}

describe('torrents made by other tools', () => {
  it.each([15, 18])('mktorrent -l %i: same info-hash and files as transmission-show', async (log2) => {
    const out = join(dir.path, `mk-${log2}.torrent`);
    await tool('mktorrent', ['-l', String(log2), '-a', 'http://127.0.0.1:1/announce', '-c', 'hi', '-o', out, data]);
    const bytes = await readFile(out);
    const { metainfo } = parseMetainfo(bytes, { mode: 'strict' });
    const shown = await transmissionShow(out);
    expect(metainfo.infoHashHex).toBe(shown.hash);
    expect(metainfo.files.map((f) => f.path.join('/')).sort()).toEqual([...shown.files].sort());
    expect(metainfo.pieceLength).toBe(2 ** log2);
    expect(metainfo.announceTiers).toEqual([['http://127.0.0.1:1/announce']]);
    expect(metainfo.comment).toBe('hi');
    expect((await verifyData(metainfo, dir.path)).piecesOk).toBe(metainfo.pieceCount);
  });

  it('mktorrent single file, private, web seed', async () => {
    const out = join(dir.path, 'mk-single.torrent');
    await tool('mktorrent', ['-p', '-w', 'http://127.0.0.1:2/single.iso', '-a', 'udp://127.0.0.1:3/announce', '-o', out, join(dir.path, 'single.iso')]);
    const { metainfo } = parseMetainfo(await readFile(out));
    const shown = await transmissionShow(out);
    expect(metainfo.infoHashHex).toBe(shown.hash);
    expect(metainfo.private).toBe(true);
    expect(shown.private).toBe(true);
    expect(metainfo.webSeeds).toEqual(['http://127.0.0.1:2/single.iso']);
    expect(metainfo.multiFile).toBe(false);
    expect(metainfo.totalLength).toBe(1_000_001);
  });

  it('transmission-create: same info-hash and files as transmission-show', async () => {
    const out = join(dir.path, 'tr.torrent');
    await tool('transmission-create', ['-o', out, '-t', 'http://127.0.0.1:1/announce', '-t', 'udp://127.0.0.1:4/announce', '-s', '32', data]);
    const { metainfo } = parseMetainfo(await readFile(out));
    const shown = await transmissionShow(out);
    expect(metainfo.infoHashHex).toBe(shown.hash);
    expect(metainfo.files.map((f) => f.path.join('/')).sort()).toEqual([...shown.files].sort());
    expect(metainfo.announceTiers.flat()).toEqual(['http://127.0.0.1:1/announce', 'udp://127.0.0.1:4/announce']);
  });
});

describe('torrents we make', () => {
  it('have the info dictionary mktorrent writes for the same options, byte for byte', async () => {
    const out = join(dir.path, 'mk-same.torrent');
    await tool('mktorrent', ['-l', '15', '-a', 'http://127.0.0.1:1/announce', '-o', out, data]);
    const theirs = parseMetainfo(await readFile(out)).metainfo;
    const ours = parseMetainfo(await createTorrent({ path: data, pieceLength: 2 ** 15, trackers: ['http://127.0.0.1:1/announce'] })).metainfo;
    expect(ours.infoBytes.equals(theirs.infoBytes)).toBe(true);
    expect(ours.infoHashHex).toBe(theirs.infoHashHex);
  });

  it.each([
    ['folder, defaults', { private: false }],
    [
      'folder, private, tiers, web seeds, comment',
      {
        private: true,
        trackers: [['http://127.0.0.1:1/a', 'http://127.0.0.1:2/a'], 'udp://127.0.0.1:3'],
        webSeeds: ['http://127.0.0.1:5/'],
        comment: 'ü comment',
        pieceLength: 16384,
      },
    ],
  ] as const)('read by transmission-show and libtorrent with our info-hash and files (%s)', async (label, opts) => {
    const bytes = await createTorrent({ path: data, ...opts });
    const file = join(dir.path, `ours-${label.length}.torrent`);
    await writeFile(file, bytes);
    const { metainfo } = parseMetainfo(bytes, { mode: 'strict' });
    const shown = await transmissionShow(file);
    expect(shown.hash).toBe(metainfo.infoHashHex);
    expect(shown.files.sort()).toEqual(metainfo.files.map((f) => f.path.join('/')).sort());
    expect(shown.files).toHaveLength(Object.keys(TREE).length);
    expect(shown.private).toBe(opts.private);
    expect(await libtorrentHash(file)).toBe(metainfo.infoHashHex);
  });

  it('single file read by transmission-show', async () => {
    const bytes = await createTorrent({ path: join(dir.path, 'single.iso'), trackers: ['http://127.0.0.1:1/announce'] });
    const file = join(dir.path, 'ours-single.torrent');
    await writeFile(file, bytes);
    const { metainfo } = parseMetainfo(bytes);
    const shown = await transmissionShow(file);
    expect(shown.hash).toBe(metainfo.infoHashHex);
    expect(shown.files).toEqual(['single.iso']);
  });

  it('libtorrent hashes a non-canonical torrent the way we do (the raw info bytes)', async () => {
    const file = join(import.meta.dirname, '../../../test-fixtures/torrents/hostile/unsorted-keys.torrent');
    const { metainfo, warnings } = parseMetainfo(await readFile(file));
    expect(warnings.map((w) => w.code)).toContain('WARN_UNSORTED_KEYS');
    expect(await libtorrentHash(file)).toBe(metainfo.infoHashHex);
  });
});
