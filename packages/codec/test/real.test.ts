import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CodecError, parseMetainfo, toMagnet, parseMagnet } from '../src/index.js';
import { REAL_DIR } from './helpers.js';

/** Info-hashes published with webtorrent-fixtures (also what transmission-show prints for them). */
const KNOWN = {
  'alice.torrent': { hash: '722fe65b2aa26d14f35b4ad627d20236e481d924', name: 'alice.txt', pieces: 10, length: 163783, files: 1 },
  'bunny.torrent': {
    hash: 'af8f10f30bf9aefecf3686922bfa0d5bd290a395',
    name: 'bbb_sunflower_1080p_30fps_stereo_abl.mp4',
    pieces: 830,
    length: 434839491,
    files: 1,
  },
  'folder.torrent': { hash: 'b88da2caac6648e6c7d7687e3f89085f7e230e6b', name: 'folder', pieces: 1, length: 15, files: 1 },
  'leaves.torrent': { hash: 'd2474e86c95b19b8bcfdb92bc12c9d44667cfa36', name: 'Leaves of Grass by Walt Whitman.epub', pieces: 23, length: 362017, files: 1 },
  'leaves-metadata.torrent': {
    hash: 'd2474e86c95b19b8bcfdb92bc12c9d44667cfa36',
    name: 'Leaves of Grass by Walt Whitman.epub',
    pieces: 23,
    length: 362017,
    files: 1,
  },
  'lots-of-numbers.torrent': { hash: '114ead6243792ba56297edbb9a78dfba84d4fc00', name: 'lots-of-numbers', pieces: 1, length: 12, files: 6 },
  'numbers.torrent': { hash: '89d97c2261a21b040cf11caa661a3ba7233bb7e6', name: 'numbers', pieces: 1, length: 6, files: 3 },
  'sintel.torrent': {
    hash: 'c334138ef5bfc2d568ea7324e0e2a3a7ec229bdd',
    name: 'Sintel.2010.4K.DMRip.x264.DD.DTS.SRT-MaLLIeHbKa.mkv',
    pieces: 1310,
    length: 5490455272,
    files: 1,
  },
} as const;

describe('real-world torrents', () => {
  it.each(Object.entries(KNOWN))('%s has its known info-hash and shape', (file, k) => {
    const { metainfo } = parseMetainfo(readFileSync(join(REAL_DIR, file)));
    expect(metainfo.infoHashHex).toBe(k.hash);
    expect(metainfo.name).toBe(k.name);
    expect(metainfo.pieceCount).toBe(k.pieces);
    expect(metainfo.totalLength).toBe(k.length);
    expect(metainfo.files).toHaveLength(k.files);
    // The magnet link round-trips to the same hash, in hex and base32.
    const magnet = parseMagnet(toMagnet(metainfo)).magnet;
    expect(magnet.infoHashHex).toBe(k.hash);
    expect(magnet.infoHashBase32).toBe(metainfo.infoHashBase32);
    expect(parseMagnet(`magnet:?xt=urn:btih:${metainfo.infoHashBase32}`).magnet.infoHashHex).toBe(k.hash);
  });

  it('bunny.torrent: private flag inside info and a url-list web seed (BEP 19, 27)', () => {
    const { metainfo } = parseMetainfo(readFileSync(join(REAL_DIR, 'bunny.torrent')));
    expect(metainfo.private).toBe(true);
    expect(metainfo.webSeeds).toEqual(['http://distribution.bbb3d.renderfarming.net/video/mp4/bbb_sunflower_1080p_30fps_stereo_abl.mp4']);
    expect(metainfo.createdBy).toBe('uTorrent/3320');
    expect(metainfo.creationDate?.toISOString()).toBe('2013-12-17T19:48:21.000Z');
  });

  it('lots-of-numbers.torrent: nested multi-file paths with offsets', () => {
    const { metainfo } = parseMetainfo(readFileSync(join(REAL_DIR, 'lots-of-numbers.torrent')));
    expect(metainfo.multiFile).toBe(true);
    expect(metainfo.files.map((f) => f.path.join('/'))).toEqual([
      'lots-of-numbers/big numbers/10.txt',
      'lots-of-numbers/big numbers/11.txt',
      'lots-of-numbers/big numbers/12.txt',
      'lots-of-numbers/small numbers/1.txt',
      'lots-of-numbers/small numbers/2.txt',
      'lots-of-numbers/small numbers/3.txt',
    ]);
    let offset = 0;
    for (const f of metainfo.files) {
      expect(f.offset).toBe(offset);
      offset += f.length;
    }
  });

  it('alice.torrent: a creation date written in milliseconds is read as milliseconds, with a warning', () => {
    const { metainfo, warnings } = parseMetainfo(readFileSync(join(REAL_DIR, 'alice.torrent')), { now: new Date('2026-01-01T00:00:00Z') });
    expect(warnings.map((w) => w.code)).toContain('WARN_CREATION_DATE_IN_MS');
    expect(warnings.map((w) => w.code)).not.toContain('WARN_FUTURE_CREATION_DATE');
    expect(metainfo.creationDate?.toISOString()).toMatch(/^2016-/);
  });

  it('corrupt.torrent (no info.name) is rejected naming the field', () => {
    try {
      parseMetainfo(readFileSync(join(REAL_DIR, 'corrupt.torrent')));
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(CodecError);
      expect((e as CodecError).code).toBe('CODEC_MISSING_FIELD');
      expect((e as CodecError).field).toBe('info.name');
    }
  });
});
