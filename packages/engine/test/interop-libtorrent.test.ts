import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatMagnet, parseMagnet } from '@tc/codec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLibtorrent, hasLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import { startOpentracker, type Opentracker } from '@tc/testkit/opentracker';
import type { TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import type { Session } from '../src/session.js';
import { expectSameFiles, loopbackSession, multiFileTorrent, sourceOf } from './helpers.js';

describe('download from a libtorrent seeder found through opentracker', () => {
  let tracker: Opentracker;
  let seeder: LibtorrentPeer;
  let session: Session;
  let t: TestTorrent;
  const dirs: { cleanup: () => Promise<void> }[] = [];

  beforeAll(async () => {
    expect(hasLibtorrent(), 'python3-libtorrent is needed (apt-get install python3-libtorrent)').toBe(true);
    tracker = await startOpentracker([]);
    t = multiFileTorrent([tracker.udpUrl]);
    await tracker.allow([t.infoHash]);
    const seedDir = await tempDir();
    dirs.push(seedDir);
    await t.writeTo(seedDir.path);
    const torrentPath = join(seedDir.path, 'x.torrent');
    await writeFile(torrentPath, t.torrent);
    seeder = await startLibtorrent({ torrentPath, savePath: seedDir.path, seed: true });
    await seeder.waitFor('finished', undefined, 20_000);
    session = await loopbackSession({ trackerMinIntervalS: 1 });
  });

  afterAll(async () => {
    await session?.close();
    await seeder?.stop();
    await tracker?.stop();
    for (const d of dirs) await d.cleanup();
  });

  it('gets every byte and announces itself', async () => {
    const d = await tempDir();
    dirs.push(d);
    const tor = await session.add(sourceOf(t), { dir: d.path });
    await tor.done;
    const st = tor.stats();
    expect(st.hashFailures).toBe(0);
    expect(st.peersUsed).toBeGreaterThanOrEqual(1);
    await session.remove(t.infoHash);
    await expectSameFiles(t, d.path);
    const peers = await seeder.peers();
    // libtorrent recognises tc's peer id (identity module) — or the peer already left.
    for (const p of peers) expect(p.client).not.toMatch(/TorrentStorm/);
  }, 60_000);

  it('fetches a magnet (tr= only) from the libtorrent seeder the tracker names, then downloads every byte', async () => {
    const d = await tempDir();
    dirs.push(d);
    const { magnet } = parseMagnet(formatMagnet({ infoHash: t.infoHash, trackers: [tracker.udpUrl] }));
    const fetch = session.fetchMetadata(magnet);
    const meta = await fetch.metadata;
    expect(meta.infoHash.equals(t.infoHash)).toBe(true);
    expect(meta.announceTiers).toEqual([[tracker.udpUrl]]);
    const tor = await session.add(meta, { dir: d.path });
    await tor.done;
    expect(tor.stats().hashFailures).toBe(0);
    await session.remove(t.infoHash);
    await expectSameFiles(t, d.path);
  }, 60_000);
});
