// Torrents tc-create makes, served by tc-seed, downloaded by libtorrent 2: the v1 and the hybrid
// (which tc seeds by its v1 side) arrive byte-exact.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import { runBin } from '@tc/testkit/run-bin';
import { tempDir } from '@tc/testkit/tmp';
import { freePort } from '@tc/testkit/transmission';

const CREATE = resolve(import.meta.dirname, '../bin/tc-create.js');
const SEED = resolve(import.meta.dirname, '../../seed/bin/tc-seed.js');
const FILES: Record<string, number> = { 'cover.jpg': 20_000, 'cd1/track1.flac': 700_000, 'cd1/notes.txt': 777, 'cd2/track2.flac': 300_001 };

let work: { path: string; cleanup: () => Promise<void> };
const children: ChildProcess[] = [];
const peers: LibtorrentPeer[] = [];

function bytesOf(rel: string, n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = rel.length * 7919 + n;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

beforeAll(async () => {
  work = await tempDir('tc-create-seed-');
  for (const [rel, n] of Object.entries(FILES)) {
    await mkdir(join(work.path, 'data', 'album', rel, '..'), { recursive: true });
    await writeFile(join(work.path, 'data', 'album', rel), bytesOf(rel, n));
  }
});
afterAll(async () => {
  for (const p of peers) await p.stop();
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await work?.cleanup();
});

async function startSeed(torrent: string, port: number): Promise<{ child: ChildProcess; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, [SEED, torrent, 'data', '--port', String(port), '--listen', '127.0.0.1', '--progress', 'plain'], {
    cwd: work.path,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let err = '';
  const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  await new Promise<void>((res, rej) => {
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      err += s;
      if (/re-checked: 100%|resuming: 100%/.test(err)) res();
    });
    exit.then((code) => rej(new Error(`tc-seed exited ${code}: ${err}`)), rej);
  });
  return { child, exit };
}

describe('tc-create → tc-seed → libtorrent', () => {
  it.each([
    ['v1', ['--v1']],
    ['hybrid', []],
  ] as const)('a %s torrent made by tc-create downloads byte-exact from tc-seed alone', async (name, flags) => {
    const made = await runBin(CREATE, ['data/album', '-o', `${name}.torrent`, '-s', '32k', '--progress', 'none', ...flags], { cwd: work.path });
    expect(made.code, made.stderr).toBe(0);
    const port = await freePort();
    const seed = await startSeed(`${name}.torrent`, port);
    const dest = join(work.path, `lt-${name}`);
    const leecher = await startLibtorrent({ torrentPath: join(work.path, `${name}.torrent`), savePath: dest, connectTo: [{ ip: '127.0.0.1', port }] });
    peers.push(leecher);
    await leecher.waitFor('finished', undefined, 60_000);
    for (const [rel, n] of Object.entries(FILES)) expect((await readFile(join(dest, 'album', rel))).equals(bytesOf(rel, n)), rel).toBe(true);
    seed.child.kill('SIGINT');
    expect(await seed.exit).toBe(130); // Ctrl-C ends tc-seed with 130, as CLI.md says
  });
});
