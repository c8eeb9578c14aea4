import type { TorrentLayout } from '../layout.js';

/** One HTTP Range request of a span: bytes `start..start+length-1` of file `file`. */
export interface FileRange {
  readonly file: number;
  /** First byte in the file. */
  readonly start: number;
  readonly length: number;
  /** Where these bytes go in the span. */
  readonly spanOffset: number;
  /** BEP 47 padding file: zeros, never requested. */
  readonly padding: boolean;
}

/**
 * Maps `length` bytes at `offset` in piece `piece` to the per-file ranges that hold them, in order,
 * across file boundaries (a piece of a multi-file torrent may span several files). Empty files are
 * skipped; padding files are returned flagged, for the caller to fill with zeros. Pure: the ranges
 * cover exactly the span's bytes, each once, in order (property-tested).
 */
export function spanRanges(layout: TorrentLayout, piece: number, offset: number, length: number): FileRange[] {
  const begin = piece * layout.pieceLength + offset;
  const end = begin + length;
  if (!(length > 0) || begin < 0 || end > layout.totalLength) throw new RangeError(`span ${piece}:${offset}+${length} is outside the torrent`);
  const files = layout.files;
  // Binary search for the last file starting at or before `begin` that is not empty.
  let lo = 0;
  let hi = files.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (files[mid]!.offset <= begin) lo = mid;
    else hi = mid - 1;
  }
  const out: FileRange[] = [];
  for (let f = lo, at = begin; at < end && f < files.length; f++) {
    const file = files[f]!;
    const fileEnd = file.offset + file.length;
    if (file.length === 0 || fileEnd <= at) continue;
    const n = Math.min(end, fileEnd) - at;
    out.push({ file: f, start: at - file.offset, length: n, spanOffset: at - begin, padding: file.padding });
    at += n;
  }
  return out;
}

/**
 * A run of blocks contiguous in the torrent's byte stream (of one piece, or running on into the
 * next pieces), fetched with one span that starts at `offset` in `piece`.
 */
export interface BlockRun {
  readonly piece: number;
  readonly offset: number;
  readonly length: number;
  /** The blocks, as the picker gave them. */
  readonly blocks: readonly { readonly piece: number; readonly offset: number; readonly length: number }[];
}

/**
 * Groups picked blocks into runs of blocks contiguous in the torrent (a piece's blocks in order, then
 * the next piece's), keeping their order; a run stops at `maxBytes`.
 */
export function blockRuns(
  blocks: readonly { readonly piece: number; readonly offset: number; readonly length: number }[],
  pieceLength: number,
  maxBytes = Infinity,
): BlockRun[] {
  const out: { piece: number; offset: number; length: number; blocks: { piece: number; offset: number; length: number }[] }[] = [];
  for (const b of blocks) {
    const last = out[out.length - 1];
    if (last !== undefined && last.piece * pieceLength + last.offset + last.length === b.piece * pieceLength + b.offset && last.length + b.length <= maxBytes) {
      last.length += b.length;
      last.blocks.push(b);
    } else out.push({ piece: b.piece, offset: b.offset, length: b.length, blocks: [b] });
  }
  return out;
}
