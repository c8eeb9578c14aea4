import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import type { TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { until } from '@tc/testkit/wait';
import type { Session } from '../src/session.js';
import { loopbackSession, multiFileTorrent, sourceOf } from './helpers.js';
import { memoryStorage } from '../src/storage/memory.js';

/** PEX (BEP 11) against libtorrent's ut_pex on loopback. */
describe('peer exchange with libtorrent', () => {
  let t: TestTorrent;
  let work: { path: string; cleanup: () => Promise<void> };
  const lts: LibtorrentPeer[] = [];
  const sessions: Session[] = [];
  let torrentPath: string;

  beforeAll(async () => {
    work = await tempDir('tc-pex-');
    t = multiFileTorrent([]);
    torrentPath = join(work.path, 'x.torrent');
    await writeFile(torrentPath, t.torrent);
  });

  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await Promise.all(lts.map((l) => l.stop()));
    await work?.cleanup();
  });

  async function lt(
    name: string,
    seed: boolean,
    connectTo: { ip: string; port: number }[] = [],
    settings: Record<string, number> = {},
  ): Promise<LibtorrentPeer> {
    const savePath = join(work.path, name);
    await mkdir(savePath, { recursive: true });
    if (seed) await t.writeTo(savePath);
    const p = await startLibtorrent({ torrentPath, savePath, seed, connectTo, settings });
    lts.push(p);
    return p;
  }

  // Peers with nothing to give one another stay connected (none is interested, none is done), so
  // the swarm holds still while the PEX messages go round. Seeds would hang up on each other.
  it('tc knows only peer B; B tells it of A; tc connects to A', async () => {
    const a = await lt('a', false);
    const b = await lt('b', false, [{ ip: '127.0.0.1', port: a.port }]);
    await until('B connected to A', async () => (await b.peers()).some((p) => p.port === a.port), { timeoutMs: 20_000 });
    const s = await loopbackSession({ pex: true });
    sessions.push(s);
    const tor = await s.add(sourceOf(t), { storage: memoryStorage(), noTrackers: true, peers: [{ host: '127.0.0.1', port: b.port }] });
    await until(
      () => `tc to learn A (${a.port}) by PEX: ${JSON.stringify(tor.pex?.stats())}, peers ${tor.peerList().map((p) => p.address)}`,
      () => tor.peerList().some((p) => p.address === `127.0.0.1:${a.port}`),
      { timeoutMs: 30_000 },
    );
    expect(tor.pex!.stats().learned).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('tc tells a libtorrent peer of another one', async () => {
    const a = await lt('a2', false);
    const c = await lt('c', false);
    const s = await loopbackSession({ pex: true });
    sessions.push(s);
    // tc knows A and C; C knows only tc, and hears of A from tc's ut_pex.
    const tor = await s.add(sourceOf(t), {
      storage: memoryStorage(),
      noTrackers: true,
      peers: [
        { host: '127.0.0.1', port: a.port },
        { host: '127.0.0.1', port: c.port },
      ],
    });
    // tc tells one of them of the other first (pex.ts: never both in one round), so either may dial:
    // the dialler lists the other at its listen port (the other lists an ephemeral port).
    await until(
      () => `A and C to connect: ${JSON.stringify(tor.pex?.stats())}`,
      async () => (await c.peers()).some((p) => p.port === a.port) || (await a.peers()).some((p) => p.port === c.port),
      {
        timeoutMs: 30_000,
      },
    );
    expect(tor.pex!.stats().sent).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
