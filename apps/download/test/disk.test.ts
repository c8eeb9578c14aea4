import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureSeeder } from '@tc/testkit/fixture-seeder';
import type { LibtorrentPeer } from '@tc/testkit/libtorrent';
import { runBin } from '@tc/testkit/run-bin';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';

const BIN = resolve(import.meta.dirname, '../bin/tc-download.js');
const SIZE = 6 * 1024 * 1024;

let t: TestTorrent;
let work: { path: string; cleanup: () => Promise<void> };
let seeder: LibtorrentPeer;
const mounted: string[] = [];

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

const args = (out: string, extra: string[] = []): string[] => ['big.torrent', '-o', out, '--peer', `127.0.0.1:${seeder.port}`, '--listen', '127.0.0.1', '--progress', 'none', ...extra];
function spawnBin(a: string[]): { child: ChildProcess; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...a], { cwd: work.path, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1' }, stdio: 'ignore' });
  return { child, exit: new Promise((r) => child.on('close', (code) => r(code))) };
}
/** Resolves once `path` holds at least `bytes` of written data (allocated blocks: the file is sparse until pieces land). */
async function waitForWritten(path: string, bytes: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const written = await stat(path).then((st) => st.blocks * 512, () => 0);
    if (written >= bytes) return;
    if (Date.now() > deadline) throw new Error(`${path}: only ${written} bytes written after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
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
    await waitForWritten(join(out, 'big.bin'), 4 * 64 * 1024, 30_000);
    partial.child.kill('SIGINT');
    expect(await partial.exit).toBe(130);
    // A read-only remount is refused while a file is open for writing: it is done between runs.
    remount(out, 'ro');
    const r = await runBin(BIN, args(out), { cwd: work.path, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(5);
    expect(r.stderr).toMatch(/^error: download failed: .*EROFS/m);
    remount(out, 'rw');
    const again = await runBin(BIN, args(out), { cwd: work.path, timeoutMs: 60_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/(resuming|re-checked): [1-9]\d*% verified/);
    expect(await complete(out)).toBe(true);
  });
});
