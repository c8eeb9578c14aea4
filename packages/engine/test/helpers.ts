import { parseMetainfo } from '@tc/codec';
import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { MemoryStorage, memoryStorage } from '../src/storage/memory.js';
import { Session, sourceFromMetainfo, type SessionOptions, type TorrentSource } from '../src/session.js';
import type { StorageFactory } from '../src/storage/types.js';
import { pieceSize } from '../src/layout.js';

export function sourceOf(t: TestTorrent): TorrentSource {
  return sourceFromMetainfo(parseMetainfo(t.torrent).metainfo);
}

/**
 * A session bound to loopback only, as every test must be. Plain TCP dials unless the test asks
 * (its fake peers speak plaintext TCP; the transport tests pass `transport` and `encryption`).
 */
export function loopbackSession(opts: SessionOptions = {}): Promise<Session> {
  return Session.create({ listenHost4: '127.0.0.1', listenHost6: null, transport: 'tcp', encryption: 'allow', ...opts });
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

/** Multi-file: files smaller than a piece, one spanning many pieces, a short last piece. */
export function multiFileTorrent(announce: string[]): TestTorrent {
  return createTestTorrent({
    name: 'interop',
    pieceLength: 64 * 1024,
    announce,
    seed: 7,
    files: [
      { path: ['a.txt'], length: 1_234 },
      { path: ['sub', 'big.bin'], length: 3 * 1024 * 1024 + 17 },
      { path: ['sub', 'small.bin'], length: 40_000 },
      { path: ['z.dat'], length: 9_999 },
    ],
  });
}

export async function expectSameFiles(t: TestTorrent, dir: string): Promise<void> {
  let off = 0;
  for (const f of t.files) {
    const got = await readFile(t.pathOf(dir, f));
    expect(got.length).toBe(f.length);
    expect(got.equals(t.data.subarray(off, off + f.length))).toBe(true);
    off += f.length;
  }
}
