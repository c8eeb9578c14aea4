// tc-create against the reference makers on the same files and piece size: the info dictionary is
// byte-identical to libtorrent 2's create_torrent (v1, v2, hybrid) and to mktorrent's (v1).
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetainfo, type Metainfo } from '@tc/codec';
import { runBin } from '@tc/testkit/run-bin';
import { tempDir } from '@tc/testkit/tmp';

const BIN = resolve(import.meta.dirname, '../bin/tc-create.js');
const run = promisify(execFile);
/** python3-libtorrent is Debian's: the pyenv python3 on PATH does not have it. */
const PYTHON = '/usr/bin/python3';

/** Names chosen to catch ordering mistakes: a folder beside a longer name with the same start, upper case, UTF-8. */
const TREE: Record<string, number> = {
  a: 20_000,
  'a.txt': 5,
  'b/c.bin': 100_000,
  'b/deeper/d': 16_384,
  'B upper.bin': 70_001,
  'ünï/e.dat': 33_000,
  'z.bin': 300_001,
};

let tmp: { path: string; cleanup: () => Promise<void> };
let data: string;
let single: string;

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

beforeAll(async () => {
  tmp = await tempDir('tc-create-interop-');
  data = join(tmp.path, 'data');
  let seed = 1;
  for (const [rel, size] of Object.entries(TREE)) {
    await mkdir(dirname(join(data, rel)), { recursive: true });
    await writeFile(join(data, rel), pattern(size, seed++));
  }
  single = join(tmp.path, 'single.iso');
  await writeFile(single, pattern(1_000_001, 99));
});
afterAll(async () => {
  await tmp.cleanup();
});

async function tcCreate(path: string, args: string[]): Promise<Metainfo> {
  const out = join(tmp.path, `tc-${Math.random().toString(36).slice(2)}.torrent`);
  const r = await runBin(BIN, [path, '-o', out, '--no-date', '--progress', 'none', ...args], { cwd: tmp.path });
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return parseMetainfo(await readFile(out), { allowV2Only: true, mode: 'strict' }).metainfo;
}

/**
 * libtorrent's create_torrent on the same files. Files are added in tc's order (names compared as
 * UTF-8 bytes, folder by folder): libtorrent sorts the v2 file tree itself, but a v1-only torrent
 * keeps the order files were added in, which add_files takes from readdir.
 */
async function libtorrent(path: string, pieceLength: number, version: 'v1' | 'v2' | 'hybrid', priv = false): Promise<Metainfo> {
  const flags = { v1: 'lt.create_torrent.v1_only', v2: 'lt.create_torrent.v2_only', hybrid: '0' }[version];
  const out = join(tmp.path, `lt-${version}-${pieceLength}-${priv}-${Math.random().toString(36).slice(2)}.torrent`);
  const script = `
import libtorrent as lt, sys, os
root = sys.argv[1]; parent = os.path.dirname(root); name = os.path.basename(root)
fs = lt.file_storage()
if os.path.isfile(root):
    fs.add_file(name, os.path.getsize(root))
else:
    rel = []
    for d, _, files in os.walk(root):
        for f in files:
            rel.append(os.path.relpath(os.path.join(d, f), root))
    for r in sorted(rel, key=lambda p: [c.encode() for c in p.split(os.sep)]):
        fs.add_file(os.path.join(name, r), os.path.getsize(os.path.join(root, r)))
ct = lt.create_torrent(fs, ${pieceLength}, flags=${flags})
ct.set_priv(${priv ? 'True' : 'False'})
lt.set_piece_hashes(ct, parent)
open(sys.argv[2], 'wb').write(lt.bencode(ct.generate()))`;
  await run(PYTHON, ['-c', script, path, out], { timeout: 60_000 });
  return parseMetainfo(await readFile(out), { allowV2Only: true }).metainfo;
}

describe('tc-create and libtorrent 2 make the same info dictionary', () => {
  it.each([
    ['hybrid', 16384, false],
    ['hybrid', 65536, true],
    ['v2', 32768, false],
    ['v2', 16384, true],
    ['v1', 32768, false],
    ['v1', 16384, true],
  ] as const)('folder, %s, %i-byte pieces, private %s', async (version, pieceLength, priv) => {
    const flags = version === 'hybrid' ? [] : [`--${version}`];
    const ours = await tcCreate(data, [...flags, '-s', String(pieceLength), ...(priv ? ['-p'] : [])]);
    const theirs = await libtorrent(data, pieceLength, version, priv);
    expect(ours.version).toBe(version);
    expect(ours.infoBytes.toString('hex')).toBe(theirs.infoBytes.toString('hex'));
    expect(ours.infoHashHex).toBe(theirs.infoHashHex);
    expect(ours.v2?.infoHashHex).toBe(theirs.v2?.infoHashHex);
    // The piece layers (outside info) agree too.
    expect(ours.v2?.files.map((f) => f.layer?.toString('hex'))).toEqual(theirs.v2?.files.map((f) => f.layer?.toString('hex')));
  });

  it.each(['v1', 'v2', 'hybrid'] as const)('single file, %s', async (version) => {
    const ours = await tcCreate(single, [...(version === 'hybrid' ? [] : [`--${version}`]), '-s', '64k']);
    const theirs = await libtorrent(single, 65536, version);
    expect(ours.infoBytes.equals(theirs.infoBytes)).toBe(true);
  });
});

describe('tc-create --v1 and mktorrent make the same info dictionary', () => {
  it.each([
    [15, false],
    [16, true],
  ])('folder, 2^%i-byte pieces, private %s', async (log2, priv) => {
    const out = join(tmp.path, `mk-${log2}.torrent`);
    await run('mktorrent', ['-l', String(log2), '-a', 'http://127.0.0.1:1/announce', ...(priv ? ['-p'] : []), '-o', out, data], { timeout: 60_000 });
    const theirs = parseMetainfo(await readFile(out)).metainfo;
    const ours = await tcCreate(data, ['--v1', '-s', String(2 ** log2), '-t', 'http://127.0.0.1:1/announce', ...(priv ? ['-p'] : [])]);
    expect(ours.infoBytes.toString('hex')).toBe(theirs.infoBytes.toString('hex'));
    expect(ours.announceTiers).toEqual(theirs.announceTiers);
  });

  it('single file', async () => {
    const out = join(tmp.path, 'mk-single.torrent');
    await run('mktorrent', ['-l', '16', '-o', out, single], { timeout: 60_000 });
    const ours = await tcCreate(single, ['--v1', '-s', '64k']);
    expect(ours.infoBytes.equals(parseMetainfo(await readFile(out)).metainfo.infoBytes)).toBe(true);
  });
});
