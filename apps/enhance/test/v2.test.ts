import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMagnet, parseMetainfo } from '@tc/codec';
import { createTorrent } from '@tc/create';
import { runBin } from '@tc/testkit/run-bin';
import { tempDir } from '@tc/testkit/tmp';

const BIN = resolve(import.meta.dirname, '../bin/tc-enhance.js');
const V2 = { allowV2Only: true } as const;
const T1 = 'udp://127.0.0.1:6969/announce';
const T2 = 'http://127.0.0.1:7000/announce';

let tmp: { path: string; cleanup: () => Promise<void> };
const enhance = (args: string[]) => runBin(BIN, args, { cwd: tmp.path });

beforeAll(async () => {
  tmp = await tempDir('tc-enhance-v2-');
  await writeFile(join(tmp.path, 'big.bin'), Buffer.alloc(100_000, 3));
  for (const version of ['v2', 'hybrid'] as const) {
    const t = await createTorrent({ path: join(tmp.path, 'big.bin'), version, pieceLength: 16384, creationDate: null, trackers: [T1] });
    await writeFile(join(tmp.path, `${version}.torrent`), t);
  }
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('tc-enhance on BEP 52 torrents', () => {
  it.each(['v2', 'hybrid'] as const)('adds a tracker to a %s torrent and keeps both info-hashes and the piece layers', async (version) => {
    const before = parseMetainfo(await readFile(join(tmp.path, `${version}.torrent`)), V2).metainfo;
    const r = await enhance([`${version}.torrent`, '-o', `${version}-out.torrent`, '-t', T2]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Info-hash v2  ${before.v2!.infoHashHex} (unchanged)\n`);
    const after = parseMetainfo(await readFile(join(tmp.path, `${version}-out.torrent`)), V2).metainfo;
    expect(after.infoBytes.equals(before.infoBytes)).toBe(true);
    expect(after.infoHashHex).toBe(before.infoHashHex);
    expect(after.v2!.infoHashHex).toBe(before.v2!.infoHashHex);
    expect(after.v2!.layersComplete).toBe(true);
    expect(after.v2!.files[0]!.layer!.equals(before.v2!.files[0]!.layer!)).toBe(true);
    expect(after.announceTiers).toEqual([[T1], [T2]]);

    const j = JSON.parse((await enhance([`${version}.torrent`, '--magnet', '--json', '-t', T2])).stdout) as Record<string, unknown>;
    expect(j.infoHashV2).toBe(before.v2!.infoHashHex);
    const magnet = parseMagnet(j.magnet as string, V2).magnet;
    expect(magnet.infoHashV2!.toString('hex')).toBe(before.v2!.infoHashHex);
  });
});
