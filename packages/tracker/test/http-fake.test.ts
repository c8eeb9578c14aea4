import { rejection } from '@tc/testkit/tracker-errors';
import { encode } from '@tc/codec';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { Agent, MockAgent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrackerError, httpAnnounce, httpScrape, type AnnounceRequest } from '../src/index.js';

/** Fake HTTP trackers for what real ones will not do: each path is one behaviour. */
type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const routes = new Map<string, Handler>();
const seenUrls: string[] = [];
let server: Server;
let base: string;
let agent: Agent;

const okBody = encode({ interval: 1800, complete: 1, incomplete: 2, peers: Buffer.from([127, 0, 0, 1, 0x1a, 0xe1]) });

beforeAll(async () => {
  server = createServer((req, res) => {
    seenUrls.push(req.url ?? '');
    const path = (req.url ?? '').split('?')[0] ?? '';
    const h = routes.get(path);
    if (h) h(req, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  base = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  agent = new Agent({ keepAliveTimeout: 10 });
});

afterAll(async () => {
  await agent.close();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const req = (over: Partial<AnnounceRequest> = {}): AnnounceRequest => ({
  infoHash: Buffer.alloc(20, 0xab),
  peerId: Buffer.from('-TC0001-abcdefghijkl'),
  port: 6881,
  uploaded: 0,
  downloaded: 0,
  left: 10,
  event: 'started',
  key: 1,
  ...over,
});

const errorOf = (p: Promise<unknown>): Promise<TrackerError> => rejection(TrackerError, p);

function rawQueryBytes(url: string, key: string): Buffer[] {
  const q = url.split('?')[1] ?? '';
  return q
    .split('&')
    .filter((kv) => kv.startsWith(key + '='))
    .map((kv) => {
      const v = kv.slice(key.length + 1);
      const out: number[] = [];
      for (let i = 0; i < v.length; i++) {
        if (v[i] === '%') {
          out.push(parseInt(v.slice(i + 1, i + 3), 16));
          i += 2;
        } else out.push(v.charCodeAt(i));
      }
      return Buffer.from(out);
    });
}

describe('HTTP announce against fake trackers', () => {
  it('sends info_hash bytes of every value exactly as they are', async () => {
    routes.set('/announce', (_q, res) => res.end(okBody));
    const all = Buffer.from(Array.from({ length: 260 }, (_, i) => i % 256));
    for (let off = 0; off < 256; off += 20) {
      const infoHash = all.subarray(off, off + 20);
      const peerId = Buffer.from(infoHash).reverse();
      seenUrls.length = 0;
      const r = await httpAnnounce(`${base}/announce`, req({ infoHash, peerId }), { dispatcher: agent });
      expect(r.peers).toEqual([{ ip: '127.0.0.1', port: 6881, family: 4 }]);
      expect(rawQueryBytes(seenUrls[0]!, 'info_hash')).toEqual([infoHash]);
      expect(rawQueryBytes(seenUrls[0]!, 'peer_id')).toEqual([peerId]);
    }
  });

  it('reports failure reason as TRACKER_FAILURE with the text', async () => {
    routes.set('/fail', (_q, res) => res.end(encode({ 'failure reason': 'unregistered torrent' })));
    const e = await errorOf(httpAnnounce(`${base}/fail`, req(), { dispatcher: agent }));
    expect(e.code).toBe('TRACKER_FAILURE');
    expect(e.trackerMessage).toBe('unregistered torrent');
    expect(e.url).toContain('/fail?');
  });

  it('keeps a failure reason sent with a 4xx status, and reports other statuses', async () => {
    routes.set('/fail403', (_q, res) => res.writeHead(403).end(encode({ 'failure reason': 'banned client' })));
    routes.set('/err500', (_q, res) => res.writeHead(500).end('Internal Server Error'));
    expect((await errorOf(httpAnnounce(`${base}/fail403`, req(), { dispatcher: agent }))).trackerMessage).toBe('banned client');
    const e = await errorOf(httpAnnounce(`${base}/err500`, req(), { dispatcher: agent }));
    expect([e.code, e.status]).toEqual(['TRACKER_HTTP_STATUS', 500]);
  });

  it('rejects garbage and truncated bencode', async () => {
    routes.set('/garbage', (_q, res) => res.end('<html>503 oops</html>'));
    routes.set('/truncated', (_q, res) => res.end(okBody.subarray(0, okBody.length - 5)));
    expect((await errorOf(httpAnnounce(`${base}/garbage`, req(), { dispatcher: agent }))).code).toBe('TRACKER_BAD_RESPONSE');
    expect((await errorOf(httpAnnounce(`${base}/truncated`, req(), { dispatcher: agent }))).code).toBe('TRACKER_BAD_RESPONSE');
  });

  it('caps the body at 1 MiB with or without content-length', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x61);
    routes.set('/big', (_q, res) => res.end(big));
    routes.set('/bigchunked', (_q, res) => {
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      for (let i = 0; i < 32; i++) res.write(big.subarray(0, 64 * 1024));
      res.end();
    });
    expect((await errorOf(httpAnnounce(`${base}/big`, req(), { dispatcher: agent }))).code).toBe('TRACKER_TOO_LARGE');
    expect((await errorOf(httpAnnounce(`${base}/bigchunked`, req(), { dispatcher: agent }))).code).toBe('TRACKER_TOO_LARGE');
  });

  it('decompresses gzip and stops a gzip bomb at 1 MiB decompressed', async () => {
    routes.set('/gzip', (_q, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(okBody)));
    const bomb = gzipSync(Buffer.alloc(8 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    routes.set('/bomb', (_q, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(bomb));
    expect((await httpAnnounce(`${base}/gzip`, req(), { dispatcher: agent })).incomplete).toBe(2);
    expect((await errorOf(httpAnnounce(`${base}/bomb`, req(), { dispatcher: agent }))).code).toBe('TRACKER_TOO_LARGE');
  });

  it('follows redirects within the bound', async () => {
    routes.set('/moved', (q, res) => res.writeHead(302, { location: `/announce?${q.url?.split('?')[1]}` }).end());
    routes.set('/loop', (_q, res) => res.writeHead(301, { location: '/loop' }).end());
    expect((await httpAnnounce(`${base}/moved`, req(), { dispatcher: agent })).complete).toBe(1);
    const e = await errorOf(httpAnnounce(`${base}/loop`, req(), { dispatcher: agent, maxRedirects: 3 }));
    expect(e.code).toBe('TRACKER_REDIRECT');
  });

  it('refuses a redirect to another scheme', async () => {
    routes.set('/toftp', (_q, res) => res.writeHead(302, { location: 'https://127.0.0.1:1/announce' }).end());
    expect((await errorOf(httpAnnounce(`${base}/toftp`, req(), { dispatcher: agent }))).code).toBe('TRACKER_REDIRECT');
  });

  it('refuses a redirect from a public host to loopback (SSRF guard), without connecting anywhere', async () => {
    const mock = new MockAgent();
    mock.disableNetConnect();
    mock
      .get('http://tracker.example')
      .intercept({ path: /.*/ })
      .reply(302, '', { headers: { location: 'http://127.0.0.1:9/admin' } });
    const e = await errorOf(httpAnnounce('http://tracker.example/announce', req(), { dispatcher: mock }));
    expect(e.code).toBe('TRACKER_REDIRECT');
    expect(e.message).toContain('private');
    await mock.close();
  });

  it('refuses a redirect to `localhost.` (a trailing dot still resolves to loopback)', async () => {
    const mock = new MockAgent();
    mock.disableNetConnect();
    mock
      .get('http://tracker.example')
      .intercept({ path: /.*/ })
      .reply(302, '', { headers: { location: 'http://localhost.:9/admin' } });
    const e = await errorOf(httpAnnounce('http://tracker.example/announce', req(), { dispatcher: mock }));
    expect(e.code).toBe('TRACKER_REDIRECT');
    expect(e.message).toContain('private');
    await mock.close();
  });

  it('times out a slow drip', async () => {
    const timers: NodeJS.Timeout[] = [];
    routes.set('/drip', (_q, res) => {
      res.writeHead(200, { 'content-length': String(okBody.length) });
      let i = 0;
      const t = setInterval(() => {
        if (res.destroyed || i >= okBody.length) return clearInterval(t);
        res.write(okBody.subarray(i, ++i));
      }, 100);
      timers.push(t);
    });
    // The drip is never idle and ends in about 6 s with a valid body: a TRACKER_TIMEOUT can only come
    // from the total deadline (how soon it fires: bench/deadlines.mjs).
    const e = await errorOf(httpAnnounce(`${base}/drip`, req(), { dispatcher: agent, timeoutMs: 500 }));
    expect(e.code).toBe('TRACKER_TIMEOUT');
    timers.forEach(clearInterval);
  });

  it('maps refused connections and DNS failures', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const a = closed.address();
    const port = typeof a === 'object' && a ? a.port : 0;
    await new Promise<void>((r) => closed.close(() => r()));
    expect((await errorOf(httpAnnounce(`http://127.0.0.1:${port}/announce`, req(), { dispatcher: agent }))).code).toBe('TRACKER_REFUSED');

    // A connector that fails like getaddrinfo does: no name is resolved for real.
    const noDns = new Agent({
      connect: (_opts, cb) => cb(Object.assign(new Error('getaddrinfo ENOTFOUND tracker.invalid'), { code: 'ENOTFOUND' }), null),
    });
    expect((await errorOf(httpAnnounce('http://tracker.invalid/announce', req(), { dispatcher: noDns }))).code).toBe('TRACKER_DNS');
    await noDns.close();
  });

  it('aborts on the caller’s signal', async () => {
    routes.set('/silent', () => undefined);
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 50);
    expect((await errorOf(httpAnnounce(`${base}/silent`, req(), { dispatcher: agent, signal: ctl.signal }))).code).toBe('TRACKER_ABORTED');
  });
});

describe('HTTP scrape against a fake tracker', () => {
  it('asks for several info-hashes in one request', async () => {
    const h1 = Buffer.alloc(20, 0x01);
    const h2 = Buffer.alloc(20, 0xfe);
    routes.set('/x/scrape', (_q, res) =>
      res.end(
        encode(
          new Map([
            [
              'files',
              new Map([
                [h1, { complete: 1, downloaded: 2, incomplete: 3 }],
                [h2, { complete: 4, downloaded: 5, incomplete: 6 }],
              ]),
            ],
          ]),
        ),
      ),
    );
    seenUrls.length = 0;
    const r = await httpScrape(`${base}/x/announce?passkey=1`, [h1, h2], { dispatcher: agent });
    expect(seenUrls[0]?.startsWith('/x/scrape?passkey=1&info_hash=')).toBe(true);
    expect(rawQueryBytes(seenUrls[0]!, 'info_hash')).toEqual([h1, h2]);
    expect(r.files.get(h2.toString('hex'))).toMatchObject({ complete: 4, downloaded: 5, incomplete: 6 });
  });

  it('says when a tracker has no scrape URL', async () => {
    expect((await errorOf(httpScrape(`${base}/tracker.php`, [Buffer.alloc(20)]))).code).toBe('TRACKER_UNSUPPORTED');
  });
});
