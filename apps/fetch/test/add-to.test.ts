import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureIo } from '@tc/cli';
import { ensureBuilt } from '@tc/testkit/fresh-build';
import { startHttpFixtureServer, type HttpFixtureServer } from '@tc/testkit/http-fixture-server';
import { runBin } from '@tc/testkit/run-bin';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { parseFetchArgs } from '../src/args.js';

const BIN = resolve(import.meta.dirname, '../bin/tc-fetch.js');
const DAEMON_APP = resolve(import.meta.dirname, '../../daemon');
const AUTH = 'u:p4ss-w0rd';

let server: HttpFixtureServer;
let work: { path: string; cleanup: () => Promise<void> };
let good: TestTorrent;
let fed: TestTorrent;
let daemon: { child: ChildProcess; port: number; exited: Promise<number | null> } | undefined;

/** Starts the real tc-daemon on loopback (a free RPC port, no DHT router, no LSD); resolves once it says where it listens. */
function startDaemon(dir: string): Promise<{ child: ChildProcess; port: number; exited: Promise<number | null> }> {
  const child = spawn(
    process.execPath,
    [
      join(DAEMON_APP, 'bin', 'tc-daemon.js'),
      '--listen',
      '127.0.0.1:0',
      '--port',
      '0',
      '--auth',
      AUTH,
      '--state',
      join(dir, 'state'),
      '--download-root',
      join(dir, 'root'),
    ],
    { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NO_COLOR: '1', TZ: 'UTC', TC_DHT_BOOTSTRAP: '', TC_LSD: '0' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let out = '';
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  return new Promise((resolveStart, reject) => {
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m !== null) resolveStart({ child, port: Number(m[1]), exited });
    });
    void exited.then((code) => reject(new Error(`tc-daemon exited ${code}: ${err}`)));
  });
}

async function daemonTorrents(): Promise<{ hashString: string; name: string }[]> {
  const res = await fetch(`http://127.0.0.1:${daemon!.port}/api/torrents`, { headers: { authorization: `Basic ${Buffer.from(AUTH).toString('base64')}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { torrents: { hashString: string; name: string }[] }).torrents;
}

beforeAll(async () => {
  ensureBuilt(DAEMON_APP);
  work = await tempDir('tc-fetch-add-');
  good = createTestTorrent({ name: 'good album', length: 50_000, seed: 3 });
  fed = createTestTorrent({ name: 'feed item', length: 30_000, seed: 4 });
  server = await startHttpFixtureServer({
    '/good.torrent': { body: good.torrent },
    '/fed.torrent': { body: fed.torrent },
    // A "daemon" that refuses with a hostile message.
    '/refuser/api/torrents': {
      body: JSON.stringify({ error: { code: 'DAEMON_BAD_REQUEST', message: 'no room \u001b[2J\u202e here' } }),
      status: 400,
      type: 'application/json',
    },
    '/page': { body: '<!DOCTYPE html><html><head><title>Nope</title></head></html>', type: 'text/html' },
  });
  daemon = await startDaemon(work.path);
}, 60_000);

afterAll(async () => {
  if (daemon !== undefined) {
    daemon.child.kill('SIGTERM');
    await daemon.exited;
  }
  await server?.close();
  await work?.cleanup();
});

const fetchCmd = (args: string[], env: Record<string, string> = {}) => runBin(BIN, args, { cwd: work.path, timeoutMs: 30_000, env });

describe('tc-fetch --add-to', () => {
  it('hands the torrent to the daemon, which lists it; nothing is written; the same again is present', async () => {
    const url = `http://127.0.0.1:${daemon!.port}`;
    const r = await fetchCmd([server.url('/good.torrent'), '--add-to', url, '--add-to-auth', AUTH]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`added     good album  ${good.infoHashHex}  to ${url}\n`);
    expect((await daemonTorrents()).map((t) => t.hashString)).toEqual([good.infoHashHex]);
    expect(await readdir(work.path)).not.toContain('good album.torrent');
    // Credentials from the environment; --json; a second add is not a failure.
    const again = await fetchCmd([server.url('/good.torrent'), '--add-to', url, '--json'], { TC_ADD_TO_AUTH: AUTH });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({
      schema: 1,
      source: server.url('/good.torrent'),
      status: 'present',
      daemon: url,
      infoHash: good.infoHashHex,
      name: 'good album',
      size: 50_000,
    });
    expect(await daemonTorrents()).toHaveLength(1);
  });

  it('says so when the daemon refuses the credentials (exit 1, no password printed)', async () => {
    const r = await fetchCmd([server.url('/good.torrent'), '--add-to', `http://127.0.0.1:${daemon!.port}`, '--add-to-auth', 'u:wrong-secret']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('refused the credentials (HTTP 401)');
    expect(r.stderr + r.stdout).not.toContain('wrong-secret');
  });

  it('a daemon that is not there is a network error (exit 4); a page that is no torrent is not sent', async () => {
    const gone = await fetchCmd([server.url('/good.torrent'), '--add-to', 'http://127.0.0.1:1', '--add-to-auth', AUTH]);
    expect(gone.code).toBe(4);
    expect(gone.stderr).toContain('cannot reach the daemon at http://127.0.0.1:1');
    const page = await fetchCmd([server.url('/page'), '--add-to', `http://127.0.0.1:${daemon!.port}`, '--add-to-auth', AUTH]);
    expect(page.code).toBe(3);
    expect(await daemonTorrents()).toHaveLength(1);
  });

  it('quotes a daemon refusal, sanitized (exit 1)', async () => {
    const r = await fetchCmd([server.url('/good.torrent'), '--add-to', server.url('/refuser'), '--add-to-auth', AUTH]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`the daemon at ${server.url('/refuser')} refused the torrent (HTTP 400): DAEMON_BAD_REQUEST: no room`);
    expect(r.stderr).not.toMatch(/[\u001b\u202e]/);
  });
});

describe('tc-fetch --feed --add-to', () => {
  it('adds the new items to the daemon and remembers them in the feed state file', async () => {
    const url = `http://127.0.0.1:${daemon!.port}`;
    const state = join(work.path, 'feed-state');
    server.set('/rss', {
      body: `<?xml version="1.0"?><rss version="2.0"><channel><title>R</title><item><title>feed item</title><guid>g-1</guid><enclosure url="${server.url('/fed.torrent')}" type="application/x-bittorrent" length="1"/></item></channel></rss>`,
      type: 'application/rss+xml',
    });
    const args = ['--feed', server.url('/rss'), '--once', '--allow-private', '--add-to', url];
    const env = { XDG_STATE_HOME: state, TC_ADD_TO_AUTH: AUTH };
    const first = await fetchCmd(args, env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toBe(`added     feed item  ${fed.infoHashHex}  to ${url}\n`);
    expect((await daemonTorrents()).map((t) => t.hashString)).toContain(fed.infoHashHex);
    const remembered = JSON.parse(await readFile(join(state, 'tc', 'fetch-feeds.json'), 'utf8')) as { feeds: Record<string, { seen: string[] }> };
    expect(remembered.feeds[server.url('/rss')]!.seen).toEqual(['g-1']);
    const again = await fetchCmd(args, env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('0 new');
    expect(server.hits('/fed.torrent')).toBe(1);
  });
});

describe('flags', () => {
  const parse = (argv: string[], env: Record<string, string> = {}) => parseFetchArgs(argv, captureIo({ env }));

  it('reads --add-to and its credentials, and refuses credentials in the URL', async () => {
    const a = await parse(['x', '--add-to', 'http://127.0.0.1:9091/', '--add-to-auth', 'a:b']);
    expect(a?.addTo?.url).toBe('http://127.0.0.1:9091');
    expect(a?.addTo?.endpoint.toString()).toBe('http://127.0.0.1:9091/api/torrents');
    expect(a?.addTo?.authorization).toBe(`Basic ${Buffer.from('a:b').toString('base64')}`);
    expect((await parse(['x', '--add-to', 'http://h:1'], { TC_ADD_TO_AUTH: 'c:d' }))?.addTo?.authorization).toBe(
      `Basic ${Buffer.from('c:d').toString('base64')}`,
    );
    await expect(parse(['x', '--add-to', 'http://a:b@h:1'])).rejects.toThrow(/not in the URL/);
    await expect(parse(['x', '--add-to', 'ftp://h'])).rejects.toThrow(/only http and https/);
    await expect(parse(['x', '--add-to', 'http://h', '--add-to-auth', 'nocolon'])).rejects.toThrow(/USER:PASS/);
    await expect(parse(['x', '--add-to-auth', 'a:b'])).rejects.toThrow(/goes with --add-to/);
  });

  it('reads the DHT flags: --dht-bootstrap (repeatable), TC_DHT_BOOTSTRAP, --no-dht', async () => {
    const a = await parse(['magnet:?xt=urn:btih:x', '--dht-bootstrap', '127.0.0.1:6881', '--dht-bootstrap', '[::1]:6882']);
    expect(a).toMatchObject({ dht: true, dhtBootstrap: ['127.0.0.1:6881', '[::1]:6882'] });
    expect((await parse(['m'], { TC_DHT_BOOTSTRAP: '10.0.0.1:1, 10.0.0.2:2' }))?.dhtBootstrap).toEqual(['10.0.0.1:1', '10.0.0.2:2']);
    expect((await parse(['m'], { TC_DHT_BOOTSTRAP: '' }))?.dhtBootstrap).toEqual([]);
    expect((await parse(['m', '--no-dht']))?.dht).toBe(false);
    await expect(parse(['m', '--dht-bootstrap', 'nope'])).rejects.toThrow(/HOST:PORT/);
  });
});
