/**
 * Making a .torrent from a file or folder (BEP 3, 12, 19, 27). One of the two codec modules that
 * touch the file system. Data is streamed through SHA-1 in fixed chunks, so memory stays bounded
 * (one chunk plus 20 bytes per piece) whatever the size of the content.
 */
import { createHash, type Hash } from 'node:crypto';
import { lstat, open, readdir } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { encode } from '../bencode/encode.js';
import { CodecError } from '../errors.js';
import { MAX_PIECE_LENGTH_BYTES, MAX_PIECES } from '../metainfo/parse.js';
import { checkPathComponent, MAX_PATH_DEPTH } from '../metainfo/safe-path.js';
import { checkUrl, TRACKER_PROTOCOLS, WEB_SEED_PROTOCOLS } from '../urls.js';

/** Bytes read per call: large enough for sequential throughput, small enough to bound memory. */
const READ_CHUNK_BYTES = 1024 * 1024;
/** Automatic piece lengths stay within 16 KiB (BEP 52's minimum) … */
const AUTO_MIN_PIECE_BYTES = 16 * 1024;
/** … and 16 MiB (larger pieces hurt swarms; libtorrent and transmission stop about here). */
const AUTO_MAX_PIECE_BYTES = 16 * 1024 * 1024;
/** Automatic piece length aims at no more than this many pieces (small .torrent, fine-grained verify). */
const AUTO_TARGET_PIECES = 1500;
/** Files in one torrent we create: far beyond real use, a bound on memory for the file list. */
const MAX_CREATE_FILES = 1_000_000;

export interface CreateTorrentOptions {
  /** A file (single-file torrent) or a folder (multi-file torrent named after it). */
  readonly path: string;
  /** Torrent name; default the base name of `path`. */
  readonly name?: string;
  /** Bytes per piece; default chosen by `choosePieceLength`. */
  readonly pieceLength?: number;
  /** Trackers: a string is a tier of its own, an array is one tier (BEP 12). The first is `announce`. */
  readonly trackers?: readonly (string | readonly string[])[];
  /** BEP 19 web seeds (`url-list`). */
  readonly webSeeds?: readonly string[];
  /** BEP 27 private flag, written inside `info`. */
  readonly private?: boolean;
  readonly comment?: string;
  readonly createdBy?: string;
  /** `creation date`; default now; `null` leaves it out (reproducible output). */
  readonly creationDate?: Date | null;
  /** `info.source`, which private trackers use to give a torrent its own info-hash. */
  readonly source?: string;
  /** Called after each chunk is hashed. */
  readonly onProgress?: (hashedBytes: number, totalBytes: number) => void;
  readonly signal?: AbortSignal;
}

interface SourceFile {
  readonly abs: string;
  /** Path inside the folder (empty for a single file). */
  readonly rel: string[];
  readonly length: number;
}

/**
 * The automatic piece length: the smallest power of two from 16 KiB to 16 MiB giving at most about
 * 1500 pieces.
 */
export function choosePieceLength(totalBytes: number): number {
  let len = AUTO_MIN_PIECE_BYTES;
  while (len < AUTO_MAX_PIECE_BYTES && Math.ceil(totalBytes / len) > AUTO_TARGET_PIECES) len *= 2;
  return len;
}

function ioError(message: string, path: string, cause: unknown): CodecError {
  return new CodecError('CODEC_IO', `${message}: ${path}`, { field: path, cause });
}

function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Lists regular files under `dir` in byte order of their paths; symlinks and special files are skipped. */
async function walk(dir: string, rel: string[], out: SourceFile[]): Promise<void> {
  if (rel.length >= MAX_PATH_DEPTH) throw new CodecError('CODEC_PATH_TOO_DEEP', `more than ${MAX_PATH_DEPTH} folder levels: ${dir}`);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw ioError('cannot list folder', dir, e);
  }
  names.sort(compareNames);
  for (const name of names) {
    const abs = join(dir, name);
    const reason = checkPathComponent(Buffer.from(name, 'utf8'));
    if (reason !== undefined) {
      throw new CodecError('CODEC_UNSAFE_PATH', `cannot put ${JSON.stringify(name)} in a torrent (${reason})`, { field: abs });
    }
    let st;
    try {
      st = await lstat(abs);
    } catch (e) {
      throw ioError('cannot stat', abs, e);
    }
    // Symlinks are not followed: their target may be outside the folder or form a loop.
    if (st.isDirectory()) await walk(abs, [...rel, name], out);
    else if (st.isFile()) {
      if (out.length >= MAX_CREATE_FILES) throw new CodecError('CODEC_BAD_METAINFO', `more than ${MAX_CREATE_FILES} files`);
      out.push({ abs, rel: [...rel, name], length: st.size });
    }
  }
}

async function collect(path: string): Promise<{ files: SourceFile[]; multiFile: boolean }> {
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    throw ioError('cannot read', path, e);
  }
  if (st.isFile()) return { files: [{ abs: path, rel: [], length: st.size }], multiFile: false };
  if (!st.isDirectory()) throw new CodecError('CODEC_IO', `not a file or folder: ${path}`, { field: path });
  const files: SourceFile[] = [];
  await walk(path, [], files);
  if (files.length === 0) throw new CodecError('CODEC_EMPTY_FILE_LIST', `no files in ${path}`, { field: path });
  return { files, multiFile: true };
}

/** Streams every file through SHA-1, cutting at piece boundaries; returns the concatenated hashes. */
async function hashPieces(files: readonly SourceFile[], pieceLength: number, total: number, opts: CreateTorrentOptions): Promise<Buffer> {
  const pieceCount = Math.ceil(total / pieceLength);
  const pieces = Buffer.alloc(pieceCount * 20);
  const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, pieceLength));
  let piece = 0;
  let inPiece = 0;
  let hash: Hash = createHash('sha1');
  let hashed = 0;
  for (const file of files) {
    let fh;
    try {
      fh = await open(file.abs, 'r');
    } catch (e) {
      throw ioError('cannot open', file.abs, e);
    }
    try {
      let pos = 0;
      while (pos < file.length) {
        opts.signal?.throwIfAborted();
        const want = Math.min(chunk.length, file.length - pos, pieceLength - inPiece);
        let n: number;
        try {
          ({ bytesRead: n } = await fh.read(chunk, 0, want, pos));
        } catch (e) {
          throw ioError('cannot read', file.abs, e);
        }
        if (n === 0) throw new CodecError('CODEC_IO', `file shrank while being hashed: ${file.abs}`, { field: file.abs });
        hash.update(chunk.subarray(0, n));
        pos += n;
        inPiece += n;
        hashed += n;
        if (inPiece === pieceLength) {
          hash.digest().copy(pieces, piece * 20);
          piece++;
          inPiece = 0;
          hash = createHash('sha1');
        }
        opts.onProgress?.(hashed, total);
      }
    } finally {
      await fh.close();
    }
  }
  if (inPiece > 0) hash.digest().copy(pieces, piece++ * 20);
  if (piece !== pieceCount) throw new Error(`bug: hashed ${piece} pieces, expected ${pieceCount}`);
  return pieces;
}

/** Refuses a URL that our own parser would drop, so a torrent we make reads back as written. */
function checked(url: string, protocols: ReadonlySet<string>, field: string): string {
  const r = checkUrl(url, protocols);
  if ('why' in r) throw new CodecError('CODEC_BAD_METAINFO', `${field} ${JSON.stringify(url)} ${r.why}`, { field });
  return r.url;
}

function trackerTiers(trackers: CreateTorrentOptions['trackers']): string[][] {
  return (trackers ?? []).map((t) => (typeof t === 'string' ? [t] : [...t]).map((u) => checked(u, TRACKER_PROTOCOLS, 'tracker'))).filter((t) => t.length > 0);
}

/** Makes a .torrent (bencoded bytes) from a file or folder, reading the data once. */
export async function createTorrent(opts: CreateTorrentOptions): Promise<Buffer> {
  const root = resolve(opts.path);
  const { files, multiFile } = await collect(root);
  const name = opts.name ?? basename(root);
  if (checkPathComponent(Buffer.from(name, 'utf8')) !== undefined) {
    throw new CodecError('CODEC_UNSAFE_PATH', `unsafe torrent name ${JSON.stringify(name)}`, { field: 'name' });
  }
  let total = 0;
  for (const f of files) total += f.length;
  if (total === 0) throw new CodecError('CODEC_BAD_LENGTH', `nothing to share: ${root} holds 0 bytes`, { field: root });
  const pieceLength = opts.pieceLength ?? choosePieceLength(total);
  if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0 || pieceLength > MAX_PIECE_LENGTH_BYTES) {
    throw new CodecError('CODEC_BAD_PIECE_LENGTH', `piece length ${pieceLength} is outside 1..${MAX_PIECE_LENGTH_BYTES}`, { field: 'pieceLength' });
  }
  if (Math.ceil(total / pieceLength) > MAX_PIECES) {
    throw new CodecError('CODEC_TOO_MANY_PIECES', `piece length ${pieceLength} gives more than ${MAX_PIECES} pieces`, { field: 'pieceLength' });
  }
  const tiers = trackerTiers(opts.trackers);
  const webSeeds = (opts.webSeeds ?? []).map((u) => checked(u, WEB_SEED_PROTOCOLS, 'web seed'));
  const pieces = await hashPieces(files, pieceLength, total, opts);
  const info = {
    name,
    'piece length': pieceLength,
    pieces,
    ...(multiFile ? { files: files.map((f) => ({ length: f.length, path: f.rel })) } : { length: total }),
    private: opts.private ? 1 : undefined,
    source: opts.source,
  };
  const created = opts.creationDate === undefined ? new Date() : opts.creationDate;
  return encode({
    announce: tiers[0]?.[0],
    'announce-list': tiers.length > 1 || (tiers[0]?.length ?? 0) > 1 ? tiers : undefined,
    comment: opts.comment,
    'created by': opts.createdBy ?? 'tc',
    'creation date': created === null ? undefined : Math.floor(created.getTime() / 1000),
    info,
    'url-list': webSeeds.length > 0 ? webSeeds : undefined,
  });
}
