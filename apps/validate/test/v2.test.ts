import { mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetainfo } from '@tc/codec';
import { createTorrent } from '@tc/create';
import { runBin } from '@tc/testkit/run-bin';
import { tempDir } from '@tc/testkit/tmp';

const BIN = resolve(import.meta.dirname, '../bin/tc-validate.js');
const PL = 16 * 1024;

let tmp: { path: string; cleanup: () => Promise<void> };
const validate = (args: string[]) => runBin(BIN, args, { cwd: tmp.path });

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 13 + seed * 101) & 0xff;
  return b;
}

beforeAll(async () => {
  tmp = await tempDir('tc-validate-v2-');
  const set = join(tmp.path, 'data', 'set');
  await mkdir(join(set, 'sub'), { recursive: true });
  await writeFile(join(set, 'a.bin'), pattern(100_000, 1));
  await writeFile(join(set, 'sub', 'b.bin'), pattern(20_000, 2));
  for (const version of ['v2', 'hybrid'] as const) {
    await writeFile(join(tmp.path, `${version}.torrent`), await createTorrent({ path: set, version, pieceLength: PL, creationDate: null }));
  }
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('tc-validate on BEP 52 torrents', () => {
  it.each(['v2', 'hybrid'] as const)('verifies the data of a %s torrent against each file’s merkle tree', async (version) => {
    const r = await validate([`${version}.torrent`, '--data', 'data', '--json', '--progress', 'none']);
    expect(r.code).toBe(0);
    const t = (JSON.parse(r.stdout) as { torrents: Record<string, unknown>[] }).torrents[0]!;
    const m = parseMetainfo(await readFile(join(tmp.path, `${version}.torrent`)), { allowV2Only: true }).metainfo;
    expect(t).toMatchObject({ valid: true, version, infoHashV2: m.v2!.infoHashHex, data: { verified: true, pieceCount: 9, piecesOk: 9 } });
    const human = await validate([`${version}.torrent`, '--data', 'data', '--progress', 'none']);
    expect(human.stdout).toContain(`(${version}, v2 info-hash ${m.v2!.infoHashHex})`);
  });

  it('a changed byte fails its piece (exit 6), in a v2-only torrent too', async () => {
    const h = await open(join(tmp.path, 'data', 'set', 'a.bin'), 'r+');
    await h.write(Buffer.from([0xee]), 0, 1, 2 * PL + 3);
    await h.close();
    for (const version of ['v2', 'hybrid']) {
      const r = await validate([`${version}.torrent`, '--data', 'data', '--json', '--progress', 'none']);
      expect(r.code).toBe(6);
      const t = (JSON.parse(r.stdout) as { torrents: { data: { piecesOk: number; files: { status: string }[] } }[] }).torrents[0]!;
      expect(t.data.piecesOk).toBe(8);
      expect(t.data.files.map((f) => f.status)).toEqual(['partial', 'complete']);
    }
  });
});
