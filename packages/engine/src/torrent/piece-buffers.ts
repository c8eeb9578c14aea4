/**
 * Bytes of piece buffers (pieces started: active, or being verified and written) a torrent may hold
 * at once. With 1 MiB pieces that is 64 pieces, far more than a fast link keeps in flight; it only
 * binds for large pieces, where each started piece costs its whole size (issue 10, defect 5).
 */
export const PIECE_BUFFER_BUDGET_BYTES = 64 * 1024 * 1024;
/** Pieces started at once whatever their size: a piece being written while others download, and a few peers at work. */
export const MIN_BUFFERED_PIECES = 4;

/** Pieces a torrent may have started at once (each holds one piece-sized buffer): the budget, or a few pieces if larger. */
export function bufferedPieceLimit(pieceLength: number): number {
  return Math.max(MIN_BUFFERED_PIECES, Math.floor(PIECE_BUFFER_BUDGET_BYTES / pieceLength));
}

/** Free piece buffers kept for reuse at most: enough for the pieces in flight on a fast link, so the steady state allocates nothing. */
export const PIECE_POOL_MAX = 16;
/**
 * …or as many as fit in this many bytes, for small pieces: with 32 KiB pieces sixteen buffers are
 * half a megabyte, and each piece past them was a fresh allocation for the GC (issue 16, shape 2).
 */
export const PIECE_POOL_BYTES = 16 * 1024 * 1024;
/**
 * A started piece that received no block for this long, with no request out, has nobody working on
 * it (its peers left or choke us); when the budget is full it is abandoned so that its buffer serves
 * a piece someone can deliver. As long as a snubbed peer gets (libtorrent's request_timeout).
 */
export const STALLED_PIECE_MS = 60_000;

/** The buffer of a piece being received. */
interface ActiveBuffer {
  readonly buf: Buffer;
  /** Clock time of its last block. */
  lastBlockAt: number;
}

/**
 * The contiguous buffers of started pieces: blocks are copied in as they arrive (the connection's
 * read buffer is reused), and the whole piece is hashed and written from it. At most `limit` pieces
 * are started at once (bufferedPieceLimit), and buffers in use and pooled together never exceed
 * it, so the bytes held are bounded whatever the peers offer. Buffers are reused (allocating 1 MiB
 * per piece churns the GC at hundreds of MB/s).
 */
export class PieceBuffers {
  /** Pieces that may be started at once. */
  readonly limit: number;
  private readonly free: Buffer[] = [];
  /** Free buffers kept at most (PIECE_POOL_MAX, more for small pieces). */
  private readonly poolMax: number;
  private readonly active = new Map<number, ActiveBuffer>();
  /** Buffers handed over to verification and writing (`take`), not yet released. */
  private verifyingCount = 0;

  constructor(private readonly pieceLength: number) {
    this.limit = bufferedPieceLimit(pieceLength);
    this.poolMax = Math.max(PIECE_POOL_MAX, Math.floor(PIECE_POOL_BYTES / pieceLength));
  }

  /** Pieces being verified and written: they hold their buffers, so they count against the limit. */
  get verifying(): number {
    return this.verifyingCount;
  }

  /** Pieces that may be started now, given the `active` ones (the picker's count, buffer or not yet). */
  room(active: number): number {
    return this.limit - active - this.verifyingCount;
  }

  /** The buffer of started piece `index`, taken on its first block; `now` marks it as making progress. */
  forBlock(index: number, now: number): Buffer {
    let a = this.active.get(index);
    if (a === undefined) {
      a = { buf: this.free.pop() ?? Buffer.allocUnsafe(this.pieceLength), lastBlockAt: now };
      this.active.set(index, a);
    } else a.lastBlockAt = now;
    return a.buf;
  }

  /** Hands the buffer of a complete piece over to verification; it comes back with `release`. */
  take(index: number): Buffer | undefined {
    const a = this.active.get(index);
    if (a === undefined) return undefined;
    this.active.delete(index);
    this.verifyingCount++;
    return a.buf;
  }

  /** A taken buffer whose piece was written or failed. */
  release(buf: Buffer): void {
    this.verifyingCount--;
    this.recycle(buf);
  }

  /** Started pieces with a buffer that got no block for `ms` (candidates for the picker's `abandon`). */
  stalled(now: number, ms: number): number[] {
    const out: number[] = [];
    for (const [index, a] of this.active) if (now - a.lastBlockAt > ms) out.push(index);
    return out;
  }

  /** Drops the buffer of an abandoned piece. */
  drop(index: number): void {
    const a = this.active.get(index);
    if (a === undefined) return;
    this.active.delete(index);
    this.recycle(a.buf);
  }

  /** Returns the buffers of every half-received piece (a disk error: nothing more will be stored). */
  releaseActive(): void {
    const held = [...this.active.values()];
    this.active.clear();
    for (const a of held) this.recycle(a.buf);
  }

  /** Frees the pooled buffers (the download is done: seeding reads from storage, not from piece buffers). */
  freePool(): void {
    this.free.length = 0;
  }

  /** Forgets everything (close). */
  clear(): void {
    this.active.clear();
    this.free.length = 0;
  }

  /** Pools a buffer while buffers in use and pooled stay within the limit. */
  private recycle(buf: Buffer): void {
    if (this.free.length < this.poolMax && this.free.length + this.active.size + this.verifyingCount < this.limit) this.free.push(buf);
  }
}
