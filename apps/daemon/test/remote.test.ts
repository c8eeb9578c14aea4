import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RESUME_SAVE_MS } from '@tc/engine';
import { startFixtureSeeder } from '@tc/testkit/fixture-seeder';
import type { LibtorrentPeer } from '@tc/testkit/libtorrent';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { until } from '@tc/testkit/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Running } from './spawn.js';

const run = promisify(execFile);
const AUTH = 'alice:s3cret';

const t = createTestTorrent({
  name: 'album',
  pieceLength: 32 * 1024,
  files: [
    { path: ['one.bin'], length: 300_000 },
    { path: ['two.bin'], length: 500_000 },
  ],
  seed: 21,
});

let tmp: { path: string; cleanup: () => Promise<void> };
let seeder: LibtorrentPeer;
let daemon: Running | undefined;

async function remote(...args: string[]): Promise<string> {
  const { stdout } = await run('transmission-remote', [`127.0.0.1:${daemon!.rpcPort}`, '-n', AUTH, ...args], { timeout: 10_000 });
  return stdout;
}

async function api(path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${daemon!.rpcPort}${path}`, { headers: { authorization: `Basic ${Buffer.from(AUTH).toString('base64')}` } });
  return (await res.json()) as Record<string, unknown>;
}

async function torrentInfo(): Promise<Record<string, unknown>> {
  return (await api('/api/torrents/1')).torrent as Record<string, unknown>;
}

beforeAll(async () => {
  tmp = await tempDir('tc-daemon-remote-');
  seeder = await startFixtureSeeder(t, tmp.path, 'album.torrent');
});
afterAll(async () => {
  daemon?.child.kill('SIGKILL');
  await seeder?.stop();
  await tmp?.cleanup();
});

describe('tc-daemon with transmission-remote', () => {
  it('adds, downloads from libtorrent, lists, stops, starts, survives kill -9 and removes with data', async () => {
    daemon = await startDaemon(tmp.path, AUTH);
    expect(await remote('-a', join(tmp.path, 'album.torrent'))).toMatch(/success/);
    // The torrent must be in the session before the seeder dials (an unknown info-hash is refused).
    await until('downloading', async () => (await torrentInfo()).state === 'downloading', { timeoutMs: 10_000 });
    seeder.connect('127.0.0.1', daemon.peerPort);
    let last = '';
    await until(
      () => `the download to complete: ${last}`,
      async () => (last = await remote('-l')).includes('100%'),
      { timeoutMs: 60_000, everyMs: 200 },
    );
    const list = await remote('-l');
    expect(list).toMatch(/\s1\s+100%.*(Seeding|Idle).*album/);
    const seededAt = Date.now();
    const files = await remote('-t', '1', '-f');
    expect(files).toMatch(/album\/one\.bin/);
    expect(files).toMatch(/album\/two\.bin/);
    const info = await remote('-t', '1', '-i');
    expect(info).toContain(`Hash: ${t.infoHashHex}`);
    expect(info).toContain(`Location: ${join(tmp.path, 'root')}`);
    for (const [i, f] of t.files.entries()) {
      const off = t.files.slice(0, i).reduce((n, x) => n + x.length, 0);
      expect(await readFile(join(tmp.path, 'root', 'album', ...f.path))).toEqual(t.data.subarray(off, off + f.length));
    }
    expect(await remote('-t', '1', '-S')).toMatch(/success/);
    await until('stopped', async () => (await remote('-l')).includes('Stopped'), { timeoutMs: 10_000 });
    expect(await remote('-t', '1', '-s')).toMatch(/success/);
    await until('seeding again', async () => (await torrentInfo()).state === 'seeding', { timeoutMs: 10_000 });
    expect(await remote('-t', '1', '-G', '1')).toMatch(/success/);
    await until('two.bin unwanted', async () => /1:\s+100%\s+\S+\s+No/.test(await remote('-t', '1', '-f')), { timeoutMs: 10_000 });
    expect(await remote('-t', '1', '-g', '1')).toMatch(/success/);

    // The resume data is saved within RESUME_SAVE_MS of the last piece; then kill -9.
    await until('the last resume save', () => Date.now() > seededAt + RESUME_SAVE_MS + 500, { timeoutMs: RESUME_SAVE_MS + 5_000, everyMs: 100 });
    await until('seeding before the kill', async () => (await torrentInfo()).state === 'seeding', { timeoutMs: 10_000 });
    daemon.child.kill('SIGKILL');
    await daemon.exited;
    daemon = await startDaemon(tmp.path, AUTH);
    expect(await remote('-l')).toMatch(/\s1\s+100%.*album/);
    await until('seeding after the restart', async () => (await torrentInfo()).state === 'seeding', { timeoutMs: 20_000 });
    const after = await torrentInfo();
    // Nothing hashed again, nothing downloaded again.
    expect(after.restored).toEqual({ source: 'resume', checked: 0 });
    expect(after.downloadedEver).toBe(0);

    expect(await remote('-t', '1', '--remove-and-delete')).toMatch(/success/);
    expect((await remote('-l')).includes('album')).toBe(false);
    expect(existsSync(join(tmp.path, 'root', 'album'))).toBe(false);
    // A magnet link: the metadata comes from the seeder named in x.pe, then the data.
    const magnet = `magnet:?xt=urn:btih:${t.infoHashHex}&dn=album&x.pe=127.0.0.1:${seeder.port}`;
    expect(await remote('-a', magnet)).toMatch(/success/);
    await until('the magnet to download', async () => /\s2\s+100%.*album/.test(await remote('-l')), { timeoutMs: 60_000, everyMs: 200 });
    expect(await readFile(join(tmp.path, 'root', 'album', 'two.bin'))).toEqual(t.data.subarray(300_000));
    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    daemon = undefined;
    expect(existsSync(join(tmp.path, 'state', 'daemon.lock'))).toBe(false);
  });
});
