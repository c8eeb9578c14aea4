#!/usr/bin/env node
// Generates the hostile .torrent corpus in torrents/hostile/ and its manifest.json (RELIABILITY #1–#17).
// Self-contained on purpose (its own tiny bencode writer): the corpus must not depend on the code it tests.
//   node test-fixtures/make-hostile.mjs          writes the small cases
// Cases too big to commit (> 10 MB, > 3M tokens, > 0x200000 pieces) are built in memory by the tests
// from `bigCases()` below.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Written verbatim. */
class Raw {
  constructor(bytes) {
    this.bytes = Buffer.from(bytes, 'latin1');
  }
}
/** A dictionary written in the given order (to make unsorted or duplicate keys). */
class Ordered {
  constructor(pairs) {
    this.pairs = pairs;
  }
}

function enc(v) {
  if (v instanceof Raw) return v.bytes;
  if (Buffer.isBuffer(v)) return Buffer.concat([Buffer.from(`${v.length}:`), v]);
  if (typeof v === 'string') return enc(Buffer.from(v, 'utf8'));
  if (typeof v === 'number' || typeof v === 'bigint') return Buffer.from(`i${v}e`);
  if (Array.isArray(v)) return Buffer.concat([Buffer.from('l'), ...v.map(enc), Buffer.from('e')]);
  const pairs = v instanceof Ordered ? v.pairs : Object.keys(v).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).map((k) => [k, v[k]]);
  const parts = [Buffer.from('d')];
  for (const [k, val] of pairs) {
    if (val === undefined) continue;
    parts.push(enc(Buffer.from(k, 'latin1')), enc(val));
  }
  parts.push(Buffer.from('e'));
  return Buffer.concat(parts);
}

const PIECE = 16384;
/** Fake but well-formed piece hashes: `n` × 20 bytes. */
const hashes = (n) => Buffer.alloc(n * 20, 0xab);

/** A valid multi-file torrent whose files are given as [pathComponents, length] (or objects). */
function multi(files, extra = {}, top = {}) {
  const total = files.reduce((s, f) => s + (Array.isArray(f) ? f[1] : typeof f.length === 'number' ? f.length : 0), 0);
  const list = files.map((f) => (Array.isArray(f) ? { length: f[1], path: f[0] } : f));
  return enc({
    announce: 'http://127.0.0.1:6969/announce',
    ...top,
    info: { name: 'hostile', 'piece length': PIECE, pieces: extra.pieces ?? hashes(Math.max(1, Math.ceil(total / PIECE))), files: list, ...extra },
  });
}

function single(extra = {}, top = {}) {
  const length = typeof extra.length === 'number' ? extra.length : 100000;
  return enc({
    announce: 'http://127.0.0.1:6969/announce',
    ...top,
    info: { name: 'file.bin', 'piece length': PIECE, pieces: 'pieces' in extra ? undefined : hashes(Math.ceil(length / PIECE)), length, ...extra },
  });
}

const raw = (s) => new Raw(s);
const sha1 = (b) => createHash('sha1').update(b).digest('hex');

// BEP 52 (v2 and hybrid torrents): a small merkle builder of its own, like the bencode writer above.
const sha256 = (...parts) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};
const BLOCK = 16384;
/** The root over `leaves` padded to `width` (a power of two) with `pad` and the pads above it. */
function merkle(leaves, width, pad = Buffer.alloc(32)) {
  let layer = leaves.length > 0 ? [...leaves] : [pad];
  let p = pad;
  for (let n = width; n > 1; n /= 2) {
    const next = [];
    for (let i = 0; i < layer.length; i += 2) next.push(sha256(layer[i], layer[i + 1] ?? p));
    layer = next;
    p = sha256(p, p);
  }
  return layer[0];
}
const pow2 = (n) => {
  let p = 1;
  while (p < n) p *= 2;
  return p;
};
/** A file's `pieces root` and (longer than a piece) its piece layer, from its bytes. */
function v2File(data, pieceLength = PIECE) {
  const blocks = [];
  for (let o = 0; o < data.length; o += BLOCK) blocks.push(sha256(data.subarray(o, o + BLOCK)));
  const perPiece = pieceLength / BLOCK;
  if (blocks.length <= perPiece) return { root: merkle(blocks, pow2(blocks.length)), layer: undefined };
  const pieces = [];
  for (let i = 0; i < blocks.length; i += perPiece) pieces.push(merkle(blocks.slice(i, i + perPiece), perPiece));
  let zeroPiece = Buffer.alloc(32);
  for (let n = perPiece; n > 1; n /= 2) zeroPiece = sha256(zeroPiece, zeroPiece);
  return { root: merkle(pieces, pow2(pieces.length), zeroPiece), layer: Buffer.concat(pieces) };
}
const V2_A = Buffer.alloc(40000, 0x61); // three pieces: has a layer
const V2_B = Buffer.alloc(100, 0x62); // within one piece: its root is its hash
const leaf = (length, root) => ({ '': { length, 'pieces root': root } });
/** A v2-only torrent of a folder with a.bin (V2_A) and sub/b.txt (V2_B); parts can be overridden. */
function v2({ tree, layers, info = {}, top = {} } = {}) {
  const a = v2File(V2_A);
  const b = v2File(V2_B);
  return enc({
    announce: 'http://127.0.0.1:6969/announce',
    ...top,
    info: { 'file tree': tree ?? { 'a.bin': leaf(V2_A.length, a.root), sub: { 'b.txt': leaf(V2_B.length, b.root) } }, 'meta version': 2, name: 'v2', 'piece length': PIECE, ...info },
    'piece layers': layers === undefined ? { [a.root.toString('latin1')]: a.layer } : layers,
  });
}
/** The same as a hybrid: v1 files (default: a padding file after a.bin), and SHA-1 pieces of their layout. */
function hybrid(
  files = [
    { length: V2_A.length, path: ['a.bin'] },
    { attr: 'p', length: PIECE - (V2_A.length % PIECE), path: ['.pad', String(PIECE - (V2_A.length % PIECE))] },
    { length: V2_B.length, path: ['sub', 'b.txt'] },
  ],
) {
  const a = v2File(V2_A);
  const content = Buffer.concat(files.map((f) => (f.attr === 'p' ? Buffer.alloc(f.length) : f.path[0] === 'a.bin' ? V2_A : Buffer.alloc(f.length, 0x62))));
  const pieces = [];
  for (let o = 0; o < content.length; o += PIECE) pieces.push(createHash('sha1').update(content.subarray(o, o + PIECE)).digest());
  return v2({
    info: { files, pieces: Buffer.concat(pieces) },
    layers: { [a.root.toString('latin1')]: a.layer },
  });
}

/**
 * Each case: file, bytes, code (the CodecError code it must give, or null when it must parse), and
 * optionally options for parseMetainfo, warnings that must appear, and facts to check.
 */
export function smallCases() {
  const cases = [];
  const add = (file, bytes, code, more = {}) => cases.push({ file, bytes, code, ...more });

  // #1 path traversal
  add('traversal-dotdot.torrent', multi([[['..', 'evil.sh'], 10]]), 'CODEC_PATH_TRAVERSAL');
  add('traversal-deep.torrent', multi([[['a', '..', '..', 'evil.sh'], 10]]), 'CODEC_PATH_TRAVERSAL');
  add('traversal-name.torrent', single({ name: '..' }), 'CODEC_PATH_TRAVERSAL');
  add('traversal-utf8-only.torrent', multi([{ length: 10, path: ['ok'], 'path.utf-8': ['..', 'x'] }]), 'CODEC_PATH_TRAVERSAL');
  // #2 absolute paths and separators
  add('absolute-slash.torrent', multi([[['/etc', 'passwd'], 10]]), 'CODEC_UNSAFE_PATH');
  add('separator-in-component.torrent', multi([[['a/b'], 10]]), 'CODEC_UNSAFE_PATH');
  add('backslash-in-component.torrent', multi([[['..\\..\\evil'], 10]]), 'CODEC_UNSAFE_PATH');
  add('drive-letter.torrent', multi([[['C:', 'Windows'], 10]]), 'CODEC_UNSAFE_PATH');
  add('absolute-name.torrent', single({ name: '/tmp/evil' }), 'CODEC_UNSAFE_PATH');
  add('empty-name.torrent', single({ name: '' }), 'CODEC_UNSAFE_PATH');
  // #3 NUL is rejected; control characters and Windows names are renamed (or rejected on request)
  add('nul-in-component.torrent', multi([[['a\0b'], 10]]), 'CODEC_UNSAFE_PATH');
  add('empty-component.torrent', multi([[['a', '', 'b'], 10]]), 'CODEC_UNSAFE_PATH');
  add('dot-component.torrent', multi([[['a', '.', 'b'], 10]]), 'CODEC_UNSAFE_PATH');
  add('empty-path.torrent', multi([[[], 10]]), 'CODEC_UNSAFE_PATH');
  const windows = multi([
    [['CON'], 1],
    [['nul.txt'], 1],
    [['a<b>c:d"e|f?g*h'], 1],
    [['trailing. '], 1],
    [['ctl\x01\x1b[31m'], 1],
  ]);
  add('windows-names.torrent', windows, null, {
    warnings: ['WARN_PATH_RENAMED'],
    safePaths: [
      ['hostile', '_CON'],
      ['hostile', '_nul.txt'],
      ['hostile', 'a_b_c_d_e_f_g_h'],
      ['hostile', 'trailing__'],
      ['hostile', 'ctl__[31m'],
    ],
  });
  add('windows-names-rejected.torrent', windows, 'CODEC_UNSAFE_PATH', { options: { rejectWindowsReserved: true } });
  // #5 duplicates
  add('duplicate-path.torrent', multi([[['a', 'x'], 10], [['a', 'x'], 10]]), 'CODEC_DUPLICATE_PATH');
  add('duplicate-after-rename.torrent', multi([[['a?'], 10], [['a_'], 10]]), 'CODEC_DUPLICATE_PATH');
  add('file-and-folder.torrent', multi([[['a'], 10], [['a', 'b'], 10]]), 'CODEC_DUPLICATE_PATH');
  add('case-folded-duplicate.torrent', multi([[['Readme.txt'], 10], [['README.TXT'], 10]]), null, { warnings: ['WARN_CASE_FOLDED_DUPLICATE'] });
  add(
    'padding-same-names.torrent',
    multi([
      [['a'], 10],
      { length: PIECE - 10, path: ['.pad', String(PIECE - 10)], attr: 'p' },
      [['b'], 10],
      { length: PIECE - 10, path: ['.pad', String(PIECE - 10)], attr: 'p' },
      [['c'], 10],
    ]),
    null,
    { paddingFiles: 2 },
  );
  // #6 depth and long names
  add('too-deep-path.torrent', multi([[Array.from({ length: 101 }, (_, i) => `d${i}`), 10]]), 'CODEC_PATH_TOO_DEEP');
  add('long-name.torrent', multi([[['é'.repeat(200) + '.mkv'], 10]]), null, { warnings: ['WARN_PATH_RENAMED'], maxNameBytes: 255 });
  // #7 invalid UTF-8: shown with U+FFFD, hashed raw
  add('invalid-utf8-name.torrent', single({ name: Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x74]) }), null, { warnings: ['WARN_INVALID_UTF8'] });
  // #8 deep nesting
  add('deep-nesting.torrent', Buffer.concat([Buffer.from('d4:info'), Buffer.alloc(20000, 'l'), Buffer.alloc(20000, 'e'), Buffer.from('e')]), 'CODEC_TOO_DEEP');
  // #9 non-canonical bencode
  add('leading-zero-int.torrent', enc({ info: new Ordered([['length', raw('i0100e')], ['name', 'x'], ['piece length', PIECE], ['pieces', hashes(1)]]) }), 'CODEC_LEADING_ZERO');
  add('leading-zero-strlen.torrent', enc({ info: new Ordered([['length', 100], ['name', raw('01:x')], ['piece length', PIECE], ['pieces', hashes(1)]]) }), 'CODEC_LEADING_ZERO');
  add('negative-zero.torrent', enc({ info: new Ordered([['length', 100], ['name', 'x'], ['piece length', raw('i-0e')], ['pieces', hashes(1)]]) }), 'CODEC_NEGATIVE_ZERO');
  add('duplicate-keys.torrent', enc({ info: new Ordered([['length', 100], ['name', 'x'], ['name', 'y'], ['piece length', PIECE], ['pieces', hashes(1)]]) }), 'CODEC_DUPLICATE_KEY');
  add('trailing-bytes.torrent', Buffer.concat([single(), Buffer.from('garbage')]), 'CODEC_TRAILING_DATA');
  add('truncated.torrent', single().subarray(0, 120), 'CODEC_TRUNCATED');
  add('not-bencode.torrent', Buffer.from('<html>not a torrent</html>'), 'CODEC_BAD_SYNTAX');
  // #9 and #12: unsorted keys are a warning in lenient mode, an error in strict; the hash covers the raw bytes
  const infoUnsorted = enc(new Ordered([['pieces', hashes(7)], ['piece length', PIECE], ['name', 'unsorted.bin'], ['length', 100000]]));
  const unsorted = Buffer.concat([Buffer.from('d8:announce30:http://127.0.0.1:6969/announce4:info'), infoUnsorted, Buffer.from('e')]);
  const resorted = enc({ length: 100000, name: 'unsorted.bin', 'piece length': PIECE, pieces: hashes(7) });
  add('unsorted-keys.torrent', unsorted, null, { warnings: ['WARN_UNSORTED_KEYS'], infoHash: sha1(infoUnsorted), reencodedInfoHash: sha1(resorted) });
  add('unsorted-keys-strict.torrent', unsorted, 'CODEC_UNSORTED_KEYS', { options: { mode: 'strict' } });
  // #10 lengths beyond the buffer or 2^53
  add('string-length-overflow.torrent', enc({ info: new Ordered([['length', 100], ['name', raw('999999999:x')]]) }), 'CODEC_TRUNCATED');
  add('string-length-huge.torrent', enc({ info: new Ordered([['name', raw('99999999999999999999999:x')]]) }), 'CODEC_TRUNCATED');
  add('length-beyond-2-53.torrent', single({ length: 9007199254740993n, pieces: hashes(1) }), 'CODEC_BAD_LENGTH');
  add('file-length-beyond-2-53.torrent', multi([{ length: 2n ** 60n, path: ['big'] }]), 'CODEC_BAD_LENGTH');
  add('total-length-beyond-2-53.torrent', multi([[['a'], 2 ** 52], [['b'], 2 ** 52], [['c'], 2 ** 52]].map(([p, l]) => ({ length: l, path: p })), { pieces: hashes(1) }), 'CODEC_BAD_LENGTH');
  // #11 prototype keys
  add(
    'proto-keys.torrent',
    enc({
      ...Object.fromEntries([['__proto__', { polluted: 1 }], ['constructor', { prototype: { polluted: 1 } }]]),
      announce: 'http://127.0.0.1:6969/announce',
      info: { name: 'proto.bin', length: 100, 'piece length': PIECE, pieces: hashes(1), ['__proto__']: { polluted: 1 } },
    }),
    null,
    { warnings: ['WARN_UNKNOWN_KEY'] },
  );
  // #13 piece length
  add('piece-length-zero.torrent', single({ 'piece length': 0 }), 'CODEC_BAD_PIECE_LENGTH');
  add('piece-length-negative.torrent', single({ 'piece length': -16384 }), 'CODEC_BAD_PIECE_LENGTH');
  add('piece-length-huge.torrent', single({ 'piece length': 2 ** 30, pieces: hashes(1) }), 'CODEC_BAD_PIECE_LENGTH');
  add('piece-length-beyond-2-53.torrent', single({ 'piece length': 2n ** 64n }), 'CODEC_BAD_PIECE_LENGTH');
  add('piece-length-missing.torrent', single({ 'piece length': undefined }), 'CODEC_MISSING_FIELD');
  add('piece-length-string.torrent', single({ 'piece length': '16384' }), 'CODEC_WRONG_TYPE');
  add('piece-length-not-power-of-two.torrent', single({ 'piece length': 20000, pieces: hashes(5) }), null, { warnings: ['WARN_PIECE_LENGTH_NOT_POWER_OF_TWO'] });
  // #14 pieces
  add('pieces-unaligned.torrent', single({ pieces: Buffer.alloc(19 + 20 * 6) }), 'CODEC_BAD_PIECES');
  add('pieces-too-few.torrent', single({ pieces: hashes(3) }), 'CODEC_BAD_PIECES');
  add('pieces-too-many.torrent', single({ pieces: hashes(9) }), 'CODEC_BAD_PIECES');
  add('pieces-missing.torrent', single({ pieces: undefined }), 'CODEC_MISSING_FIELD');
  // #15 lengths
  add('length-negative.torrent', single({ length: -1, pieces: hashes(1) }), 'CODEC_BAD_LENGTH');
  add('length-zero.torrent', single({ length: 0, pieces: Buffer.alloc(0) }), 'CODEC_BAD_LENGTH');
  add('file-length-negative.torrent', multi([[['a'], 100], { length: -5, path: ['b'] }]), 'CODEC_BAD_LENGTH');
  // #16 token limit (the 3M default is tested in memory; here a small limit)
  add('many-tokens.torrent', single({}, { junk: Array.from({ length: 5000 }, () => 0) }), 'CODEC_TOO_MANY_TOKENS', { options: { maxTokens: 1000 } });
  // structure and types
  add('root-not-dict.torrent', enc(['info']), 'CODEC_WRONG_TYPE');
  add('info-missing.torrent', enc({ announce: 'http://127.0.0.1:6969/announce' }), 'CODEC_MISSING_FIELD');
  add('info-not-dict.torrent', enc({ info: 'x' }), 'CODEC_WRONG_TYPE');
  add('name-integer.torrent', single({ name: 42 }), 'CODEC_WRONG_TYPE');
  add('files-not-list.torrent', multi([[['a'], 10]], { files: 'a' }), 'CODEC_WRONG_TYPE');
  add('files-empty.torrent', multi([[['a'], 10]], { files: [] }), 'CODEC_EMPTY_FILE_LIST');
  add('path-element-integer.torrent', multi([[['a', 7], 10]]), 'CODEC_WRONG_TYPE');
  add('length-and-files.torrent', multi([[['a'], 10]], { length: 10 }), 'CODEC_BAD_METAINFO');
  add('neither-length-nor-files.torrent', single({ length: undefined }), 'CODEC_MISSING_FIELD');
  add('private-outside-info.torrent', single({}, { private: 1 }), null, { warnings: ['WARN_PRIVATE_OUTSIDE_INFO'], private: false });
  add('future-creation-date.torrent', single({}, { 'creation date': 4102444800 }), null, { warnings: ['WARN_FUTURE_CREATION_DATE'] });
  add('no-announce.torrent', single({}, { announce: undefined }), null, { warnings: ['WARN_NO_ANNOUNCE'] });

  // BEP 52: v2-only and hybrid torrents (refused unless a tool allows v2-only ones).
  const V2OK = { allowV2Only: true };
  const a = v2File(V2_A);
  const b = v2File(V2_B);
  add('v2-valid.torrent', v2(), null, { options: V2OK });
  add('v2-only-unsupported.torrent', v2(), 'CODEC_V2_UNSUPPORTED', { options: { allowV2Only: false } });
  add('v2-hybrid-valid.torrent', hybrid(), null, { paddingFiles: 1 });
  add('v2-layers-missing.torrent', v2({ layers: {} }), null, { options: V2OK, warnings: ['WARN_MISSING_PIECE_LAYER'] });
  add('v2-layer-wrong-size.torrent', v2({ layers: { [a.root.toString('latin1')]: a.layer.subarray(0, 64) } }), 'CODEC_BAD_PIECE_LAYERS', { options: V2OK });
  const flipped = Buffer.from(a.layer);
  flipped[40] ^= 1;
  add('v2-layer-root-mismatch.torrent', v2({ layers: { [a.root.toString('latin1')]: flipped } }), 'CODEC_BAD_PIECE_LAYERS', { options: V2OK });
  add('v2-pieces-root-short.torrent', v2({ tree: { 'a.bin': leaf(V2_A.length, a.root.subarray(0, 31)) } }), 'CODEC_BAD_PIECES_ROOT', { options: V2OK });
  add('v2-traversal.torrent', v2({ tree: { '..': { 'evil.sh': leaf(V2_B.length, b.root) } } }), 'CODEC_PATH_TRAVERSAL', { options: V2OK });
  add('v2-slash-in-name.torrent', v2({ tree: { 'a/../../x': leaf(V2_B.length, b.root) } }), 'CODEC_UNSAFE_PATH', { options: V2OK });
  add(
    'v2-duplicate-name.torrent',
    v2({ tree: new Ordered([['b.txt', leaf(V2_B.length, b.root)], ['b.txt', leaf(V2_B.length, b.root)]]) }),
    'CODEC_DUPLICATE_KEY',
    { options: V2OK },
  );
  let deep = leaf(V2_B.length, b.root);
  for (let i = 0; i < 120; i++) deep = { d: deep };
  add('v2-absurd-depth.torrent', v2({ tree: deep }), 'CODEC_TOO_DEEP', { options: V2OK });
  add('v2-meta-version-3.torrent', v2({ info: { 'meta version': 3 } }), 'CODEC_BAD_META_VERSION', { options: V2OK });
  add('v2-piece-length-not-power-of-two.torrent', v2({ info: { 'piece length': 3 * PIECE } }), 'CODEC_BAD_PIECE_LENGTH', { options: V2OK });
  add('v2-empty-tree.torrent', v2({ tree: {} }), 'CODEC_EMPTY_FILE_LIST', { options: V2OK });
  add('v2-tree-not-dict.torrent', v2({ tree: 'x' }), 'CODEC_BAD_FILE_TREE', { options: V2OK });
  add(
    'v2-hybrid-length-mismatch.torrent',
    hybrid([
      { length: V2_A.length, path: ['a.bin'] },
      { attr: 'p', length: PIECE - (V2_A.length % PIECE), path: ['.pad', 'x'] },
      { length: V2_B.length + 1, path: ['sub', 'b.txt'] },
    ]),
    'CODEC_HYBRID_MISMATCH',
  );
  add(
    'v2-hybrid-unpadded.torrent',
    hybrid([
      { length: V2_A.length, path: ['a.bin'] },
      { length: V2_B.length, path: ['sub', 'b.txt'] },
    ]),
    'CODEC_HYBRID_MISMATCH',
  );
  add(
    'v2-hybrid-other-names.torrent',
    hybrid([
      { length: V2_A.length, path: ['a.bin'] },
      { attr: 'p', length: PIECE - (V2_A.length % PIECE), path: ['.pad', 'x'] },
      { length: V2_B.length, path: ['sub', 'c.txt'] },
    ]),
    'CODEC_HYBRID_MISMATCH',
  );
  return cases.map((c) => ({ ...c, bytes: Buffer.from(c.bytes) }));
}

/** Cases too large to commit: built in memory by the tests. */
export function bigCases() {
  const over10MB = single({}, { padding: Buffer.alloc(10 * 1024 * 1024) });
  // 'i0e' is 3 bytes: 3.2M integers fit in under 10 MB but exceed the 3M-token limit.
  const tokens = Buffer.concat([Buffer.from('d4:junkl'), Buffer.alloc(3_200_000 * 3, 'i0e'), Buffer.from('ee')]);
  const pieces = 0x200001;
  const manyPieces = single({ length: pieces, 'piece length': 1, pieces: hashes(pieces) });
  return [
    { file: 'over-10MB.torrent', bytes: over10MB, code: 'CODEC_TOO_LARGE' },
    { file: 'over-3M-tokens.torrent', bytes: tokens, code: 'CODEC_TOO_MANY_TOKENS' },
    // Over 10 MB too, so the size limit is raised to reach the piece-count check.
    { file: 'over-0x200000-pieces.torrent', bytes: manyPieces, code: 'CODEC_TOO_MANY_PIECES', options: { maxBytes: 64 * 1024 * 1024 } },
  ];
}

/** Hostile magnet links (RELIABILITY #17): code null means it parses, maybe with warnings. */
export function magnetCases() {
  const h = 'd2474e86c95b19b8bcfdb92bc12c9d44667cfa36';
  return [
    { uri: 'http://example.invalid/?xt=urn:btih:' + h, code: 'CODEC_BAD_MAGNET' },
    { uri: 'magnet:?dn=no-hash', code: 'CODEC_BAD_MAGNET' },
    { uri: 'magnet:?xt=urn:btih:' + h.slice(1), code: 'CODEC_BAD_MAGNET' },
    { uri: 'magnet:?xt=urn:btih:' + h.replace('d', 'g'), code: 'CODEC_BAD_MAGNET' },
    { uri: 'magnet:?xt=urn:btih:2JDU5BWJLMM3RPG5XEJMFHE2IRTG7JR1', code: 'CODEC_BAD_MAGNET' },
    { uri: 'magnet:?xt=urn:btih:2JDU5BWJLMM3RPG5XEJMFHE2IRTG7JR', code: 'CODEC_BAD_MAGNET' },
    { uri: `magnet:?xt=urn:btih:${h}&xt=urn:btih:${'0'.repeat(40)}`, code: 'CODEC_BAD_MAGNET' },
    { uri: `magnet:?xt=urn:btih:${h}&dn=%E0%A4%A`, code: 'CODEC_BAD_MAGNET' },
    { uri: `magnet:?xt=urn:btih:${h}&so=1-0`, code: 'CODEC_BAD_MAGNET' },
    { uri: `magnet:?xt=urn:btih:${h}&so=a,b`, code: 'CODEC_BAD_MAGNET' },
    { uri: 'magnet:?xt=urn:btmh:1220' + 'ab'.repeat(32), code: 'CODEC_V2_UNSUPPORTED' },
    { uri: `magnet:?xt=urn:btih:${h}&` + 'x='.repeat(40000), code: 'CODEC_BAD_MAGNET' },
    {
      uri: `magnet:?xt=urn:btih:${h}` + Array.from({ length: 500 }, (_, i) => `&tr=udp%3A%2F%2F127.0.0.1%3A${1000 + i}`).join(''),
      code: null,
      warnings: ['WARN_MAGNET_CAPPED'],
      trackers: 64,
    },
    { uri: `magnet:?xt=urn:btih:${h}&tr=http%3A%2F%2Fb%C3%BCcher.example%2Fannounce`, code: null, warnings: ['WARN_BAD_TRACKER_URL'], trackers: 0 },
    { uri: `magnet:?xt=urn:btih:${h}&tr=http%3A%2F%2Fxn--bcher-kva.example%2Fannounce`, code: null, warnings: ['WARN_BAD_TRACKER_URL'], trackers: 0 },
    { uri: `magnet:?xt=urn:btih:${h}&tr=file%3A%2F%2F%2Fetc%2Fpasswd`, code: null, warnings: ['WARN_BAD_TRACKER_URL'], trackers: 0 },
    { uri: `magnet:?xt=urn:btih:${h}&x.pe=127.0.0.1:0&x.pe=127.0.0.1:99999`, code: null, warnings: ['WARN_MAGNET_UNKNOWN_PARAM'], peers: 0 },
  ];
}

function main() {
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = join(here, 'torrents', 'hostile');
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith('.torrent')) rmSync(join(dir, f));
  const manifest = {};
  for (const c of smallCases()) {
    writeFileSync(join(dir, c.file), c.bytes);
    const { file, bytes, ...rest } = c;
    manifest[file] = rest;
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  writeFileSync(join(dir, 'magnets.json'), JSON.stringify(magnetCases(), null, 2) + '\n');
  console.log(`wrote ${Object.keys(manifest).length} torrents and the manifest to ${dir}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
