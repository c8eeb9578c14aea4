import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMetainfo } from '@tc/codec';
import { createTorrent } from '@tc/create';
import { runBin } from '@tc/testkit/run-bin';
import { tempDir } from '@tc/testkit/tmp';

const BIN = resolve(import.meta.dirname, '../bin/tc-debug-torrent.js');
const FIXTURES = resolve(import.meta.dirname, '../../../test-fixtures/torrents');
const debug = (args: string[], cwd?: string) => runBin(BIN, args, cwd ? { cwd } : {});

let tmp: { path: string; cleanup: () => Promise<void> };
let server: Server;
let base = '';
let multi: Buffer;

beforeAll(async () => {
  tmp = await tempDir('tc-debug-torrent-');
  const folder = join(tmp.path, 'photos');
  await mkdir(join(folder, 'trip'), { recursive: true });
  await writeFile(join(folder, 'readme.txt'), 'hello\n');
  await writeFile(join(folder, 'trip', 'a.jpg'), Buffer.alloc(40_000, 1));
  await writeFile(join(folder, 'trip', 'b.jpg'), Buffer.alloc(30_000, 2));
  multi = await createTorrent({
    path: folder,
    pieceLength: 16384,
    trackers: [['udp://127.0.0.1:6969/announce', 'http://127.0.0.1:6969/announce'], 'http://127.0.0.1:7000/announce'],
    webSeeds: ['http://127.0.0.1:8000/photos/'],
    comment: 'evil \x1b[31mred\x1b[0m comment',
    createdBy: 'tc test',
    creationDate: new Date('2024-01-02T03:04:05Z'),
  });
  await writeFile(join(tmp.path, 'photos.torrent'), multi);

  server = createServer((req, res) => {
    if (req.url === '/ok.torrent') {
      res.end(multi);
    } else if (req.url === '/big.torrent') {
      // No Content-Length: the limit must hold while streaming.
      res.writeHead(200);
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      let sent = 0;
      const pump = (): void => {
        while (sent < 12 && res.write(chunk)) sent++;
        if (sent >= 12) res.end();
        else res.once('drain', pump);
      };
      res.on('error', () => undefined);
      pump();
    } else if (req.url === '/slow.torrent') {
      res.writeHead(200, { 'content-length': String(multi.length) });
      res.write(multi.subarray(0, 10)); // then nothing: the client must time out
    } else if (req.url === '/loop') {
      res.writeHead(302, { location: '/loop' }).end();
    } else {
      res.writeHead(404).end('not here');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await tmp.cleanup();
});

describe('tc-debug-torrent', () => {
  it('shows a multi-file torrent (golden), sanitizing text from the torrent', async () => {
    const r = await debug(['photos.torrent'], tmp.path);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const hash = parseMetainfo(multi).metainfo.infoHashHex;
    expect(r.stdout.replaceAll(hash, '<hash>').replace(/^Base32 .*$/m, 'Base32        <b32>')).toBe(
      [
        'Source        photos.torrent',
        'Name          photos',
        'Info-hash     <hash>',
        'Base32        <b32>',
        'Magnet        magnet:?xt=urn:btih:<hash>&dn=photos&tr=udp://127.0.0.1:6969/announce&tr=http://127.0.0.1:6969/announce&tr=http://127.0.0.1:7000/announce&ws=http://127.0.0.1:8000/photos/',
        `Torrent size  ${multi.length} B`,
        'Content size  68.4 KiB (70,006 bytes)',
        'Private       no',
        'Piece length  16.0 KiB (16,384 bytes)',
        'Pieces        5, the last 4.37 KiB',
        'Created by    tc test',
        'Created on    2024-01-02 03:04:05 UTC',
        'Comment       evil \\x1b[31mred\\x1b[0m comment',
        'Trackers      tier 1  udp://127.0.0.1:6969/announce',
        '                      http://127.0.0.1:6969/announce',
        '              tier 2  http://127.0.0.1:7000/announce',
        'Web seeds     http://127.0.0.1:8000/photos/',
        'Files         3 files, 68.4 KiB',
        '              photos/',
        '              ├── readme.txt  6 B',
        '              └── trip/',
        '                  ├── a.jpg  39.1 KiB',
        '                  └── b.jpg  29.3 KiB',
        'Warnings      none',
        '',
      ].join('\n'),
    );
    expect(r.stdout).not.toContain('\x1b');
  });

  it('shows a real single-file torrent (golden) and lists files with --files list', async () => {
    const r = await debug(['real/alice.torrent', '--files', 'list'], FIXTURES);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'Source        real/alice.torrent',
        'Name          alice.txt',
        'Info-hash     722fe65b2aa26d14f35b4ad627d20236e481d924',
        'Base32        OIX6MWZKUJWRJ423JLLCPUQCG3SIDWJE',
        'Magnet        magnet:?xt=urn:btih:722fe65b2aa26d14f35b4ad627d20236e481d924&dn=alice.txt',
        'Torrent size  325 B',
        'Content size  160 KiB (163,783 bytes)',
        'Private       no',
        'Piece length  16.0 KiB (16,384 bytes)',
        'Pieces        10, the last 15.9 KiB',
        'Created on    2016-01-10 23:32:05 UTC',
        'Trackers      none',
        'Web seeds     none',
        'Files         1 file, 160 KiB',
        '              alice.txt  160 KiB',
        'Warnings      announce: no usable tracker or web seed: peers can come only from DHT, PEX or by hand',
        '              creation date is in milliseconds, not seconds: read as 2016-01-10T23:32:05.091Z',
        '',
      ].join('\n'),
    );
  });

  it('prints JSON with schema 1 and everything a script needs', async () => {
    const r = await debug(['--json', join(tmp.path, 'photos.torrent')]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { schema: number; torrents: Array<Record<string, any>> };
    expect(doc.schema).toBe(1);
    expect(doc.torrents).toHaveLength(1);
    const t = doc.torrents[0]!;
    expect(t.ok).toBe(true);
    expect(t.errors).toEqual([]);
    const m = parseMetainfo(multi).metainfo;
    expect(t.torrent.infoHash).toBe(m.infoHashHex);
    expect(t.torrent.infoHashBase32).toBe(m.infoHashBase32);
    expect(t.torrent.trackers).toEqual([['udp://127.0.0.1:6969/announce', 'http://127.0.0.1:6969/announce'], ['http://127.0.0.1:7000/announce']]);
    expect(t.torrent.files.map((f: { path: string[] }) => f.path.join('/'))).toEqual(['photos/readme.txt', 'photos/trip/a.jpg', 'photos/trip/b.jpg']);
    expect(t.torrent.comment).toBe('evil \x1b[31mred\x1b[0m comment');
    expect(t.torrent.creationDate).toBe('2024-01-02T03:04:05.000Z');
    expect(t).not.toHaveProperty('raw');
  });

  it('dumps raw keys with -v, in text and JSON', async () => {
    const r = await debug(['-v', 'photos.torrent'], tmp.path);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Raw keys\n');
    expect(r.stdout).toContain('  "info": dict (4 keys)\n');
    expect(r.stdout).toMatch(/"pieces": <100 bytes: [0-9a-f]{40}…>/);
    const j = await debug(['-v', '--json', 'photos.torrent'], tmp.path);
    const raw = (JSON.parse(j.stdout) as { torrents: Array<{ raw: any }> }).torrents[0]!.raw;
    expect(raw['created by']).toBe('tc test');
    expect(raw.info.pieces.bytes).toBe(100);
    // Keys are raw bytes: a UTF-8 key is shown as text, an escape in a key is made visible.
    const odd = Buffer.concat([
      Buffer.from('d4:infod6:lengthi1e4:name1:x12:piece lengthi16384e6:pieces20:'),
      Buffer.alloc(20, 1),
      Buffer.from('e5:\xc3\xa9t\xc3\xa9i1e3:\x1b[2i2ee', 'latin1'),
    ]);
    await writeFile(join(tmp.path, 'odd.torrent'), odd);
    const o = await debug(['-v', 'odd.torrent'], tmp.path);
    expect(o.code).toBe(0);
    expect(o.stdout).toContain('\n  "été": 1\n');
    expect(o.stdout).toContain('\n  "\\u001b[2": 2\n');
  });

  it('rejects every hostile fixture with exit 3 and one error line, never a stack trace', async () => {
    const manifest = JSON.parse(await readFile(join(FIXTURES, 'hostile/manifest.json'), 'utf8')) as Record<string, { code: string | null; options?: unknown }>;
    const names = Object.keys(manifest).filter((n) => n.endsWith('.torrent'));
    const r = await debug(['--json', ...names.map((n) => `hostile/${n}`)], FIXTURES);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const doc = JSON.parse(r.stdout) as { torrents: Array<{ source: string; exitCode: number; errors: Array<{ code: string }> }> };
    expect(doc.torrents).toHaveLength(names.length);
    let bad = 0;
    for (const t of doc.torrents) {
      const want = manifest[t.source.slice('hostile/'.length)]!;
      if (want.options !== undefined) continue; // expectations that need parser options tc-debug-torrent does not set
      if (want.code === null) {
        expect(t.exitCode, t.source).toBe(0);
      } else {
        bad++;
        expect(t.exitCode, t.source).toBe(3);
        expect(
          t.errors.map((e) => e.code),
          t.source,
        ).toContain(want.code);
      }
    }
    expect(bad).toBeGreaterThan(40);
    expect(r.code).toBe(3);
    // Each hostile input also gets its human error line, without raw control bytes.
    const one = await debug(['hostile/traversal-dotdot.torrent'], FIXTURES);
    expect(one.code).toBe(3);
    expect(one.stderr).toMatch(/^error: hostile\/traversal-dotdot\.torrent: .*path traversal/m);

    expect(one.stdout + one.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  });

  it('fetches a torrent from a URL', async () => {
    const r = await debug(['--json', `${base}/ok.torrent`]);
    expect(r.code).toBe(0);
    const t = (JSON.parse(r.stdout) as { torrents: Array<Record<string, any>> }).torrents[0]!;
    expect(t.torrent.infoHash).toBe(parseMetainfo(multi).metainfo.infoHashHex);
  });

  it('fails a URL with 4 on HTTP errors, redirect loops and timeouts, and 3 when too large', async () => {
    const notFound = await debug([`${base}/missing.torrent`]);
    expect(notFound.code).toBe(4);
    expect(notFound.stderr).toContain('HTTP 404');
    const loop = await debug([`${base}/loop`]);
    expect(loop.code).toBe(4);
    expect(loop.stderr).toContain('redirect');
    // The message names the 1 s limit, so that limit is what ended it (how soon: bench/deadlines.mjs).
    const slow = await debug(['--timeout', '1', `${base}/slow.torrent`]);
    expect(slow.code).toBe(4);
    expect(slow.stderr).toMatch(/within 1 s/);
    const big = await debug([`${base}/big.torrent`]);
    expect(big.code).toBe(3);
    expect(big.stderr).toContain('larger than 10485760 bytes');
  });

  it('exits with the highest code of a batch, and shows every input', async () => {
    const r = await debug(['real/alice.torrent', 'hostile/truncated.torrent', 'real/folder.torrent'], FIXTURES);
    expect(r.code).toBe(3);
    expect(r.stdout.match(/^Source /gm)).toHaveLength(3);
  });

  it('colours only when asked or allowed: --color, NO_COLOR, FORCE_COLOR, non-TTY stdout', async () => {
    const args = ['real/numbers.torrent'];
    const [always, pipe, forced, noColor] = await Promise.all([
      runBin(BIN, [...args, '--color', 'always'], { cwd: FIXTURES }),
      runBin(BIN, args, { cwd: FIXTURES, env: { NO_COLOR: '' } }),
      runBin(BIN, args, { cwd: FIXTURES, env: { NO_COLOR: '', FORCE_COLOR: '1' } }),
      runBin(BIN, args, { cwd: FIXTURES, env: { NO_COLOR: '1', FORCE_COLOR: '1' } }),
    ]);
    expect(always.stdout).toContain('\x1b[1mName');
    expect(pipe.stdout).not.toContain('\x1b');
    expect(forced.stdout).toContain('\x1b[');
    expect(noColor.stdout).not.toContain('\x1b');
  });

  it('shows an invalid UTF-8 name with U+FFFD and renamed paths as warnings', async () => {
    const r = await debug(['--files', 'list', 'hostile/invalid-utf8-name.torrent', 'hostile/windows-names.torrent'], FIXTURES);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\ufffd');
    expect(r.stdout).toContain('will be stored as');

    expect(r.stdout).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  });

  it('handles usage: --help, no input, unknown flag, missing file', async () => {
    const help = await debug(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('tc-debug-torrent FILE|URL|-...');
    expect(help.stdout).toContain('Exit codes:');
    expect((await debug([])).code).toBe(2);
    const flag = await debug(['--bogus', 'x']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/^error: /);
    const missing = await debug(['nope.torrent'], tmp.path);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('error: nope.torrent: no such file');
  });

  it('reports a missing file once: one error line, nothing on stdout (issue 17)', async () => {
    const missing = await debug(['nope.torrent'], tmp.path);
    expect(missing.code).toBe(2);
    expect(missing.stdout).toBe('');
    expect(missing.stderr.match(/nope\.torrent/g)).toHaveLength(1);
  });

  it('a magnet link is a clear usage error (exit 2), not "no such file" (issue 17)', async () => {
    const r = await debug(['magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567&dn=x']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: magnet link: tc-debug-torrent shows \.torrent files; a magnet link has no metadata to show\nhint: .*tc-download/);
    expect(r.stderr).not.toContain('no such file');
  });

  it('reads the torrent from standard input with - (issue 17)', async () => {
    const child = spawn(process.execPath, [BIN, '-', '--json'], {
      env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', TZ: 'UTC' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.stdin.end(multi);
    const [code] = (await once(child, 'close')) as [number];
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(JSON.parse(out).torrents[0].torrent.infoHash).toBe(parseMetainfo(multi).metainfo.infoHashHex);
  });
});
