import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpFixtureServer, type HttpFixtureServer } from '@tc/testkit/http-fixture-server';
import { runBin } from '@tc/testkit/run-bin';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { BUILTIN_CATALOG, loadCatalog, parseCatalog } from '../src/catalog.js';

const BIN = resolve(import.meta.dirname, '../bin/tc-fetch.js');

let server: HttpFixtureServer;
let work: { path: string; cleanup: () => Promise<void> };
let one: TestTorrent;
let two: TestTorrent;
let catalogFile: string;

beforeAll(async () => {
  work = await tempDir('tc-fetch-catalog-');
  one = createTestTorrent({ name: 'distro-1.0.iso', length: 70_000, seed: 11 });
  two = createTestTorrent({ name: 'distro-2.0.iso', length: 70_000, seed: 12 });
  server = await startHttpFixtureServer({ '/one.torrent': { body: one.torrent }, '/two.torrent': { body: two.torrent } });
  catalogFile = join(work.path, 'catalog.json');
  await writeFile(
    catalogFile,
    JSON.stringify({
      schema: 1,
      torrents: [
        { name: 'one', title: 'Distro 1.0', url: server.url('/one.torrent'), source: 'the fixture server', infoHash: one.infoHashHex },
        { name: 'two', title: 'Distro 2.0', url: server.url('/two.torrent'), source: 'the fixture server' },
        // Pinned to another hash: the file "changed at its source".
        { name: 'moved', title: 'Distro 1.0 again', url: server.url('/two.torrent'), source: 'the fixture server', infoHash: one.infoHashHex },
      ],
    }),
  );
});

afterAll(async () => {
  await server?.close();
  await work?.cleanup();
});

describe('the built-in catalogue', () => {
  it('parses; every entry has a name, a title, an http(s) or magnet URL and a source', async () => {
    const entries = await loadCatalog(undefined);
    expect(entries.length).toBeGreaterThanOrEqual(5);
    for (const e of entries) {
      expect(e.name).toMatch(/^[a-z0-9][a-z0-9.-]*$/);
      expect(e.title.length).toBeGreaterThan(0);
      expect(e.url).toMatch(/^(https:\/\/|magnet:\?xt=urn:btih:)/);
      expect(e.source.length).toBeGreaterThan(0);
      // A magnet's pin is the hash it carries.
      if (e.url.startsWith('magnet:')) expect(e.url).toContain(e.infoHash!);
    }
    for (const distro of ['debian', 'ubuntu', 'fedora', 'arch']) expect(entries.some((e) => e.name.startsWith(distro))).toBe(true);
    expect(JSON.parse(await readFile(BUILTIN_CATALOG, 'utf8'))).toMatchObject({ schema: 1 });
  });

  it('refuses a bad catalogue naming what is wrong', () => {
    expect(() => parseCatalog('nope', 'c.json')).toThrow(/c\.json: not JSON/);
    expect(() => parseCatalog('{"schema":1,"torrents":[{"name":"../x","title":"t","url":"https://a/b","source":"s"}]}', 'c')).toThrow(/torrents\[0\]\.name/);
    expect(() => parseCatalog('{"schema":1,"torrents":[{"name":"x","title":"t","url":"file:///etc/passwd","source":"s"}]}', 'c')).toThrow(/url is neither/);
    expect(() => parseCatalog('{"schema":1,"torrents":[{"name":"x","title":"t","url":"https://a/b","source":"s","infoHash":"zz"}]}', 'c')).toThrow(/infoHash/);
    const dup = { name: 'x', title: 't', url: 'https://a/b', source: 's' };
    expect(() => parseCatalog(JSON.stringify({ schema: 1, torrents: [dup, dup] }), 'c')).toThrow(/appears twice/);
  });
});

describe('tc-fetch --catalog', () => {
  it('lists the built-in catalogue without touching the network', async () => {
    const r = await runBin(BIN, ['--catalog'], { cwd: work.path });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^debian-netinst +Debian .*\n +from Debian CD archive/);
    const j = await runBin(BIN, ['--catalog', '--json'], { cwd: work.path });
    const doc = JSON.parse(j.stdout) as { schema: number; catalog: { name: string }[] };
    expect(doc.schema).toBe(1);
    expect(doc.catalog.map((c) => c.name)).toContain('arch');
  });

  it('fetches named entries of a catalogue pointed at the local server; a pinned hash that differs is refused', async () => {
    const out = join(work.path, 'out');
    const r = await runBin(BIN, ['--catalog', 'one', 'two', '--catalog-file', catalogFile, '-o', out], { cwd: work.path });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`saved     ${join(out, 'distro-1.0.iso.torrent')}  ${one.infoHashHex}`);
    expect((await readFile(join(out, 'distro-2.0.iso.torrent'))).equals(two.torrent)).toBe(true);
    const moved = await runBin(BIN, ['--catalog', 'moved', '--catalog-file', catalogFile, '-o', join(work.path, 'moved')], { cwd: work.path });
    expect(moved.code).toBe(6);
    expect(moved.stderr).toContain(`error: moved: its info-hash is ${two.infoHashHex}, not the pinned ${one.infoHashHex}`);
    await expect(readdir(join(work.path, 'moved'))).rejects.toMatchObject({ code: 'ENOENT' });
    const unknown = await runBin(BIN, ['--catalog', 'three', '--catalog-file', catalogFile], { cwd: work.path });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('hint: the entries are: one, two, moved');
  });
});
