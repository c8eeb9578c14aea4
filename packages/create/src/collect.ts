/** Finding the files of a torrent to make: sorted like a v2 file tree, with symlink, hidden-file and glob rules. */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { CodecError, checkPathComponent, MAX_PATH_DEPTH } from '@tc/codec';

/** Files in one torrent we create: far beyond real use, a bound on memory for the file list. */
export const MAX_CREATE_FILES = 1_000_000;

export interface SourceFile {
  readonly abs: string;
  /** Path inside the folder (empty for a single file). */
  readonly rel: string[];
  readonly length: number;
}

export interface CollectOptions {
  /** `skip` (default) leaves symlinks out, `refuse` fails on one, `follow` reads through links that stay inside the folder. */
  readonly symlinks?: 'skip' | 'refuse' | 'follow';
  /** Include names starting with a dot (default true). */
  readonly hidden?: boolean;
  /** Globs (`*`, `?`, `**`): a file is kept only if one matches (all files when empty). */
  readonly include?: readonly string[];
  /** Globs of files and folders to leave out. A pattern without `/` matches any single name. */
  readonly exclude?: readonly string[];
  /** Absolute paths to leave out: the .torrent being written, when it lies inside the folder. */
  readonly skipPaths?: readonly string[];
}

function ioError(message: string, path: string, cause: unknown): CodecError {
  return new CodecError('CODEC_IO', `${message}: ${path}`, { field: path, cause });
}

/** A glob as a regular expression over a `/`-joined relative path. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

function matcher(globs: readonly string[] | undefined): ((rel: string[]) => boolean) | undefined {
  if (!globs || globs.length === 0) return undefined;
  const res = globs.map((g) => ({ re: globToRegExp(g), anyName: !g.includes('/') }));
  return (rel) => res.some(({ re, anyName }) => re.test(rel.join('/')) || (anyName && rel.some((c) => re.test(c))));
}

function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Lists the files to put in a torrent of `path` (a file or a folder), in v2 file-tree order. */
export async function collectFiles(path: string, opts: CollectOptions = {}): Promise<{ files: SourceFile[]; multiFile: boolean }> {
  // The path the user named is followed even when it is a symlink: the symlink rules are for what lies inside.
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    throw ioError('cannot read', path, e);
  }
  if (st.isFile()) return { files: [{ abs: path, rel: [], length: st.size }], multiFile: false };
  if (!st.isDirectory()) throw new CodecError('CODEC_IO', `not a file or folder: ${path}`, { field: path });
  const root = await realpath(path);
  const excluded = matcher(opts.exclude);
  const included = matcher(opts.include);
  const files: SourceFile[] = [];

  const walk = async (dir: string, rel: string[], chain: Set<string>): Promise<void> => {
    if (rel.length >= MAX_PATH_DEPTH) throw new CodecError('CODEC_PATH_TOO_DEEP', `more than ${MAX_PATH_DEPTH} folder levels: ${dir}`, { field: dir });
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (e) {
      throw ioError('cannot list folder', dir, e);
    }
    names.sort(compareNames);
    for (const name of names) {
      const abs = join(dir, name);
      const childRel = [...rel, name];
      if (opts.hidden === false && name.startsWith('.')) continue;
      if (excluded?.(childRel) || opts.skipPaths?.includes(abs)) continue;
      const reason = checkPathComponent(Buffer.from(name, 'utf8'));
      if (reason !== undefined) throw new CodecError('CODEC_UNSAFE_PATH', `cannot put ${JSON.stringify(name)} in a torrent (${reason})`, { field: abs });
      let s;
      try {
        s = await lstat(abs);
      } catch (e) {
        throw ioError('cannot stat', abs, e);
      }
      if (s.isSymbolicLink()) {
        const mode = opts.symlinks ?? 'skip';
        if (mode === 'skip') continue;
        if (mode === 'refuse')
          throw new CodecError('CODEC_UNSAFE_PATH', `${abs} is a symlink (follow links with the symlink option, or leave them out)`, { field: abs });
        let target: string;
        try {
          target = await realpath(abs);
          s = await stat(abs);
        } catch (e) {
          throw ioError('cannot follow symlink', abs, e);
        }
        if (!inside(root, target)) throw new CodecError('CODEC_UNSAFE_PATH', `${abs} links outside the folder (${target})`, { field: abs });
        if (s.isDirectory() && chain.has(target))
          throw new CodecError('CODEC_UNSAFE_PATH', `${abs} links to a folder that contains it (a loop)`, { field: abs });
      }
      if (s.isDirectory()) {
        const real = await realpath(abs).catch(() => abs);
        await walk(abs, childRel, new Set([...chain, real]));
      } else if (s.isFile()) {
        if (included && !included(childRel)) continue;
        if (files.length >= MAX_CREATE_FILES) throw new CodecError('CODEC_BAD_METAINFO', `more than ${MAX_CREATE_FILES} files`, { field: path });
        files.push({ abs, rel: childRel, length: s.size });
      }
    }
  };
  await walk(path, [], new Set([root]));
  if (files.length === 0) throw new CodecError('CODEC_EMPTY_FILE_LIST', `no files in ${path}`, { field: path });
  return { files, multiFile: true };
}
