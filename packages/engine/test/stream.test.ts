import { afterEach, describe, expect, it } from 'vitest';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { planPieces } from '../src/selection/selection.js';
import { memoryStorage } from '../src/storage/memory.js';
import type { Session } from '../src/session.js';
import type { Torrent } from '../src/torrent/torrent.js';
import type { Readable } from 'node:stream';
import { filledStorage, loopbackSession, range, sourceOf } from './helpers.js';

// Streaming while downloading (issue 14): a reader's range comes first, from a slow seeder.

const sessions: Session[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
});

/** 2 MiB in 64 pieces of 32 KiB, two files: at SEED_RATE_BPS the whole takes about 8 s. */
const t = createTestTorrent({
  pieceLength: 32 * 1024,
  files: [
    { path: ['a.bin'], length: 700_000 },
    { path: ['b.mkv'], length: 2 * 1024 * 1024 - 700_000 },
  ],
  seed: 14,
});
const SEED_RATE_BPS = 256 * 1024;

async function swarm(opts: { wanted?: Uint8Array } = {}): Promise<Torrent> {
  const src = sourceOf(t);
  const seeder = await loopbackSession({ uploadRateBps: SEED_RATE_BPS });
  sessions.push(seeder);
  await seeder.add(src, { storage: filledStorage(t, src), have: range(src.layout.pieceCount), noTrackers: true });
  const leecher = await loopbackSession();
  sessions.push(leecher);
  return leecher.add(src, {
    storage: memoryStorage(),
    noTrackers: true,
    peers: [{ host: '127.0.0.1', port: seeder.port }],
    ...(opts.wanted !== undefined ? { wanted: opts.wanted } : {}),
  });
}

/** Reads a stream to its end; `atEnd` runs at the moment the last byte arrived. */
function collect(s: Readable, atEnd: () => void = () => undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    s.on('data', (c: Buffer) => parts.push(c));
    s.on('end', () => {
      atEnd();
      resolve(Buffer.concat(parts));
    });
    s.on('error', reject);
  });
}

describe('createReadStream', () => {
  it('serves a range in the middle of a file byte for byte long before the download completes', async () => {
    const tor = await swarm();
    const start = 300_000;
    const end = 500_000; // inclusive
    let piecesAtEnd = -1;
    const got = await collect(tor.createReadStream(1, { start, end, windowBytes: 64 * 1024 }), () => (piecesAtEnd = tor.stats().piecesHave));
    expect(got.equals(t.data.subarray(700_000 + start, 700_000 + end + 1))).toBe(true);
    // The range spans 7 pieces of 64; the rest had not come when the reader was done.
    expect(piecesAtEnd).toBeLessThan(tor.layout.pieceCount / 2);
    await tor.done;
  });

  it('fetches a file that is not selected, even once the selection is complete', async () => {
    const src = sourceOf(t);
    const plan = planPieces(src.layout, [0]);
    const tor = await swarm({ wanted: plan.wanted });
    await tor.done;
    expect(tor.state.kind).toBe('seeding');
    const got = await collect(tor.createReadStream(1, { end: 99_999 }));
    expect(got.equals(t.data.subarray(700_000, 800_000))).toBe(true);
    // Its pieces were given back: the torrent is a seed of what it holds again.
    await expect.poll(() => tor.state.kind).toBe('seeding');
    expect(tor.picker.pieceState(tor.layout.pieceCount - 1)).toBe('skipped');
  });

  it('ends with ENGINE_CLOSED when the torrent closes while it waits', async () => {
    const tor = await swarm();
    const s = tor.createReadStream(1, { start: 1_300_000 });
    const failed = collect(s).then(
      () => undefined,
      (e: unknown) => e,
    );
    await tor.close();
    expect(await failed).toMatchObject({ code: 'ENGINE_CLOSED' });
  });

  it('refuses a bad file index or range', async () => {
    const tor = await swarm();
    expect(() => tor.createReadStream(2)).toThrow(/no file 2/);
    expect(() => tor.createReadStream(0, { start: 700_001 })).toThrow(/outside file 0/);
    expect(() => tor.createReadStream(0, { end: 700_000 })).toThrow(/outside file 0/);
    expect(() => tor.createReadStream(0, { start: 10, end: 5 })).toThrow(/before start/);
  });
});
