import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { TorrentState } from '../torrent/states.js';
import type { TorrentEvents } from '../torrent/types.js';
import { EngineError } from '../errors.js';
import { makeLayout } from '../layout.js';
import { FileStream, STREAM_CHUNK_BYTES, type StreamSource } from './file-stream.js';
import { StreamPriorities } from './priorities.js';

const PIECE = 64 * 1024;
const layout = makeLayout({
  pieceLength: PIECE,
  files: [
    { path: ['a'], length: 100_000 },
    { path: ['b'], length: 10 * PIECE - 100_000 },
  ],
  pieceHashes: new Uint8Array(20 * 10),
});
const data = Buffer.from(Array.from({ length: 10 * PIECE }, (_, i) => (i * 7 + (i >> 9)) & 0xff));

/** A torrent as the stream sees it: pieces arrive when the test says, reads are counted. */
function fakeTorrent(held: Set<number>) {
  const events = new EventEmitter<TorrentEvents>();
  let state: TorrentState = { kind: 'downloading' };
  const urgent: number[][] = [];
  const reads: { piece: number; offset: number; length: number }[] = [];
  const priorities = new StreamPriorities({
    picker: { setUrgent: (u) => urgent.push([...u]), setWanted: () => undefined, pieceState: () => 'queued', hasPiece: (i) => held.has(i) },
    changed: () => undefined,
  });
  const src: StreamSource = {
    layout,
    picker: { hasPiece: (i) => held.has(i) },
    priorities,
    read: (piece, offset, length) => {
      reads.push({ piece, offset, length });
      return Promise.resolve(Buffer.from(data.subarray(piece * PIECE + offset, piece * PIECE + offset + length)));
    },
    state: () => state,
    events,
  };
  return {
    src,
    urgent,
    reads,
    priorities,
    arrive(i: number) {
      held.add(i);
      events.emit('piece-verified', { index: i });
    },
    setState(s: TorrentState) {
      state = s;
      events.emit('state', s);
    },
  };
}

function collect(s: FileStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (c: Buffer) => parts.push(c));
  return new Promise((resolve, reject) => {
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', reject);
  });
}

describe('FileStream', () => {
  it('reads a range across pieces and files’ boundaries byte for byte', async () => {
    const f = fakeTorrent(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const got = await collect(new FileStream(f.src, 1, { start: 10, end: 300_000 }));
    expect(got.equals(data.subarray(100_010, 400_001))).toBe(true);
    expect(f.reads.every((r) => r.length <= STREAM_CHUNK_BYTES && r.offset + r.length <= PIECE)).toBe(true);
    expect(f.priorities.readers).toBe(0);
  });

  it('waits for the piece it needs (its window first), and reads it once it is verified', async () => {
    const f = fakeTorrent(new Set([0]));
    const s = new FileStream(f.src, 0, { windowBytes: 2 * PIECE });
    const done = collect(s);
    await new Promise((r) => setImmediate(r));
    expect(f.reads).toHaveLength(1); // piece 0 only
    await new Promise((r) => setImmediate(r));
    expect(f.urgent.at(-1)).toEqual([1]);
    f.arrive(1);
    expect((await done).equals(data.subarray(0, 100_000))).toBe(true);
    expect(f.urgent.at(-1)).toEqual([]);
  });

  it('reads no further than the consumer takes (backpressure)', async () => {
    const f = fakeTorrent(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    const s = new FileStream(f.src, 1, { highWaterMark: 1024 });
    await new Promise((r) => s.once('readable', r));
    await new Promise((r) => setImmediate(r));
    expect(f.reads).toHaveLength(1);
    s.destroy();
    expect(f.priorities.readers).toBe(0);
  });

  it('fails with ENGINE_CLOSED when the torrent closes, and with the disk error in upload-only', async () => {
    const f = fakeTorrent(new Set());
    const a = collect(new FileStream(f.src, 0)).catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    f.setState({ kind: 'closed' });
    expect(await a).toMatchObject({ code: 'ENGINE_CLOSED' });

    const g = fakeTorrent(new Set());
    const b = collect(new FileStream(g.src, 1)).catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    g.setState({ kind: 'upload-only', error: new EngineError('ENGINE_DISK', 'disk full') });
    expect(await b).toMatchObject({ code: 'ENGINE_DISK' });
    expect(g.priorities.readers).toBe(0);
  });

  it('ends at once on an empty range', async () => {
    const f = fakeTorrent(new Set());
    expect((await collect(new FileStream(f.src, 0, { start: 100_000 }))).length).toBe(0);
  });
});
