import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, realpath, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { EngineError } from '../errors.js';
import { decodeResume, MAX_RESUME_BYTES, type ResumeExpect } from './format.js';
import { TEMP_SUFFIX, writeDurably } from './store.js';

/**
 * Where resume data lives (issue 17): in the user's state folder, never in the download folder.
 * `<state>/resume/<info-hash hex>-<folder key>.tc-resume`, the folder key being a hash of the
 * download folder's absolute path: one torrent downloaded into two folders keeps two resume files,
 * and a user's folder holds only the user's files (as libtorrent-based clients and Transmission
 * do). Earlier versions kept `<download folder>/<torrent name>.tc-resume`; `migrateLegacyResume`
 * moves such a file into the state folder once.
 */

/** The resume folder's name inside the state folder. */
export const RESUME_FOLDER = 'resume';
/** Hex digits of the folder key: 64 bits, so two folders of one torrent never share a file in practice. */
const FOLDER_KEY_HEX = 16;

/**
 * The folder's absolute path with symlinks resolved as far as it exists: the real path of its
 * nearest existing ancestor, then the rest as given. So a folder keeps its key once it is created,
 * and a symlink and its target share one.
 */
export async function canonicalFolder(dir: string): Promise<string> {
  const abs = resolve(dir);
  const rest: string[] = [];
  for (let d = abs; ; d = dirname(d)) {
    try {
      return join(await realpath(d), ...rest.reverse());
    } catch {
      if (d === dirname(d)) return abs;
      rest.push(basename(d));
    }
  }
}

/** The key of a (canonical, absolute) download folder. */
export function folderKey(canonical: string): string {
  return createHash('sha256').update(canonical).digest('hex').slice(0, FOLDER_KEY_HEX);
}

/** The resume file of torrent `infoHash` downloaded into `dir`, under the state folder `state`. */
export async function resumeFileFor(state: string, infoHash: Uint8Array | string, dir: string): Promise<string> {
  const hex = typeof infoHash === 'string' ? infoHash.toLowerCase() : Buffer.from(infoHash).toString('hex');
  if (!/^[0-9a-f]{40}$|^[0-9a-f]{64}$/.test(hex)) throw new EngineError('ENGINE_BAD_OPTION', `not an info-hash: ${hex.slice(0, 80)}`);
  return join(state, RESUME_FOLDER, `${hex}-${folderKey(await canonicalFolder(dir))}.tc-resume`);
}

export type MigrateResult =
  /** No old file (or it is a symlink, a folder…: not ours to move). */
  | 'none'
  /** Moved into the state folder and removed from the download folder. */
  | 'moved'
  /** The new file exists already: the old one was only removed. */
  | 'removed'
  /** It belongs to another torrent of the same name: left where it is. */
  | 'other-torrent';

/**
 * Moves a resume file written by an earlier version (`legacy`, beside the data) to `target` in the
 * state folder, durably, then removes it (and its temp file). One that names another torrent's
 * info-hash is left alone: two torrents of one name in one folder each had their own. Anything
 * else (corrupt, stale) is moved as it is: the load that follows judges it, as it did before.
 * Disk errors on the state folder → ENGINE_DISK; an old file that cannot be removed stays (the
 * next start removes it, since the new file then exists).
 */
export async function migrateLegacyResume(legacy: string, target: string, expect: ResumeExpect): Promise<MigrateResult> {
  let bytes: Buffer;
  try {
    const st = await lstat(legacy);
    if (!st.isFile()) return 'none';
    bytes = st.size > MAX_RESUME_BYTES ? Buffer.alloc(0) : await readFile(legacy);
  } catch {
    return 'none';
  }
  const load = decodeResume(bytes, expect);
  if (!load.ok && load.reason === 'wrong-torrent') return 'other-torrent';
  const exists = await lstat(target).then(
    () => true,
    () => false,
  );
  if (!exists) {
    try {
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    } catch (e) {
      throw new EngineError('ENGINE_DISK', `cannot create ${dirname(target)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
        path: dirname(target),
        cause: e,
      });
    }
    await writeDurably(target, bytes);
  }
  await unlink(legacy + TEMP_SUFFIX).catch(() => undefined);
  const removed = await unlink(legacy).then(
    () => true,
    () => false,
  );
  return exists ? (removed ? 'removed' : 'none') : 'moved';
}
