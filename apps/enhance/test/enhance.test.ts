import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMagnet, parseMetainfo, PUBLIC_TRACKERS } from '@tc/codec';
import { createTorrent } from '@tc/create';
import { runBin } from '@tc/testkit/run-bin';
import { tempDir } from '@tc/testkit/tmp';

const BIN = resolve(import.meta.dirname, '../bin/tc-enhance.js');
const FIXTURES = resolve(import.meta.dirname, '../../../test-fixtures/torrents');
const run = promisify(execFile);

let tmp: { path: string; cleanup: () => Promise<void> };
let dir = '';
const enhance = (args: string[]) => runBin(BIN, args, { cwd: dir });
const T1 = 'udp://127.0.0.1:6969/announce';
const T2 = 'http://127.0.0.1:6969/announce';
const T3 = 'http://127.0.0.1:7000/announce';

async function parse(name: string) {
  return parseMetainfo(await readFile(join(dir, name))).metainfo;
}

beforeAll(async () => {
  tmp = await tempDir('tc-enhance-');
  dir = tmp.path;
  await writeFile(join(dir, 'data.bin'), Buffer.alloc(50_000, 7));
  const opts = { path: join(dir, 'data.bin'), pieceLength: 16384, creationDate: null, comment: 'kept as is' } as const;
  await writeFile(join(dir, 'public.torrent'), await createTorrent({ ...opts, trackers: [[T1, T2]] }));
  await writeFile(join(dir, 'private.torrent'), await createTorrent({ ...opts, trackers: [T1], private: true }));
});

afterAll(async () => {
  await tmp.cleanup();
});

describe('tc-enhance', () => {
  it('adds trackers after the original tiers, dedupes, and keeps the info-hash (golden)', async () => {
    const before = await parse('public.torrent');
    const r = await enhance(['public.torrent', '-o', 'out.torrent', '-t', T3, '-t', 'HTTP://127.0.0.1:6969/announce', '-t', T3]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        `Info-hash     ${before.infoHashHex}`,
        `New info-hash ${before.infoHashHex} (unchanged)`,
        'Added         1 tracker, 2 already present',
        'Tiers         2',
        'Wrote         out.torrent',
        '',
      ].join('\n'),
    );
    const after = await parse('out.torrent');
    expect(after.infoHashHex).toBe(before.infoHashHex);
    expect(after.infoBytes.equals(before.infoBytes)).toBe(true);
    expect(after.announceTiers).toEqual([[T1, T2], [T3]]);
    expect(after.announce).toBe(T1);
    expect(after.comment).toBe('kept as is');
  });

  it('keeps a non-canonical info dictionary byte for byte', async () => {
    const src = join(FIXTURES, 'hostile/unsorted-keys.torrent');
    const before = parseMetainfo(await readFile(src)).metainfo;
    const r = await enhance([src, '-o', 'unsorted-out.torrent', '-t', T3]);
    expect(r.code).toBe(0);
    const after = await parse('unsorted-out.torrent');
    expect(after.infoHashHex).toBe(before.infoHashHex);
    expect(after.infoBytes.equals(before.infoBytes)).toBe(true);
  });

  it('adds the built-in public list only when asked (--public), listing what it added', async () => {
    const r = await enhance(['public.torrent', '-o', 'pub.torrent', '--public', '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as Record<string, any>;
    expect(doc.schema).toBe(1);
    expect(doc.infoHashUnchanged).toBe(true);
    expect(doc.infoHashBefore).toBe(doc.infoHashAfter);
    expect(doc.added).toEqual([...PUBLIC_TRACKERS]);
    expect(doc.output).toBe('pub.torrent');
    const after = await parse('pub.torrent');
    expect(after.announceTiers).toEqual([[T1, T2], ...PUBLIC_TRACKERS.map((u) => [u])]);
  });

  it('with no tracker source, adds nothing silently: a usage error naming the three ways (issue 17)', async () => {
    const r = await enhance(['public.torrent', '-o', 'none.torrent']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: no trackers to add: give --tracker URL, --list FILE or --public \(tc's built-in list of \d+ public trackers\)\nhint: /);
    await expect(readFile(join(dir, 'none.torrent'))).rejects.toThrow(/ENOENT/);
    const help = await enhance(['--help']);
    expect(help.stdout).not.toContain('--public is\nassumed');
    expect(help.stdout).not.toContain('add the built-in public trackers');
  });

  it('reads --list files: one URL a line, a blank line between tiers, # comments', async () => {
    await writeFile(join(dir, 'list.txt'), `# my trackers\n${T3}\nudp://127.0.0.1:7001/announce\n\n\nwss://127.0.0.1:7002/announce # web\n${T1}\n`);
    const r = await enhance(['public.torrent', '-o', 'list.torrent', '--list', 'list.txt', '-v']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`skipped ${T1}`);
    const after = await parse('list.torrent');
    expect(after.announceTiers).toEqual([[T1, T2], [T3, 'udp://127.0.0.1:7001/announce'], ['wss://127.0.0.1:7002/announce']]);
  });

  it('rejects tracker URLs with other schemes as a usage error', async () => {
    const r = await enhance(['public.torrent', '-o', 'bad.torrent', '-t', 'ftp://127.0.0.1/announce']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error: --tracker #1: "ftp:\/\/127\.0\.0\.1\/announce" has the unsupported scheme ftp:/m);
    await writeFile(join(dir, 'badlist.txt'), `${T3}\nnot a url\n`);
    const l = await enhance(['public.torrent', '-o', 'bad.torrent', '--list', 'badlist.txt']);
    expect(l.code).toBe(2);
    expect(l.stderr).toContain('badlist.txt:2');
    // The same rule as the torrent parser: an IDNA host (even percent-encoded) or a control character
    // would be dropped by tc when reading the torrent, so it is refused here.
    const idna = await enhance(['public.torrent', '-o', 'bad.torrent', '-t', 'http://%C3%A4pple.test/announce']);
    expect(idna.code).toBe(2);
    expect(idna.stderr).toContain('IDNA');
    const tab = await enhance(['public.torrent', '-o', 'bad.torrent', '-t', 'udp://127.0.0.1:7001/ann\tounce']);
    expect(tab.code).toBe(2);
    expect(tab.stderr).toContain('control characters');
    expect(await readdir(dir)).not.toContain('bad.torrent');
  });

  it('refuses a private torrent unless --force, and keeps it private', async () => {
    const r = await enhance(['private.torrent', '-o', 'p.torrent', '-t', T3]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('private torrent');
    expect(r.stderr).toContain('hint: add --force');
    expect(await readdir(dir)).not.toContain('p.torrent');
    const f = await enhance(['private.torrent', '-o', 'p.torrent', '-t', T3, '--force']);
    expect(f.code).toBe(0);
    const after = await parse('p.torrent');
    expect(after.private).toBe(true);
    expect(after.infoHashHex).toBe((await parse('private.torrent')).infoHashHex);
    expect(after.announceTiers).toEqual([[T1], [T3]]);
  });

  it('prints the enhanced magnet link with --magnet and writes nothing', async () => {
    const before = await readdir(dir);
    const r = await enhance(['public.torrent', '--magnet', '-t', T3]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const m = parseMagnet(lines[0]!).magnet;
    expect(m.infoHashHex).toBe((await parse('public.torrent')).infoHashHex);
    expect(m.trackers).toEqual([T1, T2, T3]);
    expect(await readdir(dir)).toEqual(before);
  });

  it('refuses to overwrite the input unless --in-place, which replaces it atomically', async () => {
    await writeFile(join(dir, 'inplace.torrent'), await readFile(join(dir, 'public.torrent')));
    const r = await enhance(['inplace.torrent', '-o', './inplace.torrent', '-t', T3]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('hint: write elsewhere, or add --in-place');
    const ok = await enhance(['inplace.torrent', '--in-place', '-t', T3]);
    expect(ok.code).toBe(0);
    expect((await parse('inplace.torrent')).announceTiers).toEqual([[T1, T2], [T3]]);
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses hostile torrents with exit 3 and writes nothing', async () => {
    const before = await readdir(dir);
    for (const name of ['traversal-dotdot.torrent', 'absolute-slash.torrent', 'deep-nesting.torrent', 'truncated.torrent']) {
      const r = await enhance([join(FIXTURES, 'hostile', name), '-o', 'hostile-out.torrent', '-t', T3]);
      expect(r.code, name).toBe(3);
      expect(r.stderr, name).toMatch(/^error: /);
      expect(r.stderr, name).not.toMatch(/\n\s+at /);
    }
    expect(await readdir(dir)).toEqual(before);
  });

  it('writes a torrent transmission-show reads with the same hash and trackers', async () => {
    const r = await enhance(['public.torrent', '-o', 'ts.torrent', '-t', T3, '-t', 'udp://127.0.0.1:7001/announce']);
    expect(r.code).toBe(0);
    const { stdout } = await run('transmission-show', [join(dir, 'ts.torrent')]);
    expect(stdout).toMatch(new RegExp(`Hash: ${(await parse('public.torrent')).infoHashHex}`));
    const trackers = stdout.slice(stdout.indexOf('TRACKERS'), stdout.indexOf('FILES'));
    expect(trackers.match(/Tier #\d+/g)).toEqual(['Tier #1', 'Tier #2', 'Tier #3']);
    const urls = [...trackers.matchAll(/^\s+((?:udp|http)\S+)$/gm)].map((m) => m[1]);
    expect(urls).toEqual([T1, T2, T3, 'udp://127.0.0.1:7001/announce']);
  });

  it('keeps a libtorrent hybrid (v1+v2) torrent loadable by libtorrent with both hashes unchanged', async () => {
    // Debian's python3-libtorrent (2.0): makes a hybrid torrent, whose `piece layers` must survive too.
    const py = `
import sys, json, libtorrent as lt
cmd, path = sys.argv[1], sys.argv[2]
if cmd == 'create':
    fs = lt.file_storage()
    lt.add_files(fs, sys.argv[3])
    t = lt.create_torrent(fs, 16384)
    t.add_tracker('${T1}', 0)
    lt.set_piece_hashes(t, sys.argv[4])
    open(path, 'wb').write(lt.bencode(t.generate()))
else:
    ti = lt.torrent_info(path)
    h = ti.info_hashes()
    print(json.dumps({'v1': str(h.v1), 'v2': str(h.v2), 'trackers': [[a.url, a.tier] for a in ti.trackers()]}))
`;
    await run('/usr/bin/python3', ['-c', py, 'create', join(dir, 'lt.torrent'), join(dir, 'data.bin'), dir]);
    const show = async (name: string) => JSON.parse((await run('/usr/bin/python3', ['-c', py, 'show', join(dir, name)])).stdout) as Record<string, any>;
    const before = await show('lt.torrent');
    const r = await enhance(['lt.torrent', '-o', 'lt-out.torrent', '-t', T3]);
    expect(r.code).toBe(0);
    const after = await show('lt-out.torrent');
    expect(after.v1).toBe(before.v1);
    expect(after.v2).toBe(before.v2);
    expect(after.v1).toBe((await parse('lt.torrent')).infoHashHex);
    expect(after.trackers).toEqual([
      [T1, 0],
      [T3, 1],
    ]);
  });

  it('handles usage: --help, no input, no output, missing input', async () => {
    const help = await enhance(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--in-place');
    expect(help.stdout).toContain('Exit codes:');
    expect((await enhance([])).code).toBe(2);
    expect((await enhance(['public.torrent'])).code).toBe(2);
    const noFolder = await enhance(['public.torrent', '-o', 'no/such/x.torrent', '-t', T3]);
    expect(noFolder.code).toBe(5);
    expect(noFolder.stderr).toBe('error: no/such/x.torrent: cannot write: its folder does not exist\n');
    const missing = await enhance(['nope.torrent', '-o', 'x.torrent', '-t', T3]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('error: nope.torrent: no such file');
  });
});
