import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BDict,
  CodecError,
  decode,
  encode,
  fileMerkle,
  formatMagnet,
  inspectMetainfo,
  merklePad,
  merkleRoot,
  parseInfoDict,
  parseMagnet,
  parseMetainfo,
  sha256,
  toMagnet,
  V2_BLOCK_SIZE,
  type BEncodable,
} from '../src/index.js';
import { codeOf, pseudoRandom, tempDir, tool } from './helpers.js';
import { buildV2, type MemFile } from './v2-builder.js';

const PL = 32768;
const V2 = { allowV2Only: true } as const;
const FILES: MemFile[] = [
  { path: ['a'], data: pseudoRandom(20_000, 1) },
  { path: ['a.txt'], data: pseudoRandom(5, 2) },
  { path: ['b.bin'], data: pseudoRandom(100_000, 3) },
  { path: ['empty'], data: Buffer.alloc(0) },
  { path: ['sub', 'c'], data: pseudoRandom(70_000, 4) },
];

describe('merkle helpers (BEP 52)', () => {
  it('pads with zero leaves and hashes of pads above them', () => {
    const zero = Buffer.alloc(32);
    expect(merklePad(0).equals(zero)).toBe(true);
    expect(merklePad(1).equals(sha256(zero, zero))).toBe(true);
    const a = sha256(Buffer.from('a'));
    expect(merkleRoot([a]).equals(a)).toBe(true);
    expect(merkleRoot([a, a, a]).equals(sha256(sha256(a, a), sha256(a, zero)))).toBe(true);
  });

  it('gives a file root equal to the root over its padded block layer, whatever the piece length', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 4 }), (blocks, lg) => {
        const pl = V2_BLOCK_SIZE << lg;
        const leaves = Array.from({ length: blocks }, (_, i) => sha256(Buffer.from([i])));
        const { root, layer } = fileMerkle(leaves, pl);
        expect(root.equals(merkleRoot(leaves))).toBe(true);
        expect(layer === undefined).toBe(blocks <= pl / V2_BLOCK_SIZE);
      }),
    );
  });
});

describe('parseMetainfo with v2 and hybrid torrents', () => {
  it('reads a hybrid: version, both hashes, the v2 files with their layers', () => {
    const b = buildV2('d', FILES, PL, 'hybrid');
    const bytes = b.torrent();
    const { metainfo, warnings } = parseMetainfo(bytes);
    expect(warnings).toEqual([]);
    expect(metainfo.version).toBe('hybrid');
    const infoBytes = encode(b.info);
    expect(metainfo.infoHashHex).toBe(createHash('sha1').update(infoBytes).digest('hex'));
    expect(metainfo.v2!.infoHashHex).toBe(sha256(infoBytes).toString('hex'));
    expect(metainfo.v2!.truncatedInfoHash.equals(sha256(infoBytes).subarray(0, 20))).toBe(true);
    expect(metainfo.v2!.files.map((f) => [f.path.join('/'), f.layerState])).toEqual([
      ['a', 'not-needed'],
      ['a.txt', 'not-needed'],
      ['b.bin', 'present'],
      ['empty', 'empty'],
      ['sub/c', 'present'],
    ]);
    for (const f of metainfo.v2!.files) {
      const v1 = metainfo.files[f.index]!;
      expect(v1.path.slice(1)).toEqual(f.path);
      expect(v1.offset % PL === 0 || f.length === 0).toBe(true);
    }
    expect(metainfo.v2!.layersComplete).toBe(true);
  });

  it('refuses a v2-only torrent unless asked, then lays its files out as if padded', () => {
    const bytes = buildV2('d', FILES, PL, 'v2').torrent();
    expect(codeOf(() => parseMetainfo(bytes))).toBe('CODEC_V2_UNSUPPORTED');
    expect(() => parseMetainfo(bytes)).toThrow(/not supported yet/);
    const { metainfo } = parseMetainfo(bytes, V2);
    expect(metainfo.version).toBe('v2');
    expect(metainfo.infoHash.equals(metainfo.v2!.truncatedInfoHash)).toBe(true);
    expect(metainfo.pieces.length).toBe(0);
    expect(() => metainfo.pieceHash(0)).toThrow(RangeError);
    const real = metainfo.files.filter((f) => !f.padding);
    expect(real.map((f) => f.path.join('/'))).toEqual(['d/a', 'd/a.txt', 'd/b.bin', 'd/empty', 'd/sub/c']);
    expect(real.every((f) => f.length === 0 || f.offset % PL === 0)).toBe(true);
    expect(metainfo.pieceCount).toBe(Math.ceil(metainfo.totalLength / PL));
  });

  it('reads a single-file v2 torrent and hybrid', () => {
    const file = [{ path: ['one.bin'], data: pseudoRandom(50_000, 9) }];
    for (const kind of ['v2', 'hybrid'] as const) {
      const { metainfo } = parseMetainfo(buildV2('one.bin', file, PL, kind, true).torrent(), V2);
      expect(metainfo.multiFile).toBe(false);
      expect(metainfo.files.map((f) => f.path)).toEqual([['one.bin']]);
      expect(metainfo.v2!.files[0]!.layerState).toBe('present');
    }
  });

  it('reads a bare v2 info dictionary (from a magnet): layers are then missing, not wrong', () => {
    const b = buildV2('d', FILES, PL, 'v2');
    const { metainfo, warnings } = parseInfoDict(encode(b.info), V2);
    expect(warnings).toEqual([]);
    expect(metainfo.v2!.layersComplete).toBe(false);
    expect(metainfo.v2!.files.find((f) => f.path[0] === 'b.bin')!.layerState).toBe('missing');
    expect(codeOf(() => parseInfoDict(encode(b.info)))).toBe('CODEC_V2_UNSUPPORTED');
  });

  it('warns when a .torrent lacks a layer', () => {
    const b = buildV2('d', FILES, PL, 'hybrid');
    const bytes = encode({ info: b.info, announce: 'http://127.0.0.1:1/a' });
    const { metainfo, warnings } = parseMetainfo(bytes);
    expect(warnings.map((w) => w.code)).toContain('WARN_MISSING_PIECE_LAYER');
    expect(metainfo.v2!.layersComplete).toBe(false);
  });
});

/** Re-encodes a built torrent after `edit` changes its decoded form (as plain Maps). */
function mutate(b: ReturnType<typeof buildV2>, edit: (info: Map<string, BEncodable>, layers: Map<Buffer, BEncodable>) => void): Buffer {
  const info = structuredClone(b.info);
  const layers = new Map([...b.layers].map(([k, v]) => [k, Buffer.from(v as Buffer)]));
  edit(info, layers);
  return encode({ announce: 'http://127.0.0.1:1/a', info, 'piece layers': layers });
}
const tree = (info: Map<string, BEncodable>) => info.get('file tree') as Map<string, BEncodable>;
const leafOf = (info: Map<string, BEncodable>, name: string) => (tree(info).get(name) as Map<string, BEncodable>).get('') as Map<string, BEncodable>;

describe('hostile v2 and hybrid torrents', () => {
  const hy = buildV2('d', FILES, PL, 'hybrid');
  const v2 = buildV2('d', FILES, PL, 'v2');
  const cases: [string, Buffer, string][] = [
    ['a layer of the wrong size', mutate(v2, (_, l) => l.set([...l.keys()][0]!, Buffer.alloc(32))), 'CODEC_BAD_PIECE_LAYERS'],
    [
      'a layer that does not hash to the root',
      mutate(v2, (_, l) => l.set([...l.keys()][0]!, Buffer.alloc((l.values().next().value as Buffer).length, 1))),
      'CODEC_BAD_PIECE_LAYERS',
    ],
    ['a root of 31 bytes', mutate(v2, (i) => leafOf(i, 'a').set('pieces root', Buffer.alloc(31))), 'CODEC_BAD_PIECES_ROOT'],
    ['a non-empty file without a root', mutate(v2, (i) => leafOf(i, 'a').delete('pieces root')), 'CODEC_BAD_PIECES_ROOT'],
    ['traversal in the tree', mutate(v2, (i) => tree(i).set('..', tree(i).get('a')!)), 'CODEC_PATH_TRAVERSAL'],
    ['a separator in a name', mutate(v2, (i) => tree(i).set('x/y', tree(i).get('a')!)), 'CODEC_UNSAFE_PATH'],
    [
      'names that map to one safe name',
      mutate(v2, (i) => (tree(i).set('q?', tree(i).get('a')!), tree(i).set('q_', tree(i).get('a')!))),
      'CODEC_DUPLICATE_PATH',
    ],
    ['a file node with other keys', mutate(v2, (i) => (tree(i).get('a') as Map<string, BEncodable>).set('x', tree(i).get('a.txt')!)), 'CODEC_BAD_FILE_TREE'],
    ['a tree that is not a dictionary', mutate(v2, (i) => i.set('file tree', 5)), 'CODEC_BAD_FILE_TREE'],
    ['an empty tree', mutate(v2, (i) => i.set('file tree', new Map())), 'CODEC_EMPTY_FILE_LIST'],
    ['piece length below 16 KiB', mutate(v2, (i) => i.set('piece length', 8192)), 'CODEC_BAD_PIECE_LENGTH'],
    ['piece length not a power of two', mutate(hy, (i) => i.set('piece length', 3 * 16384)), 'CODEC_BAD_PIECE_LENGTH'],
    ['meta version 3', mutate(v2, (i) => i.set('meta version', 3)), 'CODEC_BAD_META_VERSION'],
    [
      'a hybrid whose v1 file is longer',
      mutate(hy, (i) => {
        const files = i.get('files') as Map<string, BEncodable>[];
        files[0]!.set('length', 20_001);
        files[1]!.set('length', (files[1]!.get('length') as number) - 1);
      }),
      'CODEC_HYBRID_MISMATCH',
    ],
    [
      'a hybrid without padding',
      mutate(hy, (i) => {
        const files = (i.get('files') as Map<string, BEncodable>[]).filter((f) => !f.has('attr'));
        i.set('files', files);
        i.set('pieces', Buffer.alloc(20 * Math.ceil(files.reduce((n, f) => n + (f.get('length') as number), 0) / PL)));
      }),
      'CODEC_HYBRID_MISMATCH',
    ],
    [
      'a hybrid with the files reordered',
      mutate(hy, (i) => i.set('files', [...(i.get('files') as Map<string, BEncodable>[])].reverse())),
      'CODEC_HYBRID_MISMATCH',
    ],
    ['a hybrid with another name in v1', mutate(hy, (i) => (i.get('files') as Map<string, BEncodable>[])[0]!.set('path', ['z'])), 'CODEC_HYBRID_MISMATCH'],
  ];
  it.each(cases)('rejects %s', (_, bytes, code) => {
    expect(codeOf(() => parseMetainfo(bytes, V2))).toBe(code);
    expect(inspectMetainfo(bytes, V2).errors.map((e) => e.code)).toContain(code);
  });

  it('rejects a tree deeper than 100 folders', () => {
    let node: Map<string, BEncodable> = new Map([
      [
        '',
        new Map<string, BEncodable>([
          ['length', 1],
          ['pieces root', sha256(Buffer.from('x'))],
        ]),
      ],
    ]);
    for (let i = 0; i < 120; i++) node = new Map([['d', node]]);
    const info = new Map<string, BEncodable>([
      ['file tree', node],
      ['meta version', 2],
      ['name', 'deep'],
      ['piece length', PL],
    ]);
    // The decoder's nesting limit or the path depth limit, whichever comes first.
    expect(['CODEC_PATH_TOO_DEEP', 'CODEC_TOO_DEEP']).toContain(codeOf(() => parseInfoDict(encode(info), V2)));
  });

  it('never throws anything but a CodecError for random edits of a v2 or hybrid torrent', () => {
    const seeds = [hy.torrent(), v2.torrent()];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (which, edits) => {
          const bytes = Buffer.from(seeds[which]!);
          for (const [at, v] of edits) bytes[at % bytes.length] = v;
          try {
            const { metainfo } = parseMetainfo(bytes, V2);
            expect(['v1', 'v2', 'hybrid']).toContain(metainfo.version);
          } catch (e) {
            if (!(e instanceof CodecError)) throw e;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('never throws anything but a CodecError for random file trees', () => {
    const node = fc.letrec<{ node: BEncodable }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        fc.record({ length: fc.oneof(fc.nat(100_000), fc.constant(-1)), root: fc.uint8Array({ minLength: 0, maxLength: 33 }) }).map(
          ({ length, root }) =>
            new Map([
              [
                '',
                new Map<string, BEncodable>([
                  ['length', length],
                  ['pieces root', Buffer.from(root)],
                ]),
              ],
            ]),
        ),
        fc.uniqueArray(fc.tuple(fc.string({ maxLength: 4, unit: 'binary' }), tie('node')), { maxLength: 4, selector: ([k]) => k }).map((p) => new Map(p)),
        fc.nat(),
      ),
    })).node;
    fc.assert(
      fc.property(node, fc.boolean(), (t, withPieces) => {
        const info = new Map<string, BEncodable>([
          ['file tree', t],
          ['meta version', 2],
          ['name', 'r'],
          ['piece length', 16384],
        ]);
        if (withPieces) info.set('pieces', Buffer.alloc(20));
        try {
          parseInfoDict(encode(info), V2);
        } catch (e) {
          if (!(e instanceof CodecError)) throw e;
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('v2 magnet links', () => {
  const H2 = 'ab'.repeat(32);
  const H1 = 'cd'.repeat(20);
  it('reads btmh beside btih, and btmh alone when asked', () => {
    const both = parseMagnet(`magnet:?xt=urn:btmh:1220${H2}&xt=urn:btih:${H1}`).magnet;
    expect(both.infoHashHex).toBe(H1);
    expect(both.infoHashV2!.toString('hex')).toBe(H2);
    expect(both.v2Only).toBe(false);
    expect(codeOf(() => parseMagnet(`magnet:?xt=urn:btmh:1220${H2}`))).toBe('CODEC_V2_UNSUPPORTED');
    const alone = parseMagnet(`magnet:?xt=urn:btmh:1220${H2}`, V2).magnet;
    expect(alone.v2Only).toBe(true);
    expect(alone.infoHashHex).toBe(H2.slice(0, 40));
  });

  it.each([
    `magnet:?xt=urn:btmh:1120${'ab'.repeat(32)}`,
    `magnet:?xt=urn:btmh:1220${'ab'.repeat(31)}`,
    `magnet:?xt=urn:btmh:1220${'ab'.repeat(32)}&xt=urn:btmh:1220${'cd'.repeat(32)}`,
  ])('rejects %s', (uri) => {
    expect(codeOf(() => parseMagnet(uri, V2))).toBe('CODEC_BAD_MAGNET');
  });

  it('writes both hashes for a hybrid and only btmh for a v2-only torrent, and reads them back', () => {
    const hy = parseMetainfo(buildV2('d', FILES, PL, 'hybrid').torrent()).metainfo;
    const link = toMagnet(hy);
    expect(link).toContain(`xt=urn:btih:${hy.infoHashHex}`);
    expect(link).toContain(`xt=urn:btmh:1220${hy.v2!.infoHashHex}`);
    const v2 = parseMetainfo(buildV2('d', FILES, PL, 'v2').torrent(), V2).metainfo;
    const v2link = toMagnet(v2);
    expect(v2link).not.toContain('btih');
    const back = parseMagnet(v2link, V2).magnet;
    expect(back.infoHashV2!.equals(v2.v2!.infoHash)).toBe(true);
    expect(() => formatMagnet({ infoHash: v2.infoHash, v2Only: true })).toThrow(CodecError);
  });
});

describe('interop: libtorrent 2 v2 and hybrid torrents', () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    tmp = await tempDir();
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it.each(['v2', 'hybrid'] as const)('parses a %s torrent made by libtorrent: same hashes, files and roots', async (kind) => {
    const dir = join(tmp.path, kind, 'd');
    for (const f of FILES) {
      await mkdir(join(dir, ...f.path.slice(0, -1)), { recursive: true });
      await writeFile(join(dir, ...f.path), f.data);
    }
    const out = join(tmp.path, `${kind}.torrent`);
    const script = `
import libtorrent as lt, sys, json
fs = lt.file_storage(); lt.add_files(fs, sys.argv[1])
ct = lt.create_torrent(fs, ${PL}, flags=${kind === 'v2' ? 'lt.create_torrent.v2_only' : '0'})
lt.set_piece_hashes(ct, sys.argv[2])
open(sys.argv[3], 'wb').write(lt.bencode(ct.generate()))
ti = lt.torrent_info(sys.argv[3]); h = ti.info_hashes()
print(json.dumps({'v1': str(h.v1) if h.has_v1() else None, 'v2': str(h.v2)}))`;
    const lt = JSON.parse(await tool('/usr/bin/python3', ['-c', script, dir, join(tmp.path, kind), out])) as { v1: string | null; v2: string };
    const { metainfo, warnings } = parseMetainfo(await readFile(out), V2);
    expect(warnings.filter((w) => w.code !== 'WARN_NO_ANNOUNCE')).toEqual([]);
    expect(metainfo.version).toBe(kind);
    expect(metainfo.v2!.infoHashHex).toBe(lt.v2);
    if (kind === 'hybrid') expect(metainfo.infoHashHex).toBe(lt.v1);
    const built = buildV2('d', FILES, PL, kind);
    expect(metainfo.v2!.files.map((f) => f.piecesRoot?.toString('hex'))).toEqual(built.roots.map((r) => r?.toString('hex')));
    expect(metainfo.v2!.layersComplete).toBe(true);
    // The same bytes as our in-memory builder: the info dictionaries agree key for key.
    expect(encode(decode(metainfo.infoBytes)).equals(encode(built.info))).toBe(true);
  });

  it('parses a hybrid of a folder holding one file (a tree of one file at its root, and a v1 file list)', async () => {
    const dir = join(tmp.path, 'one', 'folder');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'only.bin'), Buffer.alloc(40_000, 1));
    const out = join(tmp.path, 'one.torrent');
    const script = `
import libtorrent as lt, sys
fs = lt.file_storage(); lt.add_files(fs, sys.argv[1])
ct = lt.create_torrent(fs, ${PL}, flags=0)
lt.set_piece_hashes(ct, sys.argv[2])
open(sys.argv[3], 'wb').write(lt.bencode(ct.generate()))`;
    await tool('/usr/bin/python3', ['-c', script, dir, join(tmp.path, 'one'), out]);
    const { metainfo } = parseMetainfo(await readFile(out));
    expect(metainfo.version).toBe('hybrid');
    expect(metainfo.multiFile).toBe(true);
    expect(metainfo.files.filter((f) => !f.padding).map((f) => f.path)).toEqual([['folder', 'only.bin']]);
    // A v1 single file against a tree that is a folder is still refused.
    const info = decode(metainfo.infoBytes) as BDict;
    const single = new Map<string, BEncodable>([
      ['file tree', new Map([['sub', info.get('file tree') as BEncodable]])],
      ['length', 40_000],
      ['meta version', 2],
      ['name', 'folder'],
      ['piece length', PL],
      ['pieces', info.get('pieces') as BEncodable],
    ]);
    expect(codeOf(() => parseMetainfo(encode({ info: single })))).toBe('CODEC_HYBRID_MISMATCH');
  });
});
