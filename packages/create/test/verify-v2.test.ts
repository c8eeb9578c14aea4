import { open, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BDict, decode, encode, parseMetainfo, V2_BLOCK_SIZE, type BEncodable, type Metainfo } from '@tc/codec';
import { createTorrent, verifyData } from '../src/index.js';
import { BlockHasher } from '../src/verify-v2.js';
import { makeTree, tempDir } from './helpers.js';

const V2 = { allowV2Only: true } as const;
const PL = 16384;
/** big.bin spans 7 pieces, mid.bin 3, small.txt fits in one. */
const TREE = { 'big.bin': 100_000, 'mid.bin': 40_000, 'sub/small.txt': 9 };
let tmp: { path: string; cleanup: () => Promise<void> };
let data: string;

beforeAll(async () => {
  tmp = await tempDir('tc-verify-v2-');
  data = join(tmp.path, 'd');
  await makeTree(data, TREE);
});
afterAll(async () => {
  await tmp.cleanup();
});

async function make(version: 'v2' | 'hybrid', path = data): Promise<Buffer> {
  return createTorrent({ path, version, pieceLength: PL, creationDate: null });
}

/** A copy of `torrent` with top-level keys replaced (undefined removes one) and info keys replaced. */
function edit(torrent: Buffer, top: Record<string, BEncodable | undefined>, info: Record<string, BEncodable> = {}): Buffer {
  const t = decode(torrent) as BDict;
  const out = new Map<string, BEncodable>();
  for (const [k, e] of t.entries) out.set(k, e.value as BEncodable);
  const i = new Map<string, BEncodable>();
  for (const [k, e] of (t.get('info') as BDict).entries) i.set(k, e.value as BEncodable);
  for (const [k, v] of Object.entries(info)) i.set(k, v);
  out.set('info', i);
  for (const [k, v] of Object.entries(top)) {
    if (v === undefined) out.delete(k);
    else out.set(k, v);
  }
  return encode(out);
}

async function flipByte(file: string, at: number): Promise<void> {
  const h = await open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await h.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    await h.write(b, 0, 1, at);
  } finally {
    await h.close();
  }
}

function statuses(m: Metainfo, report: Awaited<ReturnType<typeof verifyData>>): string {
  return Array.from(report.have, (h) => (h ? '1' : '0')).join('') + ` ${report.files.map((f) => f.status).join(',')} ${m.pieceCount}`;
}

describe('verifyData on v2 and hybrid torrents', () => {
  it.each(['v2', 'hybrid'] as const)('a %s torrent verifies against its data', async (version) => {
    const { metainfo } = parseMetainfo(await make(version), V2);
    const report = await verifyData(metainfo, tmp.path);
    expect(report.piecesOk).toBe(metainfo.pieceCount);
    expect(report.files.map((f) => f.status)).toEqual(['complete', 'complete', 'complete']);
  });

  it('a changed byte fails exactly its piece (layer), a changed small file fails by its root', async () => {
    const d = join(tmp.path, 'flip');
    await makeTree(d, TREE);
    const { metainfo } = parseMetainfo(await make('v2', d), V2);
    await flipByte(join(d, 'big.bin'), 3 * PL + 5);
    await flipByte(join(d, 'sub/small.txt'), 8);
    const report = await verifyData(metainfo, tmp.path);
    expect(statuses(metainfo, report)).toBe('11101111110 partial,complete,partial 11');
  });

  it('without piece layers (as from a magnet) a file is judged whole by its root', async () => {
    const d = join(tmp.path, 'bare');
    await makeTree(d, TREE);
    const bare = edit(await make('v2', d), { 'piece layers': undefined });
    const { metainfo } = parseMetainfo(bare, V2);
    expect(metainfo.v2!.layersComplete).toBe(false);
    expect((await verifyData(metainfo, tmp.path)).piecesOk).toBe(metainfo.pieceCount);
    await flipByte(join(d, 'mid.bin'), 100);
    expect(statuses(metainfo, await verifyData(metainfo, tmp.path))).toBe('11111110001 complete,partial,complete 11');
    await truncate(join(d, 'big.bin'), 50_000);
    expect(statuses(metainfo, await verifyData(metainfo, tmp.path))).toBe('00000000001 wrong-size,partial,complete 11');
  });

  it('a hybrid whose v2 side describes other data fails even where its v1 pieces match', async () => {
    const other = join(tmp.path, 'other');
    await makeTree(other, { 'big.bin': 100_000, 'mid.bin': 40_000, 'sub/small.txt': 9 });
    await flipByte(join(other, 'mid.bin'), 0);
    const ours = await make('hybrid');
    const theirs = decode(await make('hybrid', other)) as BDict;
    const spliced = edit(
      ours,
      { 'piece layers': theirs.get('piece layers') as BEncodable },
      { 'file tree': (theirs.get('info') as BDict).get('file tree') as BEncodable },
    );
    const { metainfo } = parseMetainfo(spliced);
    // Only mid.bin's first piece differs between the two: its v2 layer entry fails, its SHA-1 piece passes.
    expect(statuses(metainfo, await verifyData(metainfo, tmp.path))).toBe('11111110111 complete,partial,complete 11');
  });
});

describe('BlockHasher', () => {
  it('gives the same block hashes however the bytes are split', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 3 * V2_BLOCK_SIZE + 100 }), fc.array(fc.integer({ min: 1, max: 40_000 }), { maxLength: 8 }), (n, cuts) => {
        const bytes = Buffer.alloc(n, 7);
        const whole = new BlockHasher();
        whole.update(bytes);
        const parts = new BlockHasher();
        let o = 0;
        for (const c of cuts) {
          parts.update(bytes.subarray(o, Math.min(n, o + c)));
          o = Math.min(n, o + c);
        }
        parts.update(bytes.subarray(o));
        expect(Buffer.concat(parts.digests()).equals(Buffer.concat(whole.digests()))).toBe(true);
        expect(whole.digests().length).toBe(Math.ceil(n / V2_BLOCK_SIZE));
      }),
      { numRuns: 200 },
    );
  });
});
