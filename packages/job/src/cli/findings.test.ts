import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { captureIo } from '@tc/cli';
import { parseMetainfo } from '@tc/codec';
import type { Finding, Session, Torrent, TorrentStats } from '@tc/engine';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { Job } from '../job.js';
import { JobConsole, type ConsoleFlags } from './console.js';
import { findingLines, findingStatus, findingsJson } from './findings.js';

const t = createTestTorrent({ name: 'why', pieceLength: 16 * 1024, length: 40_000, seed: 3 });
const metainfo = parseMetainfo(t.torrent).metainfo;

const stats: TorrentStats = {
  state: 'downloading',
  pieceCount: 3,
  piecesHave: 1,
  totalBytes: 40_000,
  haveBytes: 16_384,
  downloaded: 16_384,
  uploaded: 0,
  left: 23_616,
  downRateBps: 0,
  upRateBps: 0,
  peers: 1,
  peersUsed: 1,
  candidates: 1,
  hashFailures: 0,
  wasteBytes: 0,
  endgame: false,
};

const lacks: Finding = {
  code: 'swarm-lacks-pieces',
  text: '2 pieces (1 file) are on no connected peer: why 66%; waiting for a seeder',
  facts: { pieces: 2, sample: '1-2' },
  advice: 'the download cannot finish until a peer with these pieces appears',
};
const noPeers: Finding = {
  code: 'no-peers-known',
  text: 'no peers known: http://t.example/announce: tracker said \u001b[31mgo away; no DHT; no PEX/LSD source',
  facts: {},
  advice: 'check the trackers with tc-debug-tracker',
};

const FLAGS: ConsoleFlags = { quiet: false, json: false, verbose: false, progress: 'plain', recheck: false, firstPeerTimeoutS: 30 };

/** A console on a job never run, and a stand-in torrent that emits `diagnosis`. */
function view(flags: Partial<ConsoleFlags> = {}) {
  const job = new Job({ session: {} as Session, metainfo, dir: '/data' });
  const io = captureIo();
  const console = new JobConsole(job, {
    io,
    metainfo,
    flags: { ...FLAGS, ...flags },
    seedOnly: false,
    dir: '/data',
    where: '/data/why',
    source: 'why.torrent',
  });
  const torrent = new EventEmitter();
  job.emit('started', { torrent: torrent as unknown as Torrent, port: 6881 });
  return { job, io, console, torrent };
}

describe('findings rendering (issue 15)', () => {
  it('the progress line carries the top finding, "stalled" when nothing arrives, sanitized', () => {
    expect(findingStatus([], 0)).toBeUndefined();
    expect(findingStatus([lacks, noPeers], 0)).toBe(`stalled: ${lacks.text}`);
    expect(findingStatus([lacks], 500_000)).toBe(lacks.text);
    expect(findingStatus([noPeers], 0)).not.toContain('\u001b');
    expect(findingLines([noPeers])).toEqual([
      expect.stringMatching(/^why: no peers known: .*\\x1b\[31mgo away/),
      '  advice: check the trackers with tc-debug-tracker',
    ]);
    expect(findingLines([])).toEqual(['why: nothing holds the download back now']);
    expect(findingsJson([lacks])).toEqual([{ code: 'swarm-lacks-pieces', text: lacks.text, facts: { pieces: 2, sample: '1-2' }, advice: lacks.advice }]);
  });

  it('the status shows the finding; -v prints each change', () => {
    const { job, io, torrent } = view({ verbose: true });
    torrent.emit('diagnosis', [lacks]);
    job.emit('status', { phase: 'downloading', stats, elapsedMs: 5_000, seedMs: 0 });
    torrent.emit('diagnosis', []);
    expect(io.err()).toContain(`why: ${lacks.text}\n  advice: ${lacks.advice}\n`);
    expect(io.err()).toContain('why: nothing holds the download back now\n');
  });

  it('--json status objects carry the findings', () => {
    const { job, io, torrent } = view({ json: true });
    job.emit('status', { phase: 'downloading', stats, elapsedMs: 1_000, seedMs: 0 });
    torrent.emit('diagnosis', [lacks]);
    job.emit('status', { phase: 'downloading', stats, elapsedMs: 2_000, seedMs: 0 });
    const lines = io
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l['findings'])).toEqual([[], [{ code: 'swarm-lacks-pieces', text: lacks.text, facts: lacks.facts, advice: lacks.advice }]]);
    expect(io.err()).toBe('');
  });

  it('exit 4 without peers gives the diagnosis as the reason, and the other findings after it', () => {
    const { console, io, torrent } = view();
    torrent.emit('diagnosis', [noPeers, lacks]);
    expect(console.finish({ kind: 'no-peers', stats, trackers: [], elapsedMs: 31_000 })).toBe(4);
    const err = io.err();
    expect(err).toMatch(
      /^error: no peers found within 30 s \(no peers known: http:\/\/t\.example\/announce: tracker said \\x1b\[31mgo away; no DHT; no PEX\/LSD source\)\nhint: check the trackers with tc-debug-tracker\n/,
    );
    expect(err).toContain(`why: ${lacks.text}\n`);
    expect(err).not.toContain('\u001b');
  });
});
