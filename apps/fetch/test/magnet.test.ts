import { readFile, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { parseMetainfo } from '@tc/codec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import { runBin } from '@tc/testkit/run-bin';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';

const BIN = resolve(import.meta.dirname, '../bin/tc-fetch.js');

let t: TestTorrent;
let work: { path: string; cleanup: () => Promise<void> };
let seeder: LibtorrentPeer;

beforeAll(async () => {
  work = await tempDir('tc-fetch-magnet-');
  t = createTestTorrent({
    name: 'album',
    pieceLength: 16 * 1024,
    seed: 43,
    files: [
      { path: ['one.flac'], length: 300_000 },
      { path: ['two.flac'], length: 33_333 },
    ],
  });
  await writeFile(join(work.path, 'album.torrent'), t.torrent);
  await t.writeTo(join(work.path, 'seed'));
  seeder = await startLibtorrent({ torrentPath: join(work.path, 'album.torrent'), savePath: join(work.path, 'seed'), seed: true });
  await seeder.waitFor('finished', undefined, 30_000);
});

afterAll(async () => {
  await seeder?.stop();
  await work?.cleanup();
});

describe('tc-fetch MAGNET', () => {
  it('saves the .torrent made from the metadata of a libtorrent seeder, with libtorrent’s info-hash, and no data', async () => {
    const out = join(work.path, 'out');
    const magnet = `magnet:?xt=urn:btih:${t.infoHashHex}&dn=album&x.pe=127.0.0.1:${seeder.port}&tr=${encodeURIComponent('http://127.0.0.1:9/announce')}`;
    const r = await runBin(BIN, [magnet, '-o', out, '--listen', '127.0.0.1', '--json'], { cwd: work.path, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/fetching metadata of album from \d+ peers?…/);
    const line = JSON.parse(r.stdout) as { status: string; path: string; infoHash: string; name: string; size: number };
    expect(line).toMatchObject({ status: 'saved', path: join(out, 'album.torrent'), infoHash: t.infoHashHex, name: 'album', size: 333_333 });
    const saved = parseMetainfo(await readFile(join(out, 'album.torrent'))).metainfo;
    expect(saved.infoHashHex).toBe(t.infoHashHex);
    // The link's tracker is kept in the file (the tracker itself is down: the peer came from x.pe).
    expect(saved.announce).toBe('http://127.0.0.1:9/announce');
    expect(await readdir(out)).toEqual(['album.torrent']);
  });

  it('gives up with exit 4 when no peer has the metadata', async () => {
    const out = join(work.path, 'none');
    const magnet = `magnet:?xt=urn:btih:${'cd'.repeat(20)}&dn=nobody`;
    const r = await runBin(BIN, [magnet, '-o', out, '--listen', '127.0.0.1', '--metadata-timeout', '1'], { cwd: work.path, timeoutMs: 30_000 });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('no peer sent the metadata within 1 s');
    await expect(readdir(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
