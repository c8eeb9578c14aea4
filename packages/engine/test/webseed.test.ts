import { formatMagnet, parseMagnet } from '@tc/codec';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hasLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import { startFixtureSeeder } from '@tc/testkit/fixture-seeder';
import { startRangeServer, type RangeFault, type RangeServer } from '@tc/testkit/range-server';
import type { TestTorrent } from '@tc/testkit/swarm-fixture';
import { startThrottleProxy, type ThrottleProxy } from '@tc/testkit/throttle-proxy';
import { tempDir } from '@tc/testkit/tmp';
import { until } from '@tc/testkit/wait';
import { join } from 'node:path';
import type { Session } from '../src/session.js';
import type { Torrent } from '../src/torrent/torrent.js';
import { expectSameFiles, loopbackSession, multiFileTorrent, sourceOf } from './helpers.js';

/** Web seeds (BEP 19) against a loopback Range server (testkit), alone and beside a libtorrent seeder. */
describe('web seeds', () => {
  let t: TestTorrent;
  let work: { path: string; cleanup: () => Promise<void> };
  let seeder: LibtorrentPeer;
  let session: Session;
  const servers: RangeServer[] = [];
  const proxies: ThrottleProxy[] = [];
  const dirs: { cleanup: () => Promise<void> }[] = [];

  beforeAll(async () => {
    expect(hasLibtorrent(), 'python3-libtorrent is needed (apt-get install python3-libtorrent)').toBe(true);
    t = multiFileTorrent([]);
    work = await tempDir();
    // The data under work/seed/interop/…: a Range server rooted at work/seed serves it at BASE/interop/….
    seeder = await startFixtureSeeder(t, work.path, 'x.torrent');
    session = await loopbackSession({ timeouts: { webSeedTimeoutMs: 1_500 } });
  }, 60_000);

  afterAll(async () => {
    await session?.close();
    await seeder?.stop();
    for (const s of servers) await s.close();
    for (const p of proxies) await p.close();
    for (const d of dirs) await d.cleanup();
    await work?.cleanup();
  });

  // A test that failed before its own remove must not hand its torrent to the next one.
  afterEach(async () => {
    await session?.remove(t.infoHash).catch(() => undefined);
  });

  async function server(fault: RangeFault = 'ok'): Promise<RangeServer> {
    const s = await startRangeServer(join(work.path, 'seed'), fault);
    servers.push(s);
    return s;
  }

  async function download(webSeeds: string[], withPeer: boolean | number): Promise<{ tor: Torrent; dir: string }> {
    const d = await tempDir();
    dirs.push(d);
    const tor = await session.add(sourceOf(t), {
      dir: d.path,
      noTrackers: true,
      webSeeds,
      ...(withPeer !== false ? { peers: [{ host: '127.0.0.1', port: withPeer === true ? seeder.port : withPeer }] } : {}),
    });
    return { tor, dir: d.path };
  }

  it('completes a multi-file torrent from a web seed alone, with no peers', async () => {
    const s = await server();
    const { tor, dir } = await download([s.base], false);
    await tor.done;
    const st = tor.stats();
    expect(st.peersUsed).toBe(0);
    expect(st.hashFailures).toBe(0);
    expect(st.webSeeds).toEqual([expect.objectContaining({ url: s.base, state: 'active', downloaded: t.data.length })]);
    await session.remove(t.infoHash);
    await expectSameFiles(t, dir);
  }, 30_000);

  it('downloads from a web seed and a libtorrent seeder together', async () => {
    const s = await server();
    // The peer through a 512 KiB/s proxy: the web seed, much faster on loopback, cannot be outrun, and both get a share.
    const slow = await startThrottleProxy({ host: '127.0.0.1', port: seeder.port }, 512 * 1024);
    proxies.push(slow);
    const { tor, dir } = await download([s.base], slow.port);
    await tor.done;
    const st = tor.stats();
    expect(st.hashFailures).toBe(0);
    expect(st.peersUsed).toBe(1);
    expect(st.webSeeds?.[0]?.downloaded).toBeGreaterThan(0);
    expect(st.webSeeds?.[0]?.downloaded).toBeLessThan(t.data.length);
    await session.remove(t.infoHash);
    await expectSameFiles(t, dir);
  }, 30_000);

  const faults: [RangeFault, RegExp][] = [
    ['no-range', /no Range support/],
    ['wrong-bytes', /failed the hash check/],
    ['stall', /stalled/],
    ['redirect-loop', /redirect/],
    ['503', /HTTP 503/],
  ];
  for (const [fault, reason] of faults) {
    it(`a ${fault} server is named with its reason while the download completes from the peer`, async () => {
      const s = await server(fault);
      // A 1 MiB/s peer: the web seed's answers (wrong bytes above all) come before the peer could take its pieces.
      const peer = await startThrottleProxy({ host: '127.0.0.1', port: seeder.port }, 1024 * 1024);
      proxies.push(peer);
      const { tor, dir } = await download([s.base], peer.port);
      await tor.done;
      await until(
        () => `the web seed to fail (${JSON.stringify(tor.stats().webSeeds)})`,
        () => tor.stats().webSeeds?.[0]?.state !== 'active',
        { timeoutMs: 10_000 },
      );
      const ws = tor.stats().webSeeds![0]!;
      expect(ws.reason).toMatch(reason);
      expect(tor.stats().peersUsed).toBe(1);
      await session.remove(t.infoHash);
      await expectSameFiles(t, dir);
    }, 30_000);
  }

  it("takes a magnet's ws= web seed into the torrent fetched from it", async () => {
    const s = await server();
    const { magnet } = parseMagnet(formatMagnet({ infoHash: t.infoHash, webSeeds: [s.base] }));
    expect(magnet.webSeeds).toEqual([s.base]);
    const meta = await session.fetchMetadata(magnet, { noTrackers: true, peers: [{ host: '127.0.0.1', port: seeder.port }] }).metadata;
    expect(meta.webSeeds).toEqual([s.base]);
    const d = await tempDir();
    dirs.push(d);
    const tor = await session.add(meta, { dir: d.path, noTrackers: true });
    await tor.done;
    expect(tor.stats().webSeeds?.map((w) => w.url)).toEqual([s.base]);
    await session.remove(t.infoHash);
    await expectSameFiles(t, d.path);
  }, 30_000);

  it('without peers, a failing web seed is a finding of the diagnosis, with its reason', async () => {
    const s = await server('503');
    const { tor } = await download([s.base], false);
    await until(
      () => `the web seed to back off ${tor.state.kind} ${JSON.stringify(tor.stats())}`,
      () => tor.stats().webSeeds?.[0]?.state === 'backoff',
      { timeoutMs: 10_000 },
    );
    const f = tor.diagnoseNow().find((x) => x.code === 'web-seed-failing');
    expect(f?.text).toMatch(/HTTP 503/);
    expect(f?.facts['webSeeds']).toEqual([expect.objectContaining({ url: s.base, state: 'backoff', reason: 'HTTP 503' })]);
    await session.remove(t.infoHash);
  }, 30_000);
});
