import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, truncate, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchesFixture } from '@tc/testkit/fixture-check';
import { startLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import { runBin, TEST_STATE_HOME } from '@tc/testkit/run-bin';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { waitForTcp } from '@tc/testkit/aria2';
import { freePort, startTransmissionSeeder } from '@tc/testkit/transmission';

const BIN = resolve(import.meta.dirname, '../bin/tc-seed.js');

let t: TestTorrent;
let work: { path: string; cleanup: () => Promise<void> };
const children: ChildProcess[] = [];
const peers: LibtorrentPeer[] = [];

beforeAll(async () => {
  work = await tempDir('tc-seed-');
  // Files smaller than a piece, one spanning many, a short last piece.
  t = createTestTorrent({
    name: 'album',
    pieceLength: 64 * 1024,
    files: [
      { path: ['cover.jpg'], length: 20_000 },
      { path: ['cd1', 'track1.flac'], length: 1_500_000 },
      { path: ['cd1', 'notes.txt'], length: 777 },
      { path: ['cd2', 'track2.flac'], length: 1_234_567 },
    ],
    seed: 7,
  });
  await writeFile(join(work.path, 'album.torrent'), t.torrent);
  await t.writeTo(join(work.path, 'data'));
});

afterAll(async () => {
  for (const p of peers) await p.stop();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await work?.cleanup();
});

/** Starts tc-seed; resolves once it has verified the data (it listens before that). */
async function startSeed(args: string[]): Promise<{ child: ChildProcess; out: () => string; err: () => string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: work.path,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', TC_DHT_BOOTSTRAP: '', TC_LSD: '0', XDG_STATE_HOME: TEST_STATE_HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  await new Promise<void>((res, rej) => {
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      err += s;
      if (/re-checked: 100%|resuming: 100%/.test(err)) res();
    });
    exit.then((code) => rej(new Error(`tc-seed exited ${code}: ${err}`)), rej);
  });
  return { child, out: () => out, err: () => err, exit };
}

describe('tc-seed', () => {
  it('verifies the data, then a libtorrent leecher downloads the multi-file torrent from tc alone; SIGINT ends it with exit 130 (CLI.md)', async () => {
    const port = await freePort();
    const seed = await startSeed(['album.torrent', 'data', '--port', String(port), '--listen', '127.0.0.1', '--progress', 'plain']);
    expect(seed.err()).toMatch(/re-checking existing data/);
    const dest = join(work.path, 'lt-leech');
    const leecher = await startLibtorrent({ torrentPath: join(work.path, 'album.torrent'), savePath: dest, connectTo: [{ ip: '127.0.0.1', port }] });
    peers.push(leecher);
    const started = performance.now();
    await leecher.waitFor('finished', undefined, 60_000);
    const secs = (performance.now() - started) / 1000;
    expect(await matchesFixture(t, dest)).toBe(true);
    // Stop it like a user would. tc counts a block as uploaded when it sends it, so everything the
    // leecher finished with is in the summary already.
    seed.child.kill('SIGINT');
    expect(await seed.exit).toBe(130);
    const m = /uploaded: .*\((\d+) bytes, ratio ([\d.]+)\)/.exec(seed.out());
    expect(m, seed.out()).not.toBeNull();
    const uploaded = Number(m![1]);
    expect(uploaded).toBeGreaterThanOrEqual(t.data.length);
    console.log(`tc-seed → libtorrent: ${t.data.length} bytes in ${secs.toFixed(2)} s; tc uploaded ${uploaded} bytes (ratio ${m![2]})`);
  });

  it('a libtorrent peer given only the magnet link gets the metadata from tc (BEP 9), then every byte from tc alone', async () => {
    const port = await freePort();
    const seed = await startSeed(['album.torrent', 'data', '--port', String(port), '--listen', '127.0.0.1', '--progress', 'none']);
    const dest = join(work.path, 'lt-magnet');
    // No tr=, no DHT, no LSD: tc, dialled once it listens, is the only place the metadata can come from.
    const leecher = await startLibtorrent({ magnet: `magnet:?xt=urn:btih:${t.infoHashHex}`, savePath: dest, connectTo: [{ ip: '127.0.0.1', port }] });
    peers.push(leecher);
    expect(leecher.infoHash).toBe(t.infoHashHex);
    const started = performance.now();
    const meta = await leecher.waitFor('metadata', undefined, 60_000);
    const metaSecs = (performance.now() - started) / 1000;
    expect(meta['infoHash']).toBe(t.infoHashHex);
    expect(meta['name']).toBe('album');
    expect(meta['totalSize']).toBe(t.data.length);
    await leecher.waitFor('finished', undefined, 60_000);
    const secs = (performance.now() - started) / 1000;
    expect(await matchesFixture(t, dest)).toBe(true);
    // Every connection libtorrent made (its first try is MSE, which tc refuses; it then redials in
    // plaintext) went to tc: nothing else could have given it the metadata or a byte.
    const dialled = leecher.events.filter((e) => e.event === 'peer-connected' || e.event === 'peer-disconnected');
    expect(dialled.some((e) => e.event === 'peer-connected')).toBe(true);
    expect(new Set(dialled.map((e) => `${String(e['ip'])}:${String(e['port'])}`))).toEqual(new Set([`127.0.0.1:${port}`]));
    expect(leecher.events.findIndex((e) => e.event === 'metadata')).toBeLessThan(leecher.events.findIndex((e) => e.event === 'finished'));
    // Stop it like a user would. tc counts a block as uploaded when it sends it, so everything the
    // leecher finished with is in the summary already.
    seed.child.kill('SIGINT');
    expect(await seed.exit).toBe(130);
    const m = /uploaded: .*\((\d+) bytes, ratio ([\d.]+)\)/.exec(seed.out());
    expect(m, seed.out()).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(t.data.length);
    console.log(
      `tc-seed → libtorrent (magnet): metadata in ${metaSecs.toFixed(2)} s, ${t.data.length} bytes in ${secs.toFixed(2)} s; tc uploaded ${m![1]} bytes`,
    );
  });

  it('a transmission leecher downloads the multi-file torrent from tc alone (tc dials it: --peer)', async () => {
    const tPort = await freePort();
    const dest = join(work.path, 'tr-leech');
    // transmission-cli prints "Seeding" once it holds every piece: for a leecher that means the download is done.
    const leech = startTransmissionSeeder({
      torrentPath: join(work.path, 'album.torrent'),
      dataDir: dest,
      configDir: join(work.path, 'tr-config'),
      port: tPort,
    });
    let stop: (() => Promise<void>) | undefined;
    leech.then(
      (l) => (stop = l.stop),
      () => undefined,
    );
    // Transmission never dials 127.0.0.0/8 peers on its own (INTEROP.md): tc connects to it, once it listens.
    await waitForTcp(tPort, 30_000);
    const port = await freePort();
    const seed = await startSeed([
      'album.torrent',
      'data',
      '--port',
      String(port),
      '--listen',
      '127.0.0.1',
      '--peer',
      `127.0.0.1:${tPort}`,
      '--progress',
      'none',
    ]);
    const started = performance.now();
    try {
      await leech;
      const secs = (performance.now() - started) / 1000;
      expect(await matchesFixture(t, dest)).toBe(true);
      seed.child.kill('SIGINT');
      expect(await seed.exit).toBe(130);
      const m = /uploaded: .*\((\d+) bytes, ratio ([\d.]+)\)/.exec(seed.out());
      expect(m, seed.out()).not.toBeNull();
      expect(Number(m![1])).toBeGreaterThanOrEqual(t.data.length);
      console.log(`tc-seed → transmission: ${t.data.length} bytes in ${secs.toFixed(2)} s; tc uploaded ${m![1]} bytes (ratio ${m![2]})`);
    } finally {
      await stop?.();
    }
  });

  it('--seed RATIO stops by itself once reached; a second run trusts its resume file', async () => {
    const port = await freePort();
    const seed = await startSeed([
      'album.torrent',
      join(work.path, 'data', 'album'),
      '--port',
      String(port),
      '--listen',
      '127.0.0.1',
      '--seed',
      '0.9',
      '--progress',
      'none',
    ]);
    expect(seed.err()).toMatch(/resuming: 100% verified from resume data/);
    const leecher = await startLibtorrent({
      torrentPath: join(work.path, 'album.torrent'),
      savePath: join(work.path, 'lt-leech2'),
      connectTo: [{ ip: '127.0.0.1', port }],
    });
    peers.push(leecher);
    expect(await seed.exit).toBe(0);
    expect(seed.out()).toMatch(/seeded album/);
    // The resume data it trusted and saved is in the state folder: the data folder holds the data only (issue 17).
    expect(await readdir(join(work.path, 'data'))).toEqual(['album']);
  });

  it('--limit-up keeps the upload rate at or below the limit', async () => {
    const LIMIT = 512 * 1024;
    const port = await freePort();
    const seed = await startSeed(['album.torrent', 'data', '--port', String(port), '--listen', '127.0.0.1', '--limit-up', '512k', '--progress', 'none']);
    const leecher = await startLibtorrent({
      torrentPath: join(work.path, 'album.torrent'),
      savePath: join(work.path, 'lt-limited'),
      connectTo: [{ ip: '127.0.0.1', port }],
      statusIntervalMs: 100,
    });
    peers.push(leecher);
    // Timed from the leecher's first received bytes (its start-up and connect are not tc's rate).
    const first = await leecher.waitFor('status', (e) => Number(e['totalDone']) > 0, 60_000);
    const t0 = performance.now();
    await leecher.waitFor('finished', undefined, 60_000);
    const secs = (performance.now() - t0) / 1000;
    expect(await matchesFixture(t, join(work.path, 'lt-limited'))).toBe(true);
    seed.child.kill('SIGINT');
    expect(await seed.exit).toBe(130);
    const rate = (t.data.length - Number(first['totalDone'])) / secs;
    console.log(
      `--limit-up 512k: ${t.data.length} bytes in ${secs.toFixed(2)} s = ${(rate / 1024).toFixed(0)} KiB/s (${((100 * rate) / LIMIT - 100).toFixed(1)}% off the limit)`,
    );
    // Never faster than the limit (+15% for the first burst and timer slack): a loaded machine can
    // only make it slower. How close to the limit it gets is measured in bench/ratelimit.mjs.
    expect(rate).toBeLessThan(LIMIT * 1.15);
  });

  it('refuses incomplete data with exit 6, and usage errors with exit 2', async () => {
    const bad = join(work.path, 'bad');
    await t.writeTo(bad);
    await truncate(t.pathOf(bad, t.files[3]!), 1000);
    const r = await runBin(BIN, ['album.torrent', bad, '--listen', '127.0.0.1'], { cwd: work.path });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/error: .*pieces match the torrent/);
    const u = await runBin(BIN, ['album.torrent'], { cwd: work.path });
    expect(u.code).toBe(2);
    const g = await runBin(BIN, ['album.torrent', 'data', '--seed', 'soon'], { cwd: work.path });
    expect(g.code).toBe(2);
    expect(g.stderr).toMatch(/--seed: cannot read/);
  });
});
