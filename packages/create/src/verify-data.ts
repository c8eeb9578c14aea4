/**
 * Checking data on disk against a torrent's piece hashes: SHA-1 pieces (BEP 3) and, for v2 and
 * hybrid torrents, the BEP 52 merkle hashes of each file (verify-v2.ts); a hybrid's piece is good
 * only when both agree. Pieces are read and hashed in 1 MiB chunks, so memory stays small even with
 * 512 MiB pieces, and the data is read once.
 */
import { createHash, type Hash } from 'node:crypto';
import { open, realpath, stat, type FileHandle } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { CodecError, fileToPieces, pieceRanges, type Metainfo } from '@tc/codec';
import { BlockHasher, V2Pieces } from './verify-v2.js';

export type PieceStatus = 'ok' | 'mismatch' | 'missing';

/** One piece's result: `missing` when some of its bytes are not on disk (file absent or too short). */
export interface PieceResult {
  readonly index: number;
  readonly status: PieceStatus;
  readonly length: number;
}

export type FileStatus = 'complete' | 'partial' | 'missing' | 'wrong-size';

export interface FileResult {
  readonly index: number;
  /** Path under the folder given to verify (the torrent's `safePath`). */
  readonly path: readonly string[];
  readonly status: FileStatus;
  readonly expectedLength: number;
  /** Size on disk; undefined when the file is absent or unusable. */
  readonly actualLength: number | undefined;
  /** Pieces touching this file that verified. */
  readonly piecesOk: number;
  readonly piecesTotal: number;
  /** Why a file counts as missing beyond "not there", e.g. it resolves outside the folder. */
  readonly problem?: string;
}

export interface VerifyReport {
  readonly pieceCount: number;
  readonly piecesOk: number;
  /** One byte per piece: 1 verified, 0 not. */
  readonly have: Uint8Array;
  readonly files: readonly FileResult[];
  /** Non-padding bytes in verified pieces. */
  readonly bytesOk: number;
}

export interface VerifyOptions {
  readonly signal?: AbortSignal;
  /** Called for each piece, in order: for a progress bar. */
  readonly onPiece?: (result: PieceResult) => void;
}

interface OpenFile {
  readonly handle: FileHandle | undefined;
  readonly size: number | undefined;
  readonly problem: string | undefined;
}

interface Located {
  readonly real: string | undefined;
  readonly size: number | undefined;
  readonly problem: string | undefined;
}

/** True when `path` lies strictly below `root` (both absolute and normalised). */
function inside(path: string, root: string): boolean {
  const prefix = root.endsWith(sep) ? root : root + sep;
  return path.startsWith(prefix) && path.length > prefix.length;
}

/**
 * Finds a torrent file under `root`, only if it resolves inside it (RELIABILITY #4: no escape
 * through `..` or symlinks). An absent file is not a problem, just size undefined.
 */
async function locate(root: string, rootReal: string, safePath: readonly string[]): Promise<Located> {
  const abs = join(root, ...safePath);
  const none = (problem?: string): Located => ({ real: undefined, size: undefined, problem });
  if (!inside(abs, root)) return none('resolves outside the folder');
  try {
    const real = await realpath(abs);
    if (!inside(real, rootReal)) return none('resolves outside the folder (symlink)');
    const st = await stat(real);
    return st.isFile() ? { real, size: st.size, problem: undefined } : none('is not a regular file');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return none();
    return none(`cannot be read: ${code ?? String(e)}`);
  }
}

/** Opens each file once, when the first piece needing it comes. */
class FileSource {
  private readonly files = new Map<number, OpenFile>();

  constructor(
    private readonly metainfo: Metainfo,
    private readonly root: string,
    private readonly rootReal: string,
  ) {}

  async get(index: number): Promise<OpenFile> {
    const cached = this.files.get(index);
    if (cached) return cached;
    const where = await locate(this.root, this.rootReal, this.metainfo.files[index]!.safePath);
    let result: OpenFile = { handle: undefined, size: where.size, problem: where.problem };
    if (where.real !== undefined) {
      try {
        result = { handle: await open(where.real, 'r'), size: where.size, problem: undefined };
      } catch (e) {
        result = { handle: undefined, size: undefined, problem: `cannot be opened: ${(e as NodeJS.ErrnoException).code ?? String(e)}` };
      }
    }
    this.files.set(index, result);
    return result;
  }

  /** Closes a file no later piece needs. */
  async release(index: number): Promise<void> {
    const f = this.files.get(index);
    if (f?.handle) {
      await f.handle.close();
      this.files.set(index, { handle: undefined, size: f.size, problem: f.problem });
    }
  }

  async closeAll(): Promise<void> {
    for (const i of [...this.files.keys()]) await this.release(i);
  }
}

async function rootRealPath(root: string): Promise<string> {
  try {
    return await realpath(root);
  } catch (e) {
    throw new CodecError('CODEC_IO', `cannot open folder ${root}`, { field: root, cause: e });
  }
}

/** Bytes read per call: pieces can be up to 512 MiB, so they are hashed in chunks of this size. */
const READ_CHUNK_BYTES = 1024 * 1024;

/** Feeds `length` bytes of the file at `position` to the hashes; false if the file ends first. */
async function hashRange(
  handle: FileHandle,
  hashes: readonly (Hash | BlockHasher | undefined)[],
  chunk: Buffer,
  length: number,
  position: number,
): Promise<boolean> {
  let done = 0;
  while (done < length) {
    const want = Math.min(chunk.length, length - done);
    const { bytesRead } = await handle.read(chunk, 0, want, position + done);
    if (bytesRead === 0) return false;
    for (const h of hashes) h?.update(chunk.subarray(0, bytesRead));
    done += bytesRead;
  }
  return true;
}

/**
 * Yields each piece's result in order. Files are looked up under `dir` by their `safePath`
 * (where tc's storage writes them); padding files (BEP 47) count as zeros. A v2 file whose piece
 * layer the torrent lacks is judged whole by its root: its pieces come out together, all `ok` or all
 * `mismatch` (all `missing` when some of its bytes are absent).
 */
export async function* verifyPieces(metainfo: Metainfo, dir: string, opts: { signal?: AbortSignal } = {}): AsyncGenerator<PieceResult> {
  const root = resolve(dir);
  const source = new FileSource(metainfo, root, await rootRealPath(root));
  const chunk = Buffer.alloc(Math.min(READ_CHUNK_BYTES, metainfo.pieceLength));
  const zeros = Buffer.alloc(chunk.length);
  // Files are released once the piece walk passes their last piece, so few handles are open at once.
  const lastPiece = metainfo.files.map((_, i) => fileToPieces(metainfo, i)?.last ?? -1);
  let nextRelease = 0;
  const v2 = metainfo.v2 ? new V2Pieces(metainfo) : undefined;
  // Pieces of a file without its v2 layer, held until the file's last piece is judged.
  let held: PieceResult[] = [];
  try {
    for (let index = 0; index < metainfo.pieceCount; index++) {
      opts.signal?.throwIfAborted();
      const length = metainfo.pieceSize(index);
      let status: PieceStatus = 'ok';
      const hash = metainfo.version === 'v2' ? undefined : createHash('sha1');
      const blocks = v2 ? new BlockHasher() : undefined;
      let dataFile = -1;
      for (const r of pieceRanges(metainfo, index)) {
        if (r.padding) {
          // BEP 47: padding is zeros that are never stored (and no part of a v2 file's tree).
          if (hash) for (let left = r.length; left > 0; left -= zeros.length) hash.update(zeros.subarray(0, Math.min(left, zeros.length)));
          continue;
        }
        dataFile = r.fileIndex;
        const f = await source.get(r.fileIndex);
        if (!f.handle || f.size === undefined || f.size < r.fileOffset + r.length) {
          status = 'missing';
          break;
        }
        if (!(await hashRange(f.handle, [hash, blocks], chunk, r.length, r.fileOffset))) {
          status = 'missing'; // shrank since stat
          break;
        }
      }
      if (status === 'ok' && hash && !hash.digest().equals(metainfo.pieceHash(index))) status = 'mismatch';
      if (v2 && blocks) {
        const verdict = v2.check(index, dataFile, status === 'missing' ? undefined : blocks.digests());
        if (verdict.kind === 'now' && !verdict.ok && status === 'ok') status = 'mismatch';
        if (verdict.kind !== 'now') {
          held.push({ index, status, length });
          if (verdict.kind === 'later') continue;
          const anyMissing = held.some((p) => p.status === 'missing');
          for (const p of held) yield { ...p, status: anyMissing ? 'missing' : verdict.ok ? p.status : 'mismatch' };
          held = [];
        } else yield { index, status, length };
      } else yield { index, status, length };
      while (nextRelease < lastPiece.length && lastPiece[nextRelease]! <= index) await source.release(nextRelease++);
    }
  } finally {
    await source.closeAll();
  }
}

/** Verifies every piece and sums up per file (complete, partial, missing, wrong size). */
export async function verifyData(metainfo: Metainfo, dir: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const have = new Uint8Array(metainfo.pieceCount);
  let piecesOk = 0;
  for await (const r of verifyPieces(metainfo, dir, opts.signal ? { signal: opts.signal } : {})) {
    if (r.status === 'ok') {
      have[r.index] = 1;
      piecesOk++;
    }
    opts.onPiece?.(r);
  }
  const root = resolve(dir);
  const rootReal = await rootRealPath(root);
  const files: FileResult[] = [];
  let bytesOk = 0;
  for (const file of metainfo.files) {
    const span = fileToPieces(metainfo, file.index);
    let ok = 0;
    const total = span ? span.last - span.first + 1 : 0;
    if (span) for (let p = span.first; p <= span.last; p++) ok += have[p]!;
    if (file.padding) continue;
    const size = await locate(root, rootReal, file.safePath);
    let status: FileStatus;
    if (size.size === undefined) status = 'missing';
    else if (size.size !== file.length) status = 'wrong-size';
    else status = ok === total ? 'complete' : 'partial';
    files.push({
      index: file.index,
      path: file.safePath,
      status,
      expectedLength: file.length,
      actualLength: size.size,
      piecesOk: ok,
      piecesTotal: total,
      ...(size.problem !== undefined ? { problem: size.problem } : {}),
    });
  }
  for (let p = 0; p < metainfo.pieceCount; p++) {
    if (have[p]) for (const r of pieceRanges(metainfo, p)) if (!r.padding) bytesOk += r.length;
  }
  return { pieceCount: metainfo.pieceCount, piecesOk, have, files, bytesOk };
}
