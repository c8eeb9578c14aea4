/**
 * The BEP 52 side of checking data: SHA-256 over 16 KiB blocks, each piece's merkle hash checked
 * against its file's piece layer, or against the file's `pieces root` when the file fits in one piece
 * or the torrent came without its layers (then the whole file is judged at once by its root).
 */
import { createHash } from 'node:crypto';
import { pieceHashV2, rootFromPieceLayer, V2_BLOCK_SIZE, V2_HASH_BYTES, type Metainfo, type MetainfoV2File } from '@tc/codec';

/** SHA-256 of each 16 KiB block of the bytes fed in, in order (the last block may be short). */
export class BlockHasher {
  private readonly hashes: Buffer[] = [];
  private readonly block = Buffer.alloc(V2_BLOCK_SIZE);
  private fill = 0;

  update(b: Uint8Array): void {
    let o = 0;
    while (o < b.length) {
      if (this.fill === 0 && b.length - o >= V2_BLOCK_SIZE) {
        this.hashes.push(
          createHash('sha256')
            .update(b.subarray(o, o + V2_BLOCK_SIZE))
            .digest(),
        );
        o += V2_BLOCK_SIZE;
        continue;
      }
      const n = Math.min(V2_BLOCK_SIZE - this.fill, b.length - o);
      this.block.set(b.subarray(o, o + n), this.fill);
      this.fill += n;
      o += n;
      if (this.fill === V2_BLOCK_SIZE) {
        this.hashes.push(createHash('sha256').update(this.block).digest());
        this.fill = 0;
      }
    }
  }

  digests(): Buffer[] {
    if (this.fill > 0) {
      this.hashes.push(createHash('sha256').update(this.block.subarray(0, this.fill)).digest());
      this.fill = 0;
    }
    return this.hashes;
  }
}

/** A piece's v2 outcome: judged now, or (a file without its layer) when the file's last piece is in. */
export type V2Verdict = { readonly kind: 'now'; readonly ok: boolean } | { readonly kind: 'later' } | { readonly kind: 'file'; readonly ok: boolean };

/** Checks the pieces of a v2 or hybrid torrent in order, one file at a time. */
export class V2Pieces {
  private readonly byFile = new Map<number, MetainfoV2File>();
  /** Piece hashes of the file being judged by its root (no layer), undefined once a piece was missing. */
  private pending: Buffer[] | undefined = [];

  constructor(private readonly metainfo: Metainfo) {
    for (const f of metainfo.v2?.files ?? []) this.byFile.set(f.index, f);
  }

  /**
   * The verdict on piece `index`, which holds `fileIndex`'s bytes (a v2 piece never spans files).
   * `blocks` are the SHA-256 hashes of its 16 KiB blocks, or undefined when its data is missing.
   */
  check(index: number, fileIndex: number, blocks: Buffer[] | undefined): V2Verdict {
    const file = this.byFile.get(fileIndex);
    if (!file?.piecesRoot) return { kind: 'now', ok: false };
    const pl = this.metainfo.pieceLength;
    const k = Math.round((index * pl - file.offset) / pl);
    if (file.length <= pl) return { kind: 'now', ok: blocks !== undefined && pieceHashV2(blocks, pl, file.length).equals(file.piecesRoot) };
    const hash = blocks === undefined ? undefined : pieceHashV2(blocks, pl, file.length);
    if (file.layer) return { kind: 'now', ok: hash !== undefined && hash.equals(file.layer.subarray(k * V2_HASH_BYTES, (k + 1) * V2_HASH_BYTES)) };
    // No layer: the file's pieces are judged together by the root the piece hashes make.
    if (k === 0) this.pending = [];
    if (hash === undefined) this.pending = undefined;
    else this.pending?.push(hash);
    if (k < file.pieceCount - 1) return { kind: 'later' };
    const ok = this.pending !== undefined && rootFromPieceLayer(this.pending, pl).equals(file.piecesRoot);
    this.pending = [];
    return { kind: 'file', ok };
  }
}
