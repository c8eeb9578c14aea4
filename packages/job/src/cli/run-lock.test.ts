import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '@tc/testkit/tmp';
import { acquireRunLock, lockFolder } from './run-lock.js';

const HASH = 'ab'.repeat(20);
let tmp: { path: string; cleanup: () => Promise<void> };
let env: Record<string, string>;

beforeAll(async () => {
  tmp = await tempDir('tc-lock-');
  env = { XDG_STATE_HOME: join(tmp.path, 'state') };
});
afterAll(async () => {
  await tmp.cleanup();
});

const lock = (dir: string, infoHash = HASH, e: Record<string, string> = env) => acquireRunLock({ infoHash, dir, command: 'tc-download', env: e });

describe('run lock: one run per torrent and folder (issue 17)', () => {
  it('lives in $XDG_STATE_HOME/tc/locks, else ~/.local/state/tc/locks', () => {
    expect(lockFolder({ XDG_STATE_HOME: '/s' })).toBe('/s/tc/locks');
    expect(lockFolder({ XDG_STATE_HOME: 'relative', HOME: '/h' })).toBe('/h/.local/state/tc/locks');
  });

  it('a second run on the same torrent and folder is refused, naming the holder; another folder or torrent is not; release frees it', async () => {
    const dir = join(tmp.path, 'dl');
    await mkdir(dir);
    const first = await lock(dir);
    const holder = JSON.parse(await readFile(first.path, 'utf8')) as Record<string, unknown>;
    expect(holder).toMatchObject({ pid: process.pid, host: hostname(), command: 'tc-download', infoHash: HASH });
    const second = await lock(dir).catch((e: unknown) => e);
    expect(second).toMatchObject({
      exitCode: 1,
      message: expect.stringMatching(
        new RegExp(
          `^another tc-download \\(pid ${process.pid}, since \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ\\) is already working on this torrent in ${dir}$`,
        ),
      ),
      hint: expect.stringContaining(first.path),
    });
    // The same folder through a symlink-free different spelling is the same lock.
    await expect(lock(join(dir, '..', 'dl'))).rejects.toMatchObject({ exitCode: 1 });
    const other = await lock(join(tmp.path, 'elsewhere'));
    const otherTorrent = await lock(dir, 'cd'.repeat(20));
    await first.release();
    await first.release();
    const again = await lock(dir);
    await Promise.all([again.release(), other.release(), otherTorrent.release()]);
    expect(await readdir(lockFolder(env))).toEqual([]);
  });

  it('takes over a lock left by a process that is gone, or a garbage one', async () => {
    const dir = join(tmp.path, 'stale');
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    const first = await lock(dir);
    await writeFile(first.path, JSON.stringify({ pid: gone, host: hostname(), command: 'tc-download', since: '2020-01-01T00:00:00.000Z' }));
    const taken = await lock(dir);
    expect(JSON.parse(await readFile(taken.path, 'utf8'))).toMatchObject({ pid: process.pid });
    // The old holder's release does not remove the new holder's file.
    await first.release();
    await expect(lock(dir)).rejects.toMatchObject({ exitCode: 1 });
    await writeFile(taken.path, 'garbage');
    const overGarbage = await lock(dir);
    await overGarbage.release();
    await taken.release();
  });

  it('goes on unlocked, saying why, when the state folder cannot be made', async () => {
    const file = join(tmp.path, 'a-file');
    await writeFile(file, 'x');
    const why: string[] = [];
    const l = await acquireRunLock({ infoHash: HASH, dir: tmp.path, command: 'tc-download', env: { XDG_STATE_HOME: file }, onUnavailable: (w) => why.push(w) });
    await l.release();
    expect(why).toEqual([expect.stringMatching(/^cannot create .*a-file\/tc\/locks: (ENOTDIR|EEXIST)$/)]);
  });
});
