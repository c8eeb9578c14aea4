import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpFixtureServer, type HttpFixtureServer } from '@tc/testkit/http-fixture-server';
import { runBin } from '@tc/testkit/run-bin';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';

const BIN = resolve(import.meta.dirname, '../bin/tc-fetch.js');

let server: HttpFixtureServer;
let work: { path: string; cleanup: () => Promise<void> };
let good: TestTorrent;

beforeAll(async () => {
  work = await tempDir('tc-fetch-');
  good = createTestTorrent({ name: 'good album', length: 50_000, seed: 3 });
  const evil = createTestTorrent({ name: 'evil', files: [{ path: ['..', '..', 'escaped.txt'], length: 100 }] });
  const escapes = createTestTorrent({ name: '\u001b[2Jred\u202e', length: 1000, seed: 6 });
  const pathy = createTestTorrent({ name: '../../etc/passwd', length: 1000, seed: 5 });
  server = await startHttpFixtureServer({
    // Content-Type deliberately wrong: the bytes decide.
    '/good.torrent': { body: good.torrent, type: 'text/html' },
    '/evil.torrent': { body: evil.torrent, type: 'application/x-bittorrent' },
    '/pathy.torrent': { body: pathy.torrent },
    '/escapes.torrent': { body: escapes.torrent },
    '/page': { body: '<!DOCTYPE html><html><head><title>Downloads – Example</title></head><body>hi</body></html>', type: 'text/html' },
    '/private.torrent': { redirect: '/login?next=/private.torrent' },
    '/login?next=/private.torrent': { body: '<html><head><title>Sign in</title></head></html>', type: 'text/html' },
    '/empty': { body: '' },
    '/loop': { redirect: '/loop' },
    '/slow.torrent': { drip: { everyMs: 200 } },
    '/huge.torrent': { huge: { bytes: 20 * 1024 * 1024 } },
    '/forbidden': { body: 'no', status: 403 },
  });
});

afterAll(async () => {
  await server?.close();
  await work?.cleanup();
});

const fetchCmd = (args: string[]) => runBin(BIN, args, { cwd: work.path, timeoutMs: 30_000 });

describe('tc-fetch URL', () => {
  it('saves a good torrent as NAME.torrent, byte for byte; the same again is unchanged; other content needs --force', async () => {
    const out = join(work.path, 'good');
    const r = await fetchCmd([server.url('/good.torrent'), '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^saved +${join(out, 'good album.torrent')}  ${good.infoHashHex}  good album \\(48\\.8 KiB\\)\\n$`));
    expect((await readFile(join(out, 'good album.torrent'))).equals(good.torrent)).toBe(true);
    const again = await fetchCmd([server.url('/good.torrent'), '-o', out, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({
      schema: 1,
      source: server.url('/good.torrent'),
      status: 'unchanged',
      path: join(out, 'good album.torrent'),
      infoHash: good.infoHashHex,
      name: 'good album',
      size: 50_000,
    });
    await writeFile(join(out, 'good album.torrent'), 'something else');
    const clash = await fetchCmd([server.url('/good.torrent'), '-o', out]);
    expect(clash.code).toBe(1);
    expect(clash.stderr).toContain('already exists with other content');
    expect(clash.stderr).toContain('hint: use --force');
    expect((await readFile(join(out, 'good album.torrent'))).toString()).toBe('something else');
    const forced = await fetchCmd([server.url('/good.torrent'), '-o', out, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/^replaced /);
    expect((await readFile(join(out, 'good album.torrent'))).equals(good.torrent)).toBe(true);
  });

  it('refuses a hostile torrent and saves nothing', async () => {
    const out = join(work.path, 'evil');
    const r = await fetchCmd([server.url('/evil.torrent'), '-o', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/error: .*evil\.torrent: not a valid torrent: .*/);
    await expect(readdir(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a torrent whose name is a path (the file is named from the torrent, never the server)', async () => {
    const out = join(work.path, 'pathy');
    const r = await fetchCmd([server.url('/pathy.torrent'), '-o', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('path separator');
    await expect(readdir(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('keeps terminal escapes out of the file name and the output', async () => {
    const out = join(work.path, 'escapes');
    const r = await fetchCmd([server.url('/escapes.torrent'), '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(await readdir(out)).toEqual(['_[2Jred_.torrent']);
    expect(r.stdout).not.toMatch(/[\u001b\u202e]/);
  });

  it('names what came back when it is not a torrent', async () => {
    const out = join(work.path, 'bad');
    const cases: [string, number, RegExp][] = [
      ['/page', 3, /expected a \.torrent file, got an HTML page \("Downloads – Example"\)/],
      ['/private.torrent', 3, /redirected to a login page/],
      ['/empty', 3, /got an empty body/],
      ['/loop', 4, /more than 5 redirects/],
      ['/forbidden', 4, /HTTP 403: it wants a login/],
      ['/nothing-here', 4, /HTTP 404/],
      ['/huge.torrent', 3, /larger than 10485760 bytes/],
    ];
    for (const [path, code, message] of cases) {
      const r = await fetchCmd([server.url(path), '-o', out]);
      expect(r.code, `${path}: ${r.stderr}`).toBe(code);
      expect(r.stderr, path).toMatch(message);
    }
    const slow = await fetchCmd([server.url('/slow.torrent'), '-o', out, '--timeout', '1']);
    expect(slow.code).toBe(4);
    expect(slow.stderr).toContain('no complete answer within 1 s');
    await expect(readdir(out)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('goes on after a failure and exits with the worst code; --json gives one line per item', async () => {
    const out = join(work.path, 'mixed');
    const r = await fetchCmd([server.url('/page'), server.url('/good.torrent'), 'not-a-url', '-o', out, '--json']);
    expect(r.code).toBe(3);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { status: string; error?: { exitCode: number } });
    expect(lines.map((l) => l.status)).toEqual(['failed', 'saved', 'failed']);
    expect(lines[2]!.error!.exitCode).toBe(2);
    expect(await readdir(out)).toEqual(['good album.torrent']);
  });
});
