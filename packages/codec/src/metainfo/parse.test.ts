import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BRaw, encode, type BEncodable } from '../bencode/index.js';
import { CodecError } from '../errors.js';
import { codeOf } from '../../test/helpers.js';
import { inspectMetainfo, parseInfoDict, parseMetainfo } from './parse.js';

const PIECE = 16384;
const hashes = (n: number) => Buffer.alloc(n * 20, 7);
const sha1 = (b: Uint8Array) => createHash('sha1').update(b).digest('hex');

function torrent(info: Record<string, BEncodable | undefined>, top: Record<string, BEncodable | undefined> = {}): Buffer {
  return encode({ announce: 'http://127.0.0.1:1/announce', ...top, info: { name: 'x', 'piece length': PIECE, pieces: hashes(1), length: 10, ...info } });
}

const parseCode = (bytes: Buffer, opts = {}) => codeOf(() => parseMetainfo(bytes, opts));

describe('parseMetainfo', () => {
  it('hashes the info bytes as they appear, also when they are not canonical (RELIABILITY #12)', () => {
    const info = Buffer.from(`d6:lengthi10e4:name1:x6:pieces20:${'a'.repeat(20)}12:piece lengthi16384ee`, 'latin1');
    const bytes = encode({ info: new BRaw(info) });
    const { metainfo, warnings } = parseMetainfo(bytes);
    expect(metainfo.infoBytes.equals(info)).toBe(true);
    expect(metainfo.infoHashHex).toBe(sha1(info));
    expect(metainfo.infoHashHex).not.toBe(sha1(encode(metainfo.info)));
    expect(warnings.map((w) => w.code)).toContain('WARN_UNSORTED_KEYS');
    expect(parseCode(bytes, { mode: 'strict' })).toBe('CODEC_UNSORTED_KEYS');
  });

  it('exposes the info-hash as bytes, hex and base32', () => {
    const { metainfo } = parseMetainfo(torrent({}));
    expect(metainfo.infoHash).toHaveLength(20);
    expect(metainfo.infoHashHex).toBe(metainfo.infoHash.toString('hex'));
    expect(metainfo.infoHashBase32).toMatch(/^[A-Z2-7]{32}$/);
  });

  it('reads a multi-file torrent with offsets, padding files and attributes (BEP 47)', () => {
    const { metainfo } = parseMetainfo(
      torrent({
        length: undefined,
        name: 'dir',
        pieces: hashes(3),
        files: [
          { length: 10, path: ['a', 'one.txt'] },
          { length: PIECE - 10, path: ['.pad', String(PIECE - 10)], attr: 'p' },
          { length: PIECE + 1, path: ['run.sh'], attr: 'x' },
          { length: 0, path: ['empty'] },
        ],
      }),
    );
    expect(metainfo.multiFile).toBe(true);
    expect(metainfo.totalLength).toBe(2 * PIECE + 1);
    expect(metainfo.pieceCount).toBe(3);
    expect(metainfo.pieceSize(2)).toBe(1);
    expect(metainfo.files.map((f) => [f.path.join('/'), f.offset, f.padding, f.attr])).toEqual([
      ['dir/a/one.txt', 0, false, ''],
      [`dir/.pad/${PIECE - 10}`, 10, true, 'p'],
      ['dir/run.sh', PIECE, false, 'x'],
      ['dir/empty', 2 * PIECE + 1, false, ''],
    ]);
    expect(metainfo.files[0]!.rawPath.map((b) => b.toString())).toEqual(['a', 'one.txt']);
    expect(metainfo.pieceHash(1)).toEqual(Buffer.alloc(20, 7));
    expect(() => metainfo.pieceHash(3)).toThrow(RangeError);
  });

  it('prefers name.utf-8 and path.utf-8 for display, keeps the raw bytes', () => {
    const { metainfo, warnings } = parseMetainfo(
      torrent({
        length: undefined,
        name: Buffer.from([0xe9, 0x74, 0xe9]), // latin1 "été": not UTF-8
        'name.utf-8': 'été',
        files: [{ length: 10, path: [Buffer.from([0xe9])], 'path.utf-8': ['é'] }],
      }),
    );
    expect(metainfo.name).toBe('été');
    expect(metainfo.rawName).toEqual(Buffer.from([0xe9, 0x74, 0xe9]));
    expect(metainfo.files[0]!.path).toEqual(['été', 'é']);
    expect(metainfo.files[0]!.rawPath).toEqual([Buffer.from([0xe9])]);
    expect(warnings.map((w) => w.code)).not.toContain('WARN_INVALID_UTF8');
  });

  it('shows invalid UTF-8 as U+FFFD with a warning (RELIABILITY #7)', () => {
    const { metainfo, warnings } = parseMetainfo(torrent({ name: Buffer.from([0x61, 0xff]) }));
    expect(metainfo.name).toBe('a\uFFFD');
    expect(warnings.map((w) => w.code)).toContain('WARN_INVALID_UTF8');
  });

  it('reads announce-list tiers (BEP 12), dropping bad and duplicate URLs', () => {
    const { metainfo, warnings } = parseMetainfo(
      torrent(
        {},
        {
          announce: 'http://127.0.0.1:1/announce',
          'announce-list': [
            ['http://127.0.0.1:1/announce', 'udp://127.0.0.1:2'],
            ['javascript:alert(1)'],
            ['http://127.0.0.1:1/announce'],
            ['wss://127.0.0.1:3'],
          ],
        },
      ),
    );
    expect(metainfo.announce).toBe('http://127.0.0.1:1/announce');
    expect(metainfo.announceTiers).toEqual([['http://127.0.0.1:1/announce', 'udp://127.0.0.1:2'], ['wss://127.0.0.1:3']]);
    expect(warnings.map((w) => w.code)).toContain('WARN_BAD_TRACKER_URL');
  });

  it('falls back to announce when there is no announce-list', () => {
    expect(parseMetainfo(torrent({})).metainfo.announceTiers).toEqual([['http://127.0.0.1:1/announce']]);
  });

  it('reads url-list as a string or a list (BEP 19)', () => {
    expect(parseMetainfo(torrent({}, { 'url-list': 'http://127.0.0.1/x' })).metainfo.webSeeds).toEqual(['http://127.0.0.1/x']);
    expect(parseMetainfo(torrent({}, { 'url-list': ['http://127.0.0.1/x', '', 'ftp://h/x'] })).metainfo.webSeeds).toEqual(['http://127.0.0.1/x']);
  });

  it('honours private only inside info (BEP 27, transmission #7302)', () => {
    expect(parseMetainfo(torrent({ private: 1 })).metainfo.private).toBe(true);
    expect(parseMetainfo(torrent({ private: 0 })).metainfo.private).toBe(false);
    const outside = parseMetainfo(torrent({}, { private: 1 }));
    expect(outside.metainfo.private).toBe(false);
    expect(outside.warnings.map((w) => w.code)).toContain('WARN_PRIVATE_OUTSIDE_INFO');
  });

  it('reads comment, created by and creation date', () => {
    const { metainfo } = parseMetainfo(torrent({}, { comment: 'hello', 'created by': 'tc', 'creation date': 1_700_000_000 }));
    expect(metainfo.comment).toBe('hello');
    expect(metainfo.createdBy).toBe('tc');
    expect(metainfo.creationDate?.toISOString()).toBe('2023-11-14T22:13:20.000Z');
  });

  it('warns about a future creation date, relative to the given now', () => {
    const bytes = torrent({}, { 'creation date': 1_700_000_000 });
    expect(parseMetainfo(bytes, { now: new Date('2023-01-01') }).warnings.map((w) => w.code)).toContain('WARN_FUTURE_CREATION_DATE');
    expect(parseMetainfo(bytes, { now: new Date('2024-01-01') }).warnings.map((w) => w.code)).not.toContain('WARN_FUTURE_CREATION_DATE');
  });

  it('collects every hard error, each naming its field', () => {
    const bytes = torrent({
      length: undefined,
      'piece length': 0,
      pieces: Buffer.alloc(21),
      files: [
        { length: -1, path: ['a'] },
        { length: 1, path: ['..'] },
        { length: 1, path: ['b'] },
        { length: 1, path: ['b'] },
      ],
    });
    try {
      parseMetainfo(bytes);
      expect.unreachable();
    } catch (e) {
      const err = e as CodecError;
      expect(err.code).toBe('CODEC_BAD_PIECE_LENGTH');
      expect(err.problems.map((p) => [p.code, p.field])).toEqual([
        ['CODEC_BAD_PIECE_LENGTH', 'info.piece length'],
        ['CODEC_BAD_PIECES', 'info.pieces'],
        ['CODEC_BAD_LENGTH', 'info.files[0].length'],
        ['CODEC_PATH_TRAVERSAL', 'info.files[1].path[0]'],
        ['CODEC_DUPLICATE_PATH', 'info.files[3].path'],
      ]);
    }
    const report = inspectMetainfo(bytes);
    expect(report.metainfo).toBeUndefined();
    expect(report.errors).toHaveLength(5);
  });

  it('caps repeated problems so a hostile torrent cannot flood the report', () => {
    const files = Array.from({ length: 500 }, () => ({ length: 1, path: ['..'] }));
    const report = inspectMetainfo(torrent({ length: undefined, files }));
    expect(report.errors.length).toBeLessThanOrEqual(51);
    expect(report.errors.at(-1)!.message).toMatch(/450 more/);
  });

  it('accepts a piece length that is not a power of two, with a warning', () => {
    const { metainfo, warnings } = parseMetainfo(torrent({ 'piece length': 3000, length: 7000, pieces: hashes(3) }));
    expect(metainfo.pieceLength).toBe(3000);
    expect(warnings.map((w) => w.code)).toContain('WARN_PIECE_LENGTH_NOT_POWER_OF_TWO');
  });

  it('refuses a torrent over the size limit before decoding it', () => {
    expect(parseCode(torrent({}, { junk: Buffer.alloc(2000) }), { maxBytes: 1000 })).toBe('CODEC_TOO_LARGE');
  });

  it('rejects Windows device names only on request, renaming them otherwise', () => {
    const bytes = torrent({ name: 'COM1' });
    const { metainfo, warnings } = parseMetainfo(bytes);
    expect(metainfo.files[0]!.safePath).toEqual(['_COM1']);
    expect(warnings.map((w) => w.code)).toContain('WARN_PATH_RENAMED');
    expect(parseCode(bytes, { rejectWindowsReserved: true })).toBe('CODEC_UNSAFE_PATH');
  });
});

describe('BEP 52 torrents', () => {
  it('says plainly that a v2-only torrent is not supported', () => {
    const bytes = encode({
      info: { 'file tree': { a: { '': { length: 10, 'pieces root': Buffer.alloc(32) } } }, 'meta version': 2, name: 'v2', 'piece length': PIECE },
    });
    try {
      parseMetainfo(bytes);
      expect.unreachable();
    } catch (e) {
      expect((e as CodecError).code).toBe('CODEC_V2_UNSUPPORTED');
      expect((e as CodecError).message).toMatch(/v2-only torrents \(BEP 52\) are not supported yet/);
    }
  });
});

describe('parseInfoDict', () => {
  it('parses ut_metadata bytes: the hash is that of the given bytes', () => {
    const info = encode({ name: 'x', 'piece length': PIECE, pieces: hashes(1), length: 10 });
    const { metainfo } = parseInfoDict(info, { announceTiers: [['udp://127.0.0.1:1']] });
    expect(metainfo.infoHashHex).toBe(sha1(info));
    expect(metainfo.announceTiers).toEqual([['udp://127.0.0.1:1']]);
    expect(metainfo.infoBytes.equals(info)).toBe(true);
  });
});
