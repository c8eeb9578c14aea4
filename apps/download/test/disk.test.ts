import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureSeeder } from '@tc/testkit/fixture-seeder';
import { startLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import { runBin } from '@tc/testkit/run-bin';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { until } from '@tc/testkit/wait';

const BIN = resolve(import.meta.dirname, '../bin/tc-download.js');
const SIZE = 6 * 1024 * 1024;

let t: TestTorrent;
let work: { path: string; cleanup: () => Promise<void> };
let seeder: LibtorrentPeer;
const mounted: string[] = [];
/** Started by a test, stopped in afterAll even when it fails. */
const children: ChildProcess[] = [];
const peers: LibtorrentPeer[] = [];

/** Mounts a tmpfs (root in CI; the test fails with the reason where the machine refuses, never skips silently). */
function mountTmpfs(dir: string, sizeBytes: number): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir]);
  mounted.push(dir);
}
const remount = (dir: string, opts: string): void => {
  execFileSync('mount', ['-o', `remount,${opts}`, dir]);
};

beforeAll(async () => {
  work = await tempDir('tc-disk-');
  t = createTestTorrent({ name: 'big.bin', pieceLength: 64 * 1024, length: SIZE, seed: 21 });
  seeder = await startFixtureSeeder(t, work.path, 'big.torrent');
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(peers.map((p) => p.stop()));
  for (const d of mounted.reverse()) {
    try {
      execFileSync('umount', [d]);
    } catch {
      // already gone
    }
  }
  await seeder?.stop();
  await work?.cleanup();
});

const args = (out: string, extra: string[] = []): string[] => [
  'big.torrent',
  '-o',
  out,
  '--peer',
  `127.0.0.1:${seeder.port}`,
  '--listen',
  '127.0.0.1',
  '--progress',
  'none',
  ...extra,
];
function spawnBin(a: string[]): { child: ChildProcess; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...a], {
    cwd: work.path,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', TC_DHT_BOOTSTRAP: '', TC_LSD: '0' },
    stdio: 'ignore',
  });
  return { child, exit: new Promise((r) => child.on('close', (code) => r(code))) };
}
const complete = async (out: string): Promise<boolean> => (await readFile(join(out, 'big.bin'))).equals(t.data);

describe('tc-download disk faults', () => {
  it('a full disk (4 MiB tmpfs) gives exit 5 with a clear error, keeps what was verified, and resumes once space returns', async () => {
    const out = join(work.path, 'full');
    await mkdir(out);
    mountTmpfs(out, 4 * 1024 * 1024);
    const r = await runBin(BIN, args(out), { cwd: work.path, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toMatch(/^error: download failed: .*ENOSPC/m);
    remount(out, 'size=16m');
    const again = await runBin(BIN, args(out), { cwd: work.path, timeoutMs: 60_000 });
    expect(again.code, again.stderr).toBe(0);
    const kept = /(\d+)% verified/.exec(again.stderr);
    expect(kept, again.stderr).not.toBeNull();
    // Most of the 4 MiB that fitted was verified before the disk filled up, and not fetched again.
    expect(Number(kept![1])).toBeGreaterThan(40);
    expect(await complete(out)).toBe(true);
  });

  it('a folder that became unwritable (read-only remount) gives exit 5 and keeps its data; the next writable run completes it', async () => {
    const out = join(work.path, 'ro');
    await mkdir(out);
    mountTmpfs(out, 16 * 1024 * 1024);
    // A partial download first (interrupted: 130), then the file system turns read-only.
    const partial = spawnBin(args(out, ['--limit-down', '2M']));
    // Stop it once some pieces are on disk (a piece is written only after its hash passed), not
    // after a fixed time: a busy machine may not even have started Node by then.
    // Allocated blocks: the file is sparse until pieces land.
    const written = (): Promise<number> =>
      stat(join(out, 'big.bin')).then(
        (st) => st.blocks * 512,
        () => 0,
      );
    await until(
      () => '4 pieces written to big.bin',
      async () => (await written()) >= 4 * 64 * 1024,
      { timeoutMs: 30_000, everyMs: 50 },
    );
    partial.child.kill('SIGINT');
    expect(await partial.exit).toBe(130);
    // A read-only remount is refused while a file is open for writing: it is done between runs.
    remount(out, 'ro');
    const r = await runBin(BIN, args(out), { cwd: work.path, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(5);
    // Known before any peer is dialled (issue 17): the folder cannot be written.
    expect(r.stderr).toMatch(/^error: -o .*ro: cannot write into it \(EROFS\)\nhint: the file system is read-only/m);
    remount(out, 'rw');
    const again = await runBin(BIN, args(out), { cwd: work.path, timeoutMs: 60_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/(resuming|re-checked): [1-9]\d*% verified/);
    expect(await complete(out)).toBe(true);
  });

  it('with --seed, a full disk leaves it upload-only: the error at once, verified pieces served to a libtorrent leecher, exit 5 on SIGINT', async () => {
    const out = join(work.path, 'seed-full');
    await mkdir(out);
    mountTmpfs(out, 4 * 1024 * 1024);
    const logPath = join(work.path, 'seed-full.log');
    const child = spawn(
      process.execPath,
      [BIN, 'big.torrent', '-o', out, '--peer', `127.0.0.1:${seeder.port}`, '--listen', '127.0.0.1', '--seed', '--progress', 'plain', '--log', logPath],
      {
        cwd: work.path,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', TC_DHT_BOOTSTRAP: '', TC_LSD: '0', TZ: 'UTC' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.resume();
    const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    const logged = async (): Promise<{ event: string; port?: number; index?: number }[]> =>
      (await readFile(logPath, 'utf8').catch(() => ''))
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as { event: string });
    const verified = async (): Promise<number[]> => (await logged()).flatMap((e) => (e.event === 'piece-verified' ? [e.index!] : [])).sort((a, b) => a - b);

    await until(
      () => `the error line (stderr: ${stderr})`,
      () => /^error: download failed: .*ENOSPC/m.test(stderr),
      { timeoutMs: 60_000, everyMs: 200 },
    );
    // It goes on (the leecher below is served by this very process): it says so after the error.
    await until(
      () => `the upload-only line (stderr: ${stderr})`,
      () => /^serving the verified pieces meanwhile/m.test(stderr),
      { timeoutMs: 10_000, everyMs: 50 },
    );
    expect(child.exitCode, stderr).toBeNull();
    const port = (await logged()).find((e) => e.event === 'start')?.port;
    expect(port).toBeGreaterThan(0);

    // A real libtorrent leecher given only tc's address gets every piece tc verified, from tc.
    const ltDir = join(work.path, 'lt-leech');
    const lt = await startLibtorrent({ torrentPath: join(work.path, 'big.torrent'), savePath: ltDir, connectTo: [{ ip: '127.0.0.1', port: port! }] });
    peers.push(lt);
    const pieceLength = 64 * 1024;
    let have: number[] = [];
    await until(
      () => `libtorrent to hold every piece tc verified (${have.length}; stderr: ${stderr})`,
      async () => {
        have = await verified();
        return have.length > 0 && (await lt.status()).totalDone === have.length * pieceLength;
      },
      { timeoutMs: 30_000, everyMs: 200 },
    );
    expect(have.length).toBeLessThan(SIZE / pieceLength);
    const got = await readFile(join(ltDir, 'big.bin'));
    const complete = have.filter((i) => got.subarray(i * pieceLength, (i + 1) * pieceLength).equals(t.data.subarray(i * pieceLength, (i + 1) * pieceLength)));
    expect(complete).toEqual(have);
    expect((await lt.peers()).some((p) => p.port === port && p.totalDownload >= have.length * pieceLength)).toBe(true);

    // The progress line comes every few seconds: wait for one before stopping (the transfer may be quicker).
    await until('the upload-only progress line', () => /^upload only \(disk error\): seeding: /m.test(stderr), { timeoutMs: 15_000, everyMs: 100 });
    child.kill('SIGINT');
    expect(await exit, stderr).toBe(5);
    expect(stderr).toMatch(/^upload only \(disk error\): seeding: /m);
    expect(stderr.match(/^error: /gm)).toHaveLength(1);
    // Nothing was verified after the error line: the set served is the set kept.
    expect(await verified()).toEqual(have);
  });
});
