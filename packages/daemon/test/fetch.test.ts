import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchTorrentUrl } from '../src/fetch.js';

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/x.torrent') return res.end('d4:infod4:name1:xee');
    if (req.url === '/big') return res.end(Buffer.alloc(5000));
    if (req.url === '/loop') {
      res.writeHead(302, { location: '/loop' });
      return res.end();
    }
    if (req.url === '/hop') {
      res.writeHead(301, { location: '/x.torrent' });
      return res.end();
    }
    res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.close();
});

const opts = { maxBytes: 1000, timeoutMs: 5000, allowPrivate: true };

describe('fetchTorrentUrl', () => {
  it('fetches, follows a redirect, and bounds the body and the hops', async () => {
    expect((await fetchTorrentUrl(`${base}/x.torrent`, opts)).toString()).toBe('d4:infod4:name1:xee');
    expect((await fetchTorrentUrl(`${base}/hop`, opts)).toString()).toBe('d4:infod4:name1:xee');
    await expect(fetchTorrentUrl(`${base}/big`, opts)).rejects.toMatchObject({ code: 'DAEMON_TOO_LARGE' });
    await expect(fetchTorrentUrl(`${base}/loop`, opts)).rejects.toThrow(/redirects/);
    await expect(fetchTorrentUrl(`${base}/none`, opts)).rejects.toThrow(/HTTP 404/);
    await expect(fetchTorrentUrl('file:///etc/passwd', opts)).rejects.toThrow(/http and https/);
  });

  it('refuses private addresses, given as literals or names', async () => {
    const strict = { ...opts, allowPrivate: false };
    await expect(fetchTorrentUrl(`${base}/x.torrent`, strict)).rejects.toMatchObject({ code: 'DAEMON_PRIVATE_ADDRESS' });
    await expect(fetchTorrentUrl(base.replace('127.0.0.1', 'localhost') + '/x.torrent', strict)).rejects.toMatchObject({ code: 'DAEMON_PRIVATE_ADDRESS' });
    await expect(fetchTorrentUrl('http://[::ffff:127.0.0.1]:1/x', strict)).rejects.toMatchObject({ code: 'DAEMON_PRIVATE_ADDRESS' });
  });
});
