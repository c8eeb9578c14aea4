import { mkdir, open, readFile, rm, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '@tc/cli';
import { DaemonError } from './errors.js';

/** Largest torrent list read back: 1,000 torrents take about 300 KB; far more is not ours. */
export const MAX_LIST_BYTES = 64 * 1024 * 1024;
/** Most torrents one daemon holds (a bound on the list it reads and on adds). */
export const MAX_TORRENTS = 100_000;

/** One torrent as the state folder keeps it (torrents.json). */
export interface TorrentRecord {
  /** Transmission-style id, stable across restarts. */
  readonly id: number;
  readonly infoHashHex: string;
  readonly name: string;
  /** The folder holding the torrent's file or folder (inside an allowed root). */
  readonly dir: string;
  /** Stopped by the user (not queued, not running). */
  readonly paused: boolean;
  /** Wanted file indices; undefined: every file. */
  readonly selection?: readonly number[];
  /** The magnet link while its metadata has not come yet. */
  readonly magnet?: string;
  /** Seconds since the epoch. */
  readonly addedAt: number;
  readonly doneAt?: number;
}

export interface DaemonSettings {
  /** Global limits, bytes/s; 0 is unlimited. */
  readonly downloadRateBps: number;
  readonly uploadRateBps: number;
  /** How many torrents may download at once; the rest wait in the queue. */
  readonly maxActiveDownloads: number;
}

export const DEFAULT_SETTINGS: DaemonSettings = { downloadRateBps: 0, uploadRateBps: 0, maxActiveDownloads: 5 };

interface ListFile {
  readonly version: 1;
  readonly nextId: number;
  readonly settings: DaemonSettings;
  readonly torrents: readonly TorrentRecord[];
}

/** `$XDG_STATE_HOME/tc/daemon`, else `~/.local/state/tc/daemon` (ARCHITECTURE.md: state has one home). */
export function defaultStateDir(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const xdg = env.XDG_STATE_HOME;
  return xdg !== undefined && xdg.startsWith('/') ? join(xdg, 'tc', 'daemon') : join(homedir(), '.local', 'state', 'tc', 'daemon');
}

function ioError(what: string, e: unknown): DaemonError {
  return new DaemonError('DAEMON_STATE_IO', `${what}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

function isHex40(s: unknown): s is string {
  return typeof s === 'string' && /^[0-9a-f]{40}$/.test(s);
}

function isCount(n: unknown, max: number): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= max;
}

/** A record read back from disk, checked field by field (a hand-edited or damaged list must not crash the daemon). */
function readRecord(r: unknown): TorrentRecord | undefined {
  if (typeof r !== 'object' || r === null) return undefined;
  const o = r as Record<string, unknown>;
  if (!isCount(o.id, 2 ** 31 - 1) || !isHex40(o.infoHashHex) || typeof o.name !== 'string' || typeof o.dir !== 'string' || !o.dir.startsWith('/'))
    return undefined;
  if (typeof o.paused !== 'boolean' || !isCount(o.addedAt, 2 ** 40)) return undefined;
  const sel = o.selection;
  if (sel !== undefined && !(Array.isArray(sel) && sel.length <= 1_000_000 && sel.every((i) => isCount(i, 10_000_000)))) return undefined;
  if (o.magnet !== undefined && typeof o.magnet !== 'string') return undefined;
  if (o.doneAt !== undefined && !isCount(o.doneAt, 2 ** 40)) return undefined;
  return {
    id: o.id,
    infoHashHex: o.infoHashHex,
    name: o.name.slice(0, 4096),
    dir: o.dir,
    paused: o.paused,
    addedAt: o.addedAt,
    ...(sel !== undefined ? { selection: sel as number[] } : {}),
    ...(typeof o.magnet === 'string' ? { magnet: o.magnet } : {}),
    ...(o.doneAt !== undefined ? { doneAt: o.doneAt } : {}),
  };
}

function readSettings(s: unknown): DaemonSettings {
  if (typeof s !== 'object' || s === null) return DEFAULT_SETTINGS;
  const o = s as Record<string, unknown>;
  return {
    downloadRateBps: isCount(o.downloadRateBps, 2 ** 40) ? o.downloadRateBps : 0,
    uploadRateBps: isCount(o.uploadRateBps, 2 ** 40) ? o.uploadRateBps : 0,
    maxActiveDownloads: isCount(o.maxActiveDownloads, 10_000) && o.maxActiveDownloads > 0 ? o.maxActiveDownloads : DEFAULT_SETTINGS.maxActiveDownloads,
  };
}

/**
 * The daemon's state folder: a lock (one daemon per folder), the torrent list with the settings
 * (torrents.json), each torrent's metainfo (torrents/HASH.torrent), and the generated password.
 * Every write is atomic (temp file, fsync, rename), so a `kill -9` leaves the old list or the new.
 * Each torrent's resume data is the job's, in `resume/` here (keyed by info-hash and download folder).
 */
export class StateDir {
  private constructor(
    readonly path: string,
    private readonly lockPath: string,
  ) {}

  /** Creates the folder if needed and takes its lock; DAEMON_LOCKED when another live daemon holds it. */
  static async open(path: string): Promise<StateDir> {
    try {
      await mkdir(join(path, 'torrents'), { recursive: true, mode: 0o700 });
    } catch (e) {
      throw ioError(`cannot create the state folder ${path}`, e);
    }
    const lockPath = join(path, 'daemon.lock');
    await takeLock(lockPath);
    return new StateDir(path, lockPath);
  }

  async load(): Promise<{ nextId: number; settings: DaemonSettings; torrents: TorrentRecord[]; skipped: number }> {
    let text: Buffer;
    try {
      text = await readFile(join(this.path, 'torrents.json'));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { nextId: 1, settings: DEFAULT_SETTINGS, torrents: [], skipped: 0 };
      throw ioError('cannot read the torrent list', e);
    }
    if (text.length > MAX_LIST_BYTES) throw new DaemonError('DAEMON_STATE_IO', `the torrent list is larger than ${MAX_LIST_BYTES} bytes`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text.toString('utf8'));
    } catch (e) {
      throw ioError('the torrent list is not valid JSON', e);
    }
    const o = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<string, unknown>;
    const raw = Array.isArray(o.torrents) ? o.torrents.slice(0, MAX_TORRENTS) : [];
    const torrents: TorrentRecord[] = [];
    const seen = new Set<string>();
    for (const r of raw) {
      const rec = readRecord(r);
      if (rec !== undefined && !seen.has(rec.infoHashHex)) {
        seen.add(rec.infoHashHex);
        torrents.push(rec);
      }
    }
    const maxId = torrents.reduce((m, t) => Math.max(m, t.id), 0);
    const nextId = isCount(o.nextId, 2 ** 31 - 1) ? Math.max(o.nextId, maxId + 1) : maxId + 1;
    return { nextId, settings: readSettings(o.settings), torrents, skipped: raw.length - torrents.length };
  }

  async save(nextId: number, settings: DaemonSettings, torrents: readonly TorrentRecord[]): Promise<void> {
    const file: ListFile = { version: 1, nextId, settings, torrents };
    try {
      await writeFileAtomic(join(this.path, 'torrents.json'), Buffer.from(JSON.stringify(file)), { mode: 0o600 });
    } catch (e) {
      throw ioError('cannot save the torrent list', e);
    }
  }

  torrentPath(infoHashHex: string): string {
    return join(this.path, 'torrents', `${infoHashHex}.torrent`);
  }

  async saveTorrent(infoHashHex: string, bytes: Uint8Array): Promise<void> {
    try {
      await writeFileAtomic(this.torrentPath(infoHashHex), bytes, { mode: 0o600 });
    } catch (e) {
      throw ioError('cannot save the torrent file', e);
    }
  }

  async readTorrent(infoHashHex: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.torrentPath(infoHashHex));
    } catch {
      return undefined;
    }
  }

  async deleteTorrent(infoHashHex: string): Promise<void> {
    await rm(this.torrentPath(infoHashHex), { force: true });
  }

  /** The stored `user:password`, or undefined. */
  async readAuth(): Promise<string | undefined> {
    try {
      const s = (await readFile(join(this.path, 'auth'), 'utf8')).trim();
      return s.includes(':') && s.length <= 1024 ? s : undefined;
    } catch {
      return undefined;
    }
  }

  async writeAuth(userPass: string): Promise<void> {
    try {
      await writeFileAtomic(join(this.path, 'auth'), Buffer.from(`${userPass}\n`), { mode: 0o600 });
    } catch (e) {
      throw ioError('cannot save the password', e);
    }
  }

  /** Releases the lock. */
  async close(): Promise<void> {
    await unlink(this.lockPath).catch(() => undefined);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The lock is a file holding the owner's pid, created exclusively. A lock left by a daemon that no
 * longer runs (kill -9) is taken over; one held by a live process is refused with its pid.
 */
async function takeLock(lockPath: string): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const h = await open(lockPath, 'wx', 0o600);
      try {
        await h.writeFile(`${process.pid}\n`);
        await h.sync();
      } finally {
        await h.close();
      }
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(`cannot create the lock ${lockPath}`, e);
    }
    const pid = Number.parseInt(await readFile(lockPath, 'utf8').catch(() => ''), 10);
    if (Number.isSafeInteger(pid) && pid > 0 && alive(pid)) {
      throw new DaemonError('DAEMON_LOCKED', `another tc-daemon (pid ${pid}) uses this state folder (${lockPath}); stop it, or give another --state`);
    }
    // Stale: its owner is gone.
    await unlink(lockPath).catch(() => undefined);
  }
  throw new DaemonError('DAEMON_LOCKED', `cannot take the lock ${lockPath}`);
}
