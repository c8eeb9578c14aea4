import { copyFile, mkdir, symlink, truncate, writeFile, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { encode, parseMetainfo } from '@tc/codec';
import { createTorrent } from '@tc/create';
import { runBin } from '@tc/testkit/run-bin';
import { tempDir } from '@tc/testkit/tmp';

const BIN = resolve(import.meta.dirname, '../bin/tc-validate.js');
const FIXTURES = resolve(import.meta.dirname, '../../../test-fixtures/torrents');
const KIB = 1024;

let tmp: { path: string; cleanup: () => Promise<void> };
let dir = '';
const validate = (args: string[]) => runBin(BIN, args, { cwd: dir });
let setHash = '';
let oneHash = '';

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

beforeAll(async () => {
  tmp = await tempDir('tc-validate-');
  dir = tmp.path;
  // The data the torrents are made from.
  const src = join(dir, 'src');
  await mkdir(join(src, 'set'), { recursive: true });
  await writeFile(join(src, 'set', 'a.bin'), pattern(64 * KIB, 1));
  await writeFile(join(src, 'set', 'b.bin'), pattern(64 * KIB, 2));
  await writeFile(join(src, 'set', 'c.bin'), pattern(32 * KIB, 3));
  await writeFile(join(src, 'set', 'd.bin'), pattern(32 * KIB, 4));
  await writeFile(join(src, 'one.txt'), pattern(40 * KIB, 5));
  await mkdir(join(dir, 'torrents'));
  const set = await createTorrent({ path: join(src, 'set'), pieceLength: 16 * KIB, creationDate: null, trackers: ['http://127.0.0.1:1/announce'] });
  const one = await createTorrent({ path: join(src, 'one.txt'), pieceLength: 16 * KIB, creationDate: null, trackers: ['http://127.0.0.1:1/announce'] });
  await writeFile(join(dir, 'torrents', 'set.torrent'), set);
  await writeFile(join(dir, 'torrents', 'one.torrent'), one);
  setHash = parseMetainfo(set).metainfo.infoHashHex;
  oneHash = parseMetainfo(one).metainfo.infoHashHex;

  // good/: everything complete. bad/: a complete, b one byte wrong, c missing, d too short.
  for (const d of ['good', 'bad']) {
    await mkdir(join(dir, d, 'set'), { recursive: true });
    for (const f of ['a.bin', 'b.bin', 'c.bin', 'd.bin']) await copyFile(join(src, 'set', f), join(dir, d, 'set', f));
    await copyFile(join(src, 'one.txt'), join(dir, d, 'one.txt'));
  }
  const b = await readFile(join(dir, 'bad', 'set', 'b.bin'));
  b[100] = b[100]! ^ 0xff;
  await writeFile(join(dir, 'bad', 'set', 'b.bin'), b);
  await (await import('node:fs/promises')).rm(join(dir, 'bad', 'set', 'c.bin'));
  await truncate(join(dir, 'bad', 'set', 'd.bin'), 20 * KIB);
  // escape/: a.bin is a symlink to a file outside the data folder; it must not be read.
  await mkdir(join(dir, 'escape', 'set'), { recursive: true });
  await symlink(join(src, 'set', 'a.bin'), join(dir, 'escape', 'set', 'a.bin'));
  await mkdir(join(dir, 'empty-data'));
});

afterAll(async () => {
  await tmp.cleanup();
});

describe('tc-validate', () => {
  it('validates torrents (golden) and every .torrent of a folder', async () => {
    const r = await validate(['torrents']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'torrents/one.torrent: valid',
        `  ${oneHash}  one.txt  40.0 KiB`,
        'torrents/set.torrent: valid',
        `  ${setHash}  set  192 KiB`,
        '2 torrents: 2 valid, 0 invalid',
        '',
      ].join('\n'),
    );
  });

  it('verifies complete data', async () => {
    const r = await validate(['torrents/set.torrent', 'torrents/one.torrent', '--data', 'good', '--progress', 'none']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('torrents/set.torrent: valid, data verified (12/12 pieces)');
    expect(r.stdout).toContain('torrents/one.torrent: valid, data verified (3/3 pieces)');
    expect(r.stdout).toContain('2 torrents: 2 valid, 0 invalid; data: 2 verified, 0 not verified\n');
  });

  it('reports complete, partial, missing and wrong-size files and exits 6 (golden)', async () => {
    const r = await validate(['torrents/set.torrent', '--data', 'bad', '--progress', 'none']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(6);
    expect(r.stdout).toBe(
      [
        // a: 4 pieces, b: 3 of 4 (one flipped byte), c: none, d: the first of its 2 pieces.
        'torrents/set.torrent: valid, data incomplete (8/12 pieces, 66.6%)',
        `  ${setHash}  set  192 KiB`,
        '  complete       set/a.bin  64.0 KiB',
        '  partial 75.0%  set/b.bin  64.0 KiB',
        '  missing        set/c.bin  32.0 KiB',
        '  wrong size     set/d.bin  20.0 KiB on disk, expected 32.0 KiB',
        '1 torrent: 1 valid, 0 invalid; data: 0 verified, 1 not verified',
        '',
      ].join('\n'),
    );
  });

  it('lists only the files that need attention when there are many, counting the rest', async () => {
    const srcDir = join(dir, 'src-many', 'many');
    const dataDir = join(dir, 'many-data', 'many');
    await mkdir(srcDir, { recursive: true });
    await mkdir(dataDir, { recursive: true });
    for (let i = 0; i < 25; i++) {
      const name = `f${String(i).padStart(2, '0')}.txt`;
      await writeFile(join(srcDir, name), pattern(16 * KIB, i)); // one piece a file: a gap touches one file only
      if (i !== 7) await writeFile(join(dataDir, name), pattern(16 * KIB, i));
    }
    await writeFile(join(dir, 'many.torrent'), await createTorrent({ path: srcDir, pieceLength: 16 * KIB, creationDate: null }));
    const r = await validate(['many.torrent', '--data', 'many-data', '--progress', 'none']);
    expect(r.code).toBe(6);
    expect(r.stdout).toContain('\n  missing  many/f07.txt  16.0 KiB\n  … and 24 more files: 24 complete (-v lists them)\n');
    const v = await validate(['many.torrent', '--data', 'many-data', '--progress', 'none', '-v']);
    expect(v.stdout.match(/^ {2}complete /gm)).toHaveLength(24);
  });

  it('an intact file sharing its only piece with a truncated one is "unknown", not "partial 0.0%" (issue 17)', async () => {
    // big.bin (40 KiB) then small.txt (3 KiB): the last piece holds big.bin's last 8 KiB and all of small.txt.
    // big.bin is cut short on disk, so that piece cannot be hashed: nothing is known of small.txt's bytes.
    const srcDir = join(dir, 'src-mix', 'mix');
    await mkdir(srcDir, { recursive: true });
    await writeFile(join(srcDir, 'big.bin'), pattern(40 * KIB, 8));
    await writeFile(join(srcDir, 'small.txt'), pattern(3 * KIB, 9));
    await writeFile(join(dir, 'mix.torrent'), await createTorrent({ path: srcDir, pieceLength: 16 * KIB, creationDate: null }));
    const m = parseMetainfo(await readFile(join(dir, 'mix.torrent'))).metainfo;
    expect(m.files.map((f) => f.safePath.join('/'))).toEqual(['mix/big.bin', 'mix/small.txt']);
    await mkdir(join(dir, 'mix-data', 'mix'), { recursive: true });
    await writeFile(join(dir, 'mix-data', 'mix', 'small.txt'), pattern(3 * KIB, 9));
    await writeFile(join(dir, 'mix-data', 'mix', 'big.bin'), pattern(40 * KIB, 8).subarray(0, 36 * KIB));
    const r = await validate(['mix.torrent', '--data', 'mix-data', '--progress', 'none']);
    expect(r.code).toBe(6);
    expect(r.stdout).not.toContain('partial 0.0%');
    expect(r.stdout).toContain('  unknown     mix/small.txt  3.00 KiB, cannot be checked alone: its 1 piece is shared with mix/big.bin (wrong size)\n');
    const j = await validate(['--json', 'mix.torrent', '--data', 'mix-data']);
    const small = (JSON.parse(j.stdout) as { torrents: Array<Record<string, any>> }).torrents[0]!.data.files[1];
    expect(small).toMatchObject({
      path: ['mix', 'small.txt'],
      status: 'unknown',
      piecesOk: 0,
      piecesTotal: 1,
      sharedPieces: 1,
      sharedWith: [['mix', 'big.bin']],
    });
  });

  it('--data at the content folder itself: says so, with the folder to give instead (issue 17)', async () => {
    const r = await validate(['torrents/set.torrent', '--data', 'good/set', '--progress', 'none']);
    expect(r.code).toBe(6);
    expect(r.stdout).toContain('  missing  set/a.bin  64.0 KiB\n');
    expect(r.stdout).toMatch(
      /\n {2}hint: --data good\/set looks like the torrent's own folder \(it holds its files\): give the folder that holds it, --data good\n/,
    );
    const j = await validate(['--json', 'torrents/set.torrent', '--data', 'good/set']);
    expect((JSON.parse(j.stdout) as { torrents: Array<Record<string, any>> }).torrents[0]!.hint).toMatch(/^--data good\/set looks like/);
    // A folder that just lacks the data gets no such hint.
    const none = await validate(['torrents/set.torrent', '--data', 'empty-data', '--progress', 'none']);
    expect(none.stdout).not.toContain('hint:');
  });

  it('prints JSON with schema 1, per-file status and percentages', async () => {
    const r = await validate(['--json', 'torrents/set.torrent', '--data', 'bad']);
    expect(r.code).toBe(6);
    const doc = JSON.parse(r.stdout) as { schema: number; torrents: Array<Record<string, any>>; summary: Record<string, number> };
    expect(doc.schema).toBe(1);
    expect(doc.summary).toEqual({ torrents: 1, valid: 1, invalid: 0, verified: 0, unverified: 1 });
    const t = doc.torrents[0]!;
    expect(t.valid).toBe(true);
    expect(t.exitCode).toBe(6);
    expect(t.infoHash).toBe(setHash);
    expect(t.data.verified).toBe(false);
    expect(t.data.files.map((f: any) => [f.path.join('/'), f.status, f.percent])).toEqual([
      ['set/a.bin', 'complete', 100],
      ['set/b.bin', 'partial', 75],
      ['set/c.bin', 'missing', 0],
      ['set/d.bin', 'wrong-size', 50],
    ]);
  });

  it('shows progress on stderr only', async () => {
    const r = await validate(['torrents/set.torrent', '--data', 'good', '--progress', 'plain']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^verifying set: 100\.0% \(12\/12\)$/m);
    expect(r.stdout).not.toContain('verifying');
  });

  it('does not follow a symlink out of the data folder', async () => {
    const r = await validate(['--json', 'torrents/set.torrent', '--data', 'escape']);
    expect(r.code).toBe(6);
    const a = (JSON.parse(r.stdout) as { torrents: Array<Record<string, any>> }).torrents[0]!.data.files[0];
    expect(a.status).toBe('missing');
    expect(a.problem).toMatch(/outside the folder/);
  });

  it('rejects hostile torrents with exit 3 and no stack trace, even with --data', async () => {
    const plain = await validate([join(FIXTURES, 'hostile')]);
    expect(plain.code).toBe(3);
    expect(plain.stderr).not.toMatch(/\n\s+at /);
    // With --data the valid-but-odd ones (reserved names, padding…) are checked too, find no data: 6 outranks 3.
    const r = await validate([join(FIXTURES, 'hostile'), '--data', 'good', '--progress', 'none']);
    expect(r.code).toBe(6);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).toMatch(/^error: .*traversal-dotdot\.torrent: .*path traversal/m);

    expect(r.stdout + r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(r.stdout).toMatch(/\d+ torrents: \d+ valid, \d+ invalid; data: 0 verified/);
  });

  it('counts warnings as errors with --strict', async () => {
    const src = join(FIXTURES, 'hostile/unsorted-keys.torrent');
    expect((await validate([src])).code).toBe(0);
    const strict = await validate([src, '--strict']);
    expect(strict.code).toBe(3);
    expect(strict.stderr).toContain('not in canonical order');
  });

  it('exits with the highest code of a batch: 6 beats 3', async () => {
    const r = await validate([join(FIXTURES, 'real/corrupt.torrent'), 'torrents/set.torrent', '--data', 'bad', '--progress', 'none']);
    expect(r.code).toBe(6);
    expect(r.stdout).toContain('2 torrents: 1 valid, 1 invalid; data: 0 verified, 1 not verified');
  });

  it('stops on SIGINT with exit 130 and no stack trace', async () => {
    // 4 GiB of sparse zeros against made-up hashes: long enough to interrupt, cheap to create.
    const GIB = 1024 ** 3;
    await mkdir(join(dir, 'sparse'), { recursive: true });
    await writeFile(join(dir, 'sparse', 'big.bin'), '');
    await truncate(join(dir, 'sparse', 'big.bin'), 4 * GIB);
    const pieceLength = 1024 * 1024;
    const torrent = encode({ info: { length: 4 * GIB, name: 'big.bin', 'piece length': pieceLength, pieces: Buffer.alloc(((4 * GIB) / pieceLength) * 20) } });
    await writeFile(join(dir, 'big.torrent'), torrent);
    const child = spawn(process.execPath, [BIN, 'big.torrent', '--data', 'sparse', '--progress', 'plain'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    const closed = new Promise<number | null>((r) => child.on('close', r));
    await new Promise<void>((r) => {
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        if (stderr.includes('verifying big.bin')) r();
      });
    });
    child.kill('SIGINT');
    const code = await closed;
    expect(code).toBe(130);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('validates a torrent given by URL, and fails a bad URL with 4', async () => {
    const body = await readFile(join(dir, 'torrents', 'set.torrent'));
    const server = createServer((req, res) => (req.url === '/set.torrent' ? res.end(body) : res.writeHead(404).end()));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const ok = await validate([`${base}/set.torrent`, '--data', 'good', '--progress', 'none']);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain(`${base}/set.torrent: valid, data verified (12/12 pieces)`);
      const missing = await validate([`${base}/gone.torrent`]);
      expect(missing.code).toBe(4);
      expect(missing.stderr).toContain('HTTP 404');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('handles usage: --help, no input, missing data folder, empty folder, missing file', async () => {
    const help = await validate(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--data');
    expect(help.stdout).toContain('Exit codes:');
    expect((await validate([])).code).toBe(2);
    expect((await validate(['torrents', '--data', 'nowhere'])).code).toBe(2);
    await mkdir(join(dir, 'empty'), { recursive: true });
    expect((await validate(['empty'])).code).toBe(2);
    const missing = await validate(['nope.torrent']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('error: nope.torrent: no such file');
  });
});
