/**
 * BEP 52 hash requests against one file's merkle tree, pure: checking a request against the file's
 * geometry, answering it (base-layer hashes and the uncles of the proof, as libtorrent lays them out),
 * and verifying an answer against the file's `pieces root`.
 *
 * Layers are counted from the leaves: 0 = 16 KiB blocks, `pieceLevel` = pieces, `top` = the root.
 * A proof of `proofLayers` covers the ancestors of the base hashes up to layer base + proofLayers; the
 * first log2(length) - 1 of them follow from the base hashes, so the message carries one uncle for each
 * layer from base + log2(length) to base + proofLayers (libtorrent's merkle_tree::get_hashes).
 */
import { merklePad, sha256, V2_BLOCK_SIZE } from '@tc/codec';
import type { HashRequestFields } from '@tc/wire';

/** Pieces whose block hashes a FileTree keeps. */
const MAX_CACHED_PIECES = 64;

/** Geometry of one file's tree. */
export interface FileTreeShape {
  readonly length: number;
  readonly pieceLength: number;
}

export function treeLayers(shape: FileTreeShape): { top: number; pieceLevel: number; leaves: number } {
  const blocks = Math.max(1, Math.ceil(shape.length / V2_BLOCK_SIZE));
  let leaves = 1;
  while (leaves < blocks) leaves *= 2;
  return { top: Math.round(Math.log2(leaves)), pieceLevel: Math.round(Math.log2(shape.pieceLength / V2_BLOCK_SIZE)), leaves };
}

/** Uncle hashes an answer to `r` carries. */
export function uncleCount(r: Pick<HashRequestFields, 'length' | 'proofLayers'>): number {
  const sub = Math.round(Math.log2(r.length));
  return r.proofLayers >= sub ? r.proofLayers - sub + 1 : 0;
}

/** Why a request does not fit the file (undefined: it does). */
export function checkHashRequest(r: HashRequestFields, shape: FileTreeShape): string | undefined {
  const { top, leaves } = treeLayers(shape);
  if (r.length < 2) return `length ${r.length} is below 2`;
  if (r.base >= top) return `base layer ${r.base} is not below the root layer ${top}`;
  const levelSize = leaves / 2 ** r.base;
  if (r.index + r.length > levelSize) return `hashes ${r.index}..${r.index + r.length - 1} are past layer ${r.base}'s ${levelSize}`;
  if (r.base + r.proofLayers >= top) return `proof of ${r.proofLayers} layers above ${r.base} reaches the root layer ${top}`;
  return undefined;
}

/**
 * One file's tree as far as we know it: the piece layer (or, for a file of one piece, nothing), and
 * the block hashes of pieces we hashed. Missing nodes make `answer` return the pieces it needs.
 */
export class FileTree {
  readonly top: number;
  readonly pieceLevel: number;
  private readonly levels: Buffer[][] = [];
  private readonly blocks = new Map<number, readonly Buffer[]>();

  constructor(
    readonly shape: FileTreeShape,
    readonly root: Buffer,
    layer: Buffer | undefined,
  ) {
    const t = treeLayers(shape);
    this.top = t.top;
    this.pieceLevel = Math.min(t.pieceLevel, t.top);
    if (t.pieceLevel <= t.top && layer !== undefined) {
      let level: Buffer[] = [];
      for (let o = 0; o < layer.length; o += 32) level.push(layer.subarray(o, o + 32));
      this.levels.push(level);
      for (let l = t.pieceLevel; l < t.top; l++) {
        const pad = merklePad(l);
        const up: Buffer[] = [];
        for (let i = 0; i < level.length; i += 2) up.push(sha256(level[i]!, level[i + 1] ?? pad));
        level = up;
        this.levels.push(level);
      }
    } else this.levels.push([]);
  }

  /** Block hashes of piece `p` of the file (from its verified data). */
  addPieceBlocks(p: number, hashes: readonly Buffer[]): void {
    // Bounded: the oldest piece's hashes go first (a piece of 16 MiB holds 1024 hashes).
    if (this.blocks.size >= MAX_CACHED_PIECES) this.blocks.delete(this.blocks.keys().next().value!);
    this.blocks.set(p, hashes);
  }

  /** The node at `level`/`index`; undefined when it needs block hashes of a piece not added. */
  node(level: number, index: number): Buffer | undefined {
    if (level >= this.pieceLevel && this.levels.length > 1) {
      return this.levels[level - this.pieceLevel]?.[index] ?? merklePad(level);
    }
    if (level === this.top && index === 0) return this.root;
    if (level > this.pieceLevel) return undefined; // above the pieces, without the layer
    const span = 2 ** (this.pieceLevel - level); // nodes of `level` under one piece-level node
    const piece = Math.floor(index / span);
    const blocks = this.blocks.get(piece);
    const perPiece = 2 ** this.pieceLevel;
    if (blocks === undefined) {
      // Past the file's blocks everything is padding.
      return piece * perPiece >= Math.ceil(this.shape.length / V2_BLOCK_SIZE) ? merklePad(level) : undefined;
    }
    const width = 2 ** level;
    const first = (index - piece * span) * width;
    let layer: Buffer[] = [];
    for (let k = 0; k < width; k++) layer.push(blocks[first + k] ?? merklePad(0));
    for (let l = 0; l < level; l++) {
      const up: Buffer[] = [];
      for (let i = 0; i < layer.length; i += 2) up.push(sha256(layer[i]!, layer[i + 1]!));
      layer = up;
    }
    return layer[0]!;
  }

  /** Pieces of the file whose block hashes `answer(r)` needs and does not have. */
  piecesNeeded(r: HashRequestFields): number[] {
    if (r.base >= this.pieceLevel && this.levels.length > 1) return [];
    const span = 2 ** (this.pieceLevel - r.base);
    const out = new Set<number>();
    for (let i = r.index; i < r.index + r.length; i += span) {
      const p = Math.floor(i / span);
      if (this.node(r.base, i) === undefined) out.add(p);
    }
    return [...out];
  }

  /** The hashes message body for a checked request: base hashes then uncles; undefined if nodes are missing. */
  answer(r: HashRequestFields): Buffer[] | undefined {
    const out: Buffer[] = [];
    for (let i = r.index; i < r.index + r.length; i++) {
      const h = this.node(r.base, i);
      if (h === undefined) return undefined;
      out.push(h);
    }
    const sub = Math.round(Math.log2(r.length));
    for (let l = r.base + sub; l <= r.base + r.proofLayers; l++) {
      const idx = Math.floor(r.index / 2 ** (l - r.base));
      const h = this.node(l, idx ^ 1);
      if (h === undefined) return undefined;
      out.push(h);
    }
    return out;
  }
}

/**
 * Does a hashes answer prove its base hashes against the file's root? The proof must reach the layer
 * below the root (`proofLayers = top - base - 1`), as the requests we send ask.
 */
export function verifyHashes(r: HashRequestFields, hashes: readonly Buffer[], root: Buffer, shape: FileTreeShape): boolean {
  if (checkHashRequest(r, shape) !== undefined) return false;
  const { top } = treeLayers(shape);
  if (r.base + r.proofLayers !== top - 1) return false;
  if (hashes.length !== r.length + uncleCount(r)) return false;
  let layer = hashes.slice(0, r.length);
  while (layer.length > 1) {
    const up: Buffer[] = [];
    for (let i = 0; i < layer.length; i += 2) up.push(sha256(layer[i]!, layer[i + 1]!));
    layer = up;
  }
  let node = layer[0]!;
  let idx = r.index / r.length;
  for (const uncle of hashes.slice(r.length)) {
    node = idx % 2 === 0 ? sha256(node, uncle) : sha256(uncle, node);
    idx = Math.floor(idx / 2);
  }
  return node.equals(root);
}
