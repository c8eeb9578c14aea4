import { pieceSize as codecPieceSize } from '@tc/codec';
import { EngineError } from './errors.js';
import type { V2Pieces } from './v2/pieces.js';

/** Bytes per block request: BEP 3 says 2^14 is what clients use; larger is often refused. */
export const BLOCK_BYTES = 16 * 1024;

/** One file of a torrent, placed in the torrent's byte stream. */
export interface LayoutFile {
  /** Path components under the download folder (already made safe by codec). */
  readonly path: readonly string[];
  readonly length: number;
  /** Offset of the file's first byte in the concatenated torrent stream. */
  readonly offset: number;
  /** BEP 47 padding file: never written, reads as zeros. */
  readonly padding: boolean;
}

/** What the engine needs to know of a torrent's geometry: the pure input of storage and picker. */
export interface TorrentLayout {
  readonly pieceLength: number;
  readonly totalLength: number;
  readonly pieceCount: number;
  readonly files: readonly LayoutFile[];
  /** Concatenated SHA-1 piece hashes, 20 bytes each (empty for a v2-only torrent). */
  readonly pieceHashes: Uint8Array;
  /** BEP 52 merkle verification of a v2 or hybrid torrent. */
  readonly v2?: V2Pieces;
}

/** A slice of one file that a byte range of the torrent maps to. */
export interface FileSlice {
  readonly file: number;
  readonly fileOffset: number;
  readonly length: number;
  /** Offset of this slice within the requested range. */
  readonly rangeOffset: number;
}

/** Builds a layout, checking the bounds the rest of the engine relies on. */
export function makeLayout(input: {
  pieceLength: number;
  files: readonly { path: readonly string[]; length: number; padding?: boolean }[];
  pieceHashes: Uint8Array;
  v2?: V2Pieces | undefined;
}): TorrentLayout {
  const { pieceLength, pieceHashes } = input;
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) {
    throw new EngineError('ENGINE_BAD_TORRENT', `bad piece length ${pieceLength}`);
  }
  let offset = 0;
  const files: LayoutFile[] = [];
  for (const f of input.files) {
    if (!Number.isSafeInteger(f.length) || f.length < 0) {
      throw new EngineError('ENGINE_BAD_TORRENT', `bad file length ${f.length}`);
    }
    files.push({ path: f.path, length: f.length, offset, padding: f.padding === true });
    offset += f.length;
  }
  const totalLength = offset;
  const pieceCount = Math.ceil(totalLength / pieceLength);
  const v2Only = input.v2 !== undefined && pieceHashes.length === 0;
  if (input.v2 !== undefined && input.v2.pieceCount !== pieceCount) {
    throw new EngineError('ENGINE_BAD_TORRENT', `v2 view has ${input.v2.pieceCount} pieces, the files need ${pieceCount}`);
  }
  if (!v2Only && pieceHashes.length !== pieceCount * 20) {
    throw new EngineError('ENGINE_BAD_TORRENT', `expected ${pieceCount} piece hashes, got ${pieceHashes.length / 20}`);
  }
  return input.v2 === undefined
    ? { pieceLength, totalLength, pieceCount, files, pieceHashes }
    : { pieceLength, totalLength, pieceCount, files, pieceHashes, v2: input.v2 };
}

/**
 * Size in bytes of piece `i` (the last one may be shorter; RangeError outside the torrent): codec's
 * geometry, the one place that computes it.
 */
export const pieceSize: (layout: TorrentLayout, i: number) => number = codecPieceSize;

/** Number of 16 KiB blocks in piece `i`. */
export function blockCount(layout: TorrentLayout, i: number): number {
  return Math.ceil(pieceSize(layout, i) / BLOCK_BYTES);
}

/** Size in bytes of block `b` of piece `i`. */
export function blockSize(layout: TorrentLayout, i: number, b: number): number {
  return Math.min(BLOCK_BYTES, pieceSize(layout, i) - b * BLOCK_BYTES);
}

/** The expected SHA-1 of piece `i`, as a view. */
export function pieceHash(layout: TorrentLayout, i: number): Uint8Array {
  return layout.pieceHashes.subarray(i * 20, i * 20 + 20);
}

/** Maps `length` bytes at `offset` within piece `piece` to file slices, in order (zero-length files skipped). */
export function fileSlices(layout: TorrentLayout, piece: number, offset: number, length: number): FileSlice[] {
  const start = piece * layout.pieceLength + offset;
  const end = start + length;
  if (offset < 0 || length < 0 || end > layout.totalLength) {
    throw new EngineError('ENGINE_BAD_TORRENT', `range ${start}+${length} outside torrent`);
  }
  const out: FileSlice[] = [];
  // Binary search for the first file whose end is past `start`.
  let lo = 0;
  let hi = layout.files.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const f = layout.files[mid]!;
    if (f.offset + f.length <= start) lo = mid + 1;
    else hi = mid;
  }
  for (let i = lo; i < layout.files.length; i++) {
    const f = layout.files[i]!;
    if (f.offset >= end) break;
    if (f.length === 0) continue;
    const s = Math.max(start, f.offset);
    const e = Math.min(end, f.offset + f.length);
    if (e <= s) continue;
    out.push({ file: i, fileOffset: s - f.offset, length: e - s, rangeOffset: s - start });
  }
  return out;
}
