import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, truncate, unlink, writeFile, open } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { resumeFileFor, resumePath } from '@tc/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchesFixture } from '@tc/testkit/fixture-check';
import { startFixtureSeeder } from '@tc/testkit/fixture-seeder';
import type { LibtorrentPeer } from '@tc/testkit/libtorrent';
import { runBin, TEST_STATE_HOME } from '@tc/testkit/run-bin';
import { startThrottleProxy, type ThrottleProxy } from '@tc/testkit/throttle-proxy';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';

const BIN = resolve(import.meta.dirname, '../bin/tc-download.js');
/** Cycles of start → SIGKILL → start again (issue 6: at least 20). */
const KILL_CYCLES = 20;
/** Download rate through the proxy: 12 MiB then takes ~16 s, long enough to be killed mid-way every cycle. */
const SEED_RATE_BPS = 768 * 1024;

let t: TestTorrent;
let work: { path: string; cleanup: () => Promise<void> };
let seeder: LibtorrentPeer;
let proxy: ThrottleProxy;

beforeAll(async () => {
  work = await tempDir('tc-resume-');
  t = createTestTorrent({
    name: 'kill',
    pieceLength: 64 * 1024,
    files: [
      { path: ['a.bin'], length: 5 * 1024 * 1024 + 123 },
      { path: ['small.txt'], length: 1000 },
      { path: ['sub', 'b.bin'], length: 7 * 1024 * 1024 - 77 },
    ],
    seed: 66,
  });
  seeder = await startFixtureSeeder(t, work.path, 'kill.torrent');
  proxy = await startThrottleProxy({ host: '127.0.0.1', port: seeder.port }, SEED_RATE_BPS);
});

afterAll(async () => {
  await proxy?.close();
  await seeder?.stop();
  await work?.cleanup();
});

const args = (out: string, slow = false, progress = 'none'): string[] => [
  'kill.torrent',
  '-o',
  out,
  '--peer',
  `127.0.0.1:${slow ? proxy.port : seeder.port}`,
  '--listen',
  '127.0.0.1',
  '--progress',
  progress,
];

/** How long a child may stay silent before a cycle that waits for its first output kills it anyway. */
const FIRST_OUTPUT_LIMIT_MS = 20_000;

/**
 * Starts tc-download and SIGKILLs it `ms` after it starts, or, with `fromFirstOutput`, `ms` after its
 * first line on stderr: a busy machine can take longer than the whole delay just to start Node,
 * and a run killed before it does anything tests nothing.
 */
function runAndKill(out: string, ms: number, fromFirstOutput: boolean): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, [BIN, ...args(out, true, fromFirstOutput ? 'plain' : 'none')], {
      cwd: work.path,
      // The same state folder as runBin's: the last run must find the resume data the killed ones saved.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', TC_DHT_BOOTSTRAP: '', TC_LSD: '0', XDG_STATE_HOME: TEST_STATE_HOME },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    const kill = (): void => {
      child.kill('SIGKILL');
    };
    let timer = setTimeout(kill, fromFirstOutput ? FIRST_OUTPUT_LIMIT_MS : ms);
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      if (fromFirstOutput && stderr === '') {
        clearTimeout(timer);
        timer = setTimeout(kill, ms);
      }
      stderr += s;
    });
    child.on('error', rej);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code, signal, stderr });
    });
  });
}

describe('tc-download resume', () => {
  it(`survives ${KILL_CYCLES} SIGKILLs at random moments and ends with the exact bytes`, { timeout: 150_000 }, async () => {
    const out = (await tempDir('tc-kill-')).path;
    let killed = 0;
    let finishedEarly = 0;
    const messages = new Set<string>();
    let bestPct = 0;
    // Deterministic "random" moments (xorshift), spread over start-up, re-check and transfer.
    let x = 12345;
    const rnd = (): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) / 2 ** 32;
    };
    for (let i = 0; i < KILL_CYCLES; i++) {
      // Every fourth cycle counts from the spawn (kills during start-up); the rest from the first
      // output line (a resume or re-check message, or the first progress line), so that each
      // cycle kills a download in progress, however slowly this machine starts Node.
      const r = await runAndKill(out, 250 + Math.floor(rnd() * 1_500), i % 4 !== 0);
      if (r.signal === 'SIGKILL') killed++;
      else {
        expect(r.code, r.stderr).toBe(0);
        finishedEarly++;
      }
      for (const m of r.stderr.split('\n')) if (/^(resuming|re-check)/.test(m)) messages.add(m.replace(/\d+/g, 'N'));
      const pct = /(\d+)% verified/.exec(r.stderr);
      if (pct) bestPct = Math.max(bestPct, Number(pct[1]));
      expect(r.stderr).not.toMatch(/error:/);
    }
    const last = await runBin(BIN, args(out), { cwd: work.path, timeoutMs: 60_000 });
    expect(last.code, last.stderr).toBe(0);
    expect(await matchesFixture(t, out)).toBe(true);
    expect(killed).toBeGreaterThanOrEqual(KILL_CYCLES - 2);
    // Progress survived the kills: later starts found verified data (from resume data or a re-check).
    expect(bestPct).toBeGreaterThan(0);
    console.log(
      `kill loop: ${killed} SIGKILLs, ${finishedEarly} runs finished before the kill, up to ${bestPct}% kept; messages: ${[...messages].join(' | ')}`,
    );
    // A second run of a finished download trusts its resume file and is done at once.
    const again = await runBin(BIN, args(out), { cwd: work.path });
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/resuming: 100% verified from resume data/);
    // Nothing of ours is left in the download folder: the resume data is in the state folder (issue 17).
    expect(await readdir(out)).toEqual(['kill']);
  });

  it('a resume file that lies (file truncated, file changed) triggers a re-check; the data still ends correct', async () => {
    const out = (await tempDir('tc-lie-')).path;
    await t.writeTo(out);
    const first = await runBin(BIN, args(out), { cwd: work.path });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/re-checking existing data/);
    const a = t.pathOf(out, t.files[0]!);
    const b = t.pathOf(out, t.files[2]!);
    await truncate(a, 1_000_000);
    // Change bytes inside b without changing its size; a later mtime gives it away.
    const fh = await open(b, 'r+');
    await fh.write(Buffer.alloc(4096, 0xee), 0, 4096, 200_000);
    await fh.close();
    const second = await runBin(BIN, args(out), { cwd: work.path, timeoutMs: 60_000 });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/ignoring resume data: .*changed/);
    expect(second.stderr).toMatch(/re-checking existing data/);
    expect(await matchesFixture(t, out)).toBe(true);
  });

  it('an empty or garbage resume file is ignored with a warning, never trusted; --recheck hashes everything', async () => {
    const out = (await tempDir('tc-garbage-')).path;
    await t.writeTo(out);
    // Corrupt one piece of the data: a trusted resume file would leave it wrong.
    const fh = await open(t.pathOf(out, t.files[0]!), 'r+');
    await fh.write(Buffer.alloc(100, 0x55), 0, 100, 70_000);
    await fh.close();
    const resumeFile = await resumeFileFor(join(TEST_STATE_HOME, 'tc'), t.infoHash, out);
    await mkdir(dirname(resumeFile), { recursive: true });
    for (const junk of [Buffer.alloc(0), Buffer.from('d6:format9:tc-resume7:versioni1e4:have3:\xff\xff\xffe', 'latin1'), Buffer.from('not bencode at all')]) {
      await writeFile(resumeFile, junk);
      const r = await runBin(BIN, args(out), { cwd: work.path, timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/warning: ignoring resume data/);
      expect(await matchesFixture(t, out)).toBe(true);
      await fh.close().catch(() => undefined);
      const again = await open(t.pathOf(out, t.files[0]!), 'r+');
      await again.write(Buffer.alloc(100, 0x55), 0, 100, 70_000);
      await again.close();
    }
    // The resume file now (honestly) says complete, but piece 1 is damaged: only --recheck finds it.
    const r = await runBin(BIN, [...args(out), '--recheck'], { cwd: work.path, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/re-checking existing data \(--recheck\)/);
    expect(r.stderr).toMatch(/re-checked: 99% verified/);
    expect(await matchesFixture(t, out)).toBe(true);
  });

  it('a resume file an earlier version left in the download folder is moved into the state folder, trusted, and gone from the folder', async () => {
    const out = (await tempDir('tc-migrate-')).path;
    const first = await runBin(BIN, args(out), { cwd: work.path, timeoutMs: 60_000 });
    expect(first.code, first.stderr).toBe(0);
    const resumeFile = await resumeFileFor(join(TEST_STATE_HOME, 'tc'), t.infoHash, out);
    // The format did not change: what an earlier version wrote beside the data is these bytes, there.
    const bytes = await readFile(resumeFile);
    await writeFile(resumePath(out, 'kill'), bytes);
    await unlink(resumeFile);
    const second = await runBin(BIN, args(out), { cwd: work.path, timeoutMs: 60_000 });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/resuming: 100% verified from resume data/);
    expect(second.stderr).not.toMatch(/re-check/);
    expect(await readdir(out)).toEqual(['kill']);
    expect((await readFile(resumeFile)).length).toBeGreaterThan(0);
  });

  it('--seed: once done it keeps seeding; SIGINT then ends it with exit 130, as any interrupted command (CLI.md, issue 17)', async () => {
    const out = (await tempDir('tc-seed-after-')).path;
    const child = spawn(process.execPath, [BIN, ...args(out).filter((a) => a !== '--progress' && a !== 'none'), '--seed', '--progress', 'plain'], {
      cwd: work.path,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', TC_DHT_BOOTSTRAP: '', TC_LSD: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (x: string) => (stdout += x));
    const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await new Promise<void>((res, rej) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        rej(new Error(`not seeding: ${stderr}`));
      }, 20_000);
      child.stderr.setEncoding('utf8').on('data', (x: string) => {
        stderr += x;
        if (/^seeding: /m.test(stderr)) {
          clearTimeout(timer);
          res();
        }
      });
    });
    expect(stdout).toMatch(/^downloaded kill/m);
    child.kill('SIGINT');
    expect(await exit).toBe(130);
    expect(stdout).toMatch(/^seeded kill/m);
    expect(await matchesFixture(t, out)).toBe(true);
  });
});
