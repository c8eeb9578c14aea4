import type { TorrentLayout } from '../layout.js';

/**
 * Where a torrent's bytes live. Offsets are piece-relative; the backend maps them to files.
 * Writes of one piece may cross file boundaries; padding files are skipped.
 */
export interface TorrentStorage {
  /** Writes `chunks` back to back starting at `offset` within `piece`. Chunks are not retained after the promise settles. */
  write(piece: number, offset: number, chunks: readonly Uint8Array[]): Promise<void>;
  /** Reads `length` bytes at `offset` within `piece`. Unwritten regions read as zeros. */
  read(piece: number, offset: number, length: number): Promise<Buffer>;
  /** Flushes and closes every handle. Idempotent. */
  close(): Promise<void>;
}

/** Opens a storage for one torrent's layout. */
export interface StorageFactory {
  open(layout: TorrentLayout): Promise<TorrentStorage>;
}
