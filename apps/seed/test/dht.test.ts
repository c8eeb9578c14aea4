import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLibtorrentDhtNode, type LtDhtNode } from '@tc/testkit/dht-nodes';
import { matchesFixture } from '@tc/testkit/fixture-check';
import { startLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { freePort } from '@tc/testkit/transmission';

/** Issue 11: a libtorrent downloader finds tc-seed, the only seeder, through a loopback DHT (no tracker, no peer given). */
const BIN = resolve(import.meta.dirname, '../bin/tc-seed.js');

let t: TestTorrent;
let work: { path: string; cleanup: () => Promise<void> };
let node: LtDhtNode;
let child: ChildProcess | undefined;
let leecher: LibtorrentPeer | undefined;

beforeAll(async () => {
  work = await tempDir('tc-seed-dht-');
  t = createTestTorrent({ name: 'dht-seed', pieceLength: 32 * 1024, seed: 8, files: [{ path: ['one.bin'], length: 300_000 }] });
  await writeFile(join(work.path, 'x.torrent'), t.torrent);
  await t.writeTo(join(work.path, 'data'));
  node = await startLibtorrentDhtNode({ savePath: join(work.path, 'node') });
}, 30_000);

afterAll(async () => {
  await leecher?.stop();
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await node?.stop();
  await work?.cleanup();
});

describe('tc-seed in the DHT', () => {
  it('announces itself; a libtorrent magnet downloader that knows only the DHT node finds it and completes', async () => {
    const port = await freePort();
    const c = spawn(process.execPath, [BIN, 'x.torrent', 'data', '--port', String(port), '--listen', '127.0.0.1', '--progress', 'none'], {
      cwd: work.path,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        NO_COLOR: '1',
        TC_LSD: '0',
        TC_DHT_BOOTSTRAP: `127.0.0.1:${node.port}`,
        XDG_STATE_HOME: join(work.path, 'state'),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = c;
    let err = '';
    c.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    // Once the data is verified the torrent runs: its DHT lookup and announce start. Whichever comes
    // first, tc's announce or the leecher's, the two find each other (a seed dials the peers it finds too).
    await new Promise<void>((res, rej) => {
      c.stderr.on('data', () => {
        if (/re-checked: 100%|resuming: 100%/.test(err)) res();
      });
      c.on('close', (code) => rej(new Error(`tc-seed exited ${code}: ${err}`)));
    });
    const dest = join(work.path, 'lt');
    leecher = await startLibtorrent({ magnet: `magnet:?xt=urn:btih:${t.infoHashHex}`, savePath: dest, dht: { nodes: [{ ip: '127.0.0.1', port: node.port }] } });
    await leecher.waitFor('finished', undefined, 60_000);
    expect(await matchesFixture(t, dest)).toBe(true);
    const seen = leecher.events.filter((e) => e.event === 'peer-connected').map((e) => Number(e['port']));
    expect(seen).toContain(port);
  }, 120_000);
});
