import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BRaw, encode } from '../bencode/index.js';
import { parseInfoDict, parseMetainfo } from './parse.js';
import { toTorrentFile } from './torrent-file.js';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, '../../../../test-fixtures/torrents', name));
const A = 'udp://127.0.0.1:1/announce';
const B = 'http://127.0.0.1:2/announce';
const C = 'http://127.0.0.1:3/announce';
/** An info dictionary with its keys out of order: re-encoding it would change the info-hash. */
const UNSORTED_INFO = Buffer.from(`d6:lengthi10e4:name1:x6:pieces20:${'a'.repeat(20)}12:piece lengthi16384ee`, 'latin1');

describe('toTorrentFile', () => {
  it('sets the tiers of a .torrent and keeps every other key and the info bytes, even non-canonical ones', () => {
    const before = parseMetainfo(fixture('hostile/unsorted-keys.torrent')).metainfo;
    const after = parseMetainfo(toTorrentFile(before, [[A], [B, C]])).metainfo;
    expect(after.infoBytes.equals(before.infoBytes)).toBe(true);
    expect(after.infoHashHex).toBe(before.infoHashHex);
    expect(after.announceTiers).toEqual([[A], [B, C]]);
    expect(after.announce).toBe(A);
    const others = (m: typeof before) =>
      [...m.raw.entries]
        .filter(([k]) => k !== 'announce' && k !== 'announce-list')
        .map(([k, e]) => [k, m.torrentBytes!.subarray(e.start, e.end).toString('hex')]);
    expect(others(after)).toEqual(others(before).sort(([a], [b]) => (a! < b! ? -1 : 1)));
  });

  it('keeps the torrent’s own announce while it is still listed, else takes the first URL', () => {
    const own = parseMetainfo(encode({ announce: B, comment: 'kept', info: new BRaw(UNSORTED_INFO) })).metainfo;
    expect(parseMetainfo(toTorrentFile(own, [[A, B], [C]])).metainfo.announce).toBe(B);
    const gone = parseMetainfo(toTorrentFile(own, [[C]])).metainfo;
    expect(gone.announce).toBe(C);
    expect(gone.comment).toBe('kept');
  });

  it('writes announce-list only for more than one URL, and removes both keys for no tiers', () => {
    const m = parseMetainfo(fixture('real/leaves.torrent')).metainfo;
    const one = parseMetainfo(toTorrentFile(m, [[], [A]])).metainfo;
    expect(one.raw.has('announce-list')).toBe(false);
    expect(one.announceTiers).toEqual([[A]]);
    const none = parseMetainfo(toTorrentFile(m, [])).metainfo;
    expect(none.raw.has('announce')).toBe(false);
    expect(none.raw.has('announce-list')).toBe(false);
    expect(none.infoHashHex).toBe(m.infoHashHex);
  });

  it('builds a .torrent from a bare info dictionary with the magnet’s trackers and web seeds', () => {
    const fetched = parseInfoDict(UNSORTED_INFO, { announceTiers: [[A], [B]], webSeeds: ['http://127.0.0.1:4/'] }).metainfo;
    expect(fetched.torrentBytes).toBeUndefined();
    const bytes = toTorrentFile(fetched);
    const back = parseMetainfo(bytes).metainfo;
    expect(back.infoBytes.equals(UNSORTED_INFO)).toBe(true);
    expect(back.infoHashHex).toBe(fetched.infoHashHex);
    expect(back.announceTiers).toEqual([[A], [B]]);
    expect(back.announce).toBe(A);
    expect(back.webSeeds).toEqual(['http://127.0.0.1:4/']);
    expect([...back.raw.keys()]).toEqual(['announce', 'announce-list', 'info', 'url-list']);
  });

  it('with its own tiers, a parsed .torrent comes back with the same fields', () => {
    const m = parseMetainfo(fixture('real/leaves.torrent')).metainfo;
    const back = parseMetainfo(toTorrentFile(m)).metainfo;
    expect(back.announceTiers).toEqual(m.announceTiers);
    expect(back.announce).toBe(m.announce);
    expect(back.infoHashHex).toBe(m.infoHashHex);
    expect(back.comment).toBe(m.comment);
  });
});
