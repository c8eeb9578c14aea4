import { access, readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { resumeFileFor } from '@tc/engine';
import { PART_SUFFIX } from '@tc/job';
import { matchesFixture } from '@tc/testkit/fixture-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureSeeder } from '@tc/testkit/fixture-seeder';
import type { LibtorrentPeer } from '@tc/testkit/libtorrent';
import { runBin, TEST_STATE_HOME } from '@tc/testkit/run-bin';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';

const BIN = resolve(import.meta.dirname, '../bin/tc-download.js');
const PIECE = 64 * 1024;

let t: TestTorrent;
let work: { path: string; cleanup: () => Promise<void> };
let seeder: LibtorrentPeer;

beforeAll(async () => {
  work = await tempDir('tc-select-');
  // Offsets: a 0–100000 (pieces 0–1), b –150000 (1–2), c –450000 (2–6), d –460000 (6–7), e –660000 (7–10), f –960000 (10–14).
  t = createTestTorrent({
    name: 'sel',
    pieceLength: PIECE,
    files: [
      { path: ['a.bin'], length: 100_000 },
      { path: ['b.bin'], length: 50_000 },
      { path: ['c.bin'], length: 300_000 },
      { path: ['d.txt'], length: 10_000 },
      { path: ['e.bin'], length: 200_000 },
      { path: ['f.bin'], length: 300_000 },
    ],
    seed: 3,
  });
  seeder = await startFixtureSeeder(t, work.path, 'sel.torrent');
});

afterAll(async () => {
  await seeder?.stop();
  await work?.cleanup();
});

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

describe('tc-download --select', () => {
  it('--list prints the files with their indices', async () => {
    const r = await runBin(BIN, ['sel.torrent', '--list'], { cwd: work.path });
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[1]).toMatch(/^1\s+.*\s+sel\/b\.bin$/);
    expect(lines[5]).toMatch(/^5\s+.*\s+sel\/f\.bin$/);
  });

  it('with two files selected, fetches only their pieces (shared boundary pieces whole) and creates no other file', async () => {
    const out = (await tempDir('tc-select-out-')).path;
    const r = await runBin(BIN, ['sel.torrent', '-o', out, '--peer', `127.0.0.1:${seeder.port}`, '--listen', '127.0.0.1', '--select', '1,d.*', '--json'], {
      cwd: work.path,
    });
    expect(r.code, r.stderr).toBe(0);
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    // Pieces 1, 2 (b) and 6, 7 (d): four whole pieces, nothing else.
    expect(last['downloadedBytes']).toBe(4 * PIECE);
    expect(last['pieces']).toBe(4);
    let off = 0;
    const at: number[] = [];
    for (const f of t.files) {
      at.push(off);
      off += f.length;
    }
    for (const i of [1, 3]) {
      const f = t.files[i]!;
      expect((await readFile(t.pathOf(out, f))).equals(t.data.subarray(at[i], at[i]! + f.length))).toBe(true);
    }
    // Only the selected files are in the folder: the bytes of a, c and e in the boundary pieces are
    // in the part file in the state folder (issue 17), and f shares no piece with b or d.
    expect((await readdir(join(out, 'sel'))).sort()).toEqual(['b.bin', 'd.txt']);
    const part = (await resumeFileFor(join(TEST_STATE_HOME, 'tc'), t.infoHash, out)).replace(/\.tc-resume$/, PART_SUFFIX);
    expect(await exists(part)).toBe(true);

    // a selected too: its bytes of piece 1 move from the part file into place; only a's other piece is fetched.
    const more = await runBin(BIN, ['sel.torrent', '-o', out, '--peer', `127.0.0.1:${seeder.port}`, '--listen', '127.0.0.1', '--select', '0,1,d.*', '--json'], {
      cwd: work.path,
    });
    expect(more.code, more.stderr).toBe(0);
    expect((JSON.parse(more.stdout.trim().split('\n').at(-1)!) as Record<string, number>)['downloadedBytes']).toBe(PIECE);
    expect((await readFile(t.pathOf(out, t.files[0]!))).equals(t.data.subarray(0, 100_000))).toBe(true);
    expect((await readdir(join(out, 'sel'))).sort()).toEqual(['a.bin', 'b.bin', 'd.txt']);
    // Everything: the rest is fetched, the part file is emptied and removed, every byte is right.
    const all = await runBin(BIN, ['sel.torrent', '-o', out, '--peer', `127.0.0.1:${seeder.port}`, '--listen', '127.0.0.1', '--quiet'], {
      cwd: work.path,
      timeoutMs: 60_000,
    });
    expect(all.code, all.stderr).toBe(0);
    expect(await matchesFixture(t, out)).toBe(true);
    expect(await exists(part)).toBe(false);
  });

  it('a bad selection is a usage error (exit 2)', async () => {
    for (const spec of ['9', 'nothing-*', '3-1']) {
      const r = await runBin(BIN, ['sel.torrent', '--select', spec], { cwd: work.path });
      expect(r.code, spec).toBe(2);
      expect(r.stderr).toMatch(/error: --select/);
    }
  });
});
