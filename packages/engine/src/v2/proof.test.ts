import { fileMerkle, merklePad, sha256, V2_BLOCK_SIZE } from '@tc/codec';
import { describe, expect, it } from 'vitest';
import { randomBytesFrom, randomInt, rng } from '@tc/testkit/random';
import { blockHashes } from './pieces.js';
import { checkHashRequest, FileTree, treeLayers, uncleCount, verifyHashes } from './proof.js';

/** Every layer of the full tree, leaves padded with zero hashes: the naive reference. */
function fullTree(blocks: readonly Buffer[], leaves: number): Buffer[][] {
  const layers: Buffer[][] = [[...blocks, ...Array.from({ length: leaves - blocks.length }, () => merklePad(0))]];
  while (layers[layers.length - 1]!.length > 1) {
    const l = layers[layers.length - 1]!;
    const up: Buffer[] = [];
    for (let i = 0; i < l.length; i += 2) up.push(sha256(l[i]!, l[i + 1]!));
    layers.push(up);
  }
  return layers;
}

describe('FileTree hash requests (BEP 52)', () => {
  it('answers match the naive tree and verify against the root; tampering fails (property)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const next = rng(seed * 104729);
      const pieceLength = V2_BLOCK_SIZE * 2 ** randomInt(next, 3);
      const length = 1 + randomInt(next, pieceLength * 9);
      const data = randomBytesFrom(next, length);
      const blocks = blockHashes(data);
      const m = fileMerkle(blocks, pieceLength);
      const shape = { length, pieceLength };
      const { top, leaves } = treeLayers(shape);
      if (top < 1) continue;
      const ref = fullTree(blocks, leaves);
      expect(ref[top]![0]!.equals(m.root)).toBe(true);
      const tree = new FileTree(shape, m.root, m.layer);
      for (let k = 0; k < 10; k++) {
        const base = randomInt(next, top);
        const levelSize = leaves / 2 ** base;
        if (levelSize < 2) continue;
        const len = 2 ** (1 + randomInt(next, Math.round(Math.log2(levelSize))));
        const index = len * randomInt(next, levelSize / len);
        const r = { root: m.root, base, index, length: len, proofLayers: top - base - 1 };
        expect(checkHashRequest(r, shape)).toBeUndefined();
        for (const p of tree.piecesNeeded(r)) {
          const per = pieceLength / V2_BLOCK_SIZE;
          tree.addPieceBlocks(p, blocks.slice(p * per, (p + 1) * per));
        }
        const ans = tree.answer(r)!;
        expect(ans, `seed ${seed} ${JSON.stringify({ ...r, root: 0 })}`).toBeDefined();
        expect(ans.length).toBe(len + uncleCount(r));
        for (let i = 0; i < len; i++) expect(ans[i]!.equals(ref[base]![index + i]!)).toBe(true);
        expect(verifyHashes(r, ans, m.root, shape)).toBe(true);
        const bad = ans.map((h) => Buffer.from(h));
        bad[randomInt(next, bad.length)]![0]! ^= 1;
        expect(verifyHashes(r, bad, m.root, shape)).toBe(false);
      }
    }
  });

  it('refuses requests that do not fit the file', () => {
    const shape = { length: 10 * V2_BLOCK_SIZE, pieceLength: 2 * V2_BLOCK_SIZE }; // 16 leaves, top 4
    const root = Buffer.alloc(32);
    expect(checkHashRequest({ root, base: 0, index: 0, length: 16, proofLayers: 3 }, shape)).toBeUndefined();
    expect(checkHashRequest({ root, base: 0, index: 0, length: 1, proofLayers: 3 }, shape)).toMatch(/below 2/);
    expect(checkHashRequest({ root, base: 4, index: 0, length: 2, proofLayers: 0 }, shape)).toMatch(/root layer/);
    expect(checkHashRequest({ root, base: 1, index: 8, length: 2, proofLayers: 0 }, shape)).toMatch(/past layer/);
    expect(checkHashRequest({ root, base: 1, index: 0, length: 2, proofLayers: 3 }, shape)).toMatch(/reaches the root/);
  });

  it('without the layer, nodes above the pieces are unknown', () => {
    const length = 5 * V2_BLOCK_SIZE;
    const blocks = blockHashes(randomBytesFrom(rng(9), length));
    const m = fileMerkle(blocks, V2_BLOCK_SIZE);
    const tree = new FileTree({ length, pieceLength: V2_BLOCK_SIZE }, m.root, undefined);
    expect(tree.answer({ root: m.root, base: 1, index: 0, length: 2, proofLayers: 1 })).toBeUndefined();
  });
});
