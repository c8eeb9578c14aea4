import { asBytes, asDict, asInt, asList, asText, decode, encode, fileToPieces, isCodecError, type Layout } from '@tc/codec';
import { Bitfield, isWireError } from '@tc/wire';

/**
 * The resume file (issue 6): a bencoded dictionary, pure to encode and to check. Nothing in it is
 * trusted until every field has been checked against the torrent and the files on disk; any doubt
 * makes the engine re-check the data instead (RELIABILITY #31, as libtorrent's fastresume_rejected).
 *
 * ```
 * d
 *   10:downloaded i…e            payload bytes downloaded, all sessions
 *   5:files l d4:mtimei…e4:sizei…e e … e   per torrent file: size (bytes) and mtime (ms) when saved;
 *                                an empty dict for a file that did not exist, or a padding file
 *   6:format 9:tc-resume
 *   4:have <bitfield>            verified pieces, BEP 3 bitfield order (high bit of byte 0 = piece 0)
 *   9:info-hash <20 bytes>
 *   12:piece-length i…e
 *   6:pieces i…e                 piece count
 *   5:saved i…e                  when it was written (ms since the epoch; informational)
 *   9:selection l i…e … e        selected file indices, ascending (absent: all files)
 *   8:uploaded i…e
 *   7:version i1e
 * e
 * ```
 */

export const RESUME_FORMAT = 'tc-resume';
export const RESUME_VERSION = 1;
/**
 * Largest resume file read (bytes): a bitfield for codec's 2^21-piece cap is 256 KiB and a file
 * entry ~30 bytes, so this fits ~500k files; anything larger is not ours.
 */
export const MAX_RESUME_BYTES = 16 * 1024 * 1024;
/** SHA-1 info-hash length (BEP 3). */
const INFO_HASH_BYTES = 20;

/** A file's size and modification time when the resume data was saved; undefined: did not exist (or padding). */
export interface FileStamp {
  readonly size: number;
  /** Whole milliseconds since the epoch (fs mtimeMs truncated). */
  readonly mtimeMs: number;
}

export interface ResumeData {
  readonly infoHash: Uint8Array;
  readonly pieceLength: number;
  readonly pieceCount: number;
  /** Verified pieces as a BEP 3 bitfield (`Bitfield.toBuffer()`): only pieces hashed and written. */
  readonly have: Uint8Array;
  /** One per torrent file, in torrent order. */
  readonly files: readonly (FileStamp | undefined)[];
  readonly uploaded: number;
  readonly downloaded: number;
  /** Selected file indices (ascending); undefined: every file. */
  readonly selection: readonly number[] | undefined;
  /** When it was saved, ms since the epoch. */
  readonly savedAt: number;
}

/** What the torrent says the resume data must match: codec's Metainfo fits, so does the engine's layout plus the info-hash. */
export interface ResumeExpect extends Layout {
  readonly infoHash: Uint8Array;
}

export type ResumeRejectReason =
  /** No resume file: a first start. Not worth a warning. */
  | 'missing'
  /** The file could not be read (permissions, I/O). */
  | 'unreadable'
  | 'empty'
  | 'too-large'
  /** Not bencode, truncated, not our format, a field of the wrong type or out of range. */
  | 'corrupt'
  | 'unsupported-version'
  /** Written for another torrent. */
  | 'wrong-torrent'
  /** Piece length, piece count, file count or bitfield size disagree with the torrent. */
  | 'wrong-geometry'
  /** Claims pieces in files it says did not exist or were too short. */
  | 'inconsistent'
  /** A file holding claimed pieces changed on disk since the save (size, mtime, gone, not a file). */
  | 'stale-files';

export type ResumeLoad =
  | { readonly ok: true; readonly resume: ResumeData; readonly haveCount: number }
  | {
      readonly ok: false;
      readonly reason: ResumeRejectReason;
      readonly message: string;
      /** For 'stale-files': the files (torrent indices) that changed. */
      readonly staleFiles?: readonly number[];
    };

export function reject(reason: ResumeRejectReason, message: string, staleFiles?: readonly number[]): ResumeLoad {
  return staleFiles === undefined ? { ok: false, reason, message } : { ok: false, reason, message, staleFiles };
}

/** Encodes resume data (canonical bencode). */
export function encodeResume(d: ResumeData): Buffer {
  return encode({
    downloaded: d.downloaded,
    files: d.files.map((f) => (f === undefined ? {} : { mtime: Math.trunc(f.mtimeMs), size: f.size })),
    format: RESUME_FORMAT,
    have: d.have,
    'info-hash': d.infoHash,
    'piece-length': d.pieceLength,
    pieces: d.pieceCount,
    saved: Math.trunc(d.savedAt),
    ...(d.selection !== undefined ? { selection: [...d.selection] } : {}),
    uploaded: d.uploaded,
    version: RESUME_VERSION,
  });
}

/**
 * Parses and checks resume bytes against the torrent (everything but the files on disk: see
 * `staleFiles`). Never throws for bad input: every problem is a rejection with a reason.
 */
export function decodeResume(bytes: Uint8Array, expect: ResumeExpect): ResumeLoad {
  if (bytes.length === 0) return reject('empty', 'resume file is empty');
  if (bytes.length > MAX_RESUME_BYTES) return reject('too-large', `resume file is ${bytes.length} bytes, more than ${MAX_RESUME_BYTES}`);
  let top;
  try {
    top = asDict(decode(bytes, { mode: 'strict', maxBytes: MAX_RESUME_BYTES }), 'resume');
  } catch (e) {
    return reject('corrupt', `resume file is not valid bencode: ${(e as Error).message}`);
  }
  try {
    if (asText(top.get('format'), 'format') !== RESUME_FORMAT) return reject('corrupt', 'not a tc resume file');
    const version = asInt(top.get('version'), 'version');
    if (version !== RESUME_VERSION) return reject('unsupported-version', `resume format version ${version}, expected ${RESUME_VERSION}`);

    const infoHash = asBytes(top.get('info-hash'), 'info-hash');
    if (infoHash.length !== INFO_HASH_BYTES) return reject('corrupt', `info-hash is ${infoHash.length} bytes`);
    if (!infoHash.equals(expect.infoHash)) return reject('wrong-torrent', 'resume file belongs to another torrent (info-hash differs)');

    const wantPieces = expect.pieceCount;
    const pieceLength = asInt(top.get('piece-length'), 'piece-length', 1);
    const pieceCount = asInt(top.get('pieces'), 'pieces', 0);
    if (pieceLength !== expect.pieceLength || pieceCount !== wantPieces) {
      return reject('wrong-geometry', `resume file is for ${pieceCount} pieces of ${pieceLength} bytes, torrent has ${wantPieces} of ${expect.pieceLength}`);
    }
    const have = asBytes(top.get('have'), 'have');
    let bitfield: Bitfield;
    try {
      bitfield = Bitfield.fromWire(have, pieceCount);
    } catch (e) {
      if (isWireError(e)) return reject('wrong-geometry', `bad piece bitfield: ${e.message}`);
      throw e;
    }

    const rawFiles = asList(top.get('files'), 'files');
    if (rawFiles.length !== expect.files.length) {
      return reject('wrong-geometry', `resume file lists ${rawFiles.length} files, torrent has ${expect.files.length}`);
    }
    const files: (FileStamp | undefined)[] = [];
    for (let i = 0; i < rawFiles.length; i++) {
      const fd = asDict(rawFiles[i], `files[${i}]`);
      if (fd.size === 0) {
        files.push(undefined);
        continue;
      }
      if (expect.files[i]!.padding === true) return reject('corrupt', `files[${i}] is a padding file but has a size`);
      files.push({
        size: asInt(fd.get('size'), `files[${i}].size`, 0),
        mtimeMs: asInt(fd.get('mtime'), `files[${i}].mtime`, 0),
      });
    }

    const uploaded = asInt(top.get('uploaded'), 'uploaded', 0);
    const downloaded = asInt(top.get('downloaded'), 'downloaded', 0);
    const savedAt = asInt(top.get('saved'), 'saved', 0);
    let selection: number[] | undefined;
    if (top.has('selection')) {
      selection = asList(top.get('selection'), 'selection').map((v, k) => asInt(v, `selection[${k}]`, 0, expect.files.length - 1));
      for (let k = 1; k < selection.length; k++) {
        if (selection[k]! <= selection[k - 1]!) return reject('corrupt', 'selection is not strictly ascending');
      }
    }

    // Every claimed piece must lie in files that existed and were long enough when it was saved.
    for (let i = 0; i < expect.files.length; i++) {
      const f = expect.files[i]!;
      const range = fileToPieces(expect, i);
      if (f.padding === true || range === undefined) continue;
      const stamp = files[i];
      if (stamp !== undefined && stamp.size >= f.length) continue;
      for (let p = range.first; p <= range.last; p++) {
        if (bitfield.has(p)) {
          return reject('inconsistent', `piece ${p} is claimed but file ${i} was ${stamp === undefined ? 'missing' : `only ${stamp.size} bytes`}`);
        }
      }
    }

    return {
      ok: true,
      haveCount: bitfield.count,
      resume: { infoHash, pieceLength, pieceCount, have, files, uploaded, downloaded, selection, savedAt },
    };
  } catch (e) {
    if (isCodecError(e)) return reject('corrupt', `resume file field ${e.field ?? '?'}: ${e.message}`);
    throw e;
  }
}

/**
 * Files holding at least one claimed piece whose stamp on disk differs from the saved one (size or
 * whole-ms mtime, or gone). Files without claimed pieces may change freely: nothing in them is trusted.
 * `onDisk[i]` is the current stamp of file i (undefined: missing, or not a regular file).
 */
export function staleFiles(resume: ResumeData, expect: ResumeExpect, onDisk: readonly (FileStamp | undefined)[]): number[] {
  const bitfield = Bitfield.fromWire(resume.have, resume.pieceCount);
  const out: number[] = [];
  for (let i = 0; i < expect.files.length; i++) {
    const range = fileToPieces(expect, i);
    if (expect.files[i]!.padding === true || range === undefined) continue;
    let claimed = false;
    for (let p = range.first; p <= range.last && !claimed; p++) claimed = bitfield.has(p);
    if (!claimed) continue;
    const saved = resume.files[i];
    const now = onDisk[i];
    if (saved === undefined || now === undefined || saved.size !== now.size || Math.trunc(saved.mtimeMs) !== Math.trunc(now.mtimeMs)) {
      out.push(i);
    }
  }
  return out;
}

/**
 * The claimed pieces that lie wholly in unchanged files: `have` minus every piece that touches a
 * file in `stale`. For an engine that re-checks only the changed files after a 'stale-files'
 * rejection (a crash mid-download changes exactly the files written since the last save). Those
 * pieces are as trustworthy as a resume whose files all matched; RELIABILITY #31's default is still
 * a full re-check, so using this is the engine's choice.
 */
export function trustablePieces(resume: ResumeData, expect: ResumeExpect, stale: readonly number[]): Bitfield {
  const bitfield = Bitfield.fromWire(resume.have, resume.pieceCount);
  for (const i of stale) {
    const range = fileToPieces(expect, i);
    if (range === undefined) continue;
    for (let p = range.first; p <= range.last; p++) bitfield.clear(p);
  }
  return bitfield;
}
