import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import { tempDir } from '@tc/testkit/tmp';
import { afterAll, describe, expect, it } from 'vitest';
import { makePayloadTorrent } from './payload-torrent.js';

// The testkit helper must also serve as a downloader (for the engine's benchmarks): one libtorrent
// fetches a torrent from another over loopback, with `connectTo`.
describe('testkit libtorrent helper as seeder and downloader', () => {
  const started: LibtorrentPeer[] = [];
  const dirs: { cleanup: () => Promise<void> }[] = [];

  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop()));
    await Promise.all(dirs.map((d) => d.cleanup()));
  });

  it('downloads a torrent byte-exact from a seeder', async () => {
    const dir = await tempDir('tc-wire-lt2-');
    dirs.push(dir);
    const t = await makePayloadTorrent(dir.path, 3 * 1024 * 1024 + 5, 256 * 1024);
    const seeder = await startLibtorrent({ torrentPath: t.torrentPath, savePath: t.dataDir, seed: true });
    started.push(seeder);
    await seeder.waitFor('finished');
    const into = join(dir.path, 'download');
    const leecher = await startLibtorrent({
      torrentPath: t.torrentPath,
      savePath: into,
      connectTo: [{ ip: '127.0.0.1', port: seeder.port }],
      settings: { connections_limit: 20 },
      statusIntervalMs: 200,
    });
    started.push(leecher);
    expect(leecher.infoHash).toBe(t.infoHash.toString('hex'));
    await leecher.waitFor('finished', undefined, 60_000);
    expect((await readFile(join(into, 'payload.bin'))).equals(t.data)).toBe(true);
    expect(leecher.events.some((e) => e.event === 'status')).toBe(true);
    const status = await leecher.status();
    expect(status.progress).toBe(1);
    expect(status.totalDownload).toBeGreaterThanOrEqual(t.data.length);
  });
});
