/**
 * Piece ↔ file arithmetic (BEP 3: the files are concatenated in list order and cut into pieces of
 * `piece length`, the last piece possibly shorter). Pure, and needs only the sizes.
 */

/** What geometry needs from a torrent: a Metainfo fits, so do test fixtures. */
export interface Layout {
  readonly pieceLength: number;
  readonly pieceCount: number;
  readonly totalLength: number;
  readonly files: readonly { readonly offset: number; readonly length: number; readonly padding?: boolean }[];
}

/** One stretch of a piece that lies in one file. */
export interface PieceRange {
  readonly fileIndex: number;
  /** Offset in the file. */
  readonly fileOffset: number;
  /** Offset in the piece. */
  readonly pieceOffset: number;
  readonly length: number;
  /** BEP 47: the range lies in a padding file (zeros, not stored). */
  readonly padding: boolean;
}

function checkPiece(layout: Layout, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= layout.pieceCount) {
    throw new RangeError(`piece ${index} is outside 0..${layout.pieceCount - 1}`);
  }
}

/** Length of piece `index`: `pieceLength`, or what is left for the last one. */
export function pieceSize(layout: Layout, index: number): number {
  checkPiece(layout, index);
  const start = index * layout.pieceLength;
  return Math.min(layout.pieceLength, layout.totalLength - start);
}

/** Index of the file holding byte `offset` (the first non-empty one), by binary search. */
export function fileAt(layout: Layout, offset: number): number {
  const files = layout.files;
  let lo = 0;
  let hi = files.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (files[mid]!.offset <= offset) lo = mid;
    else hi = mid - 1;
  }
  // Several files can start at the same offset when some are empty: step back to the first
  // and then forward past the empty ones, so the result holds the byte.
  while (lo > 0 && files[lo - 1]!.offset === files[lo]!.offset) lo--;
  while (lo < files.length - 1 && files[lo]!.length === 0) lo++;
  return lo;
}

/** The file ranges covered by piece `index`, in order; empty files are skipped. */
export function pieceRanges(layout: Layout, index: number): PieceRange[] {
  const size = pieceSize(layout, index);
  const start = index * layout.pieceLength;
  const out: PieceRange[] = [];
  let pos = start;
  for (let f = fileAt(layout, start); pos < start + size && f < layout.files.length; f++) {
    const file = layout.files[f]!;
    if (file.length === 0) continue;
    const end = Math.min(file.offset + file.length, start + size);
    if (end <= pos) continue;
    out.push({ fileIndex: f, fileOffset: pos - file.offset, pieceOffset: pos - start, length: end - pos, padding: file.padding === true });
    pos = end;
  }
  return out;
}

/** First and last piece holding data of file `fileIndex`; undefined for an empty file (it needs no piece). */
export function fileToPieces(layout: Layout, fileIndex: number): { first: number; last: number } | undefined {
  const file = layout.files[fileIndex];
  if (file === undefined) throw new RangeError(`file ${fileIndex} is outside 0..${layout.files.length - 1}`);
  if (file.length === 0) return undefined;
  return {
    first: Math.floor(file.offset / layout.pieceLength),
    last: Math.floor((file.offset + file.length - 1) / layout.pieceLength),
  };
}

/** Piece and offset in it of a byte of the torrent's data. */
export function locateByte(layout: Layout, offset: number): { piece: number; pieceOffset: number } {
  if (!Number.isInteger(offset) || offset < 0 || offset >= layout.totalLength) {
    throw new RangeError(`byte ${offset} is outside 0..${layout.totalLength - 1}`);
  }
  return { piece: Math.floor(offset / layout.pieceLength), pieceOffset: offset % layout.pieceLength };
}
