import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Session } from '@tc/engine';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { tempDir } from '@tc/testkit/tmp';
import { until } from '@tc/testkit/wait';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonHandler, MAX_BODY_BYTES, type HttpResponse } from '../src/index.js';
import { loopbackSession, openDaemon, seedInMemory, type Daemon } from './helpers.js';

const t = createTestTorrent({
  name: 'pack',
  pieceLength: 16 * 1024,
  files: [
    { path: ['a.bin'], length: 30_000 },
    { path: ['b.bin'], length: 50_000 },
  ],
  seed: 3,
});
const AUTH = 'user:secret';
const basic = `Basic ${Buffer.from(AUTH).toString('base64')}`;

let tmp: { path: string; cleanup: () => Promise<void> };
let seeder: Session;
let d: Daemon;
let h: DaemonHandler;

beforeAll(async () => {
  tmp = await tempDir('tc-daemon-http-');
  seeder = await loopbackSession();
  await seedInMemory(seeder, t);
  d = await openDaemon(join(tmp.path, 'state'), join(tmp.path, 'root'));
  h = new DaemonHandler({ registry: d.registry, auth: AUTH, hosts: ['127.0.0.1', 'localhost'] });
});
afterAll(async () => {
  await d?.close();
  await seeder?.close();
  await tmp?.cleanup();
});

function req(method: string, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResponse> {
  const b = body === undefined ? Buffer.alloc(0) : Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
  return h.handle({ method, url, headers: { host: 'localhost:9091', authorization: basic, ...headers }, body: b });
}

function rpc(method: string, args: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<HttpResponse> {
  return req('POST', '/transmission/rpc', { method, arguments: args, tag: 7 }, { 'x-transmission-session-id': h.sessionId, ...headers });
}

const body = (r: HttpResponse): Record<string, unknown> => JSON.parse(r.body) as Record<string, unknown>;

describe('DaemonHandler gate', () => {
  it('refuses a foreign Host (DNS rebinding) and missing or wrong credentials', async () => {
    expect((await req('GET', '/api/torrents', undefined, { host: 'evil.example:9091' })).status).toBe(421);
    const noAuth = await h.handle({ method: 'GET', url: '/api/torrents', headers: { host: '127.0.0.1:9091' }, body: Buffer.alloc(0) });
    expect(noAuth.status).toBe(401);
    expect(noAuth.headers['www-authenticate']).toContain('Basic');
    expect((await req('GET', '/api/torrents', undefined, { authorization: `Basic ${Buffer.from('user:wrong').toString('base64')}` })).status).toBe(401);
    expect((await req('GET', '/api/torrents')).status).toBe(200);
  });

  it('does the 409 session-id handshake of the Transmission RPC', async () => {
    const first = await req('POST', '/transmission/rpc', { method: 'session-get' });
    expect(first.status).toBe(409);
    expect(first.headers['x-transmission-session-id']).toBe(h.sessionId);
    const second = await rpc('session-get');
    expect(second.status).toBe(200);
    expect(body(second)).toMatchObject({ result: 'success', tag: 7, arguments: { 'rpc-version': 17 } });
  });

  it('answers hostile bodies with clear errors', async () => {
    const sid = { 'x-transmission-session-id': h.sessionId };
    expect((await req('POST', '/transmission/rpc', Buffer.from('{not json'), sid)).status).toBe(400);
    expect(body(await req('POST', '/transmission/rpc', [1, 2], sid)).result).toMatch(/object/);
    expect(body(await rpc('no-such-method')).result).toBe('method name not recognized');
    expect(body(await rpc('torrent-get', { fields: 'id' })).result).toMatch(/fields/);
    expect(body(await rpc('torrent-get', { fields: ['id'], ids: [{}] })).result).toMatch(/ids/);
    expect(body(await rpc('torrent-add', { filename: '/etc/passwd' })).result).toMatch(/magnet link or an http/);
    expect(body(await rpc('torrent-add', { metainfo: 'bm90IGEgdG9ycmVudA==' })).result).toMatch(/invalid torrent/);
    expect(body(await rpc('torrent-add', { filename: 'http://127.0.0.1:1/x.torrent' })).result).toMatch(/private/);
    expect(body(await rpc('torrent-add', { metainfo: t.torrent.toString('base64'), 'download-dir': '/tmp/elsewhere' })).result).toMatch(
      /outside the allowed roots/,
    );
    expect(body(await rpc('torrent-add', { metainfo: t.torrent.toString('base64'), 'download-dir': '../../x' })).result).toMatch(/outside/);
    expect((await req('POST', '/api/torrents', Buffer.alloc(MAX_BODY_BYTES + 1))).status).toBe(413);
    expect((await req('POST', '/api/torrents', { url: 42 })).status).toBe(400);
    expect((await req('GET', '/api/torrents/999')).status).toBe(404);
    expect(d.registry.list()).toHaveLength(0);
    expect(existsSync('/tmp/elsewhere')).toBe(false);
  });

  it('survives a thousand requests at once', async () => {
    const replies = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? rpc('torrent-get', { fields: ['id', 'name'] }) : req('GET', '/api/torrents'))),
    );
    expect(replies.every((r) => r.status === 200)).toBe(true);
  });
});

describe('Transmission RPC and JSON API', () => {
  it('adds, lists, sets files, stops, starts and removes with data', async () => {
    const added = body(await rpc('torrent-add', { metainfo: t.torrent.toString('base64'), paused: true, 'files-unwanted': [1] }));
    expect(added.result).toBe('success');
    const { id } = (added.arguments as { 'torrent-added': { id: number } })['torrent-added'];
    const dup = body(await rpc('torrent-add', { metainfo: t.torrent.toString('base64') }));
    expect(dup.arguments).toHaveProperty('torrent-duplicate');
    const e = d.registry.get(id);
    e.peers = [{ host: '127.0.0.1', port: seeder.port }];
    const list = body(await rpc('torrent-get', { ids: [id], fields: ['id', 'name', 'status', 'wanted', 'hashString', 'sizeWhenDone', 'bogus'] }));
    expect((list.arguments as { torrents: unknown[] }).torrents[0]).toEqual({
      id,
      name: 'pack',
      status: 0,
      wanted: [1, 0],
      hashString: t.infoHashHex,
      sizeWhenDone: 30_000,
    });
    expect(body(await rpc('torrent-start', { ids: [id] })).result).toBe('success');
    await until('seeding a.bin', () => e.status === 'seeding', { timeoutMs: 20_000 });
    expect(body(await rpc('torrent-set', { ids: [t.infoHashHex], 'files-wanted': [1] })).result).toBe('success');
    await until('complete', () => e.status === 'seeding' && e.stats()?.left === 0, { timeoutMs: 20_000 });
    const got = body(await rpc('torrent-get', { ids: [id], fields: ['percentDone', 'leftUntilDone', 'files', 'fileStats', 'isFinished'] }));
    expect((got.arguments as { torrents: unknown[] }).torrents[0]).toMatchObject({
      percentDone: 1,
      leftUntilDone: 0,
      isFinished: false,
      files: [
        { name: 'pack/a.bin', length: 30_000, bytesCompleted: 30_000 },
        { name: 'pack/b.bin', length: 50_000, bytesCompleted: 50_000 },
      ],
    });
    const api = body(await req('GET', `/api/torrents/${id}`));
    expect(api.torrent).toMatchObject({ id, state: 'seeding', percentDone: 1 });
    expect(body(await rpc('torrent-stop', { ids: [id] })).result).toBe('success');
    expect(e.status).toBe('stopped');
    expect(body(await rpc('session-stats')).arguments).toMatchObject({ torrentCount: 1, activeTorrentCount: 0 });
    expect(body(await rpc('torrent-remove', { ids: [id], 'delete-local-data': true })).result).toBe('success');
    expect(existsSync(join(tmp.path, 'root', 'pack'))).toBe(false);
    expect(body(await req('GET', '/api/torrents')).torrents).toEqual([]);
  });

  it('sets the global limits through session-set and the JSON API', async () => {
    expect(body(await rpc('session-set', { 'speed-limit-down': 100, 'speed-limit-down-enabled': true })).result).toBe('success');
    expect(d.registry.settings.downloadRateBps).toBe(100_000);
    expect(body(await rpc('session-set', { 'speed-limit-down-enabled': false })).result).toBe('success');
    expect(d.registry.settings.downloadRateBps).toBe(0);
    expect(body(await rpc('session-set', { 'download-dir': '/etc' })).result).toMatch(/download-root|outside/);
    expect(body(await req('POST', '/api/settings', { maxActiveDownloads: 3 })).settings).toMatchObject({ maxActiveDownloads: 3 });
    expect((await req('POST', '/api/settings', { maxActiveDownloads: -1 })).status).toBe(400);
    expect(body(await rpc('port-test')).result).toMatch(/not available/);
  });
});

describe('the page', () => {
  it('serves its files behind the same gate, with a policy that loads nothing from elsewhere', async () => {
    const page = await req('GET', '/');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.body).toContain('/ui/app.js');
    expect((await req('GET', '/ui/app.js')).headers['content-type']).toMatch(/javascript/);
    expect((await req('GET', '/ui/../package.json')).status).toBe(404);
    expect((await h.handle({ method: 'GET', url: '/', headers: { host: 'localhost' }, body: Buffer.alloc(0) })).status).toBe(401);
  });
});
