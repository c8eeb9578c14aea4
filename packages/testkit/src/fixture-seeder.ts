import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startLibtorrent, type LibtorrentPeer } from './libtorrent.js';
import type { TestTorrent } from './swarm-fixture.js';

/**
 * Writes `work/<torrentFile>` and the data under `work/seed`, and starts a libtorrent seeder on it;
 * resolves once it has checked the data and seeds. Call `stop()` in afterAll.
 */
export async function startFixtureSeeder(t: TestTorrent, work: string, torrentFile: string): Promise<LibtorrentPeer> {
  await writeFile(join(work, torrentFile), t.torrent);
  await t.writeTo(join(work, 'seed'));
  const seeder = await startLibtorrent({ torrentPath: join(work, torrentFile), savePath: join(work, 'seed'), seed: true });
  try {
    await seeder.waitFor('finished', undefined, 30_000);
  } catch (e) {
    await seeder.stop();
    throw e;
  }
  return seeder;
}
