import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeBody, exitCodeFor, fetchWeb, isPublicAddress, sniffBody } from '@tc/cli';
import { startHttpFixtureServer, type HttpFixtureServer } from '@tc/testkit/http-fixture-server';

let server: HttpFixtureServer;

beforeAll(async () => {
  server = await startHttpFixtureServer({
    '/t': { body: 'd4:infod6:lengthi1eee' },
    '/hop': { redirect: '/t' },
    '/ua': { handler: (req, res) => res.end(`${req.headers['user-agent']} | ${req.headers.accept}`) },
    '/feed': { body: '<?xml version="1.0"?><rss version="2.0"><channel></channel></rss>', type: 'text/plain' },
  });
});

afterAll(async () => {
  await server?.close();
});

describe('sniffBody / describeBody', () => {
  it('judges a body by its bytes', () => {
    const b = (s: string) => Buffer.from(s);
    expect(sniffBody(b('d8:announce3:abce'))).toBe('torrent');
    expect(sniffBody(b('  \n'))).toBe('empty');
    expect(sniffBody(b('\uFEFF<!doctype html><title>x</title>'))).toBe('html');
    expect(sniffBody(b('<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"/>'))).toBe('xml');
    expect(sniffBody(b('<rss version="2.0"><channel><item><description><![CDATA[<html><body>x</body></html>]]></description></item></channel></rss>'))).toBe(
      'xml',
    );
    expect(sniffBody(b('<?xml version="1.0"?>\n<!-- a feed --><html xmlns="http://www.w3.org/1999/xhtml"><head/></html>'))).toBe('html');
    expect(sniffBody(b('<div><head></head><body>no doctype</body></div>'))).toBe('html');
    expect(sniffBody(b('{"a":1}'))).toBe('json');
    expect(sniffBody(b('Access denied'))).toBe('text');
    expect(sniffBody(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3, 0xff]))).toBe('binary');
    expect(describeBody(b('<html><head><title>\n Log in  </title>'))).toBe('an HTML page ("Log in")');
    expect(describeBody(b(''))).toBe('an empty body');
  });
});

describe('isPublicAddress', () => {
  it('refuses loopback, LAN, link-local, reserved and mapped forms of them', () => {
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.1.1',
      '169.254.1.1',
      '0.0.0.0',
      '100.64.0.1',
      '224.0.0.1',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      'not-an-ip',
    ])
      expect(isPublicAddress(ip), ip).toBe(false);
    for (const ip of ['1.1.1.1', '151.101.2.132', '2001:4860:4860::8888', '::ffff:8.8.8.8']) expect(isPublicAddress(ip), ip).toBe(true);
  });
});

describe('fetchWeb', () => {
  it('follows a redirect and reports what came back', async () => {
    const r = await fetchWeb(server.url('/hop'), { maxBytes: 1000, expect: 'torrent' });
    expect(r).toMatchObject({ kind: 'torrent', redirects: 1, url: server.url('/t') });
    expect((await fetchWeb(server.url('/feed'), { maxBytes: 1000, expect: 'feed' })).kind).toBe('xml');
  });

  it('sends the caller’s User-Agent and Accept', async () => {
    const r = await fetchWeb(server.url('/ua'), { maxBytes: 1000, userAgent: 'tc/0.1.0', accept: 'application/x-bittorrent' });
    expect(r.body.toString()).toBe('tc/0.1.0 | application/x-bittorrent');
  });

  it('refuses a loopback address when the guard says so, by IP literal and by name', async () => {
    const literal = await fetchWeb(server.url('/t'), { maxBytes: 1000, allowAddress: isPublicAddress }).catch((e: unknown) => e);
    expect(String(literal)).toContain('refused to connect to 127.0.0.1');
    expect(exitCodeFor(literal)).toBe(4);
    const named = await fetchWeb(`http://localhost:${server.port}/t`, { maxBytes: 1000, allowAddress: isPublicAddress }).catch((e: unknown) => e);
    expect(String(named)).toMatch(/refused to connect to (127\.0\.0\.1|::1)/);
    expect(server.hits('/t')).toBe(1);
  });

  it('refuses a feed where a torrent is expected, and a torrent where a feed is', async () => {
    const e1 = await fetchWeb(server.url('/feed'), { maxBytes: 1000, expect: 'torrent' }).catch((e: unknown) => e);
    expect(String(e1)).toContain('expected a .torrent file, got an XML document');
    expect(exitCodeFor(e1)).toBe(3);
    const e2 = await fetchWeb(server.url('/t'), { maxBytes: 1000, expect: 'feed' }).catch((e: unknown) => e);
    expect(String(e2)).toContain('expected an RSS or Atom feed, got a .torrent file');
  });
});
