import { EventEmitter } from 'node:events';
import { access, open, truncate, utimes, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bitfield } from '@tc/wire';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { ManualClock } from '../src/clock.js';
import { restore, ResumeKeeper } from '../src/resume/restore.js';
import { resumePath } from '../src/resume/store.js';
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
  const k = new ResumeKeeper({ dir, name: 'r', infoHash: src.infoHash, layout: src.layout, clock: new ManualClock(), have });
  await k.flush();
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
    const k = new ResumeKeeper({ dir, name: 'r', infoHash: src.infoHash, layout: src.layout, clock, have: new Bitfield(src.layout.pieceCount), savePieces: 3, saveMs: 1_000 });
    // Just what the keeper uses of a Torrent: its piece-verified event and its totals.
    const fake = Object.assign(new EventEmitter(), { stats: () => ({ uploaded: 0, downloaded: 0 }) });
    k.attach(fake as unknown as Torrent);
    fake.emit('piece-verified', { index: 0 });
    await new Promise((r) => setTimeout(r, 20));
    expect((await restoreIn(dir)).fromResume).toBe(0); // nothing saved yet (no resume file: re-check)
    clock.advance(1_000);
    // The save is an fsynced write: wait for the file (bounded).
    for (let i = 0; i < 100 && !(await access(resumePath(dir, 'r')).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 20));
    const after = await restoreIn(dir);
    expect([after.rejected, after.fromResume, after.checked]).toEqual([undefined, 1, 0]);
    expect(after.source).toBe('resume');
    expect(after.fromResume).toBe(1);
    // A pause saves at once, without waiting for the timer.
    fake.emit('piece-verified', { index: 1 });
    fake.emit('state', { kind: 'paused' });
    for (let i = 0; i < 100 && (await restoreIn(dir)).fromResume < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await restoreIn(dir)).fromResume).toBe(2);
    await k.flush();
  });
});
