import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { captureIo } from '@tc/cli';
import { parseMetainfo } from '@tc/codec';
import { acquireRunLock } from '@tc/job/cli';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { run } from '../src/run.js';

let t: TestTorrent;
let work: { path: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  work = await tempDir();
  t = createTestTorrent({
    name: 'pack',
    pieceLength: 32 * 1024,
    files: [
      { path: ['readme.txt'], length: 500 },
      { path: ['data', 'blob.bin'], length: 300_000 },
    ],
    announce: ['http://127.0.0.1:1/announce'],
  });
  await writeFile(join(work.path, 'pack.torrent'), t.torrent);
});

afterAll(async () => {
  await work?.cleanup();
});

describe('tc-seed run()', () => {
  it('tc-seed refusing incomplete data (exit 6) closes its session: no listening socket left behind', async () => {
    const d = await tempDir();
    try {
      // Only the first file: most pieces are missing.
      await writeFile(join(d.path, 'readme.txt'), t.data.subarray(0, 500));
      const count = (): Record<string, number> => {
        const c: Record<string, number> = {};
        for (const r of process.getActiveResourcesInfo()) c[r] = (c[r] ?? 0) + 1;
        return c;
      };
      const before = count();
      const io = captureIo({ cwd: work.path });
      expect(await run(['pack.torrent', d.path, '--listen', '127.0.0.1', '--quiet'], io)).toBe(6);
      // Handles close on a later turn of the event loop: poll briefly, a leak never gets there.
      // (Timers are not counted: the poll itself uses them; the session's interval is cancelled with its listener.)
      await vi.waitFor(() => expect(count()['TCPServerWrap'] ?? 0).toBe(before['TCPServerWrap'] ?? 0), { timeout: 2_000, interval: 50 });
    } finally {
      await d.cleanup();
    }
  });

  it('--first-peer-timeout, which a seeder cannot use, is refused as a usage error rather than ignored; --help does not offer it (issue 17)', async () => {
    // run() throws usage errors; runMain prints them and exits 2.
    const err = await run(['pack.torrent', work.path, '--first-peer-timeout', '5'], captureIo({ cwd: work.path })).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'USAGE',
      message: '--first-peer-timeout: tc-seed waits for peers as long as it seeds',
      hint: expect.stringMatching(/--seed 30m/),
    });
    const help = captureIo({ cwd: work.path });
    expect(await run(['--help'], help)).toBe(0);
    expect(help.out()).toContain('--max-peers');
    expect(help.out()).not.toContain('--first-peer-timeout');
  });

  it('refuses (exit 1) while another run holds the torrent and folder, naming it (issue 17)', async () => {
    const d = await tempDir();
    try {
      const env = { XDG_STATE_HOME: join(d.path, 'state') };
      const held = await acquireRunLock({ infoHash: parseMetainfo(t.torrent).metainfo.infoHashHex, dir: d.path, command: 'tc-download', env });
      try {
        const io = captureIo({ cwd: work.path, env });
        expect(await run(['pack.torrent', d.path, '--listen', '127.0.0.1'], io)).toBe(1);
        expect(io.err()).toMatch(new RegExp(`^error: another tc-download \\(pid ${process.pid}, since [^)]+\\) is already working on this torrent in `));
      } finally {
        await held.release();
      }
    } finally {
      await d.cleanup();
    }
  });
});
