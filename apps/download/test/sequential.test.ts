import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureSeeder } from '@tc/testkit/fixture-seeder';
import type { LibtorrentPeer } from '@tc/testkit/libtorrent';
import { runBin } from '@tc/testkit/run-bin';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';

const BIN = resolve(import.meta.dirname, '../bin/tc-download.js');
const PIECES = 48;

let t: TestTorrent;
let work: { path: string; cleanup: () => Promise<void> };
let seeder: LibtorrentPeer;

beforeAll(async () => {
  work = await tempDir('tc-sequential-');
  t = createTestTorrent({ name: 'seq.bin', pieceLength: 32 * 1024, length: PIECES * 32 * 1024 - 1000, seed: 14 });
  seeder = await startFixtureSeeder(t, work.path, 'seq.torrent');
});

afterAll(async () => {
  await seeder?.stop();
  await work?.cleanup();
});

describe('tc-download --sequential (issue 14)', () => {
  it('downloads the pieces first to last, byte for byte', async () => {
    const out = join(work.path, 'out');
    const log = join(work.path, 'seq.jsonl');
    const r = await runBin(BIN, ['seq.torrent', '-o', out, '--peer', `127.0.0.1:${seeder.port}`, '--listen', '127.0.0.1', '--sequential', '--log', log, '-q'], {
      cwd: work.path,
    });
    expect(r.code, r.stderr).toBe(0);
    expect((await readFile(join(out, 'seq.bin'))).equals(t.data)).toBe(true);
    const order = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; index?: number })
      .filter((e) => e.event === 'piece-verified')
      .map((e) => e.index!);
    expect([...order].sort((a, b) => a - b)).toEqual(Array.from({ length: PIECES }, (_, i) => i));
    // Pieces are started in order. They are verified nearly so: a few in flight at once, writes that
    // finish out of order, allowed-fast pieces (BEP 6) fetched while choked. Rarest first with equal
    // availability would be a random order: about half the neighbours ascending, not three quarters.
    const ascents = order.slice(1).filter((p, k) => p > order[k]!).length;
    expect(ascents, order.join(',')).toBeGreaterThanOrEqual(0.75 * (PIECES - 1));
    expect(order.slice(0, 8).filter((p) => p < 16).length, order.join(',')).toBeGreaterThanOrEqual(6);
  });

  it('is in --help', async () => {
    const r = await runBin(BIN, ['--help'], { cwd: work.path });
    expect(r.stdout).toMatch(/--sequential\s+download pieces in order/);
  });
});
