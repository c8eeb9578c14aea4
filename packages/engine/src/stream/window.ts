/**
 * Which pieces a reader of a torrent's bytes needs next, and in what order (issue 14, streaming
 * while downloading). Pure: the stream (file-stream.ts) and the torrent's set of streams
 * (priorities.ts) call these as the read position moves.
 */

/** Bytes ahead of the read position whose pieces are fetched first: a few seconds of HD video at a few MB/s. */
export const STREAM_WINDOW_BYTES = 8 * 1024 * 1024;
/** Pieces in a window at least (large pieces: the one being read and the next). */
export const MIN_WINDOW_PIECES = 2;
/**
 * Pieces in one window at most (tiny pieces): the picker scans the urgent list on every pick, and
 * urgent pieces may go past the piece-buffer budget, so the list is kept short.
 */
export const MAX_WINDOW_PIECES = 64;
/** Pieces in the merged list of every stream of a torrent at most (several players on one torrent). */
export const MAX_URGENT_PIECES = 256;

export interface WindowGeometry {
  readonly pieceLength: number;
  readonly pieceCount: number;
}

/**
 * The pieces not yet held among those covering bytes [pos, min(end, pos + windowBytes)) of the
 * torrent, in reading order (the first is the most urgent: the reader waits for it now). At least
 * MIN_WINDOW_PIECES pieces are looked at (when the range has them), at most MAX_WINDOW_PIECES.
 * Empty once pos reaches end.
 */
export function windowPieces(g: WindowGeometry, pos: number, end: number, has: (piece: number) => boolean, windowBytes = STREAM_WINDOW_BYTES): number[] {
  if (!(pos < end) || pos < 0) return [];
  const first = Math.floor(pos / g.pieceLength);
  const lastByRange = Math.min(g.pieceCount - 1, Math.floor((end - 1) / g.pieceLength));
  const lastByWindow = Math.floor((Math.min(end, pos + Math.max(1, windowBytes)) - 1) / g.pieceLength);
  const last = Math.min(lastByRange, Math.max(lastByWindow, first + MIN_WINDOW_PIECES - 1), first + MAX_WINDOW_PIECES - 1);
  const out: number[] = [];
  for (let i = first; i <= last; i++) if (!has(i)) out.push(i);
  return out;
}

/**
 * One order for the windows of several readers: the first piece of each, then the second of each,
 * and so on (no reader starves another), each piece once, at most MAX_URGENT_PIECES.
 */
export function mergeWindows(windows: Iterable<readonly number[]>): number[] {
  const lists = [...windows];
  const seen = new Set<number>();
  const out: number[] = [];
  const longest = lists.reduce((m, l) => Math.max(m, l.length), 0);
  for (let rank = 0; rank < longest && out.length < MAX_URGENT_PIECES; rank++) {
    for (const l of lists) {
      const i = l[rank];
      if (i === undefined || seen.has(i)) continue;
      seen.add(i);
      out.push(i);
      if (out.length >= MAX_URGENT_PIECES) break;
    }
  }
  return out;
}

/**
 * Unwanted pieces (files not selected) a reader needs are made wanted for as long as a window holds
 * them ("borrowed"), and given back once no window does. `skipped(i)`: the piece is unwanted and
 * not held; `has(i)`: held. Returns the pieces to make wanted now and those to make unwanted again
 * (a borrowed piece already held stays as it is: giving it back would change nothing but its label,
 * so it is simply forgotten, listed in `forget`).
 */
export function borrowPlan(
  urgent: readonly number[],
  borrowed: ReadonlySet<number>,
  skipped: (piece: number) => boolean,
  has: (piece: number) => boolean,
): { borrow: number[]; giveBack: number[]; forget: number[] } {
  const inWindow = new Set(urgent);
  const borrow = urgent.filter((i) => !borrowed.has(i) && skipped(i));
  const giveBack: number[] = [];
  const forget: number[] = [];
  for (const i of borrowed) {
    if (has(i)) forget.push(i);
    else if (!inWindow.has(i)) giveBack.push(i);
  }
  return { borrow, giveBack, forget };
}
