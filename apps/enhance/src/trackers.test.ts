import { describe, expect, it } from 'vitest';
import { UsageError } from '@tc/cli';
import { PUBLIC_TRACKERS } from '@tc/codec';
import { checkTrackerUrl, mergeTiers, parseTrackerList } from './trackers.js';

describe('mergeTiers', () => {
  it('keeps the original tiers first and drops duplicates by normalized URL', () => {
    const r = mergeTiers(
      [['udp://a.example:1/announce', 'http://b.example/announce']],
      [['HTTP://B.EXAMPLE:80/announce'], ['udp://c.example:2/announce', 'udp://a.example:1/announce'], ['udp://c.example:2/announce']],
    );
    expect(r.tiers).toEqual([['udp://a.example:1/announce', 'http://b.example/announce'], ['udp://c.example:2/announce']]);
    expect(r.added).toEqual(['udp://c.example:2/announce']);
    expect(r.duplicates).toEqual(['HTTP://B.EXAMPLE:80/announce', 'udp://a.example:1/announce', 'udp://c.example:2/announce']);
  });
});

describe('parseTrackerList', () => {
  it('splits tiers on blank lines and ignores comments and CRLF', () => {
    expect(parseTrackerList('# c\r\nudp://a.example:1\r\nudp://b.example:1 # x\r\n\r\n\r\nhttps://c.example/a\r\n', 'f')).toEqual([
      ['udp://a.example:1', 'udp://b.example:1'],
      ['https://c.example/a'],
    ]);
    expect(parseTrackerList('', 'f')).toEqual([]);
  });

  it('names the line of a bad URL', () => {
    expect(() => parseTrackerList('udp://a.example:1\nmailto:x@y\n', 'list.txt')).toThrow(/list\.txt:2/);
  });
});

describe('checkTrackerUrl', () => {
  it('accepts what the torrent parser keeps (http, https, udp, ws, wss) and rejects the rest as usage errors', () => {
    for (const u of ['http://a.example/x', 'https://a.example/x', 'udp://a.example:1', 'ws://a.example/x', 'wss://a.example/x']) {
      expect(checkTrackerUrl(u, 'w')).toBe(u);
    }
    for (const u of [
      'ftp://a.example/',
      'file:///etc/passwd',
      'a.example',
      'udp:///announce',
      'http://xn--pple-koa.example/',
      `http://a.example/${'x'.repeat(3000)}`,
    ]) {
      expect(() => checkTrackerUrl(u, 'w')).toThrow(UsageError);
    }
  });
});

describe('PUBLIC_TRACKERS', () => {
  it('holds distinct, valid tracker URLs', () => {
    expect(PUBLIC_TRACKERS.length).toBeGreaterThan(5);
    for (const u of PUBLIC_TRACKERS) expect(checkTrackerUrl(u, 'built-in')).toBe(u);
    expect(
      mergeTiers(
        [],
        PUBLIC_TRACKERS.map((u) => [u]),
      ).duplicates,
    ).toEqual([]);
  });
});
