import { describe, expect, it } from 'vitest';
import { captureIo, type CapturedIo } from '@tc/cli';
import { parseMetainfo } from '@tc/codec';
import { EngineError, type Session, type TorrentStats } from '@tc/engine';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { JobError } from '../errors.js';
import { Job } from '../job.js';
import type { JobOutcome } from '../types.js';
import { JobConsole, type ConsoleFlags } from './console.js';

const t = createTestTorrent({ name: 'show\u202egnp.exe', pieceLength: 16 * 1024, length: 40_000, seed: 2 });
const metainfo = parseMetainfo(t.torrent).metainfo;

const stats: TorrentStats = {
  state: 'seeding',
  pieceCount: 3,
  piecesHave: 3,
  totalBytes: 40_000,
  haveBytes: 40_000,
  downloaded: 40_000,
  uploaded: 80_000,
  left: 0,
  downRateBps: 0,
  upRateBps: 0,
  peers: 1,
  peersUsed: 1,
  candidates: 1,
  hashFailures: 0,
  wasteBytes: 0,
  endgame: false,
};

const FLAGS: ConsoleFlags = { quiet: false, json: false, verbose: false, progress: 'none', recheck: false, firstPeerTimeoutS: 60 };

/** A console on a job that is never run: the test emits the job's events itself. */
function view(flags: Partial<ConsoleFlags> = {}, seedOnly = false): { job: Job; io: CapturedIo; console: JobConsole } {
  // The session is only used by run(), which these tests never call.
  const job = new Job({ session: {} as Session, metainfo, dir: '/data' });
  const io = captureIo();
  const console = new JobConsole(job, { io, metainfo, flags: { ...FLAGS, ...flags }, seedOnly, dir: '/data', where: '/data/x', source: 'x.torrent' });
  return { job, io, console };
}

describe('JobConsole', () => {
  it('maps each outcome to its exit code and one line', () => {
    const disk = new EngineError('ENGINE_DISK', 'cannot write x: ENOSPC');
    const cases: [JobOutcome, number, RegExp][] = [
      [{ kind: 'done', stats, elapsedMs: 2_000 }, 0, /^$/],
      // CLI.md: an interrupted run exits 130, seeding included (issue 17); the summary is still printed.
      [{ kind: 'seeded', until: 'interrupted', stats, elapsedMs: 9_000, seedMs: 7_000 }, 130, /^$/],
      [{ kind: 'seeded', until: 'goal', stats, elapsedMs: 9_000, seedMs: 7_000 }, 0, /^$/],
      [{ kind: 'interrupted', stats, elapsedMs: 1 }, 130, /^$/],
      [
        { kind: 'no-peers', stats, trackers: [], elapsedMs: 61_000 },
        4,
        /^error: no peers found within 60 s \(the torrent lists no trackers\)\nhint: .*tc-debug-tracker/,
      ],
      [{ kind: 'disk-error', error: disk, stats, elapsedMs: 1, seeded: undefined }, 5, /^error: download failed: cannot write x: ENOSPC\n/],
      [{ kind: 'seed-failed', error: disk, stats, elapsedMs: 1, seedMs: 1 }, 5, /^error: seeding failed: cannot write x: ENOSPC\n/],
      [{ kind: 'verify-failed', have: 1, pieceCount: 3, elapsedMs: 1 }, 6, /^error: \/data: only 1 of 3 pieces match the torrent\nhint: DATA must be/],
      [
        { kind: 'failed', error: new EngineError('ENGINE_UNSAFE_PATH', 'folder of a resolves outside the download folder'), elapsedMs: 1 },
        3,
        /^error: x\.torrent: folder of a/,
      ],
      [
        { kind: 'failed', error: new JobError('JOB_ALREADY_RUNNING', 'the session already has torrent ab'), elapsedMs: 1 },
        1,
        /^error: the session already has torrent ab\n$/,
      ],
    ];
    for (const [outcome, code, err] of cases) {
      const { io, console } = view();
      expect(console.finish(outcome), outcome.kind).toBe(code);
      expect(io.err(), outcome.kind).toMatch(err);
    }
  });

  it('prints the summary on stdout, its name sanitized; --quiet prints none', () => {
    const { io, console } = view();
    console.finish({ kind: 'done', stats, elapsedMs: 2_000 });
    expect(io.out()).toMatch(/^downloaded show\\u202egnp\.exe\n {2}bytes: .*\n[^]*saved in: +\/data\/x\n$/);
    const quiet = view({ quiet: true });
    quiet.console.finish({ kind: 'seeded', until: 'goal', stats, elapsedMs: 1, seedMs: 1 });
    expect(quiet.io.out()).toBe('');
  });

  it('--json: a status object a tick and a summary, the name escaped, nothing on stderr', () => {
    const { job, io, console } = view({ json: true });
    job.emit('restored', { source: 'resume', have: 3, pieceCount: 3, checked: 0, checkedOk: 0, rejected: undefined });
    job.emit('status', { phase: 'downloading', stats: { ...stats, state: 'downloading' }, elapsedMs: 1_000, seedMs: 0 });
    console.finish({ kind: 'done', stats, elapsedMs: 1_500 });
    expect(io.err()).toBe('');
    expect(io.out()).not.toContain('\u202e');
    const lines = io
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l['type'])).toEqual(['status', 'summary']);
    expect(lines[1]).toMatchObject({ schema: 1, name: metainfo.name, infoHash: metainfo.infoHashHex, elapsedS: 1.5, percent: 100 });
  });

  it("upload-only after a disk error: the error line at once, not again at the end; the exit code stays the disk's", () => {
    const { job, io, console } = view();
    const disk = new EngineError('ENGINE_DISK', 'cannot write x: ENOSPC');
    job.emit('download-end', { kind: 'disk-error', error: disk, stats, elapsedMs: 1 });
    job.emit('seeding', { uploadOnly: true, stats, elapsedMs: 1 });
    expect(io.err()).toBe('error: download failed: cannot write x: ENOSPC\nserving the verified pieces meanwhile (--seed); Ctrl-C stops\n');
    job.emit('stopping', { reason: 'interrupted', phase: 'seeding' });
    expect(console.finish({ kind: 'disk-error', error: disk, stats, elapsedMs: 1, seeded: { until: 'interrupted', seedMs: 3_000 } })).toBe(5);
    expect(io.err().match(/^error: /gm)).toHaveLength(1);
    expect(io.err()).toMatch(/stopping \(announcing "stopped" to trackers\)\n$/);
    expect(io.out()).toMatch(/^seeded show\\u202egnp\.exe\n/);
  });

  it('says where the data came from, and warns of rejected resume data even under --json', () => {
    const { job, io } = view({ recheck: true });
    job.emit('checking', { done: 0, total: 3 });
    job.emit('checking', { done: 3, total: 3 });
    job.emit('restored', { source: 'recheck', have: 2, pieceCount: 3, checked: 3, checkedOk: 2, rejected: undefined });
    expect(io.err()).toBe('re-checking existing data (--recheck)\nre-checked: 66% verified (2 of 3 pieces on disk good)\n');
    const json = view({ json: true });
    json.job.emit('restored', {
      source: 'recheck',
      have: 0,
      pieceCount: 3,
      checked: 3,
      checkedOk: 0,
      rejected: { reason: 'corrupt', message: 'resume file is not valid bencode' },
    });
    expect(json.io.err()).toBe('warning: ignoring resume data: resume file is not valid bencode\n');
  });

  it('the seeding line shows upload, ratio and peers, not a meaningless "100.0% (1/1)" (issue 17)', () => {
    const { job, io } = view({ progress: 'plain' }, true);
    job.emit('seeding', { uploadOnly: false, stats, elapsedMs: 1 });
    job.emit('status', { phase: 'seeding', stats, elapsedMs: 1_000, seedMs: 1_000 });
    job.emit('seed-end', { kind: 'interrupted', stats, error: undefined });
    expect(io.err()).not.toMatch(/\(1\/1\)|100\.0%/);
    expect(io.err()).toMatch(/^seeding: ↑ 0 B\/s {2}uploaded 78\.1 KiB {2}ratio 2\.00 {2}peers 1\n/);
  });
});
