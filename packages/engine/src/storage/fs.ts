import { constants } from 'node:fs';
import { mkdir, open, realpath } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { EngineError } from '../errors.js';
import type { TorrentLayout } from '../layout.js';
import { fileSlices } from '../layout.js';
import { syncFolder } from './durable.js';
import { containedJoin, containedFolder } from './safe-path.js';
import type { StorageFactory, TorrentStorage } from './types.js';

/** Open file handles kept per torrent: enough for sequential piece writes across small files, well under ulimit. */
export const DEFAULT_MAX_OPEN_FILES = 32;

export interface FsStorageOptions {
  /** Download folder; every file lands under it. */
  readonly dir: string;
  readonly maxOpenFiles?: number;
}

interface CachedHandle {
  fh: FileHandle;
  users: number;
  lastUse: number;
}

const DISK_CODES = new Set(['ENOSPC', 'EROFS', 'EACCES', 'EPERM', 'EDQUOT', 'EIO', 'EISDIR', 'ENOTDIR', 'ELOOP', 'EEXIST', 'EFBIG', 'EMFILE', 'ENFILE']);

function diskError(what: string, path: string, cause: unknown): EngineError {
  const code = (cause as { code?: unknown } | null)?.code;
  const why = typeof code === 'string' && DISK_CODES.has(code) ? code : String((cause as Error)?.message ?? cause);
  return new EngineError('ENGINE_DISK', `${what} ${path}: ${why}`, { path, cause });
}

/**
 * Files on disk: created lazily at their final size on first write, written and read by position
 * through a bounded LRU of open handles. Padding files are never touched.
 */
export class FsStorage implements TorrentStorage {
  private readonly handles = new Map<number, CachedHandle>();
  /**
   * Read-only handles of files we have not opened for writing (seeding, re-checks): cached like the
   * others so serving 16 KiB blocks does not open and close a file per block.
   */
  private readonly readHandles = new Map<number, CachedHandle>();
  private readonly opening = new Map<number, Promise<CachedHandle>>();
  /**
   * Writers waiting on `opening` per file: the handle is in the cache with no user yet, and another
   * opening's eviction must not close it before they take it.
   */
  private readonly waiting = new Map<number, number>();
  private readonly maxOpen: number;
  private tick = 0;
  private closed = false;
  /** Files written since the last sync began: the only ones `sync()` needs to touch. */
  private readonly dirtyFiles = new Set<number>();
  /** Real folders whose entries changed (a file or folder created in them) since the last sync began. */
  private readonly dirtyFolders = new Set<string>();
  /** The sync in progress, if any: the next waits for it, so each covers every write before its call. */
  private syncing: Promise<void> = Promise.resolve();
  private rootReal: string | undefined;

  constructor(
    readonly layout: TorrentLayout,
    readonly dir: string,
    maxOpenFiles = DEFAULT_MAX_OPEN_FILES,
  ) {
    this.maxOpen = Math.max(1, maxOpenFiles);
    // Check every path before anything is written (RELIABILITY.md case 1–2).
    for (const f of layout.files) if (!f.padding) containedJoin(dir, f.path);
  }

  private relPath(file: number): string {
    return this.layout.files[file]!.path.join('/');
  }

  private async root(): Promise<string> {
    if (this.rootReal === undefined) {
      try {
        const first = await mkdir(this.dir, { recursive: true });
        // Folders made here are new entries in their parents, up to the one that already existed.
        if (first !== undefined) {
          const top = resolve(first);
          for (let d = resolve(this.dir); ; d = dirname(d)) {
            this.dirtyFolders.add(dirname(d));
            if (d === top || d === dirname(d)) break;
          }
        }
        this.rootReal = await realpath(this.dir);
      } catch (e) {
        throw diskError('cannot create folder', this.dir, e);
      }
    }
    return this.rootReal;
  }

  private async openFile(file: number, create: boolean): Promise<FileHandle | undefined> {
    const f = this.layout.files[file]!;
    const root = await this.root();
    const rel = this.relPath(file);
    let folder: string | undefined;
    try {
      // Component by component: a symlinked folder inside the target could point outside it (RELIABILITY.md case 4).
      folder = await containedFolder(root, f.path, create, (parent) => this.dirtyFolders.add(parent));
    } catch (e) {
      if (e instanceof EngineError) throw e;
      if (!create && (e as { code?: string }).code === 'ENOENT') return undefined;
      throw diskError('cannot create folder for', rel, e);
    }
    if (folder === undefined) return undefined;
    const full = join(folder, f.path[f.path.length - 1]!);
    let fh: FileHandle;
    try {
      // Read-only when only reading: seeding or re-checking data we may not write (a read-only file or mount) must work.
      const flags = constants.O_NOFOLLOW | (create ? constants.O_RDWR : constants.O_RDONLY);
      fh = await open(full, flags).catch(async (e: unknown) => {
        if (!create || (e as { code?: string }).code !== 'ENOENT') throw e;
        // A new file: its entry in the folder must be made durable along with its data.
        const made = await open(full, flags | constants.O_CREAT | constants.O_EXCL, 0o644);
        this.dirtyFolders.add(folder);
        return made;
      });
    } catch (e) {
      if (!create && (e as { code?: string }).code === 'ENOENT') return undefined;
      throw diskError('cannot open', rel, e);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new Error('not a regular file');
      if (create && st.size !== f.length) await fh.truncate(f.length);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw diskError('cannot size', rel, e);
    }
    return fh;
  }

  private async acquire(file: number): Promise<CachedHandle> {
    if (this.closed) throw new EngineError('ENGINE_CLOSED', 'storage closed');
    const cached = this.handles.get(file);
    if (cached !== undefined) {
      cached.users++;
      cached.lastUse = ++this.tick;
      return cached;
    }
    let p = this.opening.get(file);
    if (p === undefined) {
      p = (async () => {
        const fh = (await this.openFile(file, true))!;
        const h: CachedHandle = { fh, users: 0, lastUse: ++this.tick };
        this.handles.set(file, h);
        await this.evict();
        return h;
      })();
      this.opening.set(file, p);
      p.finally(() => this.opening.delete(file)).catch(() => undefined);
    }
    this.waiting.set(file, (this.waiting.get(file) ?? 0) + 1);
    try {
      const h = await p;
      h.users++;
      h.lastUse = ++this.tick;
      return h;
    } finally {
      const n = this.waiting.get(file)! - 1;
      if (n === 0) this.waiting.delete(file);
      else this.waiting.set(file, n);
    }
  }

  private release(h: CachedHandle): void {
    h.users--;
    // Handles pinned by waiting writers may have kept the cache over its cap: trim it now they are free.
    if (h.users === 0) {
      if (this.handles.size > this.maxOpen) void this.evict();
      if (this.readHandles.size > this.maxOpen) void this.evict(this.readHandles);
    }
  }

  /**
   * Closes least-recently-used idle handles beyond the cap (taken out of the cache at once, closed
   * after). Busy handles, and those writers wait to take, are never closed.
   */
  private async evict(cache: Map<number, CachedHandle> = this.handles): Promise<void> {
    const victims: FileHandle[] = [];
    while (cache.size > this.maxOpen) {
      let victim: [number, CachedHandle] | undefined;
      for (const e of cache) {
        if (e[1].users === 0 && !this.waiting.has(e[0]) && (victim === undefined || e[1].lastUse < victim[1].lastUse)) victim = e;
      }
      if (victim === undefined) break;
      cache.delete(victim[0]);
      victims.push(victim[1].fh);
    }
    await Promise.all(victims.map((fh) => fh.close().catch(() => undefined)));
  }

  /** A handle to read `file`: the writable one if open, else a cached read-only one; undefined if the file does not exist. */
  private async acquireForRead(file: number): Promise<CachedHandle | undefined> {
    if (this.closed) throw new EngineError('ENGINE_CLOSED', 'storage closed');
    const h = this.handles.get(file) ?? this.readHandles.get(file);
    if (h === undefined) {
      const fh = await this.openFile(file, false);
      if (fh === undefined) return undefined;
      // Another read may have opened it meanwhile: keep one, close ours.
      const raced = this.handles.get(file) ?? this.readHandles.get(file);
      if (raced !== undefined || this.closed) {
        await fh.close().catch(() => undefined);
        if (raced === undefined) throw new EngineError('ENGINE_CLOSED', 'storage closed');
        raced.users++;
        raced.lastUse = ++this.tick;
        return raced;
      }
      const fresh: CachedHandle = { fh, users: 1, lastUse: ++this.tick };
      this.readHandles.set(file, fresh);
      await this.evict(this.readHandles);
      return fresh;
    }
    h.users++;
    h.lastUse = ++this.tick;
    return h;
  }

  async write(piece: number, offset: number, chunks: readonly Uint8Array[]): Promise<void> {
    let length = 0;
    for (const c of chunks) length += c.length;
    const slices = fileSlices(this.layout, piece, offset, length);
    // Walk the chunks alongside the slices, cutting views (no copies) at file boundaries.
    let ci = 0;
    let cOff = 0;
    for (const s of slices) {
      const parts: Uint8Array[] = [];
      let need = s.length;
      while (need > 0) {
        const c = chunks[ci]!;
        const take = Math.min(need, c.length - cOff);
        parts.push(take === c.length && cOff === 0 ? c : c.subarray(cOff, cOff + take));
        need -= take;
        cOff += take;
        if (cOff === c.length) {
          ci++;
          cOff = 0;
        }
      }
      if (this.layout.files[s.file]!.padding) continue;
      const h = await this.acquire(s.file);
      try {
        let pos = s.fileOffset;
        let rest: Uint8Array[] = parts;
        // writev may write less than asked (e.g. near a full disk): loop until done.
        while (rest.length > 0) {
          const r = await h.fh.writev(rest, pos);
          pos += r.bytesWritten;
          rest = skipBytes(rest, r.bytesWritten);
          if (r.bytesWritten === 0 && rest.length > 0) throw Object.assign(new Error('short write'), { code: 'EIO' });
        }
      } catch (e) {
        throw e instanceof EngineError ? e : diskError('cannot write', this.relPath(s.file), e);
      } finally {
        // Marked after the write, not before: a write landing during a sync is left for the next one.
        this.dirtyFiles.add(s.file);
        this.release(h);
      }
    }
  }

  async read(piece: number, offset: number, length: number): Promise<Buffer> {
    const out = Buffer.alloc(length);
    for (const s of fileSlices(this.layout, piece, offset, length)) {
      if (this.layout.files[s.file]!.padding) continue;
      const h = await this.acquireForRead(s.file);
      if (h === undefined) continue; // never written: zeros
      try {
        let done = 0;
        while (done < s.length) {
          const r = await h.fh.read(out, s.rangeOffset + done, s.length - done, s.fileOffset + done);
          if (r.bytesRead === 0) break; // past EOF: zeros
          done += r.bytesRead;
        }
      } catch (e) {
        throw diskError('cannot read', this.relPath(s.file), e);
      } finally {
        this.release(h);
      }
    }
    return out;
  }

  /**
   * Creates the zero-length files (no piece covers them, so no write ever does); call once the download
   * is done. `only`: the file indices to consider (a selection). Same path checks as every write.
   */
  async createEmptyFiles(only?: readonly number[]): Promise<void> {
    const want = only === undefined ? undefined : new Set(only);
    for (let i = 0; i < this.layout.files.length; i++) {
      const f = this.layout.files[i]!;
      if (f.padding || f.length !== 0 || (want !== undefined && !want.has(i))) continue;
      const fh = await this.openFile(i, true);
      await fh?.close();
    }
  }

  sync(): Promise<void> {
    const run = this.syncing.catch(() => undefined).then(() => this.syncNow());
    this.syncing = run;
    return run;
  }

  private async syncNow(): Promise<void> {
    const files = [...this.dirtyFiles];
    const folders = [...this.dirtyFolders];
    this.dirtyFiles.clear();
    this.dirtyFolders.clear();
    try {
      // One at a time: syncs compete with the download for the disk, and none of them is urgent.
      for (const file of files) await this.syncFile(file);
      for (const folder of folders) await syncFolder(folder);
    } catch (e) {
      // Not durable after all: the next sync tries them again.
      for (const file of files) this.dirtyFiles.add(file);
      for (const folder of folders) this.dirtyFolders.add(folder);
      throw e;
    }
  }

  private async syncFile(file: number): Promise<void> {
    try {
      const h = this.closed ? undefined : (this.handles.get(file) ?? this.readHandles.get(file));
      if (h !== undefined) {
        // Held while syncing so eviction cannot close it under us.
        h.users++;
        try {
          await h.fh.datasync();
        } finally {
          this.release(h);
        }
        return;
      }
      // Evicted or closed since the write: fdatasync through any descriptor flushes the file's pages.
      const fh = await this.openFile(file, false);
      if (fh === undefined) return; // deleted meanwhile: nothing of ours left to keep
      try {
        await fh.datasync();
      } finally {
        await fh.close().catch(() => undefined);
      }
    } catch (e) {
      throw e instanceof EngineError ? e : diskError('cannot sync', this.relPath(file), e);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.opening.values()]);
    const all = [...this.handles.values(), ...this.readHandles.values()];
    this.handles.clear();
    this.readHandles.clear();
    await Promise.all(all.map((h) => h.fh.close().catch(() => undefined)));
  }

  /** Number of handles currently open (for tests of the cache bound). */
  get openHandles(): number {
    return this.handles.size + this.readHandles.size;
  }
}

function skipBytes(parts: Uint8Array[], n: number): Uint8Array[] {
  let i = 0;
  while (i < parts.length && n >= parts[i]!.length) {
    n -= parts[i]!.length;
    i++;
  }
  if (i >= parts.length) return [];
  const rest = parts.slice(i);
  if (n > 0) rest[0] = rest[0]!.subarray(n);
  return rest;
}

export function fsStorage(options: FsStorageOptions): StorageFactory {
  return {
    open: (layout) => Promise.resolve(new FsStorage(layout, options.dir, options.maxOpenFiles)),
  };
}
