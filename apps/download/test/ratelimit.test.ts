import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureSeeder } from '@tc/testkit/fixture-seeder';
import type { LibtorrentPeer } from '@tc/testkit/libtorrent';
import { runBin } from '@tc/testkit/run-bin';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';

const BIN = resolve(import.meta.dirname, '../bin/tc-download.js');
/** The limit under test, and the data: about 6 s of transfer at the limit. */
const LIMIT_BPS = 1024 * 1024;
const SIZE = 6 * 1024 * 1024;

let t: TestTorrent;
let work: { path: string; cleanup: () => Promise<void> };
let seeder: LibtorrentPeer;

beforeAll(async () => {
  work = await tempDir('tc-limit-');
  t = createTestTorrent({ name: 'limited.bin', pieceLength: 64 * 1024, length: SIZE, seed: 9 });
  seeder = await startFixtureSeeder(t, work.path, 'limited.torrent');
});

afterAll(async () => {
  await seeder?.stop();
  await work?.cleanup();
});

describe('tc-download --limit-down', () => {
  it('keeps the average download rate near the limit (±15%)', async () => {
    const out = (await tempDir('tc-limit-out-')).path;
    const r = await runBin(BIN, ['limited.torrent', '-o', out, '--peer', `127.0.0.1:${seeder.port}`, '--listen', '127.0.0.1', '--limit-down', '1M', '--json'], {
      cwd: work.path,
      timeoutMs: 60_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { elapsedS: number; downloadedBytes: number };
    expect(last.downloadedBytes).toBe(SIZE);
    const rate = last.downloadedBytes / last.elapsedS;
    console.log(
      `--limit-down 1M: ${SIZE} bytes in ${last.elapsedS.toFixed(2)} s = ${(rate / 1024).toFixed(0)} KiB/s (${((100 * rate) / LIMIT_BPS - 100).toFixed(1)}% off the limit)`,
    );
    expect(rate).toBeGreaterThan(LIMIT_BPS * 0.85);
    expect(rate).toBeLessThan(LIMIT_BPS * 1.15);
  });

  it('rejects an unreadable limit (exit 2)', async () => {
    const r = await runBin(BIN, ['limited.torrent', '--limit-down', 'fast'], { cwd: work.path });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--limit-down: cannot read/);
  });
});
