import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BDict, decode, encode, parseMetainfo, type BEncodable } from '@tc/codec';
import { createTorrent } from '@tc/create';
import { runBin } from '@tc/testkit/run-bin';
import { tempDir } from '@tc/testkit/tmp';

const BIN = resolve(import.meta.dirname, '../bin/tc-debug-torrent.js');
const V2 = { allowV2Only: true } as const;

let tmp: { path: string; cleanup: () => Promise<void> };
const debug = (args: string[]) => runBin(BIN, args, { cwd: tmp.path });

beforeAll(async () => {
  tmp = await tempDir('tc-debug-torrent-v2-');
  const folder = join(tmp.path, 'set');
  await mkdir(join(folder, 'sub'), { recursive: true });
  await writeFile(join(folder, 'big.bin'), Buffer.alloc(100_000, 1));
  await writeFile(join(folder, 'sub', 'small.txt'), 'hello\n');
  for (const version of ['v2', 'hybrid'] as const) {
    await writeFile(join(tmp.path, `${version}.torrent`), await createTorrent({ path: folder, version, pieceLength: 16384, creationDate: null }));
  }
});
afterAll(async () => {
  await tmp.cleanup();
});

/** The same torrent without its top-level `piece layers` (what a magnet's metadata gives before peers send them). */
function withoutLayers(torrent: Buffer): Buffer {
  const top = decode(torrent) as BDict;
  const out = new Map<string, BEncodable>();
  for (const [k, e] of top.entries) if (k !== 'piece layers') out.set(k, e.value as BEncodable);
  return encode(out);
}

describe('tc-debug-torrent on BEP 52 torrents', () => {
  it('shows a hybrid: version, both info-hashes, layer state, the file tree with -v', async () => {
    const m = parseMetainfo(await readFile(join(tmp.path, 'hybrid.torrent'))).metainfo;
    const r = await debug(['hybrid.torrent', '-v']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Info-hash     ${m.infoHashHex}\n`);
    expect(r.stdout).toContain('Version       hybrid (v1 + v2, BEP 52)\n');
    expect(r.stdout).toContain(`Info-hash v2  ${m.v2!.infoHashHex}\n`);
    expect(r.stdout).toContain('Piece layers  complete: 1 of 2 files need one, all present\n');
    expect(r.stdout).toContain(`File tree     big.bin  root ${m.v2!.files[0]!.piecesRoot!.toString('hex')}  layer present\n`);
    expect(r.stdout).toContain('sub/small.txt  root ');
    expect(r.stdout).toContain('layer not needed (one piece or less)');
    expect(r.stdout).toContain(`&xt=urn:btmh:1220${m.v2!.infoHashHex}`);
  });

  it('shows a v2-only torrent and says its piece layers are missing (exit 0: a magnet gives such metadata)', async () => {
    await writeFile(join(tmp.path, 'bare.torrent'), withoutLayers(await readFile(join(tmp.path, 'v2.torrent'))));
    const r = await debug(['bare.torrent']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Version       v2 only (BEP 52)');
    expect(r.stdout).toContain('Piece layers  MISSING for 1 of 1 file that need one (a client must fetch them from peers)\n');
    expect(r.stdout).toContain('                big.bin\n');
  });

  it('--json carries the version, the v2 info-hash and each file of the tree', async () => {
    const bytes = await readFile(join(tmp.path, 'v2.torrent'));
    const m = parseMetainfo(bytes, V2).metainfo;
    const r = await debug(['v2.torrent', '--json']);
    expect(r.code).toBe(0);
    const t = (JSON.parse(r.stdout) as { torrents: { torrent: Record<string, unknown> }[] }).torrents[0]!.torrent;
    expect(t.version).toBe('v2');
    expect(t.infoHash).toBe(m.v2!.infoHashHex.slice(0, 40));
    expect(t.infoHashV2).toBe(m.v2!.infoHashHex);
    expect(t.v2).toEqual({
      infoHash: m.v2!.infoHashHex,
      truncatedInfoHash: m.v2!.infoHashHex.slice(0, 40),
      layersComplete: true,
      files: [
        { path: ['big.bin'], length: 100_000, piecesRoot: m.v2!.files[0]!.piecesRoot!.toString('hex'), pieceCount: 7, layerState: 'present' },
        { path: ['sub', 'small.txt'], length: 6, piecesRoot: m.v2!.files[1]!.piecesRoot!.toString('hex'), pieceCount: 1, layerState: 'not-needed' },
      ],
    });
    const v1 = JSON.parse((await debug([resolve(import.meta.dirname, '../../../test-fixtures/torrents/real/alice.torrent'), '--json'])).stdout) as {
      torrents: { torrent: Record<string, unknown> }[];
    };
    const a = v1.torrents[0]!.torrent;
    expect([a.version, a.infoHashV2, a.v2]).toEqual(['v1', null, null]);
  });
});
