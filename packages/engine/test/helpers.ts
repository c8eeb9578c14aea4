import { parseMetainfo } from '@tc/codec';
import type { TestTorrent } from '@tc/testkit/swarm-fixture';
import { MemoryStorage, memoryStorage } from '../src/storage/memory.js';
import { Session, sourceFromMetainfo, type SessionOptions, type TorrentSource } from '../src/session.js';
import type { StorageFactory } from '../src/storage/types.js';
import { pieceSize } from '../src/layout.js';

export function sourceOf(t: TestTorrent): TorrentSource {
  return sourceFromMetainfo(parseMetainfo(t.torrent).metainfo);
}

/** A session bound to loopback only, as every test must be. */
export function loopbackSession(opts: SessionOptions = {}): Promise<Session> {
  return Session.create({ listenHost4: '127.0.0.1', listenHost6: null, ...opts });
}

/** A memory storage pre-filled with the torrent's data (a seeder's disk). */
export function filledStorage(t: TestTorrent, src: TorrentSource, pieces?: (i: number) => boolean): StorageFactory & { last: MemoryStorage | undefined } {
  const f = memoryStorage();
  return {
    get last() {
      return f.last;
    },
    async open(layout) {
      const s = (await f.open(layout)) as MemoryStorage;
      for (let i = 0; i < layout.pieceCount; i++) {
        if (pieces !== undefined && !pieces(i)) continue;
        const off = i * layout.pieceLength;
        await s.write(i, 0, [t.data.subarray(off, off + pieceSize(src.layout, i))]);
      }
      return s;
    },
  };
}

/** Concatenates a memory storage's pieces. */
export function memoryContents(s: MemoryStorage): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < s.layout.pieceCount; i++) parts.push(s.pieces.get(i) ?? Buffer.alloc(pieceSize(s.layout, i)));
  return Buffer.concat(parts);
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}
