import { fileMerkle, V2_BLOCK_SIZE } from '@tc/codec';
import { describe, expect, it } from 'vitest';
import { rng, randomBytesFrom, randomInt } from '@tc/testkit/random';
import { blockHashes, layerMatchesRoot, V2Pieces, type V2FileInput } from './pieces.js';

/** A v2 torrent of random files laid out as codec does (each file starts a piece), with its data per piece. */
function build(seed: number, pieceLength: number, sizes: readonly number[]) {
  const next = rng(seed);
  const files: V2FileInput[] = [];
  const datas: Buffer[] = [];
  let offset = 0;
  for (const length of sizes) {
    const data = randomBytesFrom(next, length);
    datas.push(data);
    if (length === 0) {
      files.push({ offset, length, root: undefined, layer: undefined });
      continue;
    }
    const m = fileMerkle(blockHashes(data), pieceLength);
    files.push({ offset, length, root: m.root, layer: m.layer });
    offset += Math.ceil(length / pieceLength) * pieceLength;
  }
  const pieceCount = offset / pieceLength;
  return { pieces: new V2Pieces(pieceLength, pieceCount, files), files, datas, pieceCount };
}

/** Piece `i`'s bytes as the engine holds them: the file's data, then zero padding to the piece length. */
function pieceData(t: ReturnType<typeof build>, i: number, pieceLength: number): Buffer {
  const s = t.pieces.slot(i)!;
  const d = t.datas[s.file]!.subarray(s.pieceInFile * pieceLength, s.pieceInFile * pieceLength + s.dataLength);
  return Buffer.concat([d, Buffer.alloc(pieceLength - s.dataLength)]);
}

describe('V2Pieces', () => {
  it('verifies every piece of random files and rejects one flipped byte (property)', () => {
    for (let seed = 1; seed <= 25; seed++) {
      const next = rng(seed * 7919);
      const pieceLength = V2_BLOCK_SIZE * 2 ** randomInt(next, 4);
      const sizes = Array.from({ length: 1 + randomInt(next, 4) }, () => {
        const r = randomInt(next, 4);
        return r === 0 ? 1 + randomInt(next, 100) : r === 1 ? pieceLength : randomInt(next, pieceLength * 5);
      });
      const t = build(seed, pieceLength, sizes);
      expect(t.pieces.complete).toBe(true);
      for (let i = 0; i < t.pieceCount; i++) {
        const data = pieceData(t, i, pieceLength);
        expect(t.pieces.verify(i, data), `seed ${seed} piece ${i}`).toBe(true);
        const s = t.pieces.slot(i)!;
        const bad = Buffer.from(data);
        bad[randomInt(next, s.dataLength)]! ^= 1;
        expect(t.pieces.verify(i, bad)).toBe(false);
        expect(t.pieces.paddingIsZero(i, data)).toBe(true);
        if (s.dataLength < pieceLength) {
          bad.set(data);
          bad[pieceLength - 1] = 1;
          expect(t.pieces.paddingIsZero(i, bad)).toBe(false);
        }
      }
      for (let k = 0; k < t.files.length; k++) {
        const f = t.files[k]!;
        if (f.layer !== undefined) expect(layerMatchesRoot(f.layer, f.root!, pieceLength)).toBe(true);
      }
    }
  });

  it('a file of one piece or less is checked against its root; a longer one needs its layer', () => {
    const t = build(3, 64 * 1024, [1000, 200_000]);
    expect(t.pieces.expected(0)!.equals(t.files[0]!.root!)).toBe(true);
    const p = new V2Pieces(
      64 * 1024,
      t.pieceCount,
      t.files.map((f) => ({ ...f, layer: undefined })),
    );
    expect(p.hasLayer(0)).toBe(true);
    expect(p.hasLayer(1)).toBe(false);
    expect(p.complete).toBe(false);
    expect(p.expected(1)).toBeUndefined();
    expect(p.verify(1, pieceData(t, 1, 64 * 1024))).toBe(false);
    p.setLayer(1, t.files[1]!.layer!);
    expect(p.verify(1, pieceData(t, 1, 64 * 1024))).toBe(true);
    expect(() => p.setLayer(1, Buffer.alloc(32))).toThrow(RangeError);
  });

  it('a layer that does not give the root is refused', () => {
    const t = build(4, 16 * 1024, [100_000]);
    const layer = Buffer.from(t.files[0]!.layer!);
    layer[5]! ^= 1;
    expect(layerMatchesRoot(layer, t.files[0]!.root!, 16 * 1024)).toBe(false);
    expect(layerMatchesRoot(Buffer.alloc(31), t.files[0]!.root!, 16 * 1024)).toBe(false);
  });

  it('refuses a file off a piece boundary, overlapping files and bad piece lengths', () => {
    const root = Buffer.alloc(32, 1);
    expect(() => new V2Pieces(16 * 1024, 2, [{ offset: 100, length: 10, root, layer: undefined }])).toThrow(/piece boundary/);
    expect(() => new V2Pieces(20_000, 2, [])).toThrow(/power of two/);
    expect(() => new V2Pieces(16 * 1024, 1, [{ offset: 0, length: 40_000, root, layer: undefined }])).toThrow(/ends past/);
    expect(() => new V2Pieces(16 * 1024, 2, [{ offset: 0, length: 10, root: undefined, layer: undefined }])).toThrow(/pieces root/);
  });
});
