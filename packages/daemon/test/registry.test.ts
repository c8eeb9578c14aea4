import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { resumeFileFor, type Session } from '@tc/engine';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { until } from '@tc/testkit/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonError, DownloadRoots, StateDir } from '../src/index.js';
import { loopbackSession, openDaemon, seedInMemory } from './helpers.js';

const multi = createTestTorrent({
  name: 'pack',
  pieceLength: 16 * 1024,
  files: [
    { path: ['a.bin'], length: 40_000 },
    { path: ['b.bin'], length: 70_000 },
  ],
  seed: 7,
});
const single = createTestTorrent({ name: 'one.bin', length: 90_000, seed: 9 });

let seeder: Session;
let tmp: { path: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  tmp = await tempDir('tc-daemon-');
  seeder = await loopbackSession();
  await seedInMemory(seeder, multi);
  await seedInMemory(seeder, single);
});
afterAll(async () => {
  await seeder?.close();
  await tmp?.cleanup();
});

const peer = (): { host: string; port: number }[] => [{ host: '127.0.0.1', port: seeder.port }];

describe('Registry', () => {
  it('downloads, seeds, survives a restart, and removes with data', async () => {
    const state = join(tmp.path, 'state1');
    const root = join(tmp.path, 'root1');
    let d = await openDaemon(state, root);
    const e = await d.registry.add({ torrent: multi.torrent, peers: peer() });
    expect(e.id).toBe(1);
    await until('seeding', () => e.status === 'seeding', { timeoutMs: 20_000 });
    expect(await readFile(join(root, 'pack', 'b.bin'))).toEqual(multi.data.subarray(40_000));
    expect(e.record.doneAt).toBeTypeOf('number');
    await d.registry.stop(e);
    expect(e.status).toBe('stopped');
    // Its resume data is in the daemon's state folder; the download folder holds the data only (issue 17).
    expect(await readdir(root)).toEqual(['pack']);
    const resumeFile = await resumeFileFor(state, multi.infoHash, root);
    expect(existsSync(resumeFile)).toBe(true);
    // A second daemon on the same folder is refused while this one runs.
    await expect(StateDir.open(state)).rejects.toMatchObject({ code: 'DAEMON_LOCKED' });
    await d.close();

    d = await openDaemon(state, root);
    const again = d.registry.get(1);
    expect(again.hex).toBe(multi.infoHashHex);
    expect(again.status).toBe('stopped');
    await d.registry.start(again);
    await until('seeding after restart', () => again.status === 'seeding', { timeoutMs: 20_000 });
    // The resume data vouched for every piece: nothing was hashed again, nothing downloaded.
    expect(again.stats()?.downloaded).toBe(0);
    await expect(d.registry.add({ torrent: multi.torrent })).rejects.toMatchObject({ code: 'DAEMON_DUPLICATE' });
    await d.registry.remove(again, true);
    expect(existsSync(join(root, 'pack'))).toBe(false);
    expect(existsSync(resumeFile)).toBe(false);
    expect(d.registry.list()).toHaveLength(0);
    await d.close();
  });

  it('downloads only the wanted files, then the rest when wanted again', async () => {
    const d = await openDaemon(join(tmp.path, 'state2'), join(tmp.path, 'root2'));
    try {
      const e = await d.registry.add({ torrent: multi.torrent, peers: peer(), unwanted: [1] });
      await until('seeding the wanted part', () => e.status === 'seeding', { timeoutMs: 20_000 });
      expect(await readFile(join(tmp.path, 'root2', 'pack', 'a.bin'))).toEqual(multi.data.subarray(0, 40_000));
      expect(e.wanted()).toEqual([true, false]);
      await d.registry.setWanted(e, { wanted: [1] });
      expect(e.record.doneAt).toBeUndefined();
      await until('complete', () => e.status === 'seeding' && e.stats()?.left === 0, { timeoutMs: 20_000 });
      expect(await readFile(join(tmp.path, 'root2', 'pack', 'b.bin'))).toEqual(multi.data.subarray(40_000));
      await expect(d.registry.setWanted(e, { unwanted: [0, 1] })).rejects.toMatchObject({ code: 'DAEMON_BAD_REQUEST' });
      await expect(d.registry.setWanted(e, { unwanted: [5] })).rejects.toMatchObject({ code: 'DAEMON_BAD_REQUEST' });
    } finally {
      await d.close();
    }
  });

  it('queues downloads beyond the limit and verifies a stopped torrent without starting it', async () => {
    const d = await openDaemon(join(tmp.path, 'state3'), join(tmp.path, 'root3'));
    try {
      await d.registry.setSettings({ maxActiveDownloads: 1 });
      const a = await d.registry.add({ torrent: multi.torrent, paused: true });
      const b = await d.registry.add({ torrent: single.torrent, peers: peer() });
      await until('b seeding', () => b.status === 'seeding', { timeoutMs: 20_000 });
      expect(a.status).toBe('stopped');
      await d.registry.verify(b);
      await until('b seeding again', () => b.status === 'seeding', { timeoutMs: 20_000 });
      await d.registry.stop(b);
      await d.registry.verify(b);
      await until('b verified and stopped', () => b.job === undefined && b.status === 'stopped', { timeoutMs: 20_000 });
      expect(b.lastStats?.piecesHave).toBe(b.metainfo!.pieceCount);
    } finally {
      await d.close();
    }
  });
});

describe('DownloadRoots', () => {
  it('confines download folders to the roots, symlinks included', async () => {
    const root = join(tmp.path, 'roots');
    const roots = await DownloadRoots.create([root]);
    expect(await roots.confine(undefined)).toBe(roots.default);
    expect(await roots.confine('sub/dir')).toBe(join(roots.default, 'sub', 'dir'));
    await expect(roots.confine('../escape')).rejects.toBeInstanceOf(DaemonError);
    await expect(roots.confine('/etc')).rejects.toMatchObject({ code: 'DAEMON_FORBIDDEN_PATH' });
    await mkdir(join(tmp.path, 'outside'), { recursive: true });
    await symlink(join(tmp.path, 'outside'), join(roots.default, 'link'));
    await expect(roots.confine('link/x')).rejects.toMatchObject({ code: 'DAEMON_FORBIDDEN_PATH' });
    await expect(roots.confine('a\0b')).rejects.toMatchObject({ code: 'DAEMON_BAD_REQUEST' });
  });
});
