import { spawn } from 'node:child_process';
import { chmod, mkdir, readdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetainfo } from '@tc/codec';
import { verifyData } from '@tc/create';
import { runBin, type BinResult } from '@tc/testkit/run-bin';
import { tempDir } from '@tc/testkit/tmp';

const BIN = resolve(import.meta.dirname, '../bin/tc-create.js');

let tmp: { path: string; cleanup: () => Promise<void> };
let dir = '';
const create = (args: string[]): Promise<BinResult> => runBin(BIN, args, { cwd: dir });

async function makeTree(root: string, files: Record<string, number>): Promise<void> {
  let seed = 7;
  for (const [rel, size] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), Buffer.alloc(size, seed++));
  }
}

beforeAll(async () => {
  tmp = await tempDir('tc-create-app-');
  dir = tmp.path;
  await chmod(dir, 0o755); // the unreadable-file test runs the command as nobody
  await makeTree(join(dir, 'album'), { '01.flac': 40_000, '02.flac': 30_000, 'cover.jpg': 5_000, '.DS_Store': 10, 'notes/info.nfo': 100 });
});
afterAll(async () => {
  await tmp.cleanup();
});

describe('tc-create', () => {
  it('makes a hybrid torrent by default and says what it wrote (golden, TZ=UTC, no colour)', async () => {
    const r = await create(['album', '-t', 'http://127.0.0.1:1/announce', '--no-date', '--progress', 'none']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const m = parseMetainfo(await readFile(join(dir, 'album.torrent'))).metainfo;
    expect(m.version).toBe('hybrid');
    expect(r.stdout.replaceAll(dir, '<tmp>')).toBe(
      [
        'Wrote         <tmp>/album.torrent',
        'Name          album',
        'Version       hybrid (v1 + v2)',
        'Files         4 files, 73.3 KiB',
        'Piece size    16.0 KiB (chosen from the total size), 7 pieces',
        `Info-hash v1  ${m.infoHashHex}`,
        `Info-hash v2  ${m.v2!.infoHashHex}`,
        'Trackers      http://127.0.0.1:1/announce',
        `Magnet        magnet:?xt=urn:btih:${m.infoHashHex}&xt=urn:btmh:1220${m.v2!.infoHashHex}&dn=album&tr=http://127.0.0.1:1/announce`,
        '',
      ].join('\n'),
    );
    // Hidden files are left out unless asked; the data verifies against what was written.
    expect(m.files.filter((f) => !f.padding).map((f) => f.path.slice(1).join('/'))).toEqual(['01.flac', '02.flac', 'cover.jpg', 'notes/info.nfo']);
    expect((await verifyData(m, dir)).piecesOk).toBe(m.pieceCount);
    expect(m.creationDate).toBeUndefined();
    expect(m.createdBy).toBe('tc 0.1.0');
    // Nothing but the .torrent is left beside it (the temp file of the atomic write is gone).
    expect((await readdir(dir)).filter((n) => n.includes('album') && n !== 'album')).toEqual(['album.torrent']);
  });

  it('--json: the info-hashes, the magnet and the options, with schema 1', async () => {
    const r = await create([
      'album',
      '--v2',
      '--json',
      '-o',
      'x.torrent',
      '-s',
      '32k',
      '-p',
      '-t',
      'http://127.0.0.1:1/a,http://127.0.0.1:2/a',
      '-t',
      'udp://127.0.0.1:3',
      '-w',
      'http://127.0.0.1:4/',
      '--source',
      'SRC',
      '-c',
      'hi',
      '--hidden',
      '--exclude',
      '*.nfo',
      '--created-by',
      '',
    ]);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as Record<string, unknown>;
    const m = parseMetainfo(await readFile(join(dir, 'x.torrent')), { allowV2Only: true }).metainfo;
    expect(j).toMatchObject({
      schema: 1,
      output: join(dir, 'x.torrent'),
      name: 'album',
      version: 'v2',
      files: 4,
      totalBytes: 75_010,
      pieceLength: 32768,
      pieceLengthChosen: false,
      private: true,
      infoHash: m.infoHashHex,
      infoHashV1: null,
      infoHashV2: m.v2!.infoHashHex,
      trackers: [['http://127.0.0.1:1/a', 'http://127.0.0.1:2/a'], ['udp://127.0.0.1:3']],
      webSeeds: ['http://127.0.0.1:4/'],
    });
    expect(j.magnet).toBe(
      `magnet:?xt=urn:btmh:1220${m.v2!.infoHashHex}&dn=album&tr=http://127.0.0.1:1/a&tr=http://127.0.0.1:2/a&tr=udp://127.0.0.1:3&ws=http://127.0.0.1:4/`,
    );
    expect(m.files.filter((f) => !f.padding).map((f) => f.path.slice(1).join('/'))).toEqual(['.DS_Store', '01.flac', '02.flac', 'cover.jpg']);
    expect([m.source, m.comment, m.createdBy, m.private]).toEqual(['SRC', 'hi', undefined, true]);
    expect(m.creationDate).toBeInstanceOf(Date);
  });

  it('refuses to replace a file without --force, and replaces it with', async () => {
    await writeFile(join(dir, 'keep.torrent'), 'precious');
    const r = await create(['album', '-o', 'keep.torrent', '--progress', 'none']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('keep.torrent: already exists');
    expect(r.stderr).toContain('hint: add --force');
    expect(await readFile(join(dir, 'keep.torrent'), 'utf8')).toBe('precious');
    const f = await create(['album', '-o', 'keep.torrent', '--force', '--progress', 'none', '--v1']);
    expect(f.code).toBe(0);
    expect(parseMetainfo(await readFile(join(dir, 'keep.torrent'))).metainfo.version).toBe('v1');
  });

  it('leaves out its own output when that lies inside the folder (a second run with --force)', async () => {
    expect((await create(['album', '-o', 'album/album.torrent', '--progress', 'none'])).code).toBe(0);
    expect((await create(['album', '-o', 'album/album.torrent', '--progress', 'none', '--force'])).code).toBe(0);
    const m = parseMetainfo(await readFile(join(dir, 'album', 'album.torrent'))).metainfo;
    expect(m.files.some((f) => f.path.at(-1) === 'album.torrent')).toBe(false);
    await rm(join(dir, 'album', 'album.torrent'));
  });

  it('progress goes to stderr, never stdout', async () => {
    const r = await create(['album', '-o', 'p.torrent', '--progress', 'plain', '--json']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^hashing \(MiB\): 100\.0% \(1\/1\)$/m);
    expect(() => JSON.parse(r.stdout) as unknown).not.toThrow();
  });

  it.each([
    [['--v1', '--v2'], '--v1 and --v2 exclude each other'],
    [['-s', '3000'], '--piece-size 3000: give a power of two'],
    [['-s', '8k'], '--piece-size 8k: give a power of two'],
    [['-s', 'big'], 'cannot read "big" as a size'],
    [['-t', 'ftp://x/'], '--tracker #1 "ftp://x/"'],
    [['-w', 'udp://x/'], '--web-seed #1 "udp://x/"'],
    [['--threads', '0'], '--threads 0'],
  ])('usage errors exit 2: %j', async (args, message) => {
    const r = await create(['album', '-o', 'never.torrent', ...args]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });

  it('refuses an unsafe --name (exit 3) and says what a name may be', async () => {
    const r = await create(['album', '--name', '../up', '-o', 'n.torrent']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('unsafe torrent name "../up"');
    expect(r.stderr).toContain('hint: give a plain name with --name');
  });

  it('a missing PATH or no PATH is a usage error', async () => {
    expect((await create(['nope'])).code).toBe(2);
    expect((await create([])).code).toBe(2);
  });
});

describe('tc-create interrupted', () => {
  it('SIGINT while hashing: exit 130, nothing written, no temp file left', async () => {
    const big = join(dir, 'big');
    await mkdir(big);
    await writeFile(join(big, 'sparse.bin'), '');
    await truncate(join(big, 'sparse.bin'), 4 * 1024 * 1024 * 1024); // sparse: reading it costs no disk
    const child = spawn(process.execPath, [BIN, 'big', '-o', 'big.torrent', '--progress', 'plain'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const code = new Promise<number | null>((done) => child.on('close', (c) => done(c)));
    await new Promise<void>((started) =>
      child.stderr.setEncoding('utf8').on('data', (s: string) => {
        stderr += s;
        if (stderr.includes('hashing')) started();
      }),
    );
    child.kill('SIGINT');
    expect(await code).toBe(130);
    expect(stderr).toContain('interrupted: nothing written');
    expect((await readdir(dir)).filter((n) => n.includes('big.torrent'))).toEqual([]);
  });
});

describe('tc-create on hostile input', () => {
  it('refuses a symlink by default, leaves it out with --symlinks skip, never follows one out of the folder', async () => {
    const d = join(dir, 'links');
    await makeTree(d, { real: 10 });
    await makeTree(dir, { 'outside.txt': 7 });
    await symlink(join(dir, 'outside.txt'), join(d, 'out-link'));
    const refused = await create(['links', '-o', 'l.torrent']);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('is a symlink');
    expect(refused.stderr).toContain('hint: leave symlinks out with --symlinks skip');
    const followed = await create(['links', '-o', 'l.torrent', '--follow-symlinks']);
    expect(followed.code).toBe(3);
    expect(followed.stderr).toContain('links outside the folder');
    const skipped = await create(['links', '-o', 'l.torrent', '--symlinks', 'skip', '--progress', 'none']);
    expect(skipped.code).toBe(0);
    const m = parseMetainfo(await readFile(join(dir, 'l.torrent'))).metainfo;
    expect(m.files.filter((f) => !f.padding).map((f) => f.path.at(-1))).toEqual(['real']);
  });

  it('refuses an empty folder, and a folder of empty files (exit 3)', async () => {
    await mkdir(join(dir, 'empty'));
    const e = await create(['empty']);
    expect(e.code).toBe(3);
    expect(e.stderr).toContain('no files in');
    await makeTree(join(dir, 'zeros'), { a: 0, b: 0 });
    const z = await create(['zeros']);
    expect(z.code).toBe(3);
    expect(z.stderr).toContain('0 bytes');
    // Only hidden files: the hint says how to include them.
    await makeTree(join(dir, 'dots'), { '.a': 3 });
    const h = await create(['dots']);
    expect(h.code).toBe(3);
    expect(h.stderr).toContain('--hidden');
  });

  it('names a file it cannot read (exit 5) and writes nothing', async () => {
    const d = join(dir, 'locked');
    await makeTree(d, { 'ok.bin': 100, 'secret.bin': 100 });
    await chmod(d, 0o755);
    await chmod(join(d, 'ok.bin'), 0o644);
    await chmod(join(d, 'secret.bin'), 0o000);
    // Run as nobody: root reads any file whatever its mode.
    const r = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const child = spawn(process.execPath, [BIN, 'locked', '-o', join(dir, 'locked.torrent'), '--progress', 'none'], {
        cwd: dir,
        uid: 65534,
        gid: 65534,
        env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      child.on('close', (code) => done({ code, stderr }));
    });
    expect(r.stderr).toContain(`cannot open: ${join(d, 'secret.bin')} (EACCES)`);
    expect(r.code).toBe(5);
    expect((await readdir(dir)).some((n) => n.startsWith('locked.torrent') || n.startsWith('.locked.torrent'))).toBe(false);
  });
});
