import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import { runBin } from '@tc/testkit/run-bin';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { startThrottleProxy, type ThrottleProxy } from '@tc/testkit/throttle-proxy';
import { tempDir } from '@tc/testkit/tmp';
import { freePort } from '@tc/testkit/transmission';

const BIN = resolve(import.meta.dirname, '../bin/tc-download.js');
const SIZE = 8 * 1024 * 1024;
/** The seeder reaches each leecher through its own proxy at this rate: the leechers gain by trading. */
const SEEDER_BPS = 1024 * 1024;

let t: TestTorrent;
let work: { path: string; cleanup: () => Promise<void> };
const peers: LibtorrentPeer[] = [];
const proxies: ThrottleProxy[] = [];

beforeAll(async () => {
  work = await tempDir('tc-swarm-');
  t = createTestTorrent({ name: 'shared.bin', pieceLength: 64 * 1024, length: SIZE, seed: 31 });
  await writeFile(join(work.path, 'shared.torrent'), t.torrent);
  await t.writeTo(join(work.path, 'seed'));
});

afterAll(async () => {
  for (const p of proxies) await p.close();
  for (const p of peers) await p.stop();
  await work?.cleanup();
});

describe('tc-download in a swarm', () => {
  it('reciprocates: one seeder, two leechers (tc and libtorrent); tc uploads to the other leecher while downloading', async () => {
    const seeder = await startLibtorrent({ torrentPath: join(work.path, 'shared.torrent'), savePath: join(work.path, 'seed'), seed: true });
    peers.push(seeder);
    await seeder.waitFor('finished', undefined, 30_000);
    const forTc = await startThrottleProxy({ host: '127.0.0.1', port: seeder.port }, SEEDER_BPS);
    const forLt = await startThrottleProxy({ host: '127.0.0.1', port: seeder.port }, SEEDER_BPS);
    proxies.push(forTc, forLt);
    const tcPort = await freePort();
    let listening!: () => void;
    const tcListening = new Promise<void>((r) => (listening = r));
    const tc = runBin(
      BIN,
      ['shared.torrent', '-o', join(work.path, 'tc'), '--port', String(tcPort), '--listen', '127.0.0.1', '--peer', `127.0.0.1:${forTc.port}`, '--json'],
      {
        cwd: work.path,
        timeoutMs: 60_000,
        // The first JSON status line comes once tc's port is open.
        onStdout: () => listening(),
      },
    );
    // The other leecher knows the seeder (through its proxy) and tc. It starts once tc listens:
    // libtorrent waits a minute or more before it retries an address that refused it.
    await Promise.race([tcListening, tc]);
    const other = await startLibtorrent({
      torrentPath: join(work.path, 'shared.torrent'),
      savePath: join(work.path, 'lt'),
      connectTo: [
        { ip: '127.0.0.1', port: forLt.port },
        { ip: '127.0.0.1', port: tcPort },
      ],
    });
    peers.push(other);
    const r = await tc;
    expect(r.code, r.stderr).toBe(0);
    expect((await readFile(join(work.path, 'tc', 'shared.bin'))).equals(t.data)).toBe(true);
    const last = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { uploadedBytes: number; downloadedBytes: number; elapsedS: number };
    await other.waitFor('finished', undefined, 60_000);
    expect((await readFile(join(work.path, 'lt', 'shared.bin'))).equals(t.data)).toBe(true);
    console.log(
      `swarm: tc downloaded ${last.downloadedBytes} bytes in ${last.elapsedS.toFixed(2)} s and uploaded ${last.uploadedBytes} bytes to the other leecher meanwhile (${((100 * last.uploadedBytes) / SIZE).toFixed(0)}% of the torrent)`,
    );
    // Trading beats the seeder's 1 MiB/s: tc gave the other leecher a real share of the pieces.
    expect(last.uploadedBytes).toBeGreaterThan(SIZE / 8);
  });
});
