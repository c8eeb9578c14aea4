import type { TorrentLayout } from '../layout.js';
import { pieceSize } from '../layout.js';
import type { StorageFactory, TorrentStorage } from './types.js';

/** Keeps pieces in memory: for tests, and as the reference the fs backend is checked against. */
export class MemoryStorage implements TorrentStorage {
  readonly pieces = new Map<number, Buffer>();
  closed = false;
  writes = 0;
  syncs = 0;

  constructor(readonly layout: TorrentLayout) {}

  private piece(i: number): Buffer {
    let p = this.pieces.get(i);
    if (p === undefined) {
      p = Buffer.alloc(pieceSize(this.layout, i));
      this.pieces.set(i, p);
    }
    return p;
  }

  write(piece: number, offset: number, chunks: readonly Uint8Array[]): Promise<void> {
    const p = this.piece(piece);
    let at = offset;
    for (const c of chunks) {
      if (at + c.length > p.length) return Promise.reject(new RangeError('write past piece end'));
      p.set(c, at);
      at += c.length;
    }
    this.writes++;
    return Promise.resolve();
  }

  read(piece: number, offset: number, length: number): Promise<Buffer> {
    const p = this.piece(piece);
    if (offset + length > p.length) return Promise.reject(new RangeError('read past piece end'));
    return Promise.resolve(Buffer.from(p.subarray(offset, offset + length)));
  }

  /** Nothing to make durable; counted so tests can see a caller asked. */
  sync(): Promise<void> {
    this.syncs++;
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}

export function memoryStorage(): StorageFactory & { last: MemoryStorage | undefined } {
  const f = {
    last: undefined as MemoryStorage | undefined,
    open(layout: TorrentLayout): Promise<TorrentStorage> {
      const s = new MemoryStorage(layout);
      f.last = s;
      return Promise.resolve(s);
    },
  };
  return f;
}
