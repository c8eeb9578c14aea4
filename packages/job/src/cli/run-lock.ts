import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, realpath, rename, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { CommandError, ExitCode, reportError, reportWarning, type Io } from '@tc/cli';
import { stateFolder } from '@tc/engine';

/** What a lock file says about its holder (JSON, one object). */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** The command holding it (`tc-download`, `tc-seed`). */
  readonly command: string;
  /** When it was taken, ISO 8601. */
  readonly since: string;
  readonly infoHash: string;
  readonly dir: string;
}

/** A held lock: `release()` removes its file (idempotent). */
export interface RunLock {
  readonly path: string;
  release(): Promise<void>;
}

/** Largest lock file read back: a few hundred bytes is all a holder writes. */
const MAX_LOCK_BYTES = 4096;
/** Attempts to take a lock whose holder is gone before giving up (another process racing for it). */
const MAX_ATTEMPTS = 5;

/** `$XDG_STATE_HOME/tc/locks`, else `~/.local/state/tc/locks` (XDG: a relative value is ignored). */
export function lockFolder(env: Readonly<Record<string, string | undefined>>): string {
  return join(stateFolder(env), 'locks');
}

/** The folder's real path when it exists (so a symlink and its target share one lock), else as given. */
async function canonical(dir: string): Promise<string> {
  return realpath(dir).catch(() => resolve(dir));
}

/** True while a process with this pid exists (EPERM: it does, owned by someone else). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: unknown }).code === 'EPERM';
  }
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  try {
    const text = await readFile(path, 'utf8');
    if (text.length > MAX_LOCK_BYTES) return undefined;
    const h = JSON.parse(text) as Partial<LockHolder>;
    return typeof h.pid === 'number' && Number.isInteger(h.pid) && h.pid > 0 && typeof h.host === 'string' ? (h as LockHolder) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock of one torrent (`infoHash`) in one folder (`dir`), so that two runs cannot share
 * resume data (issue 17): a file created exclusively in the state folder, naming its holder. A lock
 * left by a process that is gone (same host, pid not running, or an unreadable file) is taken over;
 * one held by a live process is a CommandError (exit 1) naming it. `onUnavailable` is told when the
 * state folder cannot be written: the run goes on unlocked rather than fail for it.
 */
export async function acquireRunLock(o: {
  readonly infoHash: string;
  readonly dir: string;
  readonly command: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly onUnavailable?: (why: string) => void;
}): Promise<RunLock> {
  const dir = await canonical(o.dir);
  const folder = lockFolder(o.env);
  const key = createHash('sha1').update(`${o.infoHash.toLowerCase()}\0${dir}`).digest('hex').slice(0, 16);
  const path = join(folder, `${o.infoHash.toLowerCase()}-${key}.lock`);
  const unlocked: RunLock = { path, release: async () => {} };
  try {
    await mkdir(folder, { recursive: true, mode: 0o700 });
  } catch (e) {
    o.onUnavailable?.(`cannot create ${folder}: ${(e as { code?: string }).code ?? (e as Error).message}`);
    return unlocked;
  }
  const me: LockHolder = { pid: process.pid, host: hostname(), command: o.command, since: new Date().toISOString(), infoHash: o.infoHash, dir };
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    let handle;
    try {
      handle = await open(path, 'wx', 0o600);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code !== 'EEXIST') {
        o.onUnavailable?.(`cannot create ${path}: ${typeof code === 'string' ? code : (e as Error).message}`);
        return unlocked;
      }
      const holder = await readHolder(path);
      if (holder !== undefined && (holder.host !== me.host || alive(holder.pid))) throw heldBy(holder, path, dir);
      // Gone (or garbage): moved aside atomically, so of two runs taking it over only one removes it.
      const aside = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.stale`);
      if (
        await rename(path, aside).then(
          () => true,
          () => false,
        )
      )
        await unlink(aside).catch(() => undefined);
      continue;
    }
    try {
      await handle.writeFile(`${JSON.stringify(me)}\n`);
    } finally {
      await handle.close();
    }
    let released = false;
    return {
      path,
      release: async () => {
        if (released) return;
        released = true;
        // Only our own file: a lock taken over meanwhile (we were thought gone) is not ours to remove.
        const now = await readHolder(path);
        if (now?.pid === me.pid && now.host === me.host && now.since === me.since) await unlink(path).catch(() => undefined);
      },
    };
  }
  throw new CommandError(`cannot take the lock ${path}: other runs keep taking it`, ExitCode.FAILURE);
}

function heldBy(h: LockHolder, path: string, dir: string): CommandError {
  const where = h.host === hostname() ? `pid ${h.pid}` : `pid ${h.pid} on ${h.host}`;
  const since = typeof h.since === 'string' ? `, since ${h.since.replace('T', ' ').replace(/\.\d+Z$/, 'Z')}` : '';
  const cmd = typeof h.command === 'string' ? h.command : 'tc';
  return new CommandError(`another ${cmd} (${where}${since}) is already working on this torrent in ${dir}`, ExitCode.FAILURE, {
    hint: `wait for it to end or stop it; if no tc is running, remove ${path}`,
  });
}

/**
 * A command's lock for its run, reported the commands' way: the exit code after an `error:` line
 * when another run holds it, a warning (not with --quiet or --json) when it cannot be taken at all.
 */
export async function lockRun(
  io: Io,
  f: { readonly quiet: boolean; readonly json: boolean; readonly verbose: boolean },
  o: { readonly infoHash: string; readonly dir: string; readonly command: string },
): Promise<RunLock | number> {
  try {
    return await acquireRunLock({
      ...o,
      env: io.env,
      onUnavailable: (why) => {
        if (!f.quiet && !f.json) reportWarning(io, `running without a lock (a second run could share this folder): ${why}`);
      },
    });
  } catch (e) {
    return reportError(io, e, { verbose: f.verbose });
  }
}
