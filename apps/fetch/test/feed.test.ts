import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpFixtureServer, type HttpFixtureServer } from '@tc/testkit/http-fixture-server';
import { runBin } from '@tc/testkit/run-bin';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { captureIo } from '@tc/cli';
import { until } from '@tc/testkit/wait';
import { run } from '../src/run.js';
import { MAX_BACKOFF_S, nextDelayS } from '../src/watch.js';

const BIN = resolve(import.meta.dirname, '../bin/tc-fetch.js');

let server: HttpFixtureServer;
let work: { path: string; cleanup: () => Promise<void> };
const torrents: TestTorrent[] = [];

const NAMES = ['debian-13.1-amd64', 'ubuntu-26.04-desktop', 'debian-13.1-arm64', 'fedora-44', 'debian-13.2-amd64', 'arch-2026.12'];

function rss(items: number[]): string {
  const body = items
    .map(
      (i) =>
        `<item><title>${NAMES[i]}</title><guid>item-${i}</guid><enclosure url="${server.url(`/t/${i}.torrent`)}" type="application/x-bittorrent" length="1"/></item>`,
    )
    .join('');
  return `<?xml version="1.0"?><rss version="2.0"><channel><title>Releases</title>${body}</channel></rss>`;
}

beforeAll(async () => {
  work = await tempDir('tc-fetch-feed-');
  server = await startHttpFixtureServer({ '/broken': { body: '<rss><channel><item></channel></rss>', type: 'application/rss+xml' } });
  NAMES.forEach((name, i) => {
    const t = createTestTorrent({ name, length: 20_000 + i, seed: 100 + i });
    torrents.push(t);
    server.set(`/t/${i}.torrent`, { body: t.torrent });
  });
});

afterAll(async () => {
  await server?.close();
  await work?.cleanup();
});

const feedCmd = (args: string[], state: string) => runBin(BIN, args, { cwd: work.path, env: { XDG_STATE_HOME: state }, timeoutMs: 30_000 });

describe('tc-fetch --feed', () => {
  it('fetches the matching items once, remembers them, then only a new one', async () => {
    const out = join(work.path, 'feed');
    const state = join(work.path, 'state');
    server.set('/rss', { body: rss([0, 1, 2, 3, 4]), type: 'application/rss+xml' });
    const args = ['--feed', server.url('/rss'), '-o', out, '--match', 'debian.*amd64', '--once', '--allow-private'];
    const first = await feedCmd(args, state);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('feed Releases: 5 torrent items, 2 matching, 2 new');
    expect((await readdir(out)).sort()).toEqual(['debian-13.1-amd64.torrent', 'debian-13.2-amd64.torrent']);
    expect([0, 1, 2, 3, 4].map((i) => server.hits(`/t/${i}.torrent`))).toEqual([1, 0, 0, 0, 1]);
    const remembered = JSON.parse(await readFile(join(state, 'tc', 'fetch-feeds.json'), 'utf8')) as { feeds: Record<string, { seen: string[] }> };
    expect(remembered.feeds[server.url('/rss')]!.seen.sort()).toEqual(['item-0', 'item-4']);

    const again = await feedCmd(args, state);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('2 matching, 0 new');
    expect(again.stdout).toBe('');
    expect([0, 4].map((i) => server.hits(`/t/${i}.torrent`))).toEqual([1, 1]);

    server.set('/rss', { body: rss([5, 0, 1, 2, 3, 4]), type: 'application/rss+xml' });
    const newer = await feedCmd([...args.slice(0, 5), 'debian|arch', '--once', '--allow-private', '--json'], state);
    expect(newer.code, newer.stderr).toBe(0);
    const lines = newer.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { name: string; status: string });
    expect(lines.map((l) => [l.name, l.status])).toEqual([
      ['arch-2026.12', 'saved'],
      ['debian-13.1-arm64', 'saved'],
    ]);
    expect(server.hits('/t/0.torrent')).toBe(1);
  });

  it('refuses items on private addresses unless allowed, and retries them next time', async () => {
    const out = join(work.path, 'private');
    const state = join(work.path, 'state-private');
    server.set('/rss-private', { body: rss([3]), type: 'application/rss+xml' });
    const r = await feedCmd(['--feed', server.url('/rss-private'), '-o', out, '--once'], state);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('refused to connect to 127.0.0.1');
    expect(server.hits('/t/3.torrent')).toBe(0);
    const allowed = await feedCmd(['--feed', server.url('/rss-private'), '-o', out, '--once', '--allow-private'], state);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(await readdir(out)).toEqual(['fedora-44.torrent']);
  });

  it('names a malformed feed, a web page and a missing feed', async () => {
    const state = join(work.path, 'state-bad');
    const out = join(work.path, 'bad');
    const broken = await feedCmd(['--feed', server.url('/broken'), '-o', out, '--once'], state);
    expect(broken.code).toBe(3);
    expect(broken.stderr).toMatch(/error: .*\/broken: not a readable RSS or Atom feed: line 1: /);
    server.set('/page', { body: '<!doctype html><html><title>Home</title></html>', type: 'application/rss+xml' });
    const page = await feedCmd(['--feed', server.url('/page'), '-o', out, '--once'], state);
    expect(page.code).toBe(3);
    expect(page.stderr).toContain('expected an RSS or Atom feed, got an HTML page ("Home")');
    server.set('/huge-feed', { huge: { bytes: 6 * 1024 * 1024 } });
    const huge = await feedCmd(['--feed', server.url('/huge-feed'), '-o', out, '--once'], state);
    expect(huge.code).toBe(3);
    expect(huge.stderr).toContain('larger than 5242880 bytes');
    const missing = await feedCmd(['--feed', server.url('/gone'), '-o', out, '--once'], state);
    expect(missing.code).toBe(4);
    const relative = await feedCmd(['--feed', server.url('/gone'), '-o', out, '--once'], 'relative/state');
    expect(relative.code).toBe(2);
    expect(relative.stderr).toContain('XDG_STATE_HOME must be an absolute path');
  });

  it('checks its flags', async () => {
    const r = await feedCmd(['--feed', server.url('/rss'), '--every', '10s'], join(work.path, 's'));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--every must be between 1m and 7d');
    const m = await feedCmd(['--feed', server.url('/rss'), '--match', '('], join(work.path, 's'));
    expect(m.code).toBe(2);
    expect(m.stderr).toContain('--match');
  });
});

describe('tc-fetch --feed without --once', () => {
  it('polls until interrupted, backing off while the feed fails (exit 130)', async () => {
    const state = join(work.path, 'state-loop');
    for (const [path, expected] of [
      ['/rss-loop', 'next poll in 1 min\n'],
      ['/broken', 'next poll in 2 min (the feed failed 1 time in a row)'],
    ] as const) {
      server.set('/rss-loop', { body: rss([5]), type: 'application/rss+xml' });
      const ac = new AbortController();
      const io = captureIo({ env: { XDG_STATE_HOME: state }, cwd: work.path, signal: ac.signal });
      const running = run(['--feed', server.url(path), '-o', join(work.path, 'loop'), '--every', '1m', '--allow-private'], io);
      await until(`"${expected}" in ${io.err()}`, () => io.err().includes(expected), { timeoutMs: 15_000 });
      ac.abort();
      expect(await running).toBe(130);
    }
    expect(await readdir(join(work.path, 'loop'))).toEqual(['arch-2026.12.torrent']);
  });
});

describe('nextDelayS', () => {
  it('is --every when the feed works, doubling after failures up to the cap', () => {
    expect(nextDelayS(900, 0)).toBe(900);
    expect(nextDelayS(900, 1)).toBe(1800);
    expect(nextDelayS(900, 3)).toBe(7200);
    expect(nextDelayS(900, 100)).toBe(MAX_BACKOFF_S);
    expect(nextDelayS(7 * 86400, 2)).toBe(7 * 86400);
  });
});
