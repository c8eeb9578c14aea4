import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hasLibtorrent, startLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import type { TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { until } from '@tc/testkit/wait';
import type { PeerLink } from '../src/net/policy.js';
import type { Session, SessionOptions } from '../src/session.js';
import type { Torrent } from '../src/torrent/torrent.js';
import { expectSameFiles, filledStorage, loopbackSession, multiFileTorrent, range, sourceOf } from './helpers.js';

// tc against libtorrent over uTP and MSE (issue 12), with the settings of INTEROP.md.

/** libtorrent: forced encryption both ways, RC4 only. */
const LT_FORCED_RC4 = { out_enc_policy: 0, in_enc_policy: 0, allowed_enc_level: 2 };
/** libtorrent: uTP only (no TCP either way). */
const LT_UTP_ONLY = { enable_outgoing_tcp: false, enable_incoming_tcp: false, enable_outgoing_utp: true, enable_incoming_utp: true };
const TC_DEFAULTS: SessionOptions = { transport: 'both', encryption: 'prefer' };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function tcSession(opts: SessionOptions): Promise<Session> {
  const s = await loopbackSession(opts);
  cleanups.push(() => s.close());
  return s;
}

/** A libtorrent seeder of a fresh multi-file torrent with these settings. */
async function ltSeeder(settings: Record<string, number | boolean>): Promise<{ t: TestTorrent; lt: LibtorrentPeer }> {
  expect(hasLibtorrent(), 'python3-libtorrent is needed (apt-get install python3-libtorrent)').toBe(true);
  const t = multiFileTorrent([]);
  const dir = await tempDir();
  cleanups.push(() => dir.cleanup());
  await t.writeTo(dir.path);
  const torrentPath = join(dir.path, 'x.torrent');
  await writeFile(torrentPath, t.torrent);
  const lt = await startLibtorrent({ torrentPath, savePath: dir.path, seed: true, settings });
  cleanups.push(() => lt.stop());
  await lt.waitFor('finished', undefined, 20_000);
  return { t, lt };
}

/** tc downloads `t` from a libtorrent peer on `port`; the links tc's peers had. */
async function tcDownload(t: TestTorrent, port: number, opts: SessionOptions): Promise<PeerLink[]> {
  const s = await tcSession(opts);
  const d = await tempDir();
  cleanups.push(() => d.cleanup());
  const tor = await s.add(sourceOf(t), { dir: d.path, noTrackers: true, peers: [{ host: '127.0.0.1', port }] });
  const links = watchLinks(tor);
  await tor.done;
  await s.remove(t.infoHash);
  await expectSameFiles(t, d.path);
  return links;
}

function watchLinks(tor: Torrent): PeerLink[] {
  const links: PeerLink[] = [];
  tor.on('peer-connected', () => {
    for (const p of tor.peerList()) if (!links.includes(p.link)) links.push(p.link);
  });
  return links;
}

/** tc seeds `t` (held in memory); a libtorrent downloader with `settings` dials it. */
async function ltDownloadsFromTc(
  t: TestTorrent,
  tcOpts: SessionOptions,
  settings: Record<string, number | boolean>,
): Promise<{ links: PeerLink[]; ms: number }> {
  const s = await tcSession(tcOpts);
  const src = sourceOf(t);
  const seed = await s.add(src, { storage: filledStorage(t, src), have: range(src.layout.pieceCount), noTrackers: true });
  const links = watchLinks(seed);
  const dir = await tempDir();
  cleanups.push(() => dir.cleanup());
  const torrentPath = join(dir.path, 'x.torrent');
  await writeFile(torrentPath, t.torrent);
  const started = performance.now();
  const lt = await startLibtorrent({ torrentPath, savePath: dir.path, connectTo: [{ ip: '127.0.0.1', port: s.port }], settings });
  cleanups.push(() => lt.stop());
  await lt.waitFor('finished', undefined, 60_000);
  const ms = performance.now() - started;
  await expectSameFiles(t, dir.path);
  return { links, ms };
}

describe('tc and libtorrent over uTP and MSE', () => {
  it('downloads from a libtorrent seeder with forced RC4 encryption', async () => {
    const { t, lt } = await ltSeeder(LT_FORCED_RC4);
    const links = await tcDownload(t, lt.port, { transport: 'tcp', encryption: 'prefer' });
    expect(links).toContainEqual({ transport: 'tcp', encryption: 'rc4' });
  }, 60_000);

  it('downloads from a uTP-only libtorrent seeder (transport both: uTP first)', async () => {
    const { t, lt } = await ltSeeder(LT_UTP_ONLY);
    const links = await tcDownload(t, lt.port, TC_DEFAULTS);
    expect(links.length).toBeGreaterThan(0);
    expect(links.every((l) => l.transport === 'utp')).toBe(true);
  }, 60_000);

  it('downloads from a uTP-only libtorrent seeder with forced RC4', async () => {
    const { t, lt } = await ltSeeder({ ...LT_UTP_ONLY, ...LT_FORCED_RC4 });
    const links = await tcDownload(t, lt.port, { transport: 'utp', encryption: 'require' });
    expect(links).toContainEqual({ transport: 'utp', encryption: 'rc4' });
  }, 60_000);

  it('seeds to a uTP-only libtorrent downloader', async () => {
    const { links } = await ltDownloadsFromTc(multiFileTorrent([]), TC_DEFAULTS, LT_UTP_ONLY);
    await until('a peer on tc', () => links.length > 0, { timeoutMs: 5_000 });
    expect(links.every((l) => l.transport === 'utp')).toBe(true);
  }, 60_000);

  it('a libtorrent peer dialling tc with forced encryption gets in at once (no plaintext retry)', async () => {
    const { links, ms } = await ltDownloadsFromTc(multiFileTorrent([]), TC_DEFAULTS, { ...LT_FORCED_RC4, enable_outgoing_utp: false });
    expect(links).toContainEqual({ transport: 'tcp', encryption: 'rc4' });
    // A plaintext retry costs libtorrent seconds; the whole 3 MiB run (process start included) takes less.
    expect(ms).toBeLessThan(5_000);
  }, 60_000);

  it('a libtorrent downloader with encryption off reaches tc under prefer', async () => {
    const { links } = await ltDownloadsFromTc(multiFileTorrent([]), TC_DEFAULTS, { out_enc_policy: 2, in_enc_policy: 2 });
    expect(links).toContainEqual({ transport: 'tcp', encryption: 'plain' });
  }, 60_000);
});
