import { lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bitfield } from '@tc/wire';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { ManualClock } from '../src/clock.js';
import { decodeResume } from '../src/resume/format.js';
import { canonicalFolder, migrateLegacyResume, RESUME_FOLDER, resumeFileFor } from '../src/resume/location.js';
import { restore, ResumeKeeper } from '../src/resume/restore.js';
import { resumePath, TEMP_SUFFIX } from '../src/resume/store.js';
import { FsStorage } from '../src/storage/fs.js';
import { stateFolder } from '../src/state-folder.js';
import type { TorrentSource } from '../src/session.js';
import { inlineVerifier } from '../src/verify.js';
import { sourceOf } from './helpers.js';

let t: TestTorrent;
let other: TestTorrent;
let src: TorrentSource;
let work: { path: string; cleanup: () => Promise<void> };
let n = 0;
/** A new folder pair: a download folder with the torrent's data in it, and a state folder. */
async function setup(withData = true): Promise<{ dir: string; state: string }> {
  const base = join(work.path, `c${++n}`);
  const dir = join(base, 'dl');
  await mkdir(dir, { recursive: true });
  if (withData) await t.writeTo(dir);
  return { dir, state: join(base, 'state') };
}

beforeAll(async () => {
  work = await tempDir('tc-resume-location-');
  t = createTestTorrent({
    name: 'r',
    pieceLength: 32 * 1024,
    files: [
      { path: ['one.bin'], length: 100_000 },
      { path: ['two.bin'], length: 70_000 },
    ],
    seed: 5,
  });
  other = createTestTorrent({ name: 'r', pieceLength: 32 * 1024, length: 50_000, seed: 6 });
  src = sourceOf(t);
});
afterAll(async () => work?.cleanup());

const expectR = (): Parameters<typeof decodeResume>[1] => ({ ...src.layout, infoHash: src.infoHash });

/** Writes the resume file as the earlier version did: `<dir>/r.tc-resume`, every piece verified. */
async function writeLegacy(dir: string, torrent: TestTorrent = t): Promise<Buffer> {
  const s = torrent === t ? src : sourceOf(torrent);
  const storage = new FsStorage(s.layout, dir);
  const have = new Bitfield(s.layout.pieceCount);
  for (let i = 0; i < s.layout.pieceCount; i++) have.set(i);
  // No resumeFile: the keeper writes beside the data, as every version before issue 17 did.
  const k = new ResumeKeeper({ dir, name: 'r', infoHash: s.infoHash, layout: s.layout, clock: new ManualClock(), storage, have });
  await k.flush();
  await storage.close();
  return readFile(resumePath(dir, 'r'));
}

async function restoreWith(dir: string, resumeFile: string, recheck = false) {
  const storage = new FsStorage(src.layout, dir);
  try {
    return await restore({ dir, name: 'r', resumeFile, infoHash: src.infoHash, layout: src.layout, storage, verifier: inlineVerifier, recheck });
  } finally {
    await storage.close();
  }
}

const exists = (p: string): Promise<boolean> =>
  lstat(p).then(
    () => true,
    () => false,
  );

describe('where resume data lives', () => {
  it('the state folder: $XDG_STATE_HOME/tc, else $HOME/.local/state/tc (a relative XDG value is ignored)', () => {
    expect(stateFolder({ XDG_STATE_HOME: '/x/state', HOME: '/h' })).toBe('/x/state/tc');
    expect(stateFolder({ XDG_STATE_HOME: 'rel', HOME: '/h' })).toBe('/h/.local/state/tc');
    expect(stateFolder({ HOME: '/h' })).toBe('/h/.local/state/tc');
  });

  it('one file per info-hash and download folder, under <state>/resume', async () => {
    const { dir, state } = await setup(false);
    const f = await resumeFileFor(state, src.infoHash, dir);
    expect(dirname(f)).toBe(join(state, RESUME_FOLDER));
    expect(f).toMatch(new RegExp(`/${Buffer.from(src.infoHash).toString('hex')}-[0-9a-f]{16}\\.tc-resume$`));
    expect(await resumeFileFor(state, Buffer.from(src.infoHash).toString('hex').toUpperCase(), dir)).toBe(f);
    expect(await resumeFileFor(state, src.infoHash, join(dir, 'x', '..'))).toBe(f);
    expect(await resumeFileFor(state, src.infoHash, join(dir, 'elsewhere'))).not.toBe(f);
    expect(await resumeFileFor(state, sourceOf(other).infoHash, dir)).not.toBe(f);
    await expect(resumeFileFor(state, 'not-a-hash', dir)).rejects.toMatchObject({ code: 'ENGINE_BAD_OPTION' });
  });

  it('a symlink and its target share one key; a folder keeps its key once it is created', async () => {
    const { dir, state } = await setup(false);
    const link = join(dirname(dir), 'link');
    await symlink(dir, link);
    expect(await canonicalFolder(link)).toBe(await canonicalFolder(dir));
    expect(await resumeFileFor(state, src.infoHash, link)).toBe(await resumeFileFor(state, src.infoHash, dir));
    const later = join(link, 'new', 'deeper');
    const before = await resumeFileFor(state, src.infoHash, later);
    await mkdir(later, { recursive: true });
    expect(await resumeFileFor(state, src.infoHash, later)).toBe(before);
    expect(await resumeFileFor(state, src.infoHash, join(dir, 'new', 'deeper'))).toBe(before);
  });

  it('the keeper writes only into the state folder (creating it), and restore trusts that file', async () => {
    const { dir, state } = await setup();
    const file = await resumeFileFor(state, src.infoHash, dir);
    const first = await restoreWith(dir, file);
    expect(first).toMatchObject({ source: 'recheck', checkedOk: src.layout.pieceCount, migrated: 'none' });
    const storage = new FsStorage(src.layout, dir);
    const k = new ResumeKeeper({
      dir,
      name: 'r',
      resumeFile: file,
      infoHash: src.infoHash,
      layout: src.layout,
      clock: new ManualClock(),
      storage,
      have: first.have,
    });
    await k.flush();
    await storage.close();
    expect((await readdir(dir)).sort()).toEqual(['r']);
    expect(await readdir(dirname(file))).toEqual([file.slice(dirname(file).length + 1)]);
    expect(await restoreWith(dir, file)).toMatchObject({ source: 'resume', fromResume: src.layout.pieceCount, checked: 0 });
  });
});

describe('migrating a resume file an earlier version left in the download folder', () => {
  it('is read once, moved into the state folder, and removed: the next start trusts it without hashing', async () => {
    const { dir, state } = await setup();
    const old = await writeLegacy(dir);
    // A temp file a crash of the old version left beside it goes too.
    await writeFile(resumePath(dir, 'r') + TEMP_SUFFIX, 'half');
    const file = await resumeFileFor(state, src.infoHash, dir);
    const r = await restoreWith(dir, file);
    expect(r).toMatchObject({ migrated: 'moved', source: 'resume', fromResume: src.layout.pieceCount, checked: 0, rejected: undefined });
    expect((await readdir(dir)).sort()).toEqual(['r']);
    expect((await readFile(file)).equals(old)).toBe(true);
    // Once: nothing is left to migrate.
    expect(await restoreWith(dir, file)).toMatchObject({ migrated: 'none', source: 'resume' });
  });

  it('also under --recheck (the file leaves the folder either way)', async () => {
    const { dir, state } = await setup();
    await writeLegacy(dir);
    const file = await resumeFileFor(state, src.infoHash, dir);
    expect(await restoreWith(dir, file, true)).toMatchObject({ migrated: 'moved', source: 'recheck' });
    expect(await exists(resumePath(dir, 'r'))).toBe(false);
  });

  it("when the state folder already has this torrent's data, the old file is only removed", async () => {
    const { dir, state } = await setup();
    const file = await resumeFileFor(state, src.infoHash, dir);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, 'newer');
    await writeLegacy(dir);
    expect(await migrateLegacyResume(resumePath(dir, 'r'), file, expectR())).toBe('removed');
    expect(await readFile(file, 'utf8')).toBe('newer');
    expect(await exists(resumePath(dir, 'r'))).toBe(false);
  });

  it("another torrent's file of the same name is left alone; a corrupt one is moved and then judged as before", async () => {
    const { dir, state } = await setup();
    const otherBytes = await writeLegacy(dir, other);
    const file = await resumeFileFor(state, src.infoHash, dir);
    expect(await migrateLegacyResume(resumePath(dir, 'r'), file, expectR())).toBe('other-torrent');
    expect((await readFile(resumePath(dir, 'r'))).equals(otherBytes)).toBe(true);
    expect(await exists(file)).toBe(false);

    await writeFile(resumePath(dir, 'r'), 'not bencode');
    const r = await restoreWith(dir, file);
    expect(r).toMatchObject({ migrated: 'moved', source: 'recheck', rejected: { reason: 'corrupt' } });
    expect(await exists(resumePath(dir, 'r'))).toBe(false);
  });

  it('a symlink or a folder at the old name is not ours: nothing is moved', async () => {
    const { dir, state } = await setup();
    const file = await resumeFileFor(state, src.infoHash, dir);
    await symlink(join(dir, 'r', 'one.bin'), resumePath(dir, 'r'));
    expect(await migrateLegacyResume(resumePath(dir, 'r'), file, expectR())).toBe('none');
    expect(await exists(resumePath(dir, 'r'))).toBe(true);
    expect(await exists(file)).toBe(false);
  });
});
