import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hasAria2, startAria2Seeder } from '@tc/testkit/aria2';
import { startOpentracker } from '@tc/testkit/opentracker';
import { tempDir } from '@tc/testkit/tmp';
import { startTransmissionSeeder, TRANSMISSION_CLI } from '@tc/testkit/transmission';
import type { Session } from '../src/session.js';
import { expectSameFiles, loopbackSession, multiFileTorrent, sourceOf } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
});

async function session(): Promise<Session> {
  const s = await loopbackSession({ trackerMinIntervalS: 1 });
  cleanups.push(() => s.close());
  return s;
}

async function seedDir(announce: string[]) {
  const t = multiFileTorrent(announce);
  const d = await tempDir();
  cleanups.push(d.cleanup);
  await t.writeTo(d.path);
  const torrentPath = join(d.path, 'x.torrent');
  await writeFile(torrentPath, t.torrent);
  return { t, dir: d.path, torrentPath };
}

describe('interop with other seeders', () => {
  it('downloads from an aria2c seeder found through opentracker', async () => {
    expect(hasAria2(), 'aria2c is needed (apt-get install aria2)').toBe(true);
    const tracker = await startOpentracker([]);
    cleanups.push(() => tracker.stop());
    // aria2c sends UDP announces only through its DHT socket, and DHT is off here: HTTP it is.
    const { t, dir, torrentPath } = await seedDir([tracker.httpUrl]);
    await tracker.allow([t.infoHash]);
    const seeder = await startAria2Seeder({ torrentPath, dataDir: dir });
    cleanups.push(() => seeder.stop());
    const s = await session();
    const out = await tempDir();
    cleanups.push(out.cleanup);
    const tor = await s.add(sourceOf(t), { dir: out.path });
    await tor.done;
    expect(tor.stats().hashFailures).toBe(0);
    await s.remove(t.infoHash);
    await expectSameFiles(t, out.path);
  }, 90_000);

  it('downloads from a transmission seeder given with --peer', async () => {
    expect(existsSync(TRANSMISSION_CLI), 'transmission-cli is needed (apt-get install transmission-cli)').toBe(true);
    const { t, dir, torrentPath } = await seedDir([]);
    const conf = await tempDir('tc-transmission-');
    cleanups.push(conf.cleanup);
    const seeder = await startTransmissionSeeder({ torrentPath, dataDir: dir, configDir: conf.path });
    cleanups.push(() => seeder.stop());
    const s = await session();
    const out = await tempDir();
    cleanups.push(out.cleanup);
    const tor = await s.add(sourceOf(t), { dir: out.path, peers: [{ host: '127.0.0.1', port: seeder.port }] });
    await tor.done;
    expect(tor.stats().hashFailures).toBe(0);
    await s.remove(t.infoHash);
    await expectSameFiles(t, out.path);
  }, 90_000);
});
