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
  /**
   * Makes every write that completed before the call durable (fdatasync), including the folder
   * entries of files it created, so resume data saved afterwards never claims a piece a power cut
   * could still lose. Syncs run one after another; a sync after `close()` still works.
   */
  sync(): Promise<void>;
  /** Closes every handle (without syncing: call `sync()` for durability). Idempotent. */
  close(): Promise<void>;
}

/** Opens a storage for one torrent's layout. */
export interface StorageFactory {
  open(layout: TorrentLayout): Promise<TorrentStorage>;
}
