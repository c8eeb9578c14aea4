/**
 * BEP 52 merkle trees: SHA-256 over 16 KiB blocks, each file its own tree, leaves past the end of the
 * file zero hashes, the tree padded to a power of two. Pure: the caller hashes the blocks.
 */
import { createHash } from 'node:crypto';

/** BEP 52: leaves are SHA-256 hashes of 16 KiB blocks (the last block of a file may be shorter). */
export const V2_BLOCK_SIZE = 16 * 1024;
/** SHA-256 digests are 32 bytes. */
export const V2_HASH_BYTES = 32;
/** A tree deeper than this would cover more than 2^48 blocks (4 EiB): refused. */
const MAX_LEVELS = 48;

const pads: Buffer[] = [Buffer.alloc(V2_HASH_BYTES)];

export function sha256(...parts: readonly Uint8Array[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * The root of a full subtree of `2^levels` zero leaves: what pads a layer `levels` above the leaves
 * (0: the zero leaf itself; log2(piece length / 16 KiB): the pad of the piece layer).
 */
export function merklePad(levels: number): Buffer {
  if (!Number.isInteger(levels) || levels < 0 || levels > MAX_LEVELS) throw new RangeError(`merkle pad level ${levels} is outside 0..${MAX_LEVELS}`);
  while (pads.length <= levels) {
    const p = pads[pads.length - 1]!;
    pads.push(sha256(p, p));
  }
  return pads[levels]!;
}

/** The smallest power of two ≥ n (1 for n ≤ 1). */
export function nextPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** log2 of a power of two. */
export function log2(n: number): number {
  return Math.round(Math.log2(n));
}

/**
 * The root of a tree whose bottom layer is `hashes` (32-byte hashes, one Buffer or a list), padded
 * with `pad` to `width` entries (a power of two ≥ the count; default the next power of two). Each
 * level above pads with the hash of two pads of the level below.
 */
export function merkleRoot(hashes: Buffer | readonly Buffer[], width?: number, pad: Buffer = merklePad(0)): Buffer {
  let layer: Buffer[] = Buffer.isBuffer(hashes) ? splitHashes(hashes) : [...hashes];
  const w = width ?? nextPowerOfTwo(layer.length);
  if (w < layer.length || (w & (w - 1)) !== 0) throw new RangeError(`merkle width ${w} is not a power of two ≥ ${layer.length}`);
  if (layer.length === 0) layer = [pad];
  let padHash = pad;
  for (let n = w; n > 1; n /= 2) {
    const next: Buffer[] = [];
    for (let i = 0; i < layer.length; i += 2) next.push(sha256(layer[i]!, layer[i + 1] ?? padHash));
    layer = next;
    padHash = sha256(padHash, padHash);
  }
  return layer[0]!;
}

/** A concatenation of 32-byte hashes as views. */
export function splitHashes(b: Buffer): Buffer[] {
  if (b.length % V2_HASH_BYTES !== 0) throw new RangeError(`${b.length} bytes is not a whole number of ${V2_HASH_BYTES}-byte hashes`);
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += V2_HASH_BYTES) out.push(b.subarray(i, i + V2_HASH_BYTES));
  return out;
}

/** Number of 16 KiB blocks in a file of `length` bytes. */
export function blockCount(length: number): number {
  return Math.ceil(length / V2_BLOCK_SIZE);
}

/** Pieces of a file in a v2 torrent (each file starts a piece). */
export function filePieceCount(length: number, pieceLength: number): number {
  return Math.ceil(length / pieceLength);
}

/** The root a piece layer implies: the layer padded with full zero-piece subtrees to a power of two. */
export function rootFromPieceLayer(layer: Buffer | readonly Buffer[], pieceLength: number): Buffer {
  return merkleRoot(layer, undefined, merklePad(log2(pieceLength / V2_BLOCK_SIZE)));
}

/** What one file's block hashes give: its `pieces root`, and its piece layer when it is longer than a piece. */
export interface FileMerkle {
  readonly root: Buffer;
  /** Concatenated piece hashes (the `piece layers` entry), or undefined for a file of at most one piece. */
  readonly layer: Buffer | undefined;
}

/**
 * The root and piece layer of a file from the SHA-256 hashes of its 16 KiB blocks in order. A file of
 * one piece or less has no layer entry and its root is its block tree padded to a power of two.
 */
export function fileMerkle(blockHashes: readonly Buffer[], pieceLength: number): FileMerkle {
  if (blockHashes.length === 0) throw new RangeError('an empty file has no merkle tree');
  const perPiece = pieceLength / V2_BLOCK_SIZE;
  if (blockHashes.length <= perPiece) return { root: merkleRoot(blockHashes), layer: undefined };
  const pieces: Buffer[] = [];
  for (let i = 0; i < blockHashes.length; i += perPiece) pieces.push(merkleRoot(blockHashes.slice(i, i + perPiece), perPiece));
  return { root: rootFromPieceLayer(pieces, pieceLength), layer: Buffer.concat(pieces) };
}

/** The hash of piece `i` of a file from the hashes of its blocks (padded with zero leaves to a full piece). */
export function pieceHashV2(blockHashes: readonly Buffer[], pieceLength: number, fileLength: number): Buffer {
  const perPiece = pieceLength / V2_BLOCK_SIZE;
  // A file of one piece or less is verified against its root, which is padded only to a power of two.
  return fileLength <= pieceLength ? merkleRoot(blockHashes) : merkleRoot(blockHashes, perPiece);
}
