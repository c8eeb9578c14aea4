/** Free piece buffers kept for reuse: enough for the pieces in flight on a fast link, so the steady state allocates nothing. */
export const PIECE_POOL_MAX = 16;

/**
 * The contiguous buffers of active pieces: blocks are copied in as they arrive (the connection's
 * read buffer is reused), and the whole piece is hashed and written from it. Buffers are reused
 * (allocating 1 MiB per piece churns the GC at hundreds of MB/s).
 */
export class PieceBuffers {
  private readonly free: Buffer[] = [];
  private readonly active = new Map<number, Buffer>();

  constructor(private readonly pieceLength: number) {}

  /** The buffer of active piece `index`, taken on its first block. */
  forBlock(index: number): Buffer {
    let buf = this.active.get(index);
    if (buf === undefined) {
      buf = this.free.pop() ?? Buffer.allocUnsafe(this.pieceLength);
      this.active.set(index, buf);
    }
    return buf;
  }

  /** Hands the buffer of a complete piece over to verification; it comes back with `release`. */
  take(index: number): Buffer | undefined {
    const buf = this.active.get(index);
    this.active.delete(index);
    return buf;
  }

  /** A buffer whose piece was written or failed: back to the pool. */
  release(buf: Buffer): void {
    if (this.free.length < PIECE_POOL_MAX) this.free.push(buf);
  }

  /** Returns the buffers of every half-received piece (a disk error: nothing more will be stored). */
  releaseActive(): void {
    for (const buf of this.active.values()) this.release(buf);
    this.active.clear();
  }

  /** Forgets everything (close). */
  clear(): void {
    this.active.clear();
    this.free.length = 0;
  }
}
