import { createHash } from 'node:crypto';
import { asBytes, typeName, wrongType } from '../bencode/access.js';
import { decode } from '../bencode/decode.js';
import { BDict, type BValue } from '../bencode/types.js';
import { CodecError } from '../errors.js';
import { infoHashBase32, infoHashFromBytes, infoHashHex, INFO_HASH_BYTES } from '../ids.js';
import { optionalText, reqLength, text, warnUnknownKeys } from './fields.js';
import { checkComponents, checkDuplicates, parseFiles } from './files.js';
import { pieceSize } from './geometry.js';
import { Problems } from './problems.js';
import { safeFileName } from './safe-path.js';
import { parseTrackers, parseWebSeeds } from './trackers.js';
import type { Metainfo, MetainfoFields, MetainfoFile, MetainfoReport, MetainfoV2, MetainfoV2File, ParsedMetainfo, ParseMetainfoOptions } from './types.js';
import { attachLayers, checkV2PieceLength, layoutV2Only, matchHybrid, parseFileTree, type FileTree } from './v2.js';

/** A .torrent larger than this is refused before decoding (RELIABILITY #16, lt `max_buffer_size`). */
export const MAX_TORRENT_BYTES = 10 * 1024 * 1024;
/** libtorrent's default decode token limit (RELIABILITY #16). */
export const MAX_TORRENT_TOKENS = 3_000_000;
/** BEP 3 leaves piece length open; above 512 MiB no client copes (RELIABILITY #13, lt `large_piece_size`). */
export const MAX_PIECE_LENGTH_BYTES = 512 * 1024 * 1024;
/** Smaller pieces are legal but unusual: BEP 52 sets 16 KiB as the minimum, so we warn below it. */
export const MIN_USUAL_PIECE_LENGTH_BYTES = 16 * 1024;
/** libtorrent's `max_pieces` default (RELIABILITY #15). */
export const MAX_PIECES = 0x200000;
/** BitTorrent's first release (July 2001), in ms: no torrent was made before it. */
const FIRST_TORRENT_MS = Date.UTC(2001, 6, 2);
/** BEP 3: each piece hash is a 20-byte SHA-1. */
const PIECE_HASH_BYTES = 20;

const TOP_LEVEL_KEYS = new Set([
  'announce',
  'announce-list',
  'comment',
  'comment.utf-8',
  'created by',
  'created by.utf-8',
  'creation date',
  'encoding',
  'info',
  'url-list',
  'httpseeds',
  'nodes',
  'publisher',
  'publisher.utf-8',
  'publisher-url',
  'publisher-url.utf-8',
  'piece layers',
  'locale',
  'title',
]);
const INFO_KEYS = new Set([
  'name',
  'name.utf-8',
  'piece length',
  'pieces',
  'length',
  'files',
  'private',
  'md5sum',
  'source',
  'attr',
  'sha1',
  'symlink path',
  'file tree',
  'meta version',
  'crc32',
  'ed2k',
  'filehash',
  'mtime',
]);

/**
 * Looks for a dictionary whose keys were not in canonical order (lenient decoding allows it) and
 * names it. The path is built only on the way back from a hit, so a clean walk allocates nothing.
 */
function firstUnsorted(v: BValue): string[] | undefined {
  if (v instanceof BDict) {
    if (!v.sorted) return [];
    for (const [k, e] of v.entries) {
      if (!(e.value instanceof BDict) && !Array.isArray(e.value)) continue;
      const r = firstUnsorted(e.value);
      if (r !== undefined) return [`.${k}`, ...r];
    }
  } else if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const item = v[i]!;
      if (!(item instanceof BDict) && !Array.isArray(item)) continue;
      const r = firstUnsorted(item);
      if (r !== undefined) return [`[${i}]`, ...r];
    }
  }
  return undefined;
}

interface InfoResult {
  version: 'v1' | 'v2' | 'hybrid';
  v2Files: MetainfoV2File[] | undefined;
  name: string;
  rawName: Buffer;
  pieceLength: number;
  pieces: Buffer;
  pieceCount: number;
  totalLength: number;
  multiFile: boolean;
  files: MetainfoFile[];
  private: boolean;
  source: string | undefined;
}

/** The top-level `piece layers` of a .torrent (undefined for a bare info dictionary). */
interface Layers {
  readonly value: BValue | undefined;
  readonly fromTorrentFile: boolean;
}

/** `meta version` and `file tree` (BEP 52): the tree when the torrent has a v2 side. */
function parseV2Side(info: BDict, pieceLength: number | undefined, problems: Problems, opts: ParseMetainfoOptions): FileTree | undefined {
  const mv = info.get('meta version');
  if (mv === undefined) {
    if (info.has('file tree')) problems.warn('WARN_BAD_OPTIONAL_FIELD', 'info.file tree without meta version 2 is ignored', 'info.file tree');
    return undefined;
  }
  if (mv !== 2) {
    problems.error(
      'CODEC_BAD_META_VERSION',
      `info.meta version is ${typeof mv === 'number' ? mv : typeName(mv)}: tc reads version 2 (BEP 52)`,
      'info.meta version',
    );
    return undefined;
  }
  if (!info.has('pieces') && opts.allowV2Only !== true) {
    problems.fatal('CODEC_V2_UNSUPPORTED', 'v2-only torrents (BEP 52) are not supported yet: tc downloads v1 and hybrid torrents', 'info.meta version');
  }
  if (pieceLength !== undefined) checkV2PieceLength(pieceLength, problems);
  return parseFileTree(info, problems, opts);
}

function parseInfo(info: BDict, problems: Problems, opts: ParseMetainfoOptions, layers: Layers): InfoResult {
  warnUnknownKeys(info, INFO_KEYS, 'info.', problems);
  const rawName = problems.attempt(() => asBytes(info.get('name'), 'info.name'));
  let nameBytes = rawName;
  const altName = info.get('name.utf-8');
  if (altName !== undefined) {
    if (Buffer.isBuffer(altName)) nameBytes = altName;
    else problems.warn('WARN_BAD_OPTIONAL_FIELD', 'info.name.utf-8 is not a byte string; using info.name', 'info.name.utf-8');
  }
  if (rawName) checkComponents([rawName], 'info.name', problems, opts);
  if (nameBytes && nameBytes !== rawName) checkComponents([nameBytes], 'info.name.utf-8', problems, opts);
  const name = nameBytes ? text(nameBytes, 'info.name', problems) : '';

  const pieceLength = problems.attempt(() => {
    const v = info.get('piece length');
    if (v === undefined || (typeof v !== 'number' && typeof v !== 'bigint')) throw wrongType('info.piece length', 'an integer', v);
    if (typeof v === 'bigint' || v <= 0 || v > MAX_PIECE_LENGTH_BYTES) {
      throw new CodecError('CODEC_BAD_PIECE_LENGTH', `info.piece length is ${v}, outside 1..${MAX_PIECE_LENGTH_BYTES}`, { field: 'info.piece length' });
    }
    return v;
  });
  if (pieceLength !== undefined) {
    if ((pieceLength & (pieceLength - 1)) !== 0) {
      problems.warn('WARN_PIECE_LENGTH_NOT_POWER_OF_TWO', `info.piece length ${pieceLength} is not a power of two`, 'info.piece length');
    }
    if (pieceLength < MIN_USUAL_PIECE_LENGTH_BYTES) {
      problems.warn('WARN_PIECE_LENGTH_SMALL', `info.piece length ${pieceLength} is below 16 KiB`, 'info.piece length');
    }
  }

  const tree = parseV2Side(info, pieceLength, problems, opts);
  if (tree && !info.has('pieces')) return parseV2Only(info, tree, name, rawName, pieceLength, problems, layers);

  const pieces = problems.attempt(() => {
    const p = asBytes(info.get('pieces'), 'info.pieces');
    if (p.length % PIECE_HASH_BYTES !== 0) {
      throw new CodecError('CODEC_BAD_PIECES', `info.pieces is ${p.length} bytes, not a multiple of ${PIECE_HASH_BYTES}`, { field: 'info.pieces' });
    }
    if (p.length / PIECE_HASH_BYTES > MAX_PIECES) {
      throw new CodecError('CODEC_TOO_MANY_PIECES', `info.pieces holds ${p.length / PIECE_HASH_BYTES} hashes, more than ${MAX_PIECES}`, {
        field: 'info.pieces',
      });
    }
    return p;
  });

  let files: MetainfoFile[] | undefined;
  let totalLength: number | undefined;
  const multiFile = info.has('files');
  if (multiFile && info.has('length')) {
    problems.error('CODEC_BAD_METAINFO', 'info has both length and files', 'info');
  }
  if (multiFile) {
    const parsed = parseFiles(info, name, problems, opts);
    files = parsed?.files;
    totalLength = parsed?.total;
    if (files) checkDuplicates(files, problems);
  } else if (!info.has('length')) {
    problems.error('CODEC_MISSING_FIELD', 'info has neither length nor files', 'info.length');
  } else {
    const length = problems.attempt(() => reqLength(info.get('length'), 'info.length'));
    if (length !== undefined && rawName !== undefined && nameBytes !== undefined) {
      const attrRaw = info.get('attr');
      const attr = Buffer.isBuffer(attrRaw) ? attrRaw.toString('latin1') : '';
      files = [{ index: 0, path: [name], safePath: [safeFileName(name)], rawPath: [rawName], length, offset: 0, padding: false, attr }];
    }
    totalLength = length;
  }

  if (totalLength === 0) problems.error('CODEC_BAD_LENGTH', 'the torrent holds no data (total length 0)', multiFile ? 'info.files' : 'info.length');
  let pieceCount = 0;
  if (pieces) {
    pieceCount = pieces.length / PIECE_HASH_BYTES;
    if (totalLength !== undefined && pieceLength !== undefined && totalLength > 0) {
      const expected = Math.ceil(totalLength / pieceLength);
      if (expected !== pieceCount) {
        problems.error(
          'CODEC_BAD_PIECES',
          `info.pieces holds ${pieceCount} hashes but ${totalLength} bytes in pieces of ${pieceLength} need ${expected}`,
          'info.pieces',
        );
      }
    }
  }

  const isPrivate = readPrivate(info, problems);
  const source = optionalText(info, 'source', 'info.', problems);

  let v2Files: MetainfoV2File[] | undefined;
  if (tree && problems.errors.length === 0) {
    const index = matchHybrid(files!, multiFile, tree, pieceLength!, problems);
    if (index)
      v2Files = attachLayers(
        layers.value,
        tree.leaves,
        index,
        index.map((i) => files![i]!.offset),
        pieceLength!,
        layers.fromTorrentFile,
        problems,
      );
  }
  if (problems.errors.length > 0) throw problems.toError();
  warnRenames(files!, multiFile, problems);
  return {
    version: tree ? 'hybrid' : 'v1',
    v2Files,
    name,
    rawName: rawName!,
    pieceLength: pieceLength!,
    pieces: pieces!,
    pieceCount,
    totalLength: totalLength!,
    multiFile,
    files: files!,
    private: isPrivate,
    source,
  };
}

interface TopLevel {
  announce: string | undefined;
  announceTiers: string[][];
  webSeeds: string[];
  comment: string | undefined;
  createdBy: string | undefined;
  creationDate: Date | undefined;
}

function parseTopLevel(root: BDict, problems: Problems, opts: ParseMetainfoOptions): TopLevel {
  warnUnknownKeys(root, TOP_LEVEL_KEYS, '', problems);
  const { announce, tiers } = parseTrackers(root, problems);
  const webSeeds = parseWebSeeds(root, problems);
  if (tiers.length === 0 && webSeeds.length === 0) {
    problems.warn('WARN_NO_ANNOUNCE', 'no usable tracker or web seed: peers can come only from DHT, PEX or by hand', 'announce');
  }
  if (root.has('private')) {
    // transmission #7302: a top-level private flag is not covered by the info-hash, so it means nothing.
    problems.warn('WARN_PRIVATE_OUTSIDE_INFO', 'private is outside info and is ignored', 'private');
  }
  let creationDate: Date | undefined;
  const cd = root.get('creation date');
  if (cd !== undefined) {
    if (typeof cd !== 'number' || cd < 0) {
      problems.warn('WARN_BAD_OPTIONAL_FIELD', 'creation date should be a non-negative integer (seconds); ignored', 'creation date');
    } else {
      creationDate = new Date(cd * 1000);
      const now = opts.now ?? new Date();
      if (Number.isNaN(creationDate.getTime())) {
        creationDate = undefined;
        problems.warn('WARN_BAD_OPTIONAL_FIELD', 'creation date is out of range; ignored', 'creation date');
      } else if (creationDate.getTime() > now.getTime()) {
        // Some tools (webtorrent's create-torrent, for one) write milliseconds: read as seconds that is
        // tens of thousands of years ahead, read as milliseconds a plausible past date.
        const asMs = new Date(cd);
        if (cd >= FIRST_TORRENT_MS && asMs.getTime() <= now.getTime()) {
          creationDate = asMs;
          problems.warn('WARN_CREATION_DATE_IN_MS', `creation date is in milliseconds, not seconds: read as ${asMs.toISOString()}`, 'creation date');
        } else {
          problems.warn('WARN_FUTURE_CREATION_DATE', `creation date ${creationDate.toISOString()} is in the future`, 'creation date');
        }
      }
    }
  }
  return {
    announce,
    announceTiers: tiers,
    webSeeds,
    comment: optionalText(root, 'comment', '', problems),
    createdBy: optionalText(root, 'created by', '', problems),
    creationDate,
  };
}

function build(raw: BDict, torrentBytes: Buffer | undefined, info: BDict, infoBytes: Buffer, r: InfoResult, top: TopLevel): Metainfo {
  const { pieceLength, pieceCount, totalLength, pieces } = r;
  let v2: MetainfoV2 | undefined;
  if (r.v2Files) {
    const sha256 = createHash('sha256').update(infoBytes).digest();
    v2 = Object.freeze({
      infoHash: sha256,
      infoHashHex: sha256.toString('hex'),
      truncatedInfoHash: infoHashFromBytes(sha256.subarray(0, INFO_HASH_BYTES)),
      files: Object.freeze(r.v2Files.map((f) => Object.freeze(f))),
      layersComplete: r.v2Files.every((f) => f.layerState !== 'missing'),
    });
  }
  const infoHash = r.version === 'v2' ? v2!.truncatedInfoHash : infoHashFromBytes(createHash('sha1').update(infoBytes).digest());
  const fields: MetainfoFields = {
    version: r.version,
    v2,
    infoHash,
    infoHashHex: infoHashHex(infoHash),
    infoHashBase32: infoHashBase32(infoHash),
    infoBytes,
    name: r.name,
    safeName: safeFileName(r.name),
    rawName: r.rawName,
    pieceLength,
    pieceCount,
    pieces,
    totalLength,
    multiFile: r.multiFile,
    files: Object.freeze(r.files.map((f) => Object.freeze(f))),
    private: r.private,
    announce: top.announce,
    announceTiers: top.announceTiers,
    webSeeds: top.webSeeds,
    comment: top.comment,
    createdBy: top.createdBy,
    creationDate: top.creationDate,
    source: r.source,
    torrentBytes,
    raw,
    info,
    pieceHash(index: number): Buffer {
      if (r.version === 'v2') throw new RangeError('a v2-only torrent has no SHA-1 piece hashes');
      if (!Number.isInteger(index) || index < 0 || index >= pieceCount) throw new RangeError(`piece ${index} is outside 0..${pieceCount - 1}`);
      return pieces.subarray(index * INFO_HASH_BYTES, (index + 1) * INFO_HASH_BYTES);
    },
    pieceSize(index: number): number {
      return pieceSize(fields, index);
    },
  };
  return Object.freeze(fields) as Metainfo; // the brand is type-only: this is the one place that asserts it
}

function decodeTorrent(bytes: Uint8Array, opts: ParseMetainfoOptions, problems: Problems): BDict {
  const root = decode(bytes, {
    mode: opts.mode ?? 'lenient',
    maxBytes: opts.maxBytes ?? MAX_TORRENT_BYTES,
    maxTokens: opts.maxTokens ?? MAX_TORRENT_TOKENS,
  });
  if (!(root instanceof BDict)) problems.fatal('CODEC_WRONG_TYPE', `a torrent should be a dictionary but is ${typeName(root)}`, '');
  const unsorted = firstUnsorted(root);
  if (unsorted !== undefined) {
    const field = unsorted.join('').replace(/^\./, '') || '(top level)';
    problems.warn('WARN_UNSORTED_KEYS', `keys of ${field} are not in canonical order (the info-hash is still taken over the raw bytes)`, field);
  }
  return root;
}

function run(bytes: Uint8Array, opts: ParseMetainfoOptions, problems: Problems): Metainfo {
  const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const root = decodeTorrent(buf, opts, problems);
  const infoValue = root.get('info');
  if (!(infoValue instanceof BDict)) {
    const e = wrongType('info', 'a dictionary', infoValue);
    problems.fatal(e.code, e.message, 'info');
  }
  const span = root.span('info')!;
  // RELIABILITY #12: hash the info bytes exactly as read, never a re-encoding.
  const infoBytes = buf.subarray(span.start, span.end);
  const top = parseTopLevel(root, problems, opts);
  const info = parseInfo(infoValue, problems, opts, { value: root.get('piece layers'), fromTorrentFile: true });
  return build(root, buf, infoValue, infoBytes, info, top);
}

/**
 * Parses and validates a .torrent (BEP 3, 12, 19, 27, 47). Throws a CodecError (the first hard
 * problem, with all of them in `problems`); returns the metainfo and the warnings otherwise.
 */
export function parseMetainfo(bytes: Uint8Array, opts: ParseMetainfoOptions = {}): ParsedMetainfo {
  const problems = new Problems();
  const metainfo = run(bytes, opts, problems);
  problems.finish();
  return { metainfo, warnings: problems.warnings };
}

/** Like parseMetainfo but never throws for bad input: every error and warning in one report (for validators). */
export function inspectMetainfo(bytes: Uint8Array, opts: ParseMetainfoOptions = {}): MetainfoReport {
  const problems = new Problems();
  try {
    const metainfo = run(bytes, opts, problems);
    problems.finish();
    return { metainfo, errors: [], warnings: problems.warnings };
  } catch (e) {
    if (!(e instanceof CodecError)) throw e;
    problems.finish();
    const errors = problems.errors.length > 0 ? problems.errors : e.problems;
    return { metainfo: undefined, errors, warnings: problems.warnings };
  }
}

/**
 * Parses a bare `info` dictionary, e.g. one fetched with ut_metadata (BEP 9): the info-hash is the
 * SHA-1 of exactly these bytes. Trackers and web seeds can be added from the magnet link.
 */
export function parseInfoDict(
  infoBytes: Uint8Array,
  opts: ParseMetainfoOptions & { announceTiers?: readonly (readonly string[])[]; webSeeds?: readonly string[] } = {},
): ParsedMetainfo {
  const problems = new Problems();
  const buf = Buffer.isBuffer(infoBytes) ? infoBytes : Buffer.from(infoBytes.buffer, infoBytes.byteOffset, infoBytes.byteLength);
  const info = decodeTorrent(buf, opts, problems);
  const r = parseInfo(info, problems, opts, { value: undefined, fromTorrentFile: false });
  const tiers = (opts.announceTiers ?? []).map((t) => [...t]).filter((t) => t.length > 0);
  const top: TopLevel = {
    announce: tiers[0]?.[0],
    announceTiers: tiers,
    webSeeds: [...(opts.webSeeds ?? [])],
    comment: undefined,
    createdBy: undefined,
    creationDate: undefined,
  };
  problems.finish();
  return { metainfo: build(info, undefined, info, buf, r, top), warnings: problems.warnings };
}

function warnRenames(files: readonly MetainfoFile[], multiFile: boolean, problems: Problems): void {
  for (const f of files) {
    const renamed = f.safePath.some((c, i) => c !== f.path[i]);
    if (renamed) {
      problems.warn(
        'WARN_PATH_RENAMED',
        () => `${f.path.join('/')} will be stored as ${f.safePath.join('/')}`,
        multiFile ? `info.files[${f.index}].path` : 'info.name',
      );
    }
  }
}

/** A v2-only torrent: its files come from the tree, laid out as if padded (no SHA-1 pieces). */
function parseV2Only(
  info: BDict,
  tree: FileTree,
  name: string,
  rawName: Buffer | undefined,
  pieceLength: number | undefined,
  problems: Problems,
  layers: Layers,
): InfoResult {
  if (problems.errors.length > 0 || rawName === undefined || pieceLength === undefined) throw problems.toError();
  const { files, total, v2Index } = layoutV2Only(tree, name, rawName, pieceLength);
  if (total === 0) problems.error('CODEC_BAD_LENGTH', 'the torrent holds no data (total length 0)', 'info.file tree');
  if (!Number.isSafeInteger(total)) problems.fatal('CODEC_BAD_LENGTH', 'the total length of the files is beyond 2^53', 'info.file tree');
  const pieceCount = Math.ceil(total / pieceLength);
  if (pieceCount > MAX_PIECES) problems.error('CODEC_TOO_MANY_PIECES', `the files need ${pieceCount} pieces, more than ${MAX_PIECES}`, 'info.piece length');
  checkDuplicates(files, problems);
  const v2Files = attachLayers(
    layers.value,
    tree.leaves,
    v2Index,
    v2Index.map((i) => files[i]!.offset),
    pieceLength,
    layers.fromTorrentFile,
    problems,
  );
  if (problems.errors.length > 0) throw problems.toError();
  warnRenames(files, !tree.singleFile, problems);
  return {
    version: 'v2',
    v2Files,
    name,
    rawName,
    pieceLength,
    pieces: Buffer.alloc(0),
    pieceCount,
    totalLength: total,
    multiFile: !tree.singleFile,
    files,
    private: readPrivate(info, problems),
    source: optionalText(info, 'source', 'info.', problems),
  };
}

function readPrivate(info: BDict, problems: Problems): boolean {
  const priv = info.get('private');
  if (priv === undefined) return false;
  if (typeof priv === 'number') return priv === 1;
  problems.warn('WARN_BAD_OPTIONAL_FIELD', `info.private should be an integer but is ${typeName(priv)}; treated as 0`, 'info.private');
  return false;
}
