import type { AddressInfo } from 'node:net';
import { request } from 'node:http';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { startFixtureSeeder } from '@tc/testkit/fixture-seeder';
import type { LibtorrentPeer } from '@tc/testkit/libtorrent';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { startThrottleProxy, type ThrottleProxy } from '@tc/testkit/throttle-proxy';
import { tempDir } from '@tc/testkit/tmp';
import { until } from '@tc/testkit/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentTypeOf, DaemonHandler, fileStreamRoute, httpServer, MAX_FILE_STREAMS, parseRange, type Entry } from '../src/index.js';
import { openDaemon, type Daemon } from './helpers.js';

// Streaming while downloading (issue 14): the daemon serves a file with Range support from a slow seeder.

const PIECE = 64 * 1024;
const INTRO = 10_000;
const FILM = 6 * 1024 * 1024;
const t = createTestTorrent({
  name: 'movie',
  pieceLength: PIECE,
  files: [
    { path: ['intro.txt'], length: INTRO },
    { path: ['film.mkv'], length: FILM },
  ],
  seed: 14,
});
/** libtorrent does not limit loopback peers: the proxy does. The whole torrent takes about 12 s through it. */
const SEED_RATE_BPS = 512 * 1024;
const AUTH = 'stream:secret';
const basic = `Basic ${Buffer.from(AUTH).toString('base64')}`;

let tmp: { path: string; cleanup: () => Promise<void> };
let seeder: LibtorrentPeer;
let proxy: ThrottleProxy;
let d: Daemon;
let server: Server;
let base: string;
let e: Entry;

beforeAll(async () => {
  tmp = await tempDir('tc-daemon-stream-');
  seeder = await startFixtureSeeder(t, tmp.path, 'movie.torrent');
  proxy = await startThrottleProxy({ host: '127.0.0.1', port: seeder.port }, SEED_RATE_BPS);
  d = await openDaemon(join(tmp.path, 'state'), join(tmp.path, 'root'));
  server = httpServer(new DaemonHandler({ registry: d.registry, auth: AUTH, hosts: ['127.0.0.1'] }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  await d?.close();
  await proxy?.close();
  await seeder?.stop();
  await tmp?.cleanup();
});

function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Response> {
  return fetch(`${base}${path}`, { method, headers: { authorization: basic, ...headers } });
}

/** Torrent bytes [from, to) of the film (file 1). */
const film = (from: number, to: number): Buffer => t.data.subarray(INTRO + from, INTRO + to);

describe('GET /api/torrents/:id/files/:index/stream', () => {
  it('serves the first megabytes byte for byte long before the download completes, then a seek to the middle before the pieces in between', async () => {
    e = await d.registry.add({ torrent: t.torrent, peers: [{ host: '127.0.0.1', port: proxy.port }] });
    await until('the torrent runs', () => e.torrent !== undefined, { timeoutMs: 10_000 });
    const tor = e.torrent!;
    const url = `/api/torrents/${e.hex}/files/1/stream`;

    const first = await get(url, { range: 'bytes=0-2097151' });
    expect(first.status).toBe(206);
    expect(first.headers.get('content-range')).toBe(`bytes 0-2097151/${FILM}`);
    expect(first.headers.get('content-type')).toBe('video/x-matroska');
    expect(first.headers.get('accept-ranges')).toBe('bytes');
    const head = Buffer.from(await first.arrayBuffer());
    const havingAfterFirst = tor.stats().piecesHave;
    expect(head.equals(film(0, 2 * 1024 * 1024))).toBe(true);
    // 2 MiB of 6: a third of the pieces, and little else.
    expect(havingAfterFirst).toBeLessThan(tor.layout.pieceCount * 0.6);
    expect(tor.picker.done).toBe(false);

    const from = 4 * 1024 * 1024;
    const to = from + 256 * 1024; // exclusive
    const mid = await get(`/api/torrents/${e.id}/files/1/stream`, { range: `bytes=${from}-${to - 1}` });
    expect(mid.status).toBe(206);
    const middle = Buffer.from(await mid.arrayBuffer());
    // The pieces between the first 2 MiB and the middle, as they are the moment the response ended.
    const firstBetween = Math.ceil((INTRO + 2 * 1024 * 1024) / PIECE);
    const lastBetween = Math.floor((INTRO + from) / PIECE) - 1;
    let missing = 0;
    for (let i = firstBetween; i <= lastBetween; i++) if (!tor.picker.hasPiece(i)) missing++;
    expect(middle.equals(film(from, to))).toBe(true);
    expect(missing).toBeGreaterThan((lastBetween - firstBetween + 1) / 2);
    expect(tor.picker.done).toBe(false);
  });

  it('answers HEAD, the whole file without Range, and 416 for a range it cannot serve', async () => {
    const url = `/api/torrents/${e.id}/files/0/stream`;
    const h = await get(url, {}, 'HEAD');
    expect(h.status).toBe(200);
    expect(h.headers.get('content-length')).toBe(String(INTRO));
    expect(h.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(h.headers.get('content-security-policy')).toBe('sandbox');
    expect(h.headers.get('content-disposition')).toBe("inline; filename*=UTF-8''intro.txt");
    const all = await get(url);
    expect(all.status).toBe(200);
    expect(Buffer.from(await all.arrayBuffer()).equals(t.data.subarray(0, INTRO))).toBe(true);
    const tail = await get(url, { range: 'bytes=-100' });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(t.data.subarray(INTRO - 100, INTRO))).toBe(true);
    const bad = await get(url, { range: `bytes=${INTRO}-` });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe(`bytes */${INTRO}`);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('DAEMON_BAD_RANGE');
    expect((await get(`/api/torrents/${e.id}/files/2/stream`)).status).toBe(404);
    // Bounded: beyond MAX_FILE_STREAMS open at once, 503 (HEAD opens none).
    const full = { count: MAX_FILE_STREAMS };
    expect(fileStreamRoute(d.registry, { method: 'GET', url, headers: {} }, full).status).toBe(503);
    expect(fileStreamRoute(d.registry, { method: 'HEAD', url, headers: {} }, full).status).toBe(200);
    expect((await get(`/api/torrents/${e.id}/files/0/stream`, {}, 'POST')).status).toBe(405);
  });

  it('lets go of the stream (and its pieces’ priority) when the client goes away', async () => {
    const tor = e.torrent!;
    const abort = new AbortController();
    // The body is never read: backpressure holds the stream open.
    const r = await fetch(`${base}/api/torrents/${e.id}/files/1/stream`, { headers: { authorization: basic }, signal: abort.signal });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-length')).toBe(String(FILM));
    await until('the stream is open', () => tor.openStreams === 1, { timeoutMs: 5_000 });
    abort.abort();
    await until('the stream is released', () => tor.openStreams === 0, { timeoutMs: 5_000 });
  });

  it('asks for credentials and the daemon’s Host, like the rest of the API', async () => {
    const url = `${base}/api/torrents/${e.id}/files/0/stream`;
    expect((await fetch(url)).status).toBe(401);
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const r = request(url, { headers: { host: 'evil.example', authorization: basic } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      r.on('error', reject).end();
    });
    expect(status).toBe(421);
  });

  it('refuses a stopped torrent with 409', async () => {
    await d.registry.stop(e);
    const r = await get(`/api/torrents/${e.id}/files/0/stream`);
    expect(r.status).toBe(409);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('DAEMON_NOT_RUNNING');
  });
});

describe('parseRange', () => {
  it('reads one bytes= range', () => {
    expect(parseRange(undefined, 100)).toEqual({ kind: 'all' });
    expect(parseRange('bytes=0-9', 100)).toEqual({ kind: 'range', start: 0, end: 9 });
    expect(parseRange('bytes=90-', 100)).toEqual({ kind: 'range', start: 90, end: 99 });
    expect(parseRange('bytes=90-1000', 100)).toEqual({ kind: 'range', start: 90, end: 99 });
    expect(parseRange('bytes=-10', 100)).toEqual({ kind: 'range', start: 90, end: 99 });
    expect(parseRange('bytes=-1000', 100)).toEqual({ kind: 'range', start: 0, end: 99 });
  });

  it('ignores other units and several ranges (the whole file, as RFC 9110 allows)', () => {
    expect(parseRange('items=0-1', 100)).toEqual({ kind: 'all' });
    expect(parseRange('bytes=0-1,5-6', 100)).toEqual({ kind: 'all' });
  });

  it('refuses malformed and unsatisfiable ranges', () => {
    for (const h of ['bytes=', 'bytes=-', 'bytes=a-b', 'bytes=5-1', 'bytes=100-', 'bytes=-0', 'bytes=1-2-3', 'bytes=99999999999999999-'])
      expect(parseRange(h, 100), h).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
  });
});

describe('contentTypeOf', () => {
  it('names media by extension and never serves HTML or script as such', () => {
    expect(contentTypeOf('a.MP4')).toBe('video/mp4');
    expect(contentTypeOf('b.flac')).toBe('audio/flac');
    expect(contentTypeOf('index.html')).toBe('application/octet-stream');
    expect(contentTypeOf('x.svg')).toBe('application/octet-stream');
    expect(contentTypeOf('noext')).toBe('application/octet-stream');
  });
});
