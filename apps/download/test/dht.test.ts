import { readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLibtorrentDhtNode, type LtDhtNode } from '@tc/testkit/dht-nodes';
import { startLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import { runBin } from '@tc/testkit/run-bin';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { captureIo } from '@tc/cli';
import { parseDownloadArgs } from '../src/args.js';

/**
 * Trackerless magnets (issue 11): a libtorrent seeder announced only in a loopback DHT of
 * libtorrent nodes; tc-download knows one node (or, the second time, only its saved table).
 */
const BIN = resolve(import.meta.dirname, '../bin/tc-download.js');

let t: TestTorrent;
let work: { path: string; cleanup: () => Promise<void> };
let node: LtDhtNode;
let seeder: LibtorrentPeer;

beforeAll(async () => {
  work = await tempDir('tc-dht-dl-');
  t = createTestTorrent({
    name: 'dht-album',
    pieceLength: 32 * 1024,
    seed: 77,
    files: [
      { path: ['a.bin'], length: 400_000 },
      { path: ['b.bin'], length: 90_001 },
    ],
  });
  await writeFile(join(work.path, 'album.torrent'), t.torrent);
  await t.writeTo(join(work.path, 'seed'));
  node = await startLibtorrentDhtNode({ savePath: join(work.path, 'node') });
  seeder = await startLibtorrent({
    torrentPath: join(work.path, 'album.torrent'),
    savePath: join(work.path, 'seed'),
    seed: true,
    dht: { nodes: [{ ip: '127.0.0.1', port: node.port }] },
  });
  await seeder.waitFor('finished', undefined, 30_000);
  // The node has the seeder's announce before tc asks.
  const deadline = Date.now() + 40_000;
  while ((await node.getPeers(t.infoHashHex, 10_000)).length === 0) {
    if (Date.now() > deadline) throw new Error('the seeder never announced to the loopback DHT');
    seeder.dhtAnnounce();
    await new Promise((r) => setTimeout(r, 1_000));
  }
}, 90_000);

afterAll(async () => {
  await seeder?.stop();
  await node?.stop();
  await work?.cleanup();
});

async function expectAlbum(dir: string): Promise<void> {
  let off = 0;
  for (const f of t.files) {
    const got = await readFile(t.pathOf(dir, f));
    expect(got.equals(t.data.subarray(off, off + f.length))).toBe(true);
    off += f.length;
  }
}

describe('tc-download with the DHT', () => {
  it('completes a magnet with no tracker and no peer from a seeder found in the DHT; the saved table alone finds it again', async () => {
    const state = join(work.path, 'state');
    const env = { XDG_STATE_HOME: state };
    const r = await runBin(
      BIN,
      [
        `magnet:?xt=urn:btih:${t.infoHashHex}`,
        '-o',
        join(work.path, 'dl1'),
        '--listen',
        '127.0.0.1',
        '--port',
        '0',
        '--progress',
        'plain',
        '--dht-bootstrap',
        `127.0.0.1:${node.port}`,
      ],
      { cwd: work.path, env, timeoutMs: 90_000 },
    );
    expect(r.code, r.stderr).toBe(0);
    await expectAlbum(join(work.path, 'dl1'));
    expect((await stat(join(state, 'tc', 'dht.state'))).size).toBeGreaterThan(0);
    // A bare info-hash, no bootstrap (runBin sets TC_DHT_BOOTSTRAP=''): the table saved above is enough.
    // A fresh port for each run: the seeder learns the first run's address from the DHT and would
    // otherwise dial the second run on the same default port before our own lookup finds it.
    const r2 = await runBin(BIN, [t.infoHashHex, '-o', join(work.path, 'dl2'), '--listen', '127.0.0.1', '--port', '0', '--json'], {
      cwd: work.path,
      env,
      timeoutMs: 90_000,
    });
    expect(r2.code, r2.stderr).toBe(0);
    await expectAlbum(join(work.path, 'dl2'));
    // --json says where the peers came from.
    const summary = JSON.parse(r2.stdout.trim().split('\n').at(-1)!) as { type: string; peerSources?: Record<string, number> };
    expect(summary.type).toBe('summary');
    expect(summary.peerSources?.['dht']).toBeGreaterThanOrEqual(1);
  }, 200_000);

  it('--no-dht: a trackerless magnet says the DHT is off when no one offers the metadata', async () => {
    const r = await runBin(
      BIN,
      [`magnet:?xt=urn:btih:${t.infoHashHex}`, '-o', join(work.path, 'dl3'), '--listen', '127.0.0.1', '--no-dht', '--first-peer-timeout', '1'],
      { cwd: work.path, env: { XDG_STATE_HOME: join(work.path, 'state3') }, timeoutMs: 30_000 },
    );
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('trackers: the magnet link lists none; DHT off');
  });

  it('rejects a malformed --dht-bootstrap', async () => {
    const r = await runBin(BIN, [t.infoHashHex, '--dht-bootstrap', 'nonsense'], { cwd: work.path });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--dht-bootstrap: cannot read "nonsense" as HOST:PORT');
  });
});

describe('discovery flags', () => {
  const parse = async (argv: string[], env: Record<string, string> = {}) => (await parseDownloadArgs(['x.torrent', ...argv], captureIo({ env })))!;

  it('DHT, PEX and LSD are on by default; --no-* and TC_LSD=0 turn them off', async () => {
    const on = await parse([], { TC_DHT_BOOTSTRAP: '', TC_LSD: '1' });
    expect([on.dht, on.pex, on.lsd]).toEqual([true, true, true]);
    expect(on.dhtBootstrap).toEqual([]);
    const off = await parse(['--no-dht', '--no-pex', '--no-lsd']);
    expect([off.dht, off.pex, off.lsd]).toEqual([false, false, false]);
    expect((await parse([], { TC_LSD: '0' })).lsd).toBe(false);
  });

  it('--dht-bootstrap (repeatable) wins over TC_DHT_BOOTSTRAP; neither means the public routers', async () => {
    expect((await parse(['--dht-bootstrap', '127.0.0.1:1', '--dht-bootstrap', '[::1]:2'], { TC_DHT_BOOTSTRAP: '127.0.0.1:9' })).dhtBootstrap).toEqual([
      '127.0.0.1:1',
      '[::1]:2',
    ]);
    expect((await parse([], { TC_DHT_BOOTSTRAP: ' 127.0.0.1:9 , host.example:6881 ' })).dhtBootstrap).toEqual(['127.0.0.1:9', 'host.example:6881']);
    const io = captureIo();
    const none = (await parseDownloadArgs(['x.torrent'], { ...io, env: {} }))!;
    expect(none.dhtBootstrap).toBeUndefined();
    await expect(parse([], { TC_DHT_BOOTSTRAP: '127.0.0.1' })).rejects.toThrow('cannot read "127.0.0.1" as HOST:PORT');
  });
});
