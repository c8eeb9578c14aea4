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

  it("refuses the reserved ranges the daemon's own list once missed (one list: @tc/cli's isPublicAddress)", async () => {
    const strict = { ...opts, allowPrivate: false };
    // Documentation, benchmarking, NAT64 and discard ranges: refused before any connection is tried.
    for (const host of ['198.51.100.7', '203.0.113.9', '192.0.2.1', '198.18.0.1', '[2001:db8::1]', '[64:ff9b::808:808]', '[100::1]'])
      await expect(fetchTorrentUrl(`http://${host}:1/x.torrent`, strict), host).rejects.toMatchObject({ code: 'DAEMON_PRIVATE_ADDRESS' });
    // And what the old list did refuse still is.
    for (const host of [
      '10.1.2.3',
      '192.168.0.1',
      '172.20.0.1',
      '169.254.1.1',
      '100.64.0.1',
      '0.0.0.0',
      '[::1]',
      '[::]',
      '[fe80::1]',
      '[fd00::1]',
      '[ff02::1]',
    ])
      await expect(fetchTorrentUrl(`http://${host}:1/x.torrent`, strict), host).rejects.toMatchObject({ code: 'DAEMON_PRIVATE_ADDRESS' });
  });
});
