import { constants } from 'node:fs';
import { lstat, open, readFile, rename, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EngineError } from '../errors.js';
import { syncFolder } from '../storage/durable.js';
import {
  decodeResume,
  encodeResume,
  MAX_RESUME_BYTES,
  reject,
  staleFiles,
  type FileStamp,
  type ResumeData,
  type ResumeExpect,
  type ResumeLoad,
} from './format.js';

/**
 * Where the resume file lives, and its durable write. The edge of the resume module: the checks
 * are in format.ts.
 *
 * Location: the state folder (location.ts, issue 17). `resumePath` is where versions before it
 * kept the file, `<download folder>/<torrent name>.tc-resume`: still the default of `restore` and
 * `ResumeKeeper` when given no `resumeFile`, and the place a migration looks for an old file.
 */
export const RESUME_SUFFIX = '.tc-resume';
/** The temp file beside it: fixed, so a crash leaves at most one stale temp, replaced by the next save. */
export const TEMP_SUFFIX = '.tmp';

/** The resume file path for a torrent saved into `dir` under the (safe) name `name`. */
export function resumePath(dir: string, name: string): string {
  return join(dir, name + RESUME_SUFFIX);
}

/**
 * Current size and mtime of each file (undefined: missing, or not a regular file: a symlink or a
 * folder in its place does not count as our data). Padding files: pass undefined as the path.
 */
export async function stampFiles(paths: readonly (string | undefined)[]): Promise<(FileStamp | undefined)[]> {
  return Promise.all(
    paths.map(async (p) => {
      if (p === undefined) return undefined;
      try {
        const st = await lstat(p);
        return st.isFile() ? { size: st.size, mtimeMs: Math.trunc(st.mtimeMs) } : undefined;
      } catch {
        return undefined;
      }
    }),
  );
}

export interface DurableWriteHooks {
  /** Called after the temp file is written and fsynced, before the rename: tests use it to crash there. */
  readonly beforeRename?: () => void | Promise<void>;
}

/**
 * Writes `bytes` to `path` so that a crash at any point leaves either the old file or the new one,
 * whole: write a temp file in the same folder, fsync it, rename it over the old one (atomic on POSIX),
 * then fsync the folder so the rename itself survives a power cut. Disk errors → ENGINE_DISK.
 */
export async function writeDurably(path: string, bytes: Uint8Array, hooks: DurableWriteHooks = {}): Promise<void> {
  const tmp = path + TEMP_SUFFIX;
  try {
    // A stale temp (a crash) or anything planted at its fixed name goes first; unlink removes a
    // symlink itself, never its target. Then a new file only: O_EXCL fails on anything that appears
    // at the name meanwhile, O_NOFOLLOW on a symlink, so the write can never be redirected.
    await unlink(tmp).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await hooks.beforeRename?.();
    await rename(tmp, path);
  } catch (e) {
    // Free the space a half-written temp holds (it matters on a full disk); the old file is untouched.
    await unlink(tmp).catch(() => undefined);
    if (e instanceof EngineError) throw e;
    throw new EngineError('ENGINE_DISK', `cannot save resume data ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      path,
      cause: e,
    });
  }
  await syncFolder(dirname(path));
}

/**
 * Reads and checks a resume file: torrent fields first (format.ts), then the files on disk
 * (`filePaths[i]`: absolute path of torrent file i, undefined for padding files).
 */
export async function readResume(path: string, expect: ResumeExpect, filePaths: readonly (string | undefined)[]): Promise<ResumeLoad> {
  let bytes: Buffer;
  try {
    const st = await lstat(path);
    if (!st.isFile()) return reject('unreadable', `${path} is not a regular file`);
    if (st.size > MAX_RESUME_BYTES) return reject('too-large', `resume file is ${st.size} bytes, more than ${MAX_RESUME_BYTES}`);
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return reject('missing', 'no resume file');
    return reject('unreadable', `cannot read ${path}: ${code ?? (e as Error).message}`);
  }
  const res = decodeResume(bytes, expect);
  if (!res.ok) return res;
  const stale = staleFiles(res.resume, expect, await stampFiles(filePaths));
  if (stale.length > 0) {
    const list = stale.slice(0, 5).join(', ') + (stale.length > 5 ? ', …' : '');
    return reject('stale-files', `${stale.length} file(s) changed since the resume data was saved (file ${list})`, stale);
  }
  return res;
}

/**
 * One torrent's resume file, for the engine to hold. Saves are serialized and coalesced: while one
 * is being written, further calls only replace the pending data, so a burst of verified pieces costs
 * at most one more write. Loading never throws; saving throws ENGINE_DISK.
 */
export class ResumeStore {
  private writing: Promise<void> | undefined;
  private pending: ResumeData | undefined;
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];

  constructor(
    readonly path: string,
    private readonly hooks: DurableWriteHooks = {},
  ) {}

  load(expect: ResumeExpect, filePaths: readonly (string | undefined)[]): Promise<ResumeLoad> {
    return readResume(this.path, expect, filePaths);
  }

  /** Resolves once `data` (or newer data given later) is durably on disk. */
  save(data: ResumeData): Promise<void> {
    this.pending = data;
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.writing === undefined) this.writing = this.drain();
    return done;
  }

  /** Deletes the resume file (a torrent removed with its data). Missing is fine. */
  async remove(): Promise<void> {
    await this.writing;
    await unlink(this.path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw new EngineError('ENGINE_DISK', `cannot delete ${this.path}: ${e.code ?? e.message}`, { path: this.path, cause: e });
    });
  }

  private async drain(): Promise<void> {
    while (this.pending !== undefined) {
      const data = this.pending;
      const waiters = this.waiters;
      this.pending = undefined;
      this.waiters = [];
      try {
        await writeDurably(this.path, encodeResume(data), this.hooks);
        for (const w of waiters) w.resolve();
      } catch (e) {
        for (const w of waiters) w.reject(e);
      }
    }
    this.writing = undefined;
  }
}
