import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CliError, CommandError, ExitCode, UsageError } from './exit-codes.js';

/** Read size for input files: large enough that a 10 MB torrent takes few reads. */
const READ_CHUNK_BYTES = 1024 * 1024;

function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A file that exists but cannot be read (permissions, an I/O error): exit 5, the errno kept as the cause. */
function unreadable(e: unknown): CliError {
  const code = errnoOf(e);
  const hint = code === 'EACCES' || code === 'EPERM' ? 'check the file’s permissions' : undefined;
  return new CliError('CLI_FILE_UNREADABLE', `cannot read it (${code ?? (e as Error).message})`, { cause: e, ...(hint ? { hint } : {}) });
}

/**
 * Reads a file the user named on the command line, refusing more than `maxBytes` before reading
 * it all (a hostile or mistaken input must not fill memory). A missing file or a folder is a usage
 * error (CLI.md: exit 2), too large is CLI_BAD_INPUT (exit 3), any other failure to read it
 * CLI_FILE_UNREADABLE (exit 5) with the system error as its cause.
 */
export async function readInputFile(path: string, opts: { maxBytes: number }): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    const code = errnoOf(e);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw Object.assign(new UsageError('no such file', 'check the path'), { cause: e });
    }
    throw unreadable(e);
  }
  try {
    const st = await handle.stat().catch((e: unknown) => {
      throw unreadable(e);
    });
    if (st.isDirectory()) throw new UsageError('is a folder, not a file');
    if (st.size > opts.maxBytes) {
      throw new CliError('CLI_BAD_INPUT', `is ${st.size} bytes, more than the ${opts.maxBytes}-byte limit`);
    }
    // Read at most maxBytes + 1 whatever stat said: the file may grow, or be a pipe or device.
    const chunks: Buffer[] = [];
    let total = 0;
    const chunk = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, Math.min(chunk.length, opts.maxBytes + 1 - total), null).catch((e: unknown) => {
        throw unreadable(e);
      });
      if (bytesRead === 0) break;
      chunks.push(Buffer.from(chunk.subarray(0, bytesRead)));
      total += bytesRead;
      if (total > opts.maxBytes) {
        throw new CliError('CLI_BAD_INPUT', `is more than the ${opts.maxBytes}-byte limit`);
      }
    }
    return Buffer.concat(chunks, total);
  } finally {
    await handle.close();
  }
}

/**
 * Writes a file so that readers see the old content or the new, never a mix (CLI.md "Files"):
 * a temporary file in the same folder (same file system, so rename is atomic), fsync, rename,
 * then fsync the folder so the rename itself survives a crash. The temp file is removed on failure.
 */
export async function writeFileAtomic(path: string, data: Uint8Array, opts: { mode?: number } = {}): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(tmp, 'wx', opts.mode ?? 0o644);
  let renamed = false;
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
    renamed = true;
  } finally {
    if (!renamed) await unlink(tmp).catch(() => undefined);
  }
  // Best effort: some file systems refuse fsync on a directory (EINVAL/EISDIR); the data is already safe.
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* not every platform can fsync a folder */
  }
}

/**
 * Checks, without creating anything, that a command can write into folder `dir` (absolute): the
 * folder, or its nearest existing ancestor, must be a writable folder. A regular file on the way,
 * or a folder that cannot be written (permissions, a read-only file system), is a disk error
 * (exit 5) known before any peer is dialled. `flag` names where the folder came from (`-o`).
 * The message holds the raw path: reportError sanitizes it.
 */
export async function checkOutputFolder(dir: string, flag: string): Promise<void> {
  const fail = (why: string, hint: string, cause?: unknown): CommandError =>
    new CommandError(`${flag} ${dir}: ${why}`, ExitCode.DISK, { hint, ...(cause !== undefined ? { cause } : {}) });
  let at = dir;
  for (;;) {
    let st;
    try {
      st = await stat(at);
    } catch (e) {
      const code = errnoOf(e);
      const parent = dirname(at);
      // Missing (created by the download) or a file in the way higher up (ENOTDIR): look one level up.
      if ((code === 'ENOENT' || code === 'ENOTDIR') && parent !== at) {
        at = parent;
        continue;
      }
      throw fail(`cannot look at ${at} (${code ?? (e as Error).message})`, 'choose another folder with ' + flag, e);
    }
    if (!st.isDirectory())
      throw fail(at === dir ? 'is a file, not a folder' : `${at} is a file, not a folder`, `choose a folder with ${flag}, or move the file away`);
    break;
  }
  try {
    await access(at, constants.W_OK | constants.X_OK);
  } catch (e) {
    const code = errnoOf(e) ?? (e as Error).message;
    const where = at === dir ? 'cannot write into it' : `cannot create it: ${at} is not writable`;
    throw fail(
      `${where} (${code})`,
      code === 'EROFS' ? 'the file system is read-only: choose another folder' : `check the folder’s permissions, or choose another with ${flag}`,
      e,
    );
  }
}
