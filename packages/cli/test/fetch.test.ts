import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodeFor, ExitCode, fetchLimited, isWebUrl, readFileOrUrl, timeoutMs, UsageError } from '../src/index.js';

let server: Server;
let base = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/ok') res.end('hello');
    else if (req.url === '/hop') res.writeHead(301, { location: '/ok' }).end();
    else if (req.url === '/loop') res.writeHead(302, { location: '/loop' }).end();
    else if (req.url === '/big') {
      res.writeHead(200);
      res.on('error', () => undefined);
      res.end(Buffer.alloc(5000)); // Content-Length 5000: refused before the body is read
    } else if (req.url === '/stream') {
      res.writeHead(200, { 'transfer-encoding': 'chunked' });
      res.on('error', () => undefined);
      for (let i = 0; i < 10; i++) res.write(Buffer.alloc(1000));
      res.end();
    } else if (req.url === '/slow') {
      res.writeHead(200, { 'content-length': '100' });
      res.write('x');
    } else res.writeHead(500).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('fetchLimited', () => {
  it('fetches, following a redirect', async () => {
    expect((await fetchLimited(`${base}/hop`, { maxBytes: 100 })).toString()).toBe('hello');
    expect((await readFileOrUrl(`${base}/ok`, { maxBytes: 100, cwd: '/' })).toString()).toBe('hello');
  });

  it('maps failures onto the exit-code table', async () => {
    const fail = (url: string, opts = {}) => fetchLimited(url, { maxBytes: 2000, ...opts }).catch((e: unknown) => e);
    expect(exitCodeFor(await fail(`${base}/nope`))).toBe(ExitCode.NETWORK);
    expect(exitCodeFor(await fail(`${base}/loop`))).toBe(ExitCode.NETWORK);
    expect(exitCodeFor(await fail(`${base}/big`))).toBe(ExitCode.BAD_INPUT);
    expect(exitCodeFor(await fail(`${base}/stream`))).toBe(ExitCode.BAD_INPUT);
    const slow = await fail(`${base}/slow`, { timeoutMs: 300 });
    expect(exitCodeFor(slow)).toBe(ExitCode.NETWORK);
    expect(String(slow)).toContain('within 0.3 s');
    const ac = new AbortController();
    ac.abort();
    expect(exitCodeFor(await fail(`${base}/ok`, { signal: ac.signal }))).toBe(ExitCode.INTERRUPTED);
  });

  it('tells URLs from paths and checks --timeout', () => {
    expect(isWebUrl('HTTPS://x/a.torrent')).toBe(true);
    expect(isWebUrl('ftp://x/a')).toBe(false);
    expect(isWebUrl('http.torrent')).toBe(false);
    expect(timeoutMs(2.5)).toBe(2500);
    expect(() => timeoutMs(0)).toThrow(UsageError);
    expect(() => timeoutMs(Number.NaN)).toThrow(UsageError);
    expect(() => timeoutMs(301)).toThrow(UsageError);
  });
});
