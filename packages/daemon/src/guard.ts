import { mkdir, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { DaemonError } from './errors.js';

/** Longest download-dir path accepted from a caller (PATH_MAX on Linux). */
export const MAX_PATH_CHARS = 4096;

/** The longest existing ancestor of `p`, resolved through symlinks, plus the part below it that does not exist yet. */
async function realPrefix(p: string): Promise<string> {
  let head = p;
  const tail: string[] = [];
  for (;;) {
    try {
      return resolve(await realpath(head), ...tail.reverse());
    } catch {
      const up = dirname(head);
      if (up === head) return p;
      tail.push(head.slice(up.length + (up.endsWith(sep) ? 0 : 1)));
      head = up;
    }
  }
}

function inside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/**
 * Download folders a remote caller may name: only inside the roots the operator allowed
 * (`--download-root`), checked on the real path (a symlink inside a root pointing out of it is
 * refused), then created. Throws DAEMON_FORBIDDEN_PATH otherwise.
 */
export class DownloadRoots {
  private constructor(private readonly roots: readonly string[]) {}

  static async create(roots: readonly string[]): Promise<DownloadRoots> {
    if (roots.length === 0) throw new DaemonError('DAEMON_BAD_REQUEST', 'at least one download root is needed');
    const real: string[] = [];
    for (const r of roots) {
      const abs = resolve(r);
      await mkdir(abs, { recursive: true });
      real.push(await realpath(abs));
    }
    return new DownloadRoots(real);
  }

  /** Where torrents go when the caller names no folder. */
  get default(): string {
    return this.roots[0]!;
  }

  get list(): readonly string[] {
    return this.roots;
  }

  /** The confined, created folder for `requested` (absolute, or relative to the default root). */
  async confine(requested: string | undefined): Promise<string> {
    if (requested === undefined || requested === '') return this.default;
    if (typeof requested !== 'string' || requested.length > MAX_PATH_CHARS || requested.includes('\0'))
      throw new DaemonError('DAEMON_BAD_REQUEST', 'download-dir must be a path of at most 4096 characters');
    const abs = resolve(this.default, requested);
    const real = await realPrefix(abs);
    if (!this.roots.some((r) => inside(r, real))) {
      throw new DaemonError('DAEMON_FORBIDDEN_PATH', `download folder ${JSON.stringify(requested)} is outside the allowed roots`);
    }
    try {
      await mkdir(real, { recursive: true });
    } catch (e) {
      throw new DaemonError('DAEMON_FORBIDDEN_PATH', `cannot create the download folder: ${(e as Error).message}`, { cause: e });
    }
    // Created now: check again, in case a symlink appeared on the way.
    const again = await realpath(real);
    if (!this.roots.some((r) => inside(r, again))) {
      throw new DaemonError('DAEMON_FORBIDDEN_PATH', `download folder ${JSON.stringify(requested)} is outside the allowed roots`);
    }
    return again;
  }
}
