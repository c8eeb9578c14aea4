import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureIo } from '@tc/cli';
import { parseMetainfo } from '@tc/codec';
import { memoryStorage, Session, sourceFromMetainfo, type MemoryStorage } from '@tc/engine';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { until } from '@tc/testkit/wait';
import { run } from '../src/run.js';

let seeder: Session;
let t: TestTorrent;
let work: { path: string; cleanup: () => Promise<void> };

beforeAll(async () => {
  work = await tempDir();
  t = createTestTorrent({
    name: 'pack',
    pieceLength: 32 * 1024,
    files: [
      { path: ['readme.txt'], length: 500 },
      { path: ['data', 'blob.bin'], length: 300_000 },
    ],
    announce: ['http://127.0.0.1:1/announce'],
  });
  await writeFile(join(work.path, 'pack.torrent'), t.torrent);
  seeder = await Session.create({ listenHost4: '127.0.0.1', listenHost6: null });
  const src = sourceFromMetainfo(parseMetainfo(t.torrent).metainfo);
  const store = memoryStorage();
  const n = src.layout.pieceCount;
  const tor = await seeder.add(src, {
    noTrackers: true,
    have: Array.from({ length: n }, (_, i) => i),
    storage: {
      async open(layout) {
        const s = (await store.open(layout)) as MemoryStorage;
        for (let i = 0; i < n; i++) await s.write(i, 0, [t.data.subarray(i * t.pieceLength, Math.min(t.data.length, (i + 1) * t.pieceLength))]);
        return s;
      },
    },
  });
  expect(tor.state.kind).toBe('seeding');
});

afterAll(async () => {
  await seeder?.close();
  await work?.cleanup();
});

describe('tc-download', () => {
  it('downloads with --peer and --json: status objects, a final summary, exact bytes', async () => {
    const out = await tempDir();
    try {
      const io = captureIo({ cwd: work.path });
      const code = await run(['pack.torrent', '-o', out.path, '--peer', `127.0.0.1:${seeder.port}`, '--listen', '127.0.0.1', '--json'], io);
      expect(io.err()).toBe('');
      expect(code).toBe(0);
      const lines = io
        .out()
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const last = lines.at(-1)!;
      expect(last).toMatchObject({ schema: 1, type: 'summary', name: 'pack', percent: 100, pieces: 10, pieceCount: 10, hashFailures: 0, peersUsed: 1 });
      expect(await readFile(join(out.path, 'pack', 'readme.txt'))).toEqual(t.data.subarray(0, 500));
      expect((await readFile(join(out.path, 'pack', 'data', 'blob.bin'))).equals(t.data.subarray(500))).toBe(true);
    } finally {
      await out.cleanup();
    }
  });

  it("creates the torrent's zero-length files (no piece covers them)", async () => {
    const e = createTestTorrent({
      name: 'withempty',
      pieceLength: 32 * 1024,
      files: [
        { path: ['a.bin'], length: 40_000 },
        { path: ['sub', 'empty.txt'], length: 0 },
        { path: ['z.bin'], length: 1_000 },
      ],
      seed: 11,
    });
    await writeFile(join(work.path, 'withempty.torrent'), e.torrent);
    const esrc = sourceFromMetainfo(parseMetainfo(e.torrent).metainfo);
    const estore = memoryStorage();
    await seeder.add(esrc, {
      noTrackers: true,
      have: Array.from({ length: esrc.layout.pieceCount }, (_, i) => i),
      storage: {
        async open(layout) {
          const s = (await estore.open(layout)) as MemoryStorage;
          for (let i = 0; i < layout.pieceCount; i++)
            await s.write(i, 0, [e.data.subarray(i * e.pieceLength, Math.min(e.data.length, (i + 1) * e.pieceLength))]);
          return s;
        },
      },
    });
    const out = await tempDir();
    try {
      const io = captureIo({ cwd: work.path });
      expect(await run(['withempty.torrent', '-o', out.path, '--peer', `127.0.0.1:${seeder.port}`, '--listen', '127.0.0.1', '--quiet'], io)).toBe(0);
      expect(await readdir(join(out.path, 'withempty', 'sub'))).toEqual(['empty.txt']);
      expect((await readFile(join(out.path, 'withempty', 'sub', 'empty.txt'))).length).toBe(0);
    } finally {
      await out.cleanup();
    }
  });

  it('fetches the .torrent from an http URL', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/pack.torrent') res.end(t.torrent);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const addr = server.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    const out = await tempDir();
    try {
      const io = captureIo({ cwd: work.path });
      const url = `http://127.0.0.1:${port}/pack.torrent`;
      expect(await run([url, '-o', out.path, '--peer', `127.0.0.1:${seeder.port}`, '--listen', '127.0.0.1', '--quiet'], io)).toBe(0);
      expect((await readFile(join(out.path, 'pack', 'data', 'blob.bin'))).equals(t.data.subarray(500))).toBe(true);
      const missing = captureIo({ cwd: work.path });
      expect(await run([`http://127.0.0.1:${port}/nope.torrent`, '--listen', '127.0.0.1'], missing).catch((e: { exitCode?: number }) => e.exitCode)).toBe(4);
    } finally {
      await out.cleanup();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('prints a human summary', async () => {
    const out = await tempDir();
    try {
      const io = captureIo({ cwd: work.path });
      const code = await run(['pack.torrent', '-o', out.path, '--peer', `127.0.0.1:${seeder.port}`, '--listen', '127.0.0.1', '--progress', 'none'], io);
      expect(code).toBe(0);
      expect(io.out()).toMatch(/^downloaded pack\n {2}bytes: +293 KiB \(300500 bytes, 10 pieces verified\)\n/);
      expect(io.out()).toMatch(/peers used: +1\n {2}hash failures: 0\n {2}saved in: +.*pack\n$/);
    } finally {
      await out.cleanup();
    }
  });

  it('refuses a torrent whose path escapes the folder, before writing anything (exit 3)', async () => {
    const evil = createTestTorrent({ name: 'evil', files: [{ path: ['..', '..', 'escaped.txt'], length: 100 }] });
    const d = await tempDir();
    try {
      await writeFile(join(d.path, 'evil.torrent'), evil.torrent);
      const out = join(d.path, 'out');
      const io = captureIo({ cwd: d.path });
      const code = await run(['evil.torrent', '-o', out, '--peer', `127.0.0.1:${seeder.port}`, '--listen', '127.0.0.1'], io);
      expect(code).toBe(3);
      expect(io.err()).toMatch(/^error: evil.torrent: .*/);
      expect((await readdir(d.path)).sort()).toEqual(['evil.torrent']);
    } finally {
      await d.cleanup();
    }
  });

  it('says a garbage file is not a torrent (exit 3)', async () => {
    await writeFile(join(work.path, 'junk.torrent'), 'not bencode at all');
    const io = captureIo({ cwd: work.path });
    expect(await run(['junk.torrent', '--listen', '127.0.0.1'], io)).toBe(3);
    expect(io.err().split('\n')[0]).toMatch(/^error: junk.torrent: /);
  });

  it('gives up without peers, naming the failed trackers (exit 4)', async () => {
    const out = await tempDir();
    try {
      const io = captureIo({ cwd: work.path });
      const code = await run(['pack.torrent', '-o', out.path, '--listen', '127.0.0.1', '--first-peer-timeout', '2', '--quiet'], io);
      expect(code).toBe(4);
      expect(io.err()).toMatch(/^error: no peers found within 2 s \(http:\/\/127\.0\.0\.1:1\/announce: .+\)\nhint: .*tc-debug-tracker/);
    } finally {
      await out.cleanup();
    }
  }, 20_000);

  it('stops cleanly when interrupted (exit 130)', async () => {
    const out = await tempDir();
    try {
      const ctl = new AbortController();
      const io = captureIo({ cwd: work.path, signal: ctl.signal });
      setTimeout(() => ctl.abort(), 300);
      const code = await run(['pack.torrent', '-o', out.path, '--listen', '127.0.0.1', '--quiet'], io);
      expect(code).toBe(130);
    } finally {
      await out.cleanup();
    }
  });

  it('reports an unwritable folder as a disk error (exit 5)', async () => {
    const d = await tempDir();
    try {
      await writeFile(join(d.path, 'afile'), 'x');
      const io = captureIo({ cwd: work.path });
      const code = await run(['pack.torrent', '-o', join(d.path, 'afile'), '--peer', `127.0.0.1:${seeder.port}`, '--listen', '127.0.0.1', '--quiet'], io);
      expect(code).toBe(5);
      expect(io.err()).toMatch(/^error: -o .*afile: is a file, not a folder\nhint: /);
    } finally {
      await d.cleanup();
    }
  });

  it('-o under a regular file: a disk error (exit 5) said once, before any peer is dialled (issue 17)', async () => {
    const d = await tempDir();
    const dialled: string[] = [];
    const trap = createNetServer((sock) => {
      dialled.push(String(sock.remotePort));
      sock.destroy();
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    try {
      await writeFile(join(d.path, 'afile'), 'x');
      const trapPort = (trap.address() as { port: number }).port;
      for (const o of [join(d.path, 'afile', 'sub'), join(d.path, 'afile', 'sub', 'deeper')]) {
        const io = captureIo({ cwd: work.path });
        const code = await run(['pack.torrent', '-o', o, '--peer', `127.0.0.1:${trapPort}`, '--listen', '127.0.0.1', '--first-peer-timeout', '2'], io);
        expect(code, io.err()).toBe(5);
        expect(io.err()).toMatch(/^error: -o .*afile\/sub.*: .*afile is a file, not a folder\nhint: /);
        expect(io.err().match(/^(error|warning): /gm)).toHaveLength(1);
      }
      // A magnet link too: its metadata would be saved there, so nothing is fetched.
      const io = captureIo({ cwd: work.path });
      const magnet = `magnet:?xt=urn:btih:${'ab'.repeat(20)}&x.pe=127.0.0.1:${trapPort}`;
      expect(await run([magnet, '-o', join(d.path, 'afile', 'm'), '--listen', '127.0.0.1', '--first-peer-timeout', '2'], io)).toBe(5);
      expect(dialled).toEqual([]);
    } finally {
      await new Promise((r) => trap.close(r));
      await d.cleanup();
    }
  });

  it('listens on TC_PORT when set (a taken one is exit 4), else 6881, falling back to a free port when 6881 is taken (issue 17)', async () => {
    const out = await tempDir();
    // 6881 held here (or already by someone else: either way taken) on the address tc-download listens on.
    const hold = createNetServer();
    await new Promise<void>((r) => {
      hold.once('error', () => r());
      hold.listen(6881, '127.0.0.1', r);
    });
    const busy = createNetServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const busyPort = (busy.address() as { port: number }).port;
    try {
      const base = ['pack.torrent', '-o', out.path, '--peer', `127.0.0.1:${seeder.port}`, '--listen', '127.0.0.1'];
      const io = captureIo({ cwd: work.path, env: { TC_PORT: '' } });
      expect(await run([...base, '--progress', 'none', '--log', join(out.path, 'a.log')], io)).toBe(0);
      const port = (await readFile(join(out.path, 'a.log'), 'utf8'))
        .split('\n')
        .map((l) => (l ? (JSON.parse(l) as { event: string; port?: number }) : undefined))
        .find((e) => e?.event === 'start')?.port;
      expect(port).toBeGreaterThan(0);
      expect(port).not.toBe(6881);
      expect(io.err()).toContain(`port 6881 is taken: listening on port ${port} instead (choose one with --port or TC_PORT)\n`);
      // run() throws it; runMain prints the error line and exits with its code.
      const taken = await run([...base, '--quiet'], captureIo({ cwd: work.path, env: { TC_PORT: String(busyPort) } })).catch((e: unknown) => e);
      expect(taken).toMatchObject({ exitCode: 4, message: expect.stringMatching(new RegExp(`^cannot listen on port ${busyPort}: .*EADDRINUSE`)) });
      const bad = await run([...base, '--quiet'], captureIo({ cwd: work.path, env: { TC_PORT: 'x' } })).catch((e: unknown) => e);
      expect(bad).toMatchObject({ code: 'USAGE', message: 'TC_PORT: x is not a port (0-65535)' });
    } finally {
      await new Promise((r) => busy.close(r));
      await new Promise((r) => hold.close(r));
      await out.cleanup();
    }
  });

  it('a second run on the same torrent and folder refuses (exit 1), naming the first; another folder is fine (issue 17)', async () => {
    const out = await tempDir();
    const state = join(out.path, 'state');
    try {
      const ctl = new AbortController();
      const env = { XDG_STATE_HOME: state };
      // The first waits for peers that never come (the tracker is dead) until interrupted.
      const firstIo = captureIo({ cwd: work.path, signal: ctl.signal, env });
      const first = run(['pack.torrent', '-o', join(out.path, 'dl'), '--listen', '127.0.0.1', '--quiet', '--first-peer-timeout', '60'], firstIo);
      const locks = join(state, 'tc', 'locks');
      await until(
        () => 'the first run to take its lock',
        async () => (await readdir(locks).catch(() => [])).length === 1,
        { timeoutMs: 10_000, everyMs: 20 },
      );
      const io = captureIo({ cwd: work.path, env });
      expect(await run(['pack.torrent', '-o', join(out.path, 'dl'), '--listen', '127.0.0.1'], io)).toBe(1);
      expect(io.err()).toMatch(
        new RegExp(
          `^error: another tc-download \\(pid ${process.pid}, since [^)]+\\) is already working on this torrent in .*dl\nhint: wait for it to end or stop it; if no tc is running, remove ${locks}/`,
        ),
      );
      expect(io.out()).toBe('');
      ctl.abort();
      expect(await first).toBe(130);
      expect(await readdir(locks)).toEqual([]);
    } finally {
      await out.cleanup();
    }
  });

  it('--log in a folder that does not exist: one error line and exit 5, not a crash', async () => {
    const io = captureIo({ cwd: work.path });
    const code = await run(['pack.torrent', '--log', join(work.path, 'no', 'such', 'dir', 'x.log'), '--listen', '127.0.0.1', '--quiet'], io);
    expect(code).toBe(5);
    expect(io.err()).toMatch(/^error: cannot open the log .*x\.log: ENOENT/);
  });

  it('--json escapes the C1 and bidi controls of a hostile torrent name (U+202E, U+009B…): the raw output cannot drive a terminal, the parsed names are exact', async () => {
    const name = 'movie\u202egnp.exe \u009b2J \u2066x\u2069 \u200e\u200f\u202a\u202d\x85';
    const e = createTestTorrent({ name, files: [{ path: ['a\u202eb.txt'], length: 10 }], seed: 13 });
    await writeFile(join(work.path, 'bidi.torrent'), e.torrent);
    const io = captureIo({ cwd: work.path });
    expect(await run(['bidi.torrent', '--list', '--json'], io)).toBe(0);

    expect(io.out()).not.toMatch(/[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u);
    expect(io.out()).toContain('\\u202e');
    const listed = JSON.parse(io.out()) as { name: string; files: { path: string }[] };
    expect(listed.name).toBe(name);
    expect(listed.files[0]!.path.endsWith('a\u202eb.txt')).toBe(true);
  });

  it('rejects bad flags (exit 2)', async () => {
    // run() throws usage errors; runMain prints them and exits 2.
    const io = captureIo({ cwd: work.path });
    await expect(run(['pack.torrent', '--peer', 'nonsense'], io)).rejects.toMatchObject({ code: 'USAGE' });
    await expect(run([], captureIo())).rejects.toMatchObject({ code: 'USAGE' });
    await expect(run(['pack.torrent', '--max-peers', '0'], io)).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('--help: no example wraps mid-command (issue 17)', async () => {
    const io = captureIo();
    expect(await run(['--help'], io)).toBe(0);
    const examples = io.out().split('Examples:\n')[1]!.split('\n\n')[0]!.split('\n');
    for (const line of examples) expect(line).toMatch(/^ {2}(tc-download |# )/);
  });
});
