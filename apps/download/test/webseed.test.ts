import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixtureSeeder } from '@tc/testkit/fixture-seeder';
import type { LibtorrentPeer } from '@tc/testkit/libtorrent';
import { startRangeServer, type RangeFault, type RangeServer } from '@tc/testkit/range-server';
import { runBin } from '@tc/testkit/run-bin';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';

const BIN = resolve(import.meta.dirname, '../bin/tc-download.js');
/** No DHT, LSD or PEX: the web seed and `--peer` are the only sources. */
const ALONE = ['--port', '0', '--listen', '127.0.0.1', '--no-dht', '--no-lsd', '--no-pex', '--json'];

interface Summary {
  type: string;
  peersUsed: number;
  webSeeds?: { url: string; state: string; reason: string | null; downloadedBytes: number }[];
}

/** The torrent's bytes with a BEP 19 `url-list` (a key after `info`, so it goes last in the dictionary). */
function withUrlList(torrent: Buffer, url: string): Buffer {
  return Buffer.concat([torrent.subarray(0, -1), Buffer.from(`8:url-list${Buffer.byteLength(url)}:${url}e`)]);
}

let t: TestTorrent;
let work: { path: string; cleanup: () => Promise<void> };
let seeder: LibtorrentPeer | undefined;
const servers: RangeServer[] = [];

beforeAll(async () => {
  work = await tempDir('tc-webseed-');
  t = createTestTorrent({
    name: 'mirror',
    pieceLength: 64 * 1024,
    seed: 19,
    files: [
      { path: ['a.txt'], length: 5_000 },
      { path: ['sub dir', 'b.bin'], length: 6 * 1024 * 1024 + 3 },
      { path: ['c.dat'], length: 70_001 },
    ],
  });
  // work/seed/mirror/…: the libtorrent seeder's data, and what the Range servers serve.
  seeder = await startFixtureSeeder(t, work.path, 'mirror.torrent');
}, 60_000);

afterAll(async () => {
  for (const s of servers) await s.close();
  await seeder?.stop();
  await work?.cleanup();
});

async function server(fault: RangeFault): Promise<RangeServer> {
  const s = await startRangeServer(join(work.path, 'seed'), fault);
  servers.push(s);
  return s;
}

async function expectFiles(dir: string): Promise<void> {
  let off = 0;
  for (const f of t.files) {
    expect((await readFile(t.pathOf(dir, f))).equals(t.data.subarray(off, off + f.length))).toBe(true);
    off += f.length;
  }
}

function summaryOf(stdout: string): Summary {
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Summary;
}

describe('tc-download with web seeds (BEP 19)', () => {
  it('downloads a multi-file torrent from its url-list alone, with no peers', async () => {
    const s = await server('ok');
    const file = join(work.path, 'with-url-list.torrent');
    await writeFile(file, withUrlList(t.torrent, s.base));
    const out = join(work.path, 'alone');
    const r = await runBin(BIN, [file, '-o', out, ...ALONE], { cwd: work.path, timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    await expectFiles(out);
    const sum = summaryOf(r.stdout);
    expect(sum.type).toBe('summary');
    expect(sum.peersUsed).toBe(0);
    expect(sum.webSeeds).toEqual([{ url: s.base, state: 'active', reason: null, downloadedBytes: t.data.length }]);
  }, 90_000);

  const faults: [RangeFault, RegExp][] = [
    ['no-range', /no Range support/],
    ['503', /HTTP 503/],
    ['redirect-loop', /redirect/],
  ];
  for (const [fault, reason] of faults) {
    it(`names a ${fault} web seed (--web-seed) with its reason in the JSON summary; the peer completes the download`, async () => {
      const s = await server(fault);
      const out = join(work.path, `fault-${fault}`);
      const r = await runBin(BIN, ['mirror.torrent', '-o', out, ...ALONE, '--web-seed', s.base, '--peer', `127.0.0.1:${seeder!.port}`], {
        cwd: work.path,
        timeoutMs: 60_000,
      });
      expect(r.code, r.stderr).toBe(0);
      await expectFiles(out);
      const sum = summaryOf(r.stdout);
      expect(sum.peersUsed).toBe(1);
      expect(sum.webSeeds).toHaveLength(1);
      // Backed off or dropped by now, or (a slow peer) tried again after its wait: its last failure is named either way.
      expect(sum.webSeeds![0]!.reason).toMatch(reason);
    }, 90_000);
  }

  it('refuses a --web-seed that is not an http(s) URL (usage error)', async () => {
    const r = await runBin(BIN, ['mirror.torrent', '-o', join(work.path, 'bad'), ...ALONE, '--web-seed', 'ftp://x/y'], { cwd: work.path, timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--web-seed: .*only http and https/);
  }, 60_000);
});
