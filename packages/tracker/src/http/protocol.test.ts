import { thrownCode } from '@tc/testkit/tracker-errors';
import { encode } from '@tc/codec';
import { describe, expect, it } from 'vitest';
import { TrackerError } from '../errors.js';
import type { AnnounceRequest } from '../types.js';
import { buildAnnounceUrl, buildScrapeUrl, parseAnnounceReply, parseScrapeReply, percentEncodeBytes, scrapeUrlFor } from './protocol.js';

const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const req = (over: Partial<AnnounceRequest> = {}): AnnounceRequest => ({
  infoHash: every.subarray(0, 20),
  peerId: every.subarray(236, 256),
  port: 6881,
  uploaded: 1,
  downloaded: 2,
  left: 3,
  event: 'started',
  key: 0xdeadbeef,
  ...over,
});

const codeOf = (fn: () => unknown): string | undefined => thrownCode(TrackerError, fn);

/** Decodes %XX escapes back to bytes (the tracker's view of the query). */
function unescapeBytes(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(s.charCodeAt(i));
  }
  return Buffer.from(out);
}

describe('announce URL', () => {
  it('percent-encodes every byte value exactly', () => {
    const enc = percentEncodeBytes(every);
    expect(enc).toMatch(/^(%[0-9A-F]{2}){256}$/);
    expect(unescapeBytes(enc)).toEqual(every);
  });

  it('carries every BEP 3 parameter', () => {
    for (let off = 0; off < 256; off += 20) {
      const infoHash = Buffer.alloc(20, 0).fill(every.subarray(off, off + 20));
      const url = buildAnnounceUrl('http://t.example/announce', req({ infoHash, numwant: 50, trackerId: Buffer.from('x y') }));
      const q = new Map(
        url
          .split('?')[1]!
          .split('&')
          .map((kv) => kv.split('=') as [string, string]),
      );
      expect(unescapeBytes(q.get('info_hash')!)).toEqual(infoHash);
      expect(unescapeBytes(q.get('peer_id')!)).toEqual(every.subarray(236, 256));
      expect(q.get('port')).toBe('6881');
      expect([q.get('uploaded'), q.get('downloaded'), q.get('left')]).toEqual(['1', '2', '3']);
      expect(q.get('compact')).toBe('1');
      expect(q.get('numwant')).toBe('50');
      expect(q.get('key')).toBe('DEADBEEF');
      expect(q.get('event')).toBe('started');
      expect(q.get('trackerid')).toBe('%78%20%79');
    }
  });

  it('sends no event for a periodic announce and keeps an existing query', () => {
    const url = buildAnnounceUrl('http://t.example/announce?passkey=abc', req({ event: 'periodic' }));
    expect(url.startsWith('http://t.example/announce?passkey=abc&info_hash=')).toBe(true);
    expect(url).not.toContain('event=');
  });

  it('rejects bad ids, ports and schemes', () => {
    expect(codeOf(() => buildAnnounceUrl('http://t/announce', req({ infoHash: Buffer.alloc(19) })))).toBe('TRACKER_BAD_URL');
    expect(codeOf(() => buildAnnounceUrl('http://t/announce', req({ port: 0 })))).toBe('TRACKER_BAD_URL');
    expect(codeOf(() => buildAnnounceUrl('wss://t/announce', req()))).toBe('TRACKER_UNSUPPORTED');
  });
});

describe('scrape URL (BEP 48)', () => {
  it.each([
    ['http://example.com/announce', 'http://example.com/scrape'],
    ['http://example.com/x/announce', 'http://example.com/x/scrape'],
    ['http://example.com/announce.php', 'http://example.com/scrape.php'],
    ['http://example.com/a', undefined],
    ['http://example.com/announce?x2%0644', 'http://example.com/scrape?x2%0644'],
    ['http://example.com/announce?x=2/4', 'http://example.com/scrape?x=2/4'],
    ['http://example.com/x%064announce', undefined],
    ['http://example.com/announce/x', undefined],
    ['http://announce', undefined],
  ])('%s → %s', (a, s) => expect(scrapeUrlFor(a)).toBe(s));

  it('puts several info-hashes in one request', () => {
    const url = buildScrapeUrl('http://t/scrape', [Buffer.alloc(20, 1), Buffer.alloc(20, 0xff)]);
    expect(url).toBe(`http://t/scrape?info_hash=${'%01'.repeat(20)}&info_hash=${'%FF'.repeat(20)}`);
  });
});

describe('announce reply', () => {
  it('parses compact peers, peers6 and the counters', () => {
    const r = parseAnnounceReply(
      encode({
        interval: 1800,
        'min interval': 60,
        complete: 5,
        incomplete: 7,
        peers: Buffer.from([1, 2, 3, 4, 0x1a, 0xe1]),
        peers6: Buffer.concat([Buffer.alloc(15), Buffer.from([1, 0, 80])]),
        'warning message': 'be nice',
        'tracker id': 'tid-1',
      }),
    );
    expect(r).toMatchObject({ interval: 1800, minInterval: 60, complete: 5, incomplete: 7, warning: 'be nice', skipped: 0 });
    expect(r.trackerId?.toString()).toBe('tid-1');
    expect(r.peers).toEqual([
      { ip: '1.2.3.4', port: 6881, family: 4 },
      { ip: '::1', port: 80, family: 6 },
    ]);
  });

  it('parses dictionary peers and skips bad entries', () => {
    const id = Buffer.alloc(20, 7);
    const r = parseAnnounceReply(
      encode({
        interval: 900,
        peers: [
          { ip: '10.0.0.1', port: 1, 'peer id': id },
          { ip: '2001:DB8::0:1', port: 2 },
          { ip: 'evil.example', port: 3 },
          { ip: '10.0.0.2', port: 0 },
          { ip: 5, port: 5 },
          'junk',
        ],
      }),
    );
    expect(r.peers).toEqual([
      { ip: '10.0.0.1', port: 1, family: 4, peerId: id },
      { ip: '2001:db8::1', port: 2, family: 6 },
    ]);
    expect(r.skipped).toBe(4);
  });

  it('skips dictionary peers whose IPv6-looking text is not an address (no name lookup of tracker junk)', () => {
    const r = parseAnnounceReply(
      encode({
        interval: 900,
        peers: [
          { ip: '::::', port: 6881 },
          { ip: '1:2:3', port: 6881 },
          { ip: '1.2.3.4:5', port: 6881 },
          { ip: '::1.2', port: 6881 },
          { ip: '2001:db8::2', port: 6881 },
        ],
      }),
    );
    expect(r.peers).toEqual([{ ip: '2001:db8::2', port: 6881, family: 6 }]);
    expect(r.skipped).toBe(4);
  });

  it('turns failure reason into a typed error carrying the text', () => {
    try {
      parseAnnounceReply(encode({ 'failure reason': 'torrent not registered\x1b[31m' }));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(TrackerError);
      expect((e as TrackerError).code).toBe('TRACKER_FAILURE');
      expect((e as TrackerError).trackerMessage).toBe('torrent not registered\x1b[31m');
    }
  });

  it.each([
    ['garbage', Buffer.from('<html>oops</html>')],
    ['truncated', Buffer.from('d8:intervali1800e5:peers')],
    ['a list', encode([1, 2])],
    ['no interval', encode({ peers: Buffer.alloc(0) })],
    ['negative interval', encode({ interval: -5, peers: Buffer.alloc(0) })],
    ['string interval', encode({ interval: '30', peers: Buffer.alloc(0) })],
    ['peers an integer', encode({ interval: 30, peers: 5 })],
    ['no peers', encode({ interval: 30 })],
    ['deep nesting', Buffer.from('d8:intervali1e5:peers' + 'l'.repeat(5000) + 'e'.repeat(5000) + 'e')],
  ])('rejects %s with TRACKER_BAD_RESPONSE', (_name, body) => {
    expect(codeOf(() => parseAnnounceReply(body))).toBe('TRACKER_BAD_RESPONSE');
  });

  it('keeps the raw interval (clamping is the scheduler’s job)', () => {
    expect(parseAnnounceReply(encode({ interval: 1, peers: Buffer.alloc(0) })).interval).toBe(1);
  });

  it('accepts a long interval or min interval and keeps the peers (the scheduler caps the wait)', () => {
    const twoWeeks = 14 * 24 * 3600;
    const r = parseAnnounceReply(encode({ interval: twoWeeks, 'min interval': twoWeeks, peers: Buffer.from([8, 8, 4, 4, 0x1a, 0xe1]) }));
    expect(r.interval).toBe(twoWeeks);
    expect(r.minInterval).toBe(twoWeeks);
    expect(r.peers).toEqual([{ ip: '8.8.4.4', port: 6881, family: 4 }]);
  });

  it('reads BEP 24 external ip of 4 and 16 bytes and ignores other lengths', () => {
    const reply = (ip: Buffer | number) => parseAnnounceReply(encode({ 'external ip': ip, interval: 1800, peers: Buffer.alloc(0) })).externalIp;
    expect(reply(Buffer.from([203, 0, 113, 7]))).toBe('203.0.113.7');
    expect(reply(Buffer.from('20010db8000000000000000000000001', 'hex'))).toBe('2001:db8::1');
    expect(reply(Buffer.from([1, 2, 3]))).toBeUndefined();
    expect(reply(7)).toBeUndefined();
    expect(parseAnnounceReply(encode({ interval: 1800, peers: Buffer.alloc(0) })).externalIp).toBeUndefined();
  });

  it('caps a peer list of a million', () => {
    const r = parseAnnounceReply(encode({ interval: 1800, peers: Buffer.alloc(6 * 200_000, 9) }));
    expect(r.peers.length).toBe(2000);
    expect(r.skipped).toBe(198_000);
  });
});

describe('scrape reply', () => {
  it('reads counts per 20-byte key and skips others', () => {
    const h = Buffer.alloc(20, 0xab);
    const body = encode(
      new Map<string | Buffer, unknown>([
        [
          'files',
          new Map<Buffer | string, unknown>([
            [h, { complete: 3, downloaded: 10, incomplete: 4 }],
            ['short', { complete: 1 }],
          ]),
        ],
      ]) as never,
    );
    const r = parseScrapeReply(body);
    expect([...r.files.keys()]).toEqual([h.toString('hex')]);
    expect(r.files.get(h.toString('hex'))).toMatchObject({ complete: 3, downloaded: 10, incomplete: 4 });
  });

  it('reports failure and missing files', () => {
    expect(codeOf(() => parseScrapeReply(encode({ 'failure reason': 'no scrape' })))).toBe('TRACKER_FAILURE');
    expect(codeOf(() => parseScrapeReply(encode({ x: 1 })))).toBe('TRACKER_BAD_RESPONSE');
  });
});

describe('scrape reply from the bittorrent-tracker npm server', () => {
  it('recovers info-hash keys it UTF-8-encoded by mistake', () => {
    const h = Buffer.from(Array.from({ length: 20 }, (_, i) => 0x70 + i * 7));
    const mangled = Buffer.from(h.toString('latin1'), 'utf8');
    expect(mangled.length).toBeGreaterThan(20);
    const body = Buffer.concat([Buffer.from(`d5:filesd${mangled.length}:`), mangled, Buffer.from('d8:completei2eeee')]);
    expect(parseScrapeReply(body).files.get(h.toString('hex'))?.complete).toBe(2);
  });
});
