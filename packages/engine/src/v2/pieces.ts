/**
 * BEP 52 piece verification, pure: which file and which hash each piece of a v2 or hybrid torrent is
 * checked against, and the merkle hash of a piece's data.
 *
 * The engine's piece space is the v1 view (codec synthesises BEP 47 padding for v2-only torrents, so
 * each file starts a piece). Piece `i` holds data of exactly one v2 file (the rest of the file's last
 * piece is padding); its v2 hash is the root of the merkle subtree over the file's 16 KiB blocks in
 * that piece, padded with zero leaves to a full piece, compared with the file's piece layer; a file of
 * at most one piece has no layer and is compared with its `pieces root` directly (its tree padded only
 * to the next power of two).
 */
import { createHash } from 'node:crypto';
import { merklePad, merkleRoot, V2_BLOCK_SIZE, V2_HASH_BYTES } from '@tc/codec';

/** What verification needs of one v2 file. */
export interface V2FileInput {
  /** Offset in the engine's piece space (a multiple of the piece length). */
  readonly offset: number;
  readonly length: number;
  /** `pieces root` (32 bytes); undefined for an empty file. */
  readonly root: Buffer | undefined;
  /** Concatenated piece hashes for a file longer than a piece (undefined until known, e.g. from a magnet). */
  readonly layer: Buffer | undefined;
}

/** Where piece `i` lies in its v2 file. */
export interface V2PieceSlot {
  /** Index in `V2Pieces.files`. */
  readonly file: number;
  /** Piece index inside the file. */
  readonly pieceInFile: number;
  /** Bytes of file data in the piece (the rest, if any, is padding). */
  readonly dataLength: number;
}

/** The v2 side of a torrent's layout. Layers may arrive later (magnets): `setLayer`. */
export class V2Pieces {
  private readonly owner: Int32Array;
  private readonly layers: (Buffer | undefined)[];

  constructor(
    readonly pieceLength: number,
    readonly pieceCount: number,
    readonly files: readonly V2FileInput[],
  ) {
    if (!Number.isSafeInteger(pieceLength) || pieceLength < V2_BLOCK_SIZE || (pieceLength & (pieceLength - 1)) !== 0) {
      throw new RangeError(`v2 piece length ${pieceLength} is not a power of two of at least 16 KiB`);
    }
    this.owner = new Int32Array(pieceCount).fill(-1);
    this.layers = files.map((f) => f.layer);
    files.forEach((f, k) => {
      if (f.length === 0) return;
      if (f.offset % pieceLength !== 0) throw new RangeError(`v2 file ${k} starts at ${f.offset}, not on a piece boundary`);
      if (f.root === undefined || f.root.length !== V2_HASH_BYTES) throw new RangeError(`v2 file ${k} has no 32-byte pieces root`);
      const first = f.offset / pieceLength;
      const n = Math.ceil(f.length / pieceLength);
      if (first + n > pieceCount) throw new RangeError(`v2 file ${k} ends past piece ${pieceCount - 1}`);
      for (let j = 0; j < n; j++) {
        if (this.owner[first + j] !== -1) throw new RangeError(`v2 files overlap at piece ${first + j}`);
        this.owner[first + j] = k;
      }
      if (f.layer !== undefined) this.checkLayerSize(k, f.layer);
    });
  }

  /** Pieces a file of `length` bytes needs. */
  piecesOf(file: number): number {
    return Math.ceil(this.files[file]!.length / this.pieceLength);
  }

  /** True when the file's pieces can be checked now (small files need only the root). */
  hasLayer(file: number): boolean {
    return this.piecesOf(file) <= 1 || this.layers[file] !== undefined;
  }

  /** Every file's pieces can be verified. */
  get complete(): boolean {
    return this.files.every((_, k) => this.hasLayer(k));
  }

  /** The layer of a file (known or given), or undefined. */
  layer(file: number): Buffer | undefined {
    return this.layers[file];
  }

  /** Installs a layer that the caller already checked against the file's root (`layerMatchesRoot`). */
  setLayer(file: number, layer: Buffer): void {
    this.checkLayerSize(file, layer);
    this.layers[file] = layer;
  }

  private checkLayerSize(file: number, layer: Buffer): void {
    const want = this.piecesOf(file) * V2_HASH_BYTES;
    if (layer.length !== want) throw new RangeError(`v2 file ${file}: layer of ${layer.length} bytes, want ${want}`);
  }

  /** Where piece `i` lies; undefined for a piece holding only padding (does not occur in valid torrents). */
  slot(i: number): V2PieceSlot | undefined {
    if (!Number.isInteger(i) || i < 0 || i >= this.pieceCount) throw new RangeError(`piece ${i} is outside 0..${this.pieceCount - 1}`);
    const k = this.owner[i]!;
    if (k < 0) return undefined;
    const f = this.files[k]!;
    const pieceInFile = i - f.offset / this.pieceLength;
    return { file: k, pieceInFile, dataLength: Math.min(this.pieceLength, f.length - pieceInFile * this.pieceLength) };
  }

  /** The 32-byte hash piece `i` must have; undefined when its file's layer is not known yet. */
  expected(i: number): Buffer | undefined {
    const s = this.slot(i);
    if (s === undefined) return undefined;
    if (this.piecesOf(s.file) <= 1) return this.files[s.file]!.root;
    const layer = this.layers[s.file];
    return layer?.subarray(s.pieceInFile * V2_HASH_BYTES, (s.pieceInFile + 1) * V2_HASH_BYTES);
  }

  /** The merkle hash of piece `i` from its bytes (`data` may carry padding past `dataLength`). */
  hashPiece(i: number, data: Uint8Array): Buffer {
    const s = this.slot(i);
    if (s === undefined) throw new RangeError(`piece ${i} holds no v2 file data`);
    if (data.length < s.dataLength) throw new RangeError(`piece ${i}: ${data.length} bytes, want ${s.dataLength}`);
    const leaves = blockHashes(data.subarray(0, s.dataLength));
    const single = this.piecesOf(s.file) <= 1;
    return single ? merkleRoot(leaves) : merkleRoot(leaves, this.pieceLength / V2_BLOCK_SIZE);
  }

  /** True when piece `i`'s data matches its v2 hash (false when its layer is unknown). */
  verify(i: number, data: Uint8Array): boolean {
    const want = this.expected(i);
    if (want === undefined) return false;
    return this.hashPiece(i, data).equals(want);
  }

  /** The padding bytes of piece `i` past the file's data must be zeros (BEP 47). */
  paddingIsZero(i: number, data: Uint8Array): boolean {
    const s = this.slot(i);
    const from = s?.dataLength ?? 0;
    for (let k = from; k < data.length; k++) if (data[k] !== 0) return false;
    return true;
  }
}

/** SHA-256 of each 16 KiB block of `data` (the last block may be shorter). */
export function blockHashes(data: Uint8Array): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < data.length; o += V2_BLOCK_SIZE) {
    out.push(
      createHash('sha256')
        .update(data.subarray(o, Math.min(o + V2_BLOCK_SIZE, data.length)))
        .digest(),
    );
  }
  return out;
}

/** Does a piece layer (32-byte hashes) give the file's root once padded with zero-piece subtrees? */
export function layerMatchesRoot(layer: Buffer, root: Buffer, pieceLength: number): boolean {
  if (layer.length === 0 || layer.length % V2_HASH_BYTES !== 0) return false;
  return merkleRoot(layer, undefined, merklePad(Math.round(Math.log2(pieceLength / V2_BLOCK_SIZE)))).equals(root);
}
