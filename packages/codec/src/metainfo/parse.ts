import { createHash } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { decode } from '../bencode/decode.js';
import { BDict, type BValue } from '../bencode/types.js';
import { CodecError, type CodecErrorCode, type CodecProblem, type CodecWarningCode } from '../errors.js';
import { infoHashBase32, infoHashFromBytes, infoHashHex, INFO_HASH_BYTES } from '../ids.js';
import { typeName } from '../bencode/access.js';
import { checkUrl, TRACKER_PROTOCOLS, WEB_SEED_PROTOCOLS } from '../urls.js';
import { checkPathComponent, MAX_PATH_DEPTH, safeFileName, toSafePath, type UnsafeComponentReason } from './safe-path.js';
import type { Metainfo, MetainfoFields, MetainfoFile, MetainfoReport, ParsedMetainfo, ParseMetainfoOptions } from './types.js';

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
/** Announce URLs kept from one torrent: far more than any real one, and a bound on work. */
export const MAX_TRACKER_URLS = 1000;
/** Web seeds kept from one torrent. */
export const MAX_WEB_SEEDS = 1000;
/** BitTorrent's first release (July 2001), in ms: no torrent was made before it. */
const FIRST_TORRENT_MS = Date.UTC(2001, 6, 2);

/** Problems of one code reported individually before the rest are summarised. */
const MAX_PROBLEMS_PER_CODE = 50;
/** BEP 3: each piece hash is a 20-byte SHA-1. */
const PIECE_HASH_BYTES = 20;

const TOP_LEVEL_KEYS = new Set([
  'announce', 'announce-list', 'comment', 'comment.utf-8', 'created by', 'created by.utf-8', 'creation date',
  'encoding', 'info', 'url-list', 'httpseeds', 'nodes', 'publisher', 'publisher.utf-8', 'publisher-url',
  'publisher-url.utf-8', 'piece layers', 'locale', 'title',
]);
const INFO_KEYS = new Set([
  'name', 'name.utf-8', 'piece length', 'pieces', 'length', 'files', 'private', 'md5sum', 'source', 'attr',
  'sha1', 'symlink path', 'file tree', 'meta version', 'crc32', 'ed2k', 'filehash', 'mtime',
]);
const FILE_KEYS = new Set([
  'length', 'path', 'path.utf-8', 'attr', 'md5sum', 'sha1', 'symlink path', 'crc32', 'ed2k', 'filehash', 'mtime',
]);

/** Collects hard errors and warnings, capping each code so hostile input cannot flood the report. */
class Problems {
  readonly errors: CodecProblem[] = [];
  readonly warnings: CodecProblem[] = [];
  private readonly counts = new Map<string, number>();
  private readonly suppressed = new Map<string, { count: number; field: string; isError: boolean }>();

  /** `message` may be a function, so texts past the cap are never built. */
  error(code: CodecErrorCode, message: string | (() => string), field: string): void {
    this.add(this.errors, code, message, field, true);
  }

  warn(code: CodecWarningCode, message: string | (() => string), field: string): void {
    this.add(this.warnings, code, message, field, false);
  }

  /** Records and throws: for problems that leave nothing sensible to check after them. */
  fatal(code: CodecErrorCode, message: string, field: string): never {
    this.error(code, message, field);
    throw this.toError();
  }

  /** Runs a typed accessor; its CodecError becomes a recorded problem. */
  attempt<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof CodecError)) throw e;
      this.error(e.code, e.message, e.field ?? '');
      return undefined;
    }
  }

  private add(list: CodecProblem[], code: CodecErrorCode | CodecWarningCode, message: string | (() => string), field: string, isError: boolean): void {
    const n = (this.counts.get(code) ?? 0) + 1;
    this.counts.set(code, n);
    if (n <= MAX_PROBLEMS_PER_CODE) {
      list.push({ code, message: typeof message === 'string' ? message : message(), field });
      return;
    }
    const s = this.suppressed.get(code);
    if (s) s.count++;
    else this.suppressed.set(code, { count: 1, field, isError });
  }

  /** Adds one summary line per capped code. Call once, at the end. */
  finish(): void {
    for (const [code, s] of this.suppressed) {
      const p = { code: code as CodecErrorCode, message: `${s.count} more of the same`, field: s.field };
      (s.isError ? this.errors : this.warnings).push(p);
    }
    this.suppressed.clear();
  }

  toError(): CodecError {
    this.finish();
    const first = this.errors[0]!;
    const more = this.errors.length > 1 ? ` (and ${this.errors.length - 1} more problems)` : '';
    return new CodecError(first.code as CodecErrorCode, first.message + more, { field: first.field, problems: [...this.errors] });
  }
}

const REASON_TEXT: Record<UnsafeComponentReason, [CodecErrorCode, string]> = {
  empty: ['CODEC_UNSAFE_PATH', 'is empty'],
  dot: ['CODEC_UNSAFE_PATH', "is '.'"],
  'dot-dot': ['CODEC_PATH_TRAVERSAL', "is '..' (path traversal)"],
  separator: ['CODEC_UNSAFE_PATH', "contains a path separator ('/' or '\\')"],
  nul: ['CODEC_UNSAFE_PATH', 'contains a NUL byte'],
  'drive-letter': ['CODEC_UNSAFE_PATH', 'starts with a drive letter (absolute path)'],
  'windows-reserved': ['CODEC_UNSAFE_PATH', 'is a reserved Windows device name'],
};

function wrongType(field: string, wanted: string, v: BValue | undefined): CodecError {
  return new CodecError(v === undefined ? 'CODEC_MISSING_FIELD' : 'CODEC_WRONG_TYPE',
    v === undefined ? `${field} is missing` : `${field} should be ${wanted} but is ${typeName(v)}`, { field });
}

function reqBytes(v: BValue | undefined, field: string): Buffer {
  if (Buffer.isBuffer(v)) return v;
  throw wrongType(field, 'a byte string', v);
}

function reqList(v: BValue | undefined, field: string): BValue[] {
  if (Array.isArray(v)) return v;
  throw wrongType(field, 'a list', v);
}

function reqDict(v: BValue | undefined, field: string): BDict {
  if (v instanceof BDict) return v;
  throw wrongType(field, 'a dictionary', v);
}

/** A byte count: a safe integer ≥ 0 (RELIABILITY #15). */
function reqLength(v: BValue | undefined, field: string): number {
  if (typeof v === 'bigint') throw new CodecError('CODEC_BAD_LENGTH', `${field} is ${v}, beyond 2^53`, { field });
  if (typeof v !== 'number') throw wrongType(field, 'an integer', v);
  if (v < 0) throw new CodecError('CODEC_BAD_LENGTH', `${field} is negative (${v})`, { field });
  return v;
}

/** Decodes UTF-8 for display; invalid sequences become U+FFFD and are reported (RELIABILITY #7). */
function text(raw: Buffer, field: string | (() => string), problems: Problems): string {
  if (!isUtf8(raw)) {
    const name = typeof field === 'string' ? field : field();
    problems.warn('WARN_INVALID_UTF8', `${name} is not valid UTF-8; shown with U+FFFD`, name);
  }
  return raw.toString('utf8');
}

/** Optional text field, preferring its `.utf-8` twin; an ill-typed one is a warning and ignored. */
function optionalText(d: BDict, key: string, field: string, problems: Problems): string | undefined {
  for (const k of [`${key}.utf-8`, key]) {
    const v = d.get(k);
    if (v === undefined) continue;
    if (Buffer.isBuffer(v)) return text(v, `${field}${k}`, problems);
    problems.warn('WARN_BAD_OPTIONAL_FIELD', `${field}${k} should be a byte string but is ${typeName(v)}; ignored`, `${field}${k}`);
  }
  return undefined;
}

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

function warnUnknownKeys(d: BDict, known: ReadonlySet<string>, prefix: string, problems: Problems): void {
  for (const k of d.keys()) {
    if (!known.has(k)) problems.warn('WARN_UNKNOWN_KEY', `unknown key ${JSON.stringify(k)}`, `${prefix}${k}`);
  }
}

/** Checks raw (and display) components of one path; records every hard problem. */
function checkComponents(raws: readonly Buffer[], field: string, problems: Problems, opts: ParseMetainfoOptions): boolean {
  let ok = true;
  raws.forEach((raw, i) => {
    const reason = checkPathComponent(raw, { windowsReserved: opts.rejectWindowsReserved === true });
    if (reason === undefined) return;
    const [code, what] = REASON_TEXT[reason];
    problems.error(code, `${field}[${i}] ${what}`, `${field}[${i}]`);
    ok = false;
  });
  return ok;
}

function readPath(v: BValue | undefined, field: string, problems: Problems): Buffer[] | undefined {
  return problems.attempt(() => {
    const list = reqList(v, field);
    if (list.length === 0) throw new CodecError('CODEC_UNSAFE_PATH', `${field} is an empty list`, { field });
    if (list.length > MAX_PATH_DEPTH) {
      throw new CodecError('CODEC_PATH_TOO_DEEP', `${field} has ${list.length} components, more than ${MAX_PATH_DEPTH}`, { field });
    }
    // The field name is built only for a bad component: paths can have millions of components in all.
    return list.map((c, i) => (Buffer.isBuffer(c) ? c : reqBytes(c, `${field}[${i}]`)));
  });
}

interface InfoResult {
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

/** The files list, and the total length when every length could be read (else undefined). */
function parseFiles(info: BDict, name: string, problems: Problems, opts: ParseMetainfoOptions): { files: MetainfoFile[]; total: number | undefined } | undefined {
  const list = problems.attempt(() => reqList(info.get('files'), 'info.files'));
  if (list === undefined) return undefined;
  if (list.length === 0) problems.fatal('CODEC_EMPTY_FILE_LIST', 'info.files is empty', 'info.files');
  const files: MetainfoFile[] = [];
  let offset = 0;
  let lengthsKnown = true;
  for (let i = 0; i < list.length; i++) {
    const field = `info.files[${i}]`;
    const d = problems.attempt(() => reqDict(list[i], field));
    if (d === undefined) {
      lengthsKnown = false;
      continue;
    }
    warnUnknownKeys(d, FILE_KEYS, `${field}.`, problems);
    const length = problems.attempt(() => reqLength(d.get('length'), `${field}.length`));
    const attrRaw = d.get('attr');
    const attr = Buffer.isBuffer(attrRaw) ? attrRaw.toString('latin1') : '';
    const raw = readPath(d.get('path'), `${field}.path`, problems);
    let display = raw;
    if (d.has('path.utf-8')) {
      // Clients prefer path.utf-8 when present; a malformed one is ignored (its problems are not recorded).
      const alt = readPath(d.get('path.utf-8'), `${field}.path.utf-8`, new Problems());
      if (alt) display = alt;
      else problems.warn('WARN_BAD_OPTIONAL_FIELD', `${field}.path.utf-8 is unusable; using path`, `${field}.path.utf-8`);
    }
    if (length === undefined) {
      lengthsKnown = false;
      continue;
    }
    const fileOffset = offset;
    offset += length;
    if (!Number.isSafeInteger(offset)) {
      problems.fatal('CODEC_BAD_LENGTH', 'the total length of the files is beyond 2^53', 'info.files');
    }
    if (raw === undefined || display === undefined) continue;
    let ok = checkComponents(raw, `${field}.path`, problems, opts);
    if (display !== raw) ok = checkComponents(display, `${field}.path.utf-8`, problems, opts) && ok;
    if (!ok) continue;
    const shown = [name, ...display.map((c, j) => text(c, () => `${field}.path[${j}]`, problems))];
    files.push({
      index: i,
      path: shown,
      safePath: toSafePath(shown).path,
      rawPath: raw,
      length,
      offset: fileOffset,
      padding: attr.includes('p'),
      attr,
    });
  }
  return { files, total: lengthsKnown ? offset : undefined };
}

interface Clash {
  readonly kind: 'same' | 'file-folder';
  /** The later file of the pair (the one reported). */
  readonly index: number;
  readonly other: number;
}

/**
 * Finds equal paths and paths that are a file in one entry and a folder in another, by sorting the
 * paths joined with NUL (which no safe component contains, and which sorts first): a path's clashes
 * then sit right after it. O(n log n) comparisons whatever the depth, no per-folder structures.
 */
function findClashes(keys: { key: string; index: number }[]): Clash[] {
  keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.index - b.index));
  const out: Clash[] = [];
  for (let i = 1; i < keys.length; i++) {
    const prev = keys[i - 1]!;
    const cur = keys[i]!;
    if (cur.key === prev.key) {
      out.push({ kind: 'same', index: Math.max(cur.index, prev.index), other: Math.min(cur.index, prev.index) });
    } else if (cur.key.length > prev.key.length && cur.key.charCodeAt(prev.key.length) === 0 && cur.key.startsWith(prev.key)) {
      out.push({ kind: 'file-folder', index: Math.max(cur.index, prev.index), other: Math.min(cur.index, prev.index) });
    }
  }
  return out.sort((a, b) => a.index - b.index);
}

/**
 * Duplicate paths are hard errors, case-folded ones warnings (RELIABILITY #5), and a file may not
 * also be a folder. Checked on the safe paths, so two names that map to one are caught too.
 */
function checkDuplicates(files: readonly MetainfoFile[], problems: Problems): void {
  // BEP 47 padding files share names like `.pad/16384` and are never written.
  const real = files.filter((f) => !f.padding);
  const byIndex = new Map(real.map((f) => [f.index, f]));
  const shown = (i: number) => byIndex.get(i)!.safePath.join('/');
  const exact = findClashes(real.map((f) => ({ key: f.safePath.join('\0'), index: f.index })));
  for (const c of exact) {
    const what = c.kind === 'same' ? 'has the same path as' : 'is a file where the other has a folder, or the reverse:';
    problems.error('CODEC_DUPLICATE_PATH', () => `info.files[${c.index}] ${what} info.files[${c.other}]: ${shown(c.index)}`, `info.files[${c.index}].path`);
  }
  if (exact.length > 0) return;
  // Case-insensitive file systems (Windows, macOS) would merge these.
  for (const c of findClashes(real.map((f) => ({ key: f.safePath.join('\0').normalize('NFC').toLowerCase(), index: f.index })))) {
    problems.warn('WARN_CASE_FOLDED_DUPLICATE', () => `info.files[${c.index}] clashes with info.files[${c.other}] when case is ignored: ${shown(c.index)}`, `info.files[${c.index}].path`);
  }
}

function parseInfo(info: BDict, problems: Problems, opts: ParseMetainfoOptions): InfoResult {
  warnUnknownKeys(info, INFO_KEYS, 'info.', problems);
  const rawName = problems.attempt(() => reqBytes(info.get('name'), 'info.name'));
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

  const pieces = problems.attempt(() => {
    if (!info.has('pieces') && info.get('meta version') === 2) {
      throw new CodecError('CODEC_BAD_METAINFO', 'a v2-only torrent (BEP 52): tc reads v1 and hybrid torrents', { field: 'info.meta version' });
    }
    const p = reqBytes(info.get('pieces'), 'info.pieces');
    if (p.length % PIECE_HASH_BYTES !== 0) {
      throw new CodecError('CODEC_BAD_PIECES', `info.pieces is ${p.length} bytes, not a multiple of ${PIECE_HASH_BYTES}`, { field: 'info.pieces' });
    }
    if (p.length / PIECE_HASH_BYTES > MAX_PIECES) {
      throw new CodecError('CODEC_TOO_MANY_PIECES', `info.pieces holds ${p.length / PIECE_HASH_BYTES} hashes, more than ${MAX_PIECES}`, { field: 'info.pieces' });
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
        problems.error('CODEC_BAD_PIECES', `info.pieces holds ${pieceCount} hashes but ${totalLength} bytes in pieces of ${pieceLength} need ${expected}`, 'info.pieces');
      }
    }
  }

  let isPrivate = false;
  const priv = info.get('private');
  if (priv !== undefined) {
    if (typeof priv === 'number') isPrivate = priv === 1;
    else problems.warn('WARN_BAD_OPTIONAL_FIELD', `info.private should be an integer but is ${typeName(priv)}; treated as 0`, 'info.private');
  }
  const source = optionalText(info, 'source', 'info.', problems);

  if (problems.errors.length > 0) throw problems.toError();
  for (const f of files!) {
    const renamed = f.safePath.some((c, i) => c !== f.path[i]);
    if (renamed) {
      problems.warn('WARN_PATH_RENAMED', () => `${f.path.join('/')} will be stored as ${f.safePath.join('/')}`, multiFile ? `info.files[${f.index}].path` : 'info.name');
    }
  }
  return {
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

function parseTrackers(root: BDict, problems: Problems): { announce: string | undefined; tiers: string[][] } {
  const seen = new Set<string>();
  const take = (raw: BValue | undefined, field: string): string | undefined => {
    if (!Buffer.isBuffer(raw)) {
      problems.warn('WARN_BAD_TRACKER_URL', `${field} should be a byte string but is ${typeName(raw)}; ignored`, field);
      return undefined;
    }
    const checked = checkUrl(raw.toString('utf8').trim(), TRACKER_PROTOCOLS);
    if ('why' in checked) {
      problems.warn('WARN_BAD_TRACKER_URL', `${field} ${checked.why}; ignored`, field);
      return undefined;
    }
    return checked.url;
  };
  const announce = root.has('announce') ? take(root.get('announce'), 'announce') : undefined;
  const tiers: string[][] = [];
  const list = root.get('announce-list');
  if (list !== undefined) {
    if (!Array.isArray(list)) {
      problems.warn('WARN_BAD_OPTIONAL_FIELD', `announce-list should be a list but is ${typeName(list)}; ignored`, 'announce-list');
    } else {
      list.forEach((tier, i) => {
        // Some writers put URLs directly in announce-list: treat each as its own tier.
        const urls = Array.isArray(tier) ? tier : [tier];
        const out: string[] = [];
        urls.forEach((u, j) => {
          const url = take(u, Array.isArray(tier) ? `announce-list[${i}][${j}]` : `announce-list[${i}]`);
          if (url === undefined || seen.has(url)) return;
          if (seen.size >= MAX_TRACKER_URLS) return;
          seen.add(url);
          out.push(url);
        });
        if (out.length > 0) tiers.push(out);
      });
      if (seen.size >= MAX_TRACKER_URLS) problems.warn('WARN_BAD_OPTIONAL_FIELD', `more than ${MAX_TRACKER_URLS} trackers; the rest ignored`, 'announce-list');
    }
  }
  // BEP 12: announce-list, when usable, replaces announce.
  if (tiers.length === 0 && announce !== undefined) tiers.push([announce]);
  return { announce, tiers };
}

function parseWebSeeds(root: BDict, problems: Problems): string[] {
  const v = root.get('url-list');
  if (v === undefined) return [];
  const items = Buffer.isBuffer(v) ? [v] : Array.isArray(v) ? v : undefined;
  if (items === undefined) {
    problems.warn('WARN_BAD_OPTIONAL_FIELD', `url-list should be a string or a list but is ${typeName(v)}; ignored`, 'url-list');
    return [];
  }
  const out: string[] = [];
  items.forEach((item, i) => {
    const field = Array.isArray(v) ? `url-list[${i}]` : 'url-list';
    if (!Buffer.isBuffer(item)) {
      problems.warn('WARN_BAD_OPTIONAL_FIELD', `${field} should be a byte string; ignored`, field);
      return;
    }
    if (item.length === 0) return; // many writers leave an empty url-list
    const checked = checkUrl(item.toString('utf8'), WEB_SEED_PROTOCOLS);
    if ('why' in checked) {
      problems.warn('WARN_BAD_OPTIONAL_FIELD', `${field} ${checked.why}; ignored`, field);
      return;
    }
    const url = checked.url;
    if (out.length < MAX_WEB_SEEDS && !out.includes(url)) out.push(url);
  });
  return out;
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

function build(raw: BDict, info: BDict, infoBytes: Buffer, r: InfoResult, top: TopLevel): Metainfo {
  const infoHash = infoHashFromBytes(createHash('sha1').update(infoBytes).digest());
  const { pieceLength, pieceCount, totalLength, pieces } = r;
  const fields: MetainfoFields = {
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
    raw,
    info,
    pieceHash(index: number): Buffer {
      if (!Number.isInteger(index) || index < 0 || index >= pieceCount) throw new RangeError(`piece ${index} is outside 0..${pieceCount - 1}`);
      return pieces.subarray(index * INFO_HASH_BYTES, (index + 1) * INFO_HASH_BYTES);
    },
    pieceSize(index: number): number {
      if (!Number.isInteger(index) || index < 0 || index >= pieceCount) throw new RangeError(`piece ${index} is outside 0..${pieceCount - 1}`);
      return index === pieceCount - 1 ? totalLength - pieceLength * (pieceCount - 1) : pieceLength;
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
  const info = parseInfo(infoValue, problems, opts);
  return build(root, infoValue, infoBytes, info, top);
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
  const r = parseInfo(info, problems, opts);
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
  return { metainfo: build(info, info, buf, r, top), warnings: problems.warnings };
}
