import { access, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '@tc/clock';
import { resumeFileFor, type Session } from '@tc/engine';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { Job, JobError, PART_SUFFIX, type JobOptions } from '../src/index.js';
import { loopbackSession, metainfoOf, nextEvent, openFds, recordEvents, seedInMemory } from './helpers.js';

/** Long enough never to fire in these tests unless a test means it to (they drive time with a manual clock). */
const NEVER_MS = 3_600_000;

let seeder: Session;
let pack: TestTorrent;
let other: TestTorrent;
let work: { path: string; cleanup: () => Promise<void> };
/** tc's state folder for these jobs (JobOptions.stateDir). */
let state: string;
let savedXdg: string | undefined;
/** Sessions a test opened, closed after it even when it fails. */
const sessions: Session[] = [];

beforeAll(async () => {
  work = await tempDir('tc-job-');
  state = join(work.path, 'state');
  // Jobs that name no stateDir use stateFolder(): here, never the user's own.
  savedXdg = process.env.XDG_STATE_HOME;
  process.env.XDG_STATE_HOME = join(work.path, 'default-state');
  pack = createTestTorrent({
    name: 'pack',
    pieceLength: 32 * 1024,
    files: [
      { path: ['readme.txt'], length: 500 },
      { path: ['data', 'blob.bin'], length: 300_000 },
      { path: ['empty.txt'], length: 0 },
    ],
    seed: 5,
  });
  other = createTestTorrent({ name: 'other.bin', pieceLength: 16 * 1024, length: 150_000, seed: 6 });
  seeder = await loopbackSession();
  await seedInMemory(seeder, pack);
  await seedInMemory(seeder, other);
});

afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await seeder?.close();
  await work?.cleanup();
  if (savedXdg === undefined) delete process.env.XDG_STATE_HOME;
  else process.env.XDG_STATE_HOME = savedXdg;
});

async function leecher(): Promise<Session> {
  const s = await loopbackSession();
  sessions.push(s);
  return s;
}

let dirs = 0;
/** A new empty folder under the test's work folder. */
const freshDir = (): string => join(work.path, `d${++dirs}`);

function fromSeeder(session: Session, t: TestTorrent, dir: string, extra: Partial<JobOptions> = {}): Job {
  return new Job({
    session,
    metainfo: metainfoOf(t),
    dir,
    stateDir: state,
    peers: [{ host: '127.0.0.1', port: seeder.port }],
    firstPeerTimeoutMs: NEVER_MS,
    ...extra,
  });
}

async function expectPack(dir: string): Promise<void> {
  expect((await readFile(join(dir, 'pack', 'readme.txt'))).equals(pack.data.subarray(0, 500))).toBe(true);
  expect((await readFile(join(dir, 'pack', 'data', 'blob.bin'))).equals(pack.data.subarray(500))).toBe(true);
  expect((await readFile(join(dir, 'pack', 'empty.txt'))).length).toBe(0);
}

describe('Job', () => {
  it("downloads into a folder: events in order, exact bytes, resume data saved, the torrent gone from the caller's session, which stays open", async () => {
    const session = await leecher();
    const dir = freshDir();
    const job = fromSeeder(session, pack, dir);
    const seen = recordEvents(job);
    const started = nextEvent(job, 'started');
    const run = job.run();
    const { torrent, port } = await started;
    expect(port).toBe(session.port);
    expect(job.torrent).toBe(torrent);
    expect(session.get(pack.infoHash)).toBe(torrent);
    const outcome = await run;
    expect(outcome).toMatchObject({ kind: 'done', stats: { piecesHave: 10, pieceCount: 10, downloaded: pack.data.length } });
    expect(seen).toEqual(['restored', 'started', 'download-end', 'stopping', 'end']);
    await expectPack(dir);
    // The resume data is in the state folder; the download folder holds the torrent's data only (issue 17).
    await access(await resumeFileFor(state, pack.infoHash, dir));
    expect(await readdir(dir)).toEqual(['pack']);
    expect(session.list()).toEqual([]);
    expect(job.phase).toBe('ended');
    expect(job.torrent).toBeUndefined();
    // The session is the caller's: still listening, and the next job can use it.
    const again = await fromSeeder(session, pack, dir).run();
    expect(again.kind).toBe('done');
  });

  it('a second job on the same folder trusts the resume data: complete without a peer or a re-check', async () => {
    const dir = freshDir();
    expect((await fromSeeder(await leecher(), pack, dir).run()).kind).toBe('done');
    const job = new Job({ session: await leecher(), metainfo: metainfoOf(pack), dir, stateDir: state, firstPeerTimeoutMs: NEVER_MS });
    const restored = nextEvent(job, 'restored');
    const checking: number[] = [];
    job.on('checking', (c) => checking.push(c.done));
    const outcome = await job.run();
    expect(await restored).toMatchObject({ source: 'resume', have: 10, pieceCount: 10, checked: 0, rejected: undefined });
    expect(checking).toEqual([]);
    expect(outcome).toMatchObject({ kind: 'done', stats: { downloaded: 0 } });
  });

  it("no peer within firstPeerTimeoutMs on the job's clock: no-peers, with each tracker's failure", async () => {
    const dead = createTestTorrent({ name: 'lonely.bin', length: 40_000, seed: 9, announce: ['http://127.0.0.1:1/announce'] });
    const clock = new ManualClock();
    const job = new Job({ session: await leecher(), metainfo: metainfoOf(dead), dir: freshDir(), firstPeerTimeoutMs: 60_000, clock });
    const ticks: number[] = [];
    job.on('status', (s) => ticks.push(s.elapsedMs));
    const failed = nextEvent(job, 'tracker-status', (s) => s.lastError !== undefined);
    const run = job.run();
    await failed;
    clock.advance(59_000);
    expect(job.phase).toBe('downloading');
    expect(ticks).toHaveLength(59);
    clock.advance(2_000);
    const outcome = await run;
    expect(outcome.kind).toBe('no-peers');
    if (outcome.kind !== 'no-peers') return;
    expect(outcome.elapsedMs).toBe(61_000);
    expect(outcome.trackers).toHaveLength(1);
    expect(outcome.trackers[0]).toMatchObject({ url: 'http://127.0.0.1:1/announce' });
    expect(outcome.trackers[0]!.lastError?.message).toMatch(/refused|ECONNREFUSED/i);
  });

  it('the signal stops a running download gracefully: interrupted, `stopping` first, the torrent removed', async () => {
    const session = await leecher();
    const ctl = new AbortController();
    // No peers: it would wait for ever.
    const job = new Job({ session, metainfo: metainfoOf(pack), dir: freshDir(), signal: ctl.signal });
    const stopping = nextEvent(job, 'stopping');
    job.on('started', () => ctl.abort());
    const outcome = await job.run();
    expect(await stopping).toEqual({ reason: 'interrupted', phase: 'downloading' });
    expect(outcome).toMatchObject({ kind: 'interrupted', stats: { piecesHave: 0 } });
    expect(session.list()).toEqual([]);
  });

  it('the session closed by its owner under a running job (a daemon shutting down) ends it as interrupted, downloading or seeding', async () => {
    const a = await leecher();
    const downloading = new Job({ session: a, metainfo: metainfoOf(pack), dir: freshDir() });
    const run = downloading.run();
    await nextEvent(downloading, 'started');
    await a.close();
    expect(await run).toMatchObject({ kind: 'interrupted', stats: { state: 'closed' } });

    const dir = freshDir();
    await other.writeTo(dir);
    const b = await leecher();
    const seeding = new Job({ session: b, metainfo: metainfoOf(other), dir, seedOnly: true, seedGoal: { kind: 'forever' } });
    const seedRun = seeding.run();
    await nextEvent(seeding, 'seeding');
    await b.close();
    expect(await seedRun).toMatchObject({ kind: 'seeded', until: 'interrupted' });
    // The resume data was saved after the close: the next start trusts it.
    const again = new Job({ session: await leecher(), metainfo: metainfoOf(other), dir, seedOnly: true });
    const restored = nextEvent(again, 'restored');
    const next = again.run();
    expect(await restored).toMatchObject({ source: 'resume', have: 10 });
    expect((await next).kind).toBe('done');
    // Seeding wrote nothing into the data folder: the resume data went to the default state folder.
    expect(await readdir(dir)).toEqual(['other.bin']);
    await access(await resumeFileFor(join(work.path, 'default-state', 'tc'), other.infoHash, dir));
  });

  it('the signal during a re-check: interrupted before anything is added, every file handle given back', async () => {
    const dir = freshDir();
    await pack.writeTo(dir);
    const session = await leecher();
    const ctl = new AbortController();
    const job = new Job({ session, metainfo: metainfoOf(pack), dir, signal: ctl.signal });
    const seen = recordEvents(job);
    job.on('checking', ({ done }) => {
      if (done === 1) ctl.abort();
    });
    const fds = openFds();
    const outcome = await job.run();
    expect(outcome).toMatchObject({ kind: 'interrupted', stats: undefined });
    expect(seen).toEqual(['checking', 'end']);
    expect(session.list()).toEqual([]);
    expect(openFds()).toBe(fds);
  });

  it('seedOnly on data that does not match: verify-failed, nothing added, every file handle given back', async () => {
    const dir = freshDir();
    await other.writeTo(dir);
    // Damage one piece in the middle: the file keeps its size, so every piece is hashed.
    const bytes = Buffer.from(other.data);
    bytes.fill(0, 40_000, 41_000);
    await writeFile(join(dir, 'other.bin'), bytes);
    const session = await leecher();
    const fds = openFds();
    const job = new Job({ session, metainfo: metainfoOf(other), dir, seedOnly: true, seedGoal: { kind: 'forever' } });
    const outcome = await job.run();
    expect(outcome).toMatchObject({ kind: 'verify-failed', have: 9, pieceCount: 10 });
    expect(session.list()).toEqual([]);
    expect(openFds()).toBe(fds);
  });

  it("seedOnly on complete data serves it: another session's job downloads it from this one; the signal then ends seeding (seeded, interrupted)", async () => {
    const dataDir = freshDir();
    await other.writeTo(dataDir);
    const seeding = await leecher();
    const ctl = new AbortController();
    const seedJob = new Job({ session: seeding, metainfo: metainfoOf(other), dir: dataDir, seedOnly: true, seedGoal: { kind: 'forever' }, signal: ctl.signal });
    const seen = recordEvents(seedJob);
    const isSeeding = nextEvent(seedJob, 'seeding');
    const seedRun = seedJob.run();
    expect(await isSeeding).toMatchObject({ uploadOnly: false });
    const getDir = freshDir();
    const get = new Job({ session: await leecher(), metainfo: metainfoOf(other), dir: getDir, peers: [{ host: '127.0.0.1', port: seeding.port }] });
    expect((await get.run()).kind).toBe('done');
    expect((await readFile(join(getDir, 'other.bin'))).equals(other.data)).toBe(true);
    ctl.abort();
    const outcome = await seedRun;
    expect(outcome).toMatchObject({ kind: 'seeded', until: 'interrupted' });
    expect(outcome.kind === 'seeded' && outcome.stats.uploaded).toBeGreaterThanOrEqual(other.data.length);
    expect(seen).toEqual(['checking', 'restored', 'started', 'download-end', 'seeding', 'seed-end', 'stopping', 'end']);
  });

  it("with a seed goal, a finished download seeds until the goal on the job's clock", async () => {
    const clock = new ManualClock();
    const job = fromSeeder(await leecher(), other, freshDir(), { seedGoal: { kind: 'time', ms: 5_000 }, clock });
    const seeding = nextEvent(job, 'seeding');
    const stopping = nextEvent(job, 'stopping');
    const run = job.run();
    await seeding;
    clock.advance(4_000);
    expect(job.phase).toBe('seeding');
    clock.advance(1_000);
    expect(await stopping).toEqual({ reason: 'goal', phase: 'seeding' });
    expect(await run).toMatchObject({ kind: 'seeded', until: 'goal', seedMs: 5_000 });
  });

  it("runs several jobs in one session side by side (the daemon's case), each to its own outcome", async () => {
    const session = await leecher();
    const a = fromSeeder(session, pack, freshDir());
    const b = fromSeeder(session, other, freshDir());
    // Both listeners first: b may start before a's 'started' is handled.
    const both = Promise.all([nextEvent(a, 'started'), nextEvent(b, 'started')]);
    const runs = Promise.all([a.run(), b.run()]);
    await both;
    expect(session.list()).toHaveLength(2);
    const [ra, rb] = await runs;
    expect(ra.kind).toBe('done');
    expect(rb.kind).toBe('done');
    expect(session.list()).toEqual([]);
  });

  it('refuses a second job for a torrent the session already runs, and leaves the first alone', async () => {
    const session = await leecher();
    const ctl = new AbortController();
    const first = new Job({ session, metainfo: metainfoOf(pack), dir: freshDir(), signal: ctl.signal });
    const firstRun = first.run();
    // Claimed at once, before the first job has even added its torrent.
    const second = await new Job({ session, metainfo: metainfoOf(pack), dir: freshDir() }).run();
    expect(second.kind).toBe('failed');
    expect(second.kind === 'failed' && second.error).toBeInstanceOf(JobError);
    expect(second.kind === 'failed' && second.error.code).toBe('JOB_ALREADY_RUNNING');
    await nextEvent(first, 'started');
    expect(first.phase).toBe('downloading');
    ctl.abort();
    expect((await firstRun).kind).toBe('interrupted');
  });

  it('with a selection, fetches only the pieces of the chosen files', async () => {
    const dir = freshDir();
    // readme.txt lies in piece 0 only (with the start of blob.bin).
    const job = fromSeeder(await leecher(), pack, dir, { selection: [0] });
    const selected = nextEvent(job, 'selected');
    const outcome = await job.run();
    expect(await selected).toEqual({ files: 1, fileCount: 3, wantedPieces: 1, pieceCount: 10, wantedBytes: 32 * 1024 });
    expect(outcome).toMatchObject({ kind: 'done', stats: { piecesHave: 1, downloaded: 32 * 1024 } });
    expect((await readFile(join(dir, 'pack', 'readme.txt'))).equals(pack.data.subarray(0, 500))).toBe(true);
    await expect(access(join(dir, 'pack', 'empty.txt'))).rejects.toMatchObject({ code: 'ENOENT' });
    // blob.bin's bytes of piece 0 are in the part file in the state folder, not in a sparse blob.bin (issue 17).
    expect(await readdir(join(dir, 'pack'))).toEqual(['readme.txt']);
    const part = (await resumeFileFor(state, pack.infoHash, dir)).replace(/\.tc-resume$/, PART_SUFFIX);
    await access(part);
    // The next run trusts its resume data (the parked bytes are vouched for by the part file).
    const again = fromSeeder(await leecher(), pack, dir, { selection: [0] });
    const restored = nextEvent(again, 'restored');
    expect((await again.run()).kind).toBe('done');
    expect(await restored).toMatchObject({ source: 'resume', have: 1, checked: 0 });
    // Everything selected: piece 0's blob.bin bytes move into place, only the rest is downloaded.
    const all = fromSeeder(await leecher(), pack, dir);
    const outcome2 = await all.run();
    expect(outcome2).toMatchObject({ kind: 'done', stats: { piecesHave: 10, downloaded: 9 * 32 * 1024 - (10 * 32 * 1024 - pack.data.length) } });
    await expectPack(dir);
    await expect(access(part)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a folder that cannot be written: disk-error (the torrent went upload-only), nothing left in the session', async () => {
    const file = join(work.path, 'a-file');
    await writeFile(file, 'x');
    const session = await leecher();
    const job = fromSeeder(session, pack, file);
    const end = nextEvent(job, 'download-end');
    const outcome = await job.run();
    expect((await end).kind).toBe('disk-error');
    expect(outcome).toMatchObject({ kind: 'disk-error', error: { code: 'ENGINE_DISK' }, seeded: undefined });
    expect(session.list()).toEqual([]);
  });

  it('refuses options out of bounds with JOB_BAD_OPTION, and runs only once', async () => {
    const session = await leecher();
    const base = { session, metainfo: metainfoOf(pack), dir: freshDir() };
    for (const bad of [
      { maxPeers: 0 },
      { firstPeerTimeoutMs: -1 },
      { selection: [3] },
      { selection: [] },
      { statusIntervalMs: 0 },
      { dir: '' },
      { stateDir: 'relative/state' },
      { seedOnly: true, selection: [0] },
    ]) {
      expect(() => new Job({ ...base, ...bad })).toThrow(expect.objectContaining({ code: 'JOB_BAD_OPTION' }));
    }
    const ctl = new AbortController();
    ctl.abort();
    const job = new Job({ ...base, signal: ctl.signal });
    expect((await job.run()).kind).toBe('interrupted');
    await expect(job.run()).rejects.toMatchObject({ code: 'JOB_BAD_OPTION' });
  });
});
