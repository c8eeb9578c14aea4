import type { Stats } from 'node:fs';
import { lstat, mkdir, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { checkPathComponent } from '@tc/codec';
import { EngineError } from '../errors.js';

/**
 * Joins torrent path components under `root`, refusing anything that could land outside it.
 * codec has already made names safe; this is the storage's own last line of defence
 * (RELIABILITY.md cases 1–2), with codec's component rules, so it rejects rather than repairs.
 */
export function containedJoin(root: string, components: readonly string[]): string {
  if (components.length === 0) throw new EngineError('ENGINE_UNSAFE_PATH', 'empty file path');
  for (const c of components) {
    const why = checkPathComponent(Buffer.from(c, 'utf8'));
    if (why !== undefined || isAbsolute(c)) {
      throw new EngineError('ENGINE_UNSAFE_PATH', `unsafe path component ${JSON.stringify(c)} (${why ?? 'absolute'})`, { path: components.join('/') });
    }
  }
  const full = join(root, ...components);
  if (full === root || !isInside(root, full)) {
    throw new EngineError('ENGINE_UNSAFE_PATH', `path escapes the download folder`, { path: components.join('/') });
  }
  return full;
}

/**
 * Resolves (and with `create`, makes) the folder that holds torrent file `components` under the real
 * path `rootReal`, one component at a time: each is lstat'ed before anything below it is created,
 * a symlink is followed only when its target stays inside the root, and folders are made one by one
 * (never `mkdir -p`), so a planted symlink cannot make us create folders outside the download folder
 * (RELIABILITY.md case 4). Returns the real path of the folder, or undefined when a component is
 * missing and `create` is false. Throws ENGINE_UNSAFE_PATH for an escape; fs errors pass through.
 *
 * What this cannot close: a folder swapped for a symlink between our lstat and our next step (Node
 * has no openat/mkdirat). The file itself is opened with O_NOFOLLOW by the caller.
 */
export async function containedFolder(
  rootReal: string,
  components: readonly string[],
  create: boolean,
  /** Told the parent of each folder made, whose entry is new. */
  onMade?: (parent: string) => void,
): Promise<string | undefined> {
  containedJoin(rootReal, components);
  const rel = components.join('/');
  let at = rootReal;
  for (const c of components.slice(0, -1)) {
    const next = join(at, c);
    let st = await lstatOrUndefined(next);
    if (st === undefined) {
      if (!create) return undefined;
      try {
        await mkdir(next, 0o755);
        onMade?.(at);
      } catch (e) {
        // Another writer made it meanwhile: check what is there now like any existing entry.
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      st = await lstat(next);
    }
    if (st.isSymbolicLink()) {
      const target = await realpath(next);
      if (!isInside(rootReal, target)) {
        throw new EngineError('ENGINE_UNSAFE_PATH', `folder of ${rel} resolves outside the download folder`, { path: rel });
      }
      if (!(await lstat(target)).isDirectory()) throw Object.assign(new Error(`${next} is not a folder`), { code: 'ENOTDIR' });
      at = target;
    } else if (st.isDirectory()) {
      at = next;
    } else {
      throw Object.assign(new Error(`${next} is not a folder`), { code: 'ENOTDIR' });
    }
  }
  return at;
}

function isInside(root: string, path: string): boolean {
  const r = relative(root, path);
  return r === '' || !(r === '..' || r.startsWith('..' + sep) || isAbsolute(r));
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}
