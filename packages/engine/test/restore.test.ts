import { EventEmitter } from 'node:events';
import { access, open, readFile, truncate, utimes, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bitfield } from '@tc/wire';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { ManualClock } from '../src/clock.js';
import { restore, ResumeKeeper } from '../src/resume/restore.js';
import { decodeResume } from '../src/resume/format.js';
import { resumePath, TEMP_SUFFIX } from '../src/resume/store.js';
import { MemoryStorage } from '../src/storage/memory.js';
import { until } from '@tc/testkit/wait';
import type { TorrentSource } from '../src/session.js';
import type { Torrent } from '../src/torrent/torrent.js';
import { FsStorage } from '../src/storage/fs.js';
import { inlineVerifier } from '../src/verify.js';
import { sourceOf } from './helpers.js';

let t: TestTorrent;
let src: TorrentSource;
let work: { path: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  work = await tempDir('tc-restore-');
  t = createTestTorrent({
    name: 'r',
    pieceLength: 32 * 1024,
    files: [
      { path: ['one.bin'], length: 100_000 },
      { path: ['two.bin'], length: 70_000 },
    ],
    seed: 5,
  });
  src = sourceOf(t);
});
afterAll(async () => work?.cleanup());

async function restoreIn(dir: string, recheck = false) {
  const storage = new FsStorage(src.layout, dir);
  try {
    return await restore({ dir, name: 'r', infoHash: src.infoHash, layout: src.layout, storage, verifier: inlineVerifier, recheck });
  } finally {
    await storage.close();
  }
}

async function saveAll(dir: string, have: Bitfield): Promise<void> {
  const storage = new FsStorage(src.layout, dir);
  const k = new ResumeKeeper({ dir, name: 'r', infoHash: src.infoHash, layout: src.layout, clock: new ManualClock(), storage, have });
  await k.flush();
  await storage.close();
}

/** Just what the keeper uses of a Torrent: its piece-verified and state events and its totals. */
function fakeTorrent(): EventEmitter & { stats: () => { uploaded: number; downloaded: number } } {
  return Object.assign(new EventEmitter(), { stats: () => ({ uploaded: 0, downloaded: 0 }) });
}

/** Pieces a resume file (or its temp) claims. */
async function claims(path: string): Promise<number[]> {
  const r = decodeResume(await readFile(path), { ...src.layout, infoHash: src.infoHash });
  if (!r.ok) throw new Error(`resume file unreadable: ${r.message}`);
  return [...Bitfield.fromWire(r.resume.have, src.layout.pieceCount).indices()];
}

/**
 * Memory storage that models the page cache: a write is durable only once a sync that began after
 * it has completed. Each sync waits for the test to release it.
 */
class GatedSyncStorage extends MemoryStorage {
  readonly durable = new Set<number>();
  readonly gates: (() => void)[] = [];
  private readonly unsynced = new Set<number>();

  override async write(piece: number, offset: number, chunks: readonly Uint8Array[]): Promise<void> {
    await super.write(piece, offset, chunks);
    this.unsynced.add(piece);
  }

  override sync(): Promise<void> {
    const covered = [...this.unsynced];
    this.unsynced.clear();
    return new Promise((resolve) =>
      this.gates.push(() => {
        for (const p of covered) this.durable.add(p);
        resolve();
      }),
    );
  }
}

describe('restore (resume file or re-check)', () => {
  const all = () => {
    const b = new Bitfield(src.layout.pieceCount);
    for (let i = 0; i < src.layout.pieceCount; i++) b.set(i);
    return b;
  };

  it('nothing on disk: a fresh start, nothing hashed', async () => {
    const r = await restoreIn(`${work.path}/empty`);
    expect(r).toMatchObject({ source: 'fresh', checked: 0, rejected: undefined });
    expect(r.have.count).toBe(0);
  });

  it('data without a resume file is re-checked; a saved resume file is then trusted without hashing', async () => {
    const dir = `${work.path}/full`;
    await t.writeTo(dir);
    const first = await restoreIn(dir);
    expect(first).toMatchObject({ source: 'recheck', checked: src.layout.pieceCount, checkedOk: src.layout.pieceCount });
    await saveAll(dir, first.have);
    const second = await restoreIn(dir);
    expect(second).toMatchObject({ source: 'resume', checked: 0, fromResume: src.layout.pieceCount });
    // --recheck hashes everything regardless.
    expect(await restoreIn(dir, true)).toMatchObject({ source: 'recheck', checked: src.layout.pieceCount });
  });

  it('a changed file is stale: its pieces are re-checked, the other file keeps its trusted pieces, damage is found', async () => {
    const dir = `${work.path}/stale`;
    await t.writeTo(dir);
    await saveAll(dir, all());
    const fh = await open(t.pathOf(dir, t.files[1]!), 'r+');
    await fh.write(Buffer.alloc(10, 1), 0, 10, 50_000);
    await fh.close();
    await utimes(t.pathOf(dir, t.files[1]!), new Date(), new Date(Date.now() + 5_000));
    const r = await restoreIn(dir);
    expect(r.rejected?.reason).toBe('stale-files');
    // Pieces wholly in one.bin (0–2) are trusted; pieces touching two.bin are hashed; the damaged one fails.
    expect(r.fromResume).toBe(3);
    const damaged = Math.floor((100_000 + 50_000) / (32 * 1024));
    expect(r.have.has(damaged)).toBe(false);
    expect(r.have.count).toBe(src.layout.pieceCount - 1);
  });

  it('a truncated file or a garbage resume file is never trusted', async () => {
    const dir = `${work.path}/lies`;
    await t.writeTo(dir);
    await saveAll(dir, all());
    await truncate(t.pathOf(dir, t.files[0]!), 1_000);
    const r = await restoreIn(dir);
    expect(r.rejected?.reason).toBe('stale-files');
    expect(r.have.has(0)).toBe(false);
    for (const junk of ['', 'garbage', 'd6:format9:tc-resumee']) {
      await writeFile(resumePath(dir, 'r'), junk);
      const g = await restoreIn(dir);
      expect(g.rejected?.reason).toMatch(/empty|corrupt|unsupported-version/);
      expect(g.fromResume).toBe(0);
      expect(g.source).toBe('recheck');
    }
  });

  it('the keeper saves after a burst of pieces or a few seconds, not for every piece', async () => {
    const dir = `${work.path}/keeper`;
    await t.writeTo(dir);
    const clock = new ManualClock();
    const storage = new MemoryStorage(src.layout);
    const k = new ResumeKeeper({
      dir,
      name: 'r',
      infoHash: src.infoHash,
      layout: src.layout,
      clock,
      storage,
      have: new Bitfield(src.layout.pieceCount),
      savePieces: 3,
      saveMs: 1_000,
    });
    const fake = fakeTorrent();
    k.attach(fake as unknown as Torrent);
    fake.emit('piece-verified', { index: 0 });
    await k.settled();
    expect(storage.syncs).toBe(0); // no save started: one piece is below the burst, and no time has passed
    expect((await restoreIn(dir)).fromResume).toBe(0); // no resume file: re-check
    clock.advance(1_000);
    await k.settled();
    expect(storage.syncs).toBe(1);
    const after = await restoreIn(dir);
    expect([after.rejected, after.fromResume, after.checked]).toEqual([undefined, 1, 0]);
    expect(after.source).toBe('resume');
    // A burst of savePieces saves at once, without the timer.
    for (const index of [1, 2, 3]) fake.emit('piece-verified', { index });
    await k.settled();
    expect((await restoreIn(dir)).fromResume).toBe(4);
    // A pause saves at once, without waiting for the timer.
    fake.emit('piece-verified', { index: 4 });
    fake.emit('state', { kind: 'paused' });
    await k.settled();
    expect((await restoreIn(dir)).fromResume).toBe(5);
    expect(storage.syncs).toBe(3);
    await k.flush();
  });

  it('the resume file never claims a piece before a sync that covers its write has completed', async () => {
    const dir = `${work.path}/ordering`;
    await t.writeTo(dir);
    const file = resumePath(dir, 'r');
    const storage = new GatedSyncStorage(src.layout);
    const violations: string[] = [];
    const k = new ResumeKeeper({
      dir,
      name: 'r',
      infoHash: src.infoHash,
      layout: src.layout,
      clock: new ManualClock(),
      storage,
      have: new Bitfield(src.layout.pieceCount),
      savePieces: 1,
      // Just before a save becomes the resume file: everything it claims must be durable by now.
      writeHooks: {
        beforeRename: async () => {
          for (const p of await claims(file + TEMP_SUFFIX)) if (!storage.durable.has(p)) violations.push(`piece ${p} claimed before its sync`);
        },
      },
    });
    const fake = fakeTorrent();
    k.attach(fake as unknown as Torrent);
    const block = (i: number): Buffer => t.data.subarray(i * src.layout.pieceLength, i * src.layout.pieceLength + 16);
    // As the torrent does: the write finishes, then the piece is verified.
    await storage.write(0, 0, [block(0)]);
    fake.emit('piece-verified', { index: 0 });
    await until(
      () => `the first sync (${violations.join('; ') || 'no claims yet'})`,
      () => storage.gates.length === 1,
    );
    // Piece 1 lands while that sync runs: the sync does not cover it.
    await storage.write(1, 0, [block(1)]);
    fake.emit('piece-verified', { index: 1 });
    expect(
      await access(file).then(
        () => true,
        () => false,
      ),
    ).toBe(false); // nothing saved while the sync is pending
    storage.gates[0]!();
    await until('the second sync', () => storage.gates.length === 2);
    expect(await claims(file)).toEqual([0]);
    storage.gates[1]!();
    await k.settled();
    expect(await claims(file)).toEqual([0, 1]);
    expect(violations).toEqual([]);
    // The final save syncs too (nothing left to cover).
    const flushed = k.flush();
    await until('the final sync', () => storage.gates.length === 3);
    storage.gates[2]!();
    await flushed;
    expect(violations).toEqual([]);
  });
});
