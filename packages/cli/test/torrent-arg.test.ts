import { Readable } from 'node:stream';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CodecError, encode } from '@tc/codec';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliError, ExitCode, exitCodeFor, readTorrentArg, UsageError } from '../src/index.js';

const info = { name: 'arg', 'piece length': 16384, pieces: Buffer.alloc(20, 7), length: 10 };
const torrent = encode({ announce: 'http://127.0.0.1:1/announce', info });
const HASH = '0123456789abcdef0123456789abcdef01234567';

let dir = '';
let server: Server;
let base = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tc-cli-arg-'));
  await writeFile(join(dir, 'a.torrent'), torrent);
  await writeFile(join(dir, 'bad.torrent'), 'not bencode');
  await writeFile(join(dir, 'big.torrent'), Buffer.alloc(2000));
  await mkdir(join(dir, 'folder'));
  server = createServer((req, res) => {
    if (req.url === '/a.torrent') res.end(torrent);
    else if (req.url === '/big') res.end(Buffer.alloc(2000));
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await rm(dir, { recursive: true, force: true });
});

const read = (arg: string, maxBytes?: number) => readTorrentArg(arg, { cwd: dir, ...(maxBytes !== undefined ? { maxBytes } : {}) });
const failure = (arg: string, maxBytes?: number) =>
  read(arg, maxBytes).then(
    () => undefined,
    (e: unknown) => e,
  );

describe('readTorrentArg', () => {
  it('reads a .torrent from a relative path or a URL, and a magnet link', async () => {
    const file = await read('a.torrent');
    expect(file.kind === 'torrent' && file.metainfo.name).toBe('arg');
    expect(file.kind === 'torrent' && file.bytes.equals(torrent)).toBe(true);
    const url = await read(`${base}/a.torrent`);
    expect(url.kind === 'torrent' && url.metainfo.infoHashHex).toBe(file.kind === 'torrent' && file.metainfo.infoHashHex);
    const magnet = await read(`MAGNET:?xt=urn:btih:${HASH}&dn=x&zz=1`);
    expect(magnet.kind === 'magnet' && magnet.magnet.infoHashHex).toBe(HASH);
    expect(magnet.warnings.map((w) => w.code)).toContain('WARN_MAGNET_UNKNOWN_PARAM');
  });

  it('throws typed errors that map to bad input (3), fetch failed (4), unreadable (5) and usage (2)', async () => {
    const bad = await failure('bad.torrent');
    expect(bad).toBeInstanceOf(CodecError);
    expect(bad).toMatchObject({ code: 'CODEC_BAD_SYNTAX', message: expect.stringMatching(/^bad\.torrent: /) });
    expect(exitCodeFor(bad)).toBe(ExitCode.BAD_INPUT);
    expect(exitCodeFor(await failure('magnet:?xt=urn:btih:nothex'))).toBe(ExitCode.BAD_INPUT);
    for (const tooBig of [await failure('big.torrent', 1000), await failure(`${base}/big`, 1000)]) {
      expect(tooBig).toMatchObject({ code: 'CLI_BAD_INPUT' });
      expect(exitCodeFor(tooBig)).toBe(ExitCode.BAD_INPUT);
    }
    const notFound = await failure(`${base}/nope.torrent`);
    expect(notFound).toMatchObject({ code: 'CLI_FETCH_FAILED', exitCode: ExitCode.NETWORK });
    expect(exitCodeFor(notFound)).toBe(ExitCode.NETWORK);
    // Opening succeeds, reading fails (EIO), even for root: a file that cannot be read.
    const unreadable = await failure('/proc/self/mem');
    expect(unreadable).toBeInstanceOf(CliError);
    expect(unreadable).toMatchObject({ code: 'CLI_FILE_UNREADABLE', message: '/proc/self/mem: cannot read it (EIO)' });
    expect(exitCodeFor(unreadable)).toBe(ExitCode.DISK);
    for (const usage of [await failure('missing.torrent'), await failure('folder')]) {
      expect(usage).toBeInstanceOf(UsageError);
      expect((usage as UsageError).message).toMatch(/^(missing\.torrent|folder): /);
      expect(exitCodeFor(usage)).toBe(ExitCode.USAGE);
    }
  });
});

describe('- reads standard input (issue 17)', () => {
  it('parses a piped .torrent, refuses a terminal, an empty pipe, one over the limit, and no stdin at all', async () => {
    const arg = await readTorrentArg('-', { cwd: dir, stdin: Readable.from([torrent.subarray(0, 7), torrent.subarray(7)]) });
    expect(arg.kind).toBe('torrent');
    const tty = Object.assign(Readable.from([torrent]), { isTTY: true });
    await expect(readTorrentArg('-', { cwd: dir, stdin: tty })).rejects.toThrow(/standard input: standard input is a terminal/);
    await expect(readTorrentArg('-', { cwd: dir, stdin: Readable.from([]) })).rejects.toBeInstanceOf(UsageError);
    const big = readTorrentArg('-', { cwd: dir, maxBytes: 1000, stdin: Readable.from([Buffer.alloc(2000)]) });
    await expect(big).rejects.toBeInstanceOf(CliError);
    expect(exitCodeFor(await big.catch((e: unknown) => e))).toBe(ExitCode.BAD_INPUT);
    await expect(readTorrentArg('-', { cwd: dir })).rejects.toBeInstanceOf(UsageError);
  });
});
