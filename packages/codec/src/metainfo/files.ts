/** The `files` list of a multi-file torrent (BEP 3, 47): lengths, safe paths, duplicates. */
import { asBytes, asDict, asList } from '../bencode/access.js';
import type { BDict, BValue } from '../bencode/types.js';
import { CodecError, type CodecErrorCode } from '../errors.js';
import { reqLength, text, warnUnknownKeys } from './fields.js';
import { Problems } from './problems.js';
import { checkPathComponent, MAX_PATH_DEPTH, toSafePath, type UnsafeComponentReason } from './safe-path.js';
import type { MetainfoFile, ParseMetainfoOptions } from './types.js';

const FILE_KEYS = new Set(['length', 'path', 'path.utf-8', 'attr', 'md5sum', 'sha1', 'symlink path', 'crc32', 'ed2k', 'filehash', 'mtime']);

const REASON_TEXT: Record<UnsafeComponentReason, [CodecErrorCode, string]> = {
  empty: ['CODEC_UNSAFE_PATH', 'is empty'],
  dot: ['CODEC_UNSAFE_PATH', "is '.'"],
  'dot-dot': ['CODEC_PATH_TRAVERSAL', "is '..' (path traversal)"],
  separator: ['CODEC_UNSAFE_PATH', "contains a path separator ('/' or '\\')"],
  nul: ['CODEC_UNSAFE_PATH', 'contains a NUL byte'],
  'drive-letter': ['CODEC_UNSAFE_PATH', 'starts with a drive letter (absolute path)'],
  'windows-reserved': ['CODEC_UNSAFE_PATH', 'is a reserved Windows device name'],
};

/** Checks raw (and display) components of one path; records every hard problem. */
export function checkComponents(raws: readonly Buffer[], field: string, problems: Problems, opts: ParseMetainfoOptions): boolean {
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
    const list = asList(v, field);
    if (list.length === 0) throw new CodecError('CODEC_UNSAFE_PATH', `${field} is an empty list`, { field });
    if (list.length > MAX_PATH_DEPTH) {
      throw new CodecError('CODEC_PATH_TOO_DEEP', `${field} has ${list.length} components, more than ${MAX_PATH_DEPTH}`, { field });
    }
    // The field name is built only for a bad component: paths can have millions of components in all.
    return list.map((c, i) => (Buffer.isBuffer(c) ? c : asBytes(c, `${field}[${i}]`)));
  });
}

/** The files list, and the total length when every length could be read (else undefined). */
export function parseFiles(
  info: BDict,
  name: string,
  problems: Problems,
  opts: ParseMetainfoOptions,
): { files: MetainfoFile[]; total: number | undefined } | undefined {
  const list = problems.attempt(() => asList(info.get('files'), 'info.files'));
  if (list === undefined) return undefined;
  if (list.length === 0) problems.fatal('CODEC_EMPTY_FILE_LIST', 'info.files is empty', 'info.files');
  const files: MetainfoFile[] = [];
  let offset = 0;
  let lengthsKnown = true;
  for (let i = 0; i < list.length; i++) {
    const field = `info.files[${i}]`;
    const d = problems.attempt(() => asDict(list[i], field));
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
export function checkDuplicates(files: readonly MetainfoFile[], problems: Problems): void {
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
    problems.warn(
      'WARN_CASE_FOLDED_DUPLICATE',
      () => `info.files[${c.index}] clashes with info.files[${c.other}] when case is ignored: ${shown(c.index)}`,
      `info.files[${c.index}].path`,
    );
  }
}
