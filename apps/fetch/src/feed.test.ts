import { describe, expect, it } from 'vitest';
import { isTorrentLink, parseFeed } from './feed.js';

const rss = (items: string) =>
  `<?xml version="1.0"?><rss version="2.0" xmlns:torrent="http://xmlns.ezrss.it/0.1/"><channel><title>Releases</title>${items}</channel></rss>`;

describe('parseFeed', () => {
  it('reads RSS 2.0 enclosures, torrent links and magnetURI; items without a torrent are skipped', () => {
    const f = parseFeed(
      rss(`
      <item><title>A 1.0</title><guid isPermaLink="false">a-1</guid><enclosure url="https://h/a.torrent" type="application/x-bittorrent" length="1"/></item>
      <item><title>B</title><link>https://h/b.torrent?x=1</link></item>
      <item><title>C</title><torrent:magnetURI><![CDATA[magnet:?xt=urn:btih:${'a'.repeat(40)}]]></torrent:magnetURI></item>
      <item><title>D</title><enclosure url="https://h/get?id=4" type="application/x-bittorrent"/></item>
      <item><title>page</title><link>https://h/news</link></item>`),
    );
    expect(f.title).toBe('Releases');
    expect(f.items).toEqual([
      { id: 'a-1', title: 'A 1.0', link: 'https://h/a.torrent' },
      { id: 'https://h/b.torrent?x=1', title: 'B', link: 'https://h/b.torrent?x=1' },
      { id: `magnet:?xt=urn:btih:${'a'.repeat(40)}`, title: 'C', link: `magnet:?xt=urn:btih:${'a'.repeat(40)}` },
      { id: 'https://h/get?id=4', title: 'D', link: 'https://h/get?id=4' },
    ]);
    expect(f.skipped).toBe(1);
  });

  it('reads Atom entries', () => {
    const f = parseFeed(`<?xml version="1.0" encoding="utf-8"?>
      <feed xmlns="http://www.w3.org/2005/Atom"><title type="text">Atom</title>
        <entry><title>X</title><id>urn:x</id><link rel="alternate" href="https://h/x"/><link rel="enclosure" type="application/x-bittorrent" href="https://h/x.torrent"/></entry>
        <entry><title>Y</title><id>urn:y</id><link href="https://h/y"/></entry>
      </feed>`);
    expect(f.items).toEqual([{ id: 'urn:x', title: 'X', link: 'https://h/x.torrent' }]);
    expect(f.skipped).toBe(1);
  });

  it('refuses malformed documents, other documents, and entity tricks do not expand', () => {
    expect(() => parseFeed('<rss><channel><item></channel></rss>')).toThrow(/not a readable RSS or Atom feed: line 1/);
    expect(() => parseFeed('<html><body/></html>')).toThrow(/<html>, not <rss> or <feed>/);
    expect(() => parseFeed('not xml at all')).toThrow(/not a readable/);
    const bomb = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>${rss('<item><title>&b;</title><link>https://h/z.torrent</link></item>').replace('<?xml version="1.0"?>', '')}`;
    const f = parseFeed(bomb);
    expect(f.items[0]!.title.length).toBeLessThan(20);
    const deep = `<rss><channel>${'<x>'.repeat(100)}${'</x>'.repeat(100)}</channel></rss>`;
    expect(() => parseFeed(deep)).toThrow(/not a readable/);
  });

  it('resolves relative links against the feed URL, as feed readers do', () => {
    const items = `<item><title>A</title><enclosure url="/files/a.torrent" type="application/x-bittorrent"/></item>
      <item><title>B</title><link>b.torrent</link></item>`;
    expect(parseFeed(rss(items), 'https://h/feeds/rss.xml').items.map((i) => i.link)).toEqual(['https://h/files/a.torrent', 'https://h/feeds/b.torrent']);
    const atom = `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
      <entry><title>X</title><id>urn:x</id><link rel="enclosure" type="application/x-bittorrent" href="../x.torrent"/></entry></feed>`;
    expect(parseFeed(atom, 'https://h/feeds/atom.xml').items.map((i) => i.link)).toEqual(['https://h/x.torrent']);
    // With no base a relative link cannot be fetched: skipped, as before.
    expect(parseFeed(rss(items)).items).toEqual([]);
  });

  it('tells torrent links from others', () => {
    expect(isTorrentLink('https://h/a.TORRENT')).toBe(true);
    expect(isTorrentLink('magnet:?xt=urn:btih:x')).toBe(true);
    expect(isTorrentLink('file:///a.torrent')).toBe(false);
    expect(isTorrentLink('https://h/a.torrent.html')).toBe(false);
  });
});
