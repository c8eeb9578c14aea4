import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseMetainfo } from '@tc/codec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeMetadataPeer, type FakeMetadataPeer } from '@tc/testkit/fake-metadata-peer';
import { startLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import { runBin } from '@tc/testkit/run-bin';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { freePort } from '@tc/testkit/transmission';

const BIN = resolve(import.meta.dirname, '../bin/tc-download.js');

let t: TestTorrent;
let work: { path: string; cleanup: () => Promise<void> };
let seeder: LibtorrentPeer;
const fakes: FakeMetadataPeer[] = [];

beforeAll(async () => {
  work = await tempDir('tc-magnet-');
  t = createTestTorrent({
    name: 'album',
    pieceLength: 32 * 1024,
    seed: 41,
    files: [
      { path: ['one.flac'], length: 700_000 },
      { path: ['two.flac'], length: 333_333 },
      { path: ['cover.jpg'], length: 20_001 },
    ],
  });
  await writeFile(join(work.path, 'album.torrent'), t.torrent);
  await t.writeTo(join(work.path, 'seed'));
  seeder = await startLibtorrent({ torrentPath: join(work.path, 'album.torrent'), savePath: join(work.path, 'seed'), seed: true });
  await seeder.waitFor('finished', undefined, 30_000);
});

afterAll(async () => {
  for (const f of fakes) await f.close();
  await seeder?.stop();
  await work?.cleanup();
});

const magnet = (...peers: number[]): string => `magnet:?xt=urn:btih:${t.infoHashHex}&dn=album${peers.map((p) => `&x.pe=127.0.0.1:${p}`).join('')}`;

async function expectAlbum(dir: string): Promise<void> {
  let off = 0;
  for (const f of t.files) {
    const got = await readFile(t.pathOf(dir, f));
    expect(got.equals(t.data.subarray(off, off + f.length))).toBe(true);
    off += f.length;
  }
}

describe('tc-download MAGNET', () => {
  it('fetches the metadata from a libtorrent seeder, downloads byte for byte, and resumes from the saved .torrent', async () => {
    const out = join(work.path, 'dl');
    const r = await runBin(BIN, [magnet(seeder.port), '-o', out, '--listen', '127.0.0.1', '--progress', 'plain'], { cwd: work.path, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/fetching metadata of album from \d+ peers?…/);
    expect(r.stderr).toContain('metadata received: album (3 files');
    await expectAlbum(out);
    // The fetched metadata is saved as HASH.torrent: the same info-hash as the original.
    const saved = await readFile(join(out, `${t.infoHashHex}.torrent`));
    expect(parseMetainfo(saved).metainfo.infoHashHex).toBe(t.infoHashHex);
    // Second run, no peer at all: the saved .torrent and the resume file say everything is there.
    const again = await runBin(BIN, [magnet(), '-o', out, '--listen', '127.0.0.1', '--first-peer-timeout', '5'], { cwd: work.path, timeoutMs: 30_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('using the metadata fetched by an earlier run');
    expect(again.stderr).not.toContain('fetching metadata');
    await expectAlbum(out);
  });

  it('--list lists the files once the metadata arrives', async () => {
    const out = join(work.path, 'list');
    const r = await runBin(BIN, [magnet(seeder.port), '-o', out, '--listen', '127.0.0.1', '--list'], { cwd: work.path, timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^0 +684 KiB  album\/one\.flac\n1 .* album\/two\.flac\n2 .* album\/cover\.jpg\n$/);
    await expect(stat(join(out, 'album'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('skips a peer whose metadata does not hash and one announcing 4 GiB, in favour of an honest libtorrent seeder', async () => {
    const liar = await startFakeMetadataPeer({ infoHash: t.infoHash, metadata: randomBytes(parseMetainfo(t.torrent).metainfo.infoBytes.length) });
    const huge = await startFakeMetadataPeer({ infoHash: t.infoHash, announcedSize: 4 * 1024 ** 3 });
    fakes.push(liar, huge);
    const out = join(work.path, 'hostile');
    const tcPort = await freePort();
    // Only the two hostile peers are in the link; the honest seeder dials tc later, after the liar was caught.
    let listening!: () => void;
    const tcListening = new Promise<void>((r) => (listening = r));
    let early = '';
    const run = runBin(BIN, [magnet(liar.port, huge.port), '-o', out, '--port', String(tcPort), '--listen', '127.0.0.1'], {
      cwd: work.path,
      timeoutMs: 60_000,
      // tc prints this once its port is open (read across chunks: a line may arrive split).
      onStderr: (s) => {
        early += s;
        if (early.includes('fetching metadata')) listening();
      },
    });
    // The honest seeder dials tc only once tc listens: libtorrent waits a minute or more before it
    // retries an address that refused it (seen on a busy machine, where tc starts slower than libtorrent).
    await Promise.race([tcListening, run]);
    const honest = await startLibtorrent({
      torrentPath: join(work.path, 'album.torrent'),
      savePath: join(work.path, 'seed'),
      seed: true,
      connectTo: [{ ip: '127.0.0.1', port: tcPort }],
    });
    try {
      const r = await run;
      expect(r.code, r.stderr).toBe(0);
      await expectAlbum(out);
      expect(huge.requests).toBe(0);
      expect(r.stderr).toMatch(/metadata_size 4294967296 is outside/);
      expect(liar.requests).toBeGreaterThan(0);
      expect(r.stderr).toContain('does not hash to the info-hash');
      expect(r.stderr).toContain(`banned peer 127.0.0.1:${liar.port}`);
    } finally {
      await honest.stop();
    }
  });

  it('ends with exit 4 and says why when no peer offers the metadata', async () => {
    const huge = await startFakeMetadataPeer({ infoHash: t.infoHash, announcedSize: 4 * 1024 ** 3 });
    fakes.push(huge);
    const r = await runBin(BIN, [magnet(huge.port), '-o', join(work.path, 'none'), '--listen', '127.0.0.1', '--first-peer-timeout', '2'], {
      cwd: work.path,
      timeoutMs: 30_000,
    });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain(
      'no peer sent the metadata within 2 s (1 peer connected, none offering it; trackers: the magnet link lists none; DHT: 0 nodes, 1 lookups, 0 peers found)',
    );
    const bare = await runBin(
      BIN,
      [`magnet:?xt=urn:btih:${t.infoHashHex}`, '-o', join(work.path, 'none'), '--listen', '127.0.0.1', '--first-peer-timeout', '1'],
      { cwd: work.path, timeoutMs: 30_000 },
    );
    expect(bare.code, bare.stderr).toBe(4);
    expect(bare.stderr).toContain('no peer sent the metadata within 1 s (0 peers connected');
  });

  it('a malformed magnet link is exit 3', async () => {
    const r = await runBin(BIN, ['magnet:?xt=urn:btih:nothex', '--listen', '127.0.0.1'], { cwd: work.path });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toContain('btih');
  });
});
