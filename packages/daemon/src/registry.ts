import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CodecError, MAX_TORRENT_BYTES, parseMagnet, parseMetainfo, toTorrentFile, type Metainfo } from '@tc/codec';
import { EngineError, resumeFileFor, resumePath, type PeerAddress, type Session } from '@tc/engine';
import { diskNameOf, Job, PART_SUFFIX, type JobOutcome } from '@tc/job';
import { Entry } from './entry.js';
import { DaemonError } from './errors.js';
import { fetchTorrentUrl } from './fetch.js';
import type { DownloadRoots } from './guard.js';
import { MAX_TORRENTS, type DaemonSettings, type StateDir, type TorrentRecord } from './state-dir.js';

/** How long a torrent URL may take to download. */
export const URL_FETCH_TIMEOUT_MS = 30_000;
/** Longest magnet link accepted (a few hundred trackers and peers fit). */
export const MAX_MAGNET_CHARS = 64 * 1024;
/** Most peers one add may name. */
export const MAX_ADD_PEERS = 200;

export interface RegistryOptions {
  /** The daemon's one session (the caller owns and closes it). */
  readonly session: Session;
  readonly state: StateDir;
  readonly roots: DownloadRoots;
  /** Fetch torrent URLs on loopback, private and link-local addresses (off by default: SSRF). */
  readonly allowPrivateUrls?: boolean;
  /** How often a running torrent reports progress (the job's status tick). */
  readonly statusIntervalMs?: number;
  /** Fetches a torrent URL; default the bounded fetch of @tc/cli. */
  readonly fetchUrl?: (url: string) => Promise<Buffer>;
}

/** What an add names: the .torrent's bytes, or a URL (http(s) of a .torrent, or a magnet link). */
export interface AddRequest {
  readonly torrent?: Uint8Array;
  readonly url?: string;
  /** Download folder, confined to the roots; default the first root. */
  readonly dir?: string;
  readonly paused?: boolean;
  /** File indices not to download (the rest are wanted). */
  readonly unwanted?: readonly number[];
  /** Peers to dial besides the trackers' (kept while the daemon runs, not across restarts). */
  readonly peers?: readonly PeerAddress[];
}

export interface RegistryEvents {
  /** Anything about a torrent changed (status, progress, settings). */
  changed: [{ readonly id: number }];
  added: [{ readonly id: number }];
  removed: [{ readonly id: number }];
}

/**
 * The daemon's torrents on one session: each runs the same Job as tc-download (restore → add →
 * download → seed), stopped by aborting its signal. Keeps the list in the state folder, queues
 * downloads beyond `maxActiveDownloads` (seeds are not counted), and fetches magnets' metadata.
 */
export class Registry extends EventEmitter<RegistryEvents> {
  private readonly entries = new Map<number, Entry>();
  private readonly byHash = new Map<string, Entry>();
  private nextId = 1;
  private settingsValue: DaemonSettings;
  private closing = false;
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly opts: RegistryOptions,
    settings: DaemonSettings,
  ) {
    super();
    this.settingsValue = settings;
  }

  /** Loads the state folder's list and starts what was running. Torrents whose .torrent is missing are skipped. */
  static async open(opts: RegistryOptions): Promise<{ registry: Registry; skipped: number }> {
    const loaded = await opts.state.load();
    const r = new Registry(opts, loaded.settings);
    r.nextId = loaded.nextId;
    r.applyLimits();
    let skipped = loaded.skipped;
    for (const rec of loaded.torrents) {
      let metainfo: Metainfo | undefined;
      const bytes = await opts.state.readTorrent(rec.infoHashHex);
      if (bytes !== undefined) {
        try {
          metainfo = parseMetainfo(bytes).metainfo;
        } catch {
          metainfo = undefined;
        }
      }
      if ((metainfo === undefined || metainfo.infoHashHex !== rec.infoHashHex) && rec.magnet === undefined) {
        skipped++;
        continue;
      }
      r.insert(new Entry(rec, metainfo?.infoHashHex === rec.infoHashHex ? metainfo : undefined));
    }
    r.schedule();
    return { registry: r, skipped };
  }

  get settings(): DaemonSettings {
    return this.settingsValue;
  }

  get session(): Session {
    return this.opts.session;
  }

  get roots(): DownloadRoots {
    return this.opts.roots;
  }

  list(): Entry[] {
    return [...this.entries.values()].sort((a, b) => a.id - b.id);
  }

  /** A torrent by id or info-hash (hex); DAEMON_NOT_FOUND otherwise. */
  get(ref: number | string): Entry {
    const e = typeof ref === 'number' ? this.entries.get(ref) : this.byHash.get(ref.toLowerCase());
    if (e === undefined) throw new DaemonError('DAEMON_NOT_FOUND', `no torrent ${String(ref)}`);
    return e;
  }

  find(ref: number | string): Entry | undefined {
    return typeof ref === 'number' ? this.entries.get(ref) : this.byHash.get(ref.toLowerCase());
  }

  private insert(e: Entry): void {
    this.entries.set(e.id, e);
    this.byHash.set(e.hex, e);
  }

  private changed(e: Entry): void {
    this.emit('changed', { id: e.id });
  }

  /** Adds a torrent; DAEMON_DUPLICATE (with the existing entry in `existing`) when it is already here. */
  async add(req: AddRequest): Promise<Entry> {
    if (this.closing) throw new DaemonError('DAEMON_BAD_REQUEST', 'the daemon is shutting down');
    if (this.entries.size >= MAX_TORRENTS) throw new DaemonError('DAEMON_BAD_REQUEST', `the daemon holds ${MAX_TORRENTS} torrents already`);
    let metainfo: Metainfo | undefined;
    let magnet: string | undefined;
    let hex: string;
    let name: string;
    if (req.torrent !== undefined) {
      metainfo = parseTorrent(req.torrent);
    } else if (typeof req.url === 'string' && /^magnet:/i.test(req.url.trim())) {
      if (req.url.length > MAX_MAGNET_CHARS) throw new DaemonError('DAEMON_BAD_REQUEST', `a magnet link longer than ${MAX_MAGNET_CHARS} characters`);
      magnet = req.url.trim();
    } else if (typeof req.url === 'string') {
      const allowPrivate = this.opts.allowPrivateUrls === true;
      const fetchUrl =
        this.opts.fetchUrl ?? ((u: string) => fetchTorrentUrl(u, { maxBytes: MAX_TORRENT_BYTES, timeoutMs: URL_FETCH_TIMEOUT_MS, allowPrivate }));
      const bytes = await fetchUrl(req.url);
      metainfo = parseTorrent(bytes);
    } else {
      throw new DaemonError('DAEMON_BAD_REQUEST', 'name a torrent: its bytes, a URL or a magnet link');
    }
    if (metainfo !== undefined) {
      hex = metainfo.infoHashHex;
      name = metainfo.name;
    } else {
      let parsed;
      try {
        parsed = parseMagnet(magnet!).magnet;
      } catch (e) {
        throw new DaemonError('DAEMON_BAD_REQUEST', `bad magnet link: ${(e as Error).message}`, { cause: e });
      }
      hex = parsed.infoHashHex;
      name = parsed.name ?? hex;
    }
    const existing = this.byHash.get(hex);
    if (existing !== undefined) throw Object.assign(new DaemonError('DAEMON_DUPLICATE', `torrent ${hex} is already in the daemon`), { existing });
    const selection = metainfo !== undefined && req.unwanted !== undefined ? selectionWithout(metainfo, req.unwanted) : undefined;
    const dir = await this.opts.roots.confine(req.dir);
    if (metainfo !== undefined) await this.opts.state.saveTorrent(hex, metainfo.torrentBytes ?? toTorrentFile(metainfo));
    // (A concurrent add of the same torrent may have won while we awaited.)
    if (this.byHash.has(hex))
      throw Object.assign(new DaemonError('DAEMON_DUPLICATE', `torrent ${hex} is already in the daemon`), { existing: this.byHash.get(hex) });
    const record: TorrentRecord = {
      id: this.nextId++,
      infoHashHex: hex,
      name,
      dir,
      paused: req.paused === true,
      addedAt: Math.floor(Date.now() / 1000),
      ...(selection !== undefined ? { selection } : {}),
      ...(magnet !== undefined ? { magnet } : {}),
    };
    const e = new Entry(record, metainfo);
    if (req.peers !== undefined) e.peers = req.peers.slice(0, MAX_ADD_PEERS);
    this.insert(e);
    await this.persist();
    this.emit('added', { id: e.id });
    this.schedule();
    return e;
  }

  async start(e: Entry): Promise<void> {
    e.error = undefined;
    if (e.record.paused) {
      e.record = { ...e.record, paused: false };
      await this.persist();
    }
    this.schedule();
    this.changed(e);
  }

  async stop(e: Entry): Promise<void> {
    if (!e.record.paused) {
      e.record = { ...e.record, paused: true };
      await this.persist();
    }
    await this.halt(e);
    this.changed(e);
  }

  /** Stops what runs for `e` (its job, or its metadata fetch) and waits until it has ended. */
  private async halt(e: Entry): Promise<void> {
    if (e.fetch !== undefined) await this.opts.session.remove(e.hex);
    e.abort?.abort();
    await e.running;
  }

  /** Removes a torrent, and with `deleteData` its files and resume file. */
  async remove(e: Entry, deleteData: boolean): Promise<void> {
    this.entries.delete(e.id);
    this.byHash.delete(e.hex);
    await this.halt(e);
    await this.persist();
    await this.opts.state.deleteTorrent(e.hex);
    if (deleteData && e.metainfo !== undefined) {
      const name = diskNameOf(e.metainfo);
      // diskNameOf is the storage's safe top-level name: one component, never '..'.
      await rm(join(e.record.dir, name), { recursive: true, force: true });
      const resumeFile = await resumeFileFor(this.opts.state.path, e.hex, e.record.dir);
      await rm(resumeFile, { force: true });
      await rm(resumeFile.replace(/\.tc-resume$/, PART_SUFFIX), { force: true });
      // And one an earlier version left beside the data, if the torrent never ran since.
      await rm(resumePath(e.record.dir, name), { force: true });
    }
    this.emit('removed', { id: e.id });
    this.schedule();
  }

  /** Hashes the data on disk again; a stopped torrent stays stopped afterwards. */
  async verify(e: Entry): Promise<void> {
    if (e.metainfo === undefined) return;
    e.held = true;
    try {
      await this.halt(e);
    } finally {
      e.held = false;
    }
    e.error = undefined;
    e.verifyOnly = e.record.paused;
    this.run(e, true);
    this.changed(e);
  }

  /** Sets which files are wanted (restarting a running torrent with the new selection). */
  async setWanted(e: Entry, changes: { wanted?: readonly number[]; unwanted?: readonly number[] }): Promise<void> {
    const m = e.metainfo;
    if (m === undefined) throw new DaemonError('DAEMON_BAD_REQUEST', 'the torrent has no metadata yet');
    const flags = e.wanted();
    for (const i of changes.wanted ?? []) flags[checkIndex(m, i)] = true;
    for (const i of changes.unwanted ?? []) flags[checkIndex(m, i)] = false;
    const selection = flags.flatMap((w, i) => (w ? [i] : []));
    if (selection.length === 0) throw new DaemonError('DAEMON_BAD_REQUEST', 'at least one file must stay wanted');
    const { selection: _old, doneAt: _done, ...rest } = e.record;
    e.record = selection.length === m.files.length ? rest : { ...rest, selection };
    await this.persist();
    if (e.job !== undefined) {
      await this.halt(e);
      this.schedule();
    }
    this.changed(e);
  }

  /** Changes the global limits and the queue size. */
  async setSettings(s: Partial<DaemonSettings>): Promise<void> {
    this.settingsValue = { ...this.settingsValue, ...s };
    this.applyLimits();
    await this.persist();
    this.schedule();
  }

  private applyLimits(): void {
    const s = this.settingsValue;
    this.opts.session.downLimiter.setRate(s.downloadRateBps > 0 ? s.downloadRateBps : undefined);
    this.opts.session.upLimiter.setRate(s.uploadRateBps > 0 ? s.uploadRateBps : undefined);
  }

  /** Writes the list, one write after the other (the last one wins). */
  private persist(): Promise<void> {
    const next = this.saving.then(() =>
      this.opts.state.save(
        this.nextId,
        this.settingsValue,
        [...this.entries.values()].map((e) => e.record),
      ),
    );
    this.saving = next.catch(() => undefined);
    return next;
  }

  /** Starts what may start: seeds and magnets' fetches always, downloads while slots are free. */
  private schedule(): void {
    if (this.closing) return;
    let active = this.list().filter((e) => e.downloading).length;
    for (const e of this.list()) {
      if (e.record.paused || e.held || e.job !== undefined || e.fetch !== undefined || e.running !== undefined || e.error !== undefined) continue;
      if (e.metainfo === undefined) {
        if (e.record.magnet !== undefined) this.fetchMetadata(e);
        continue;
      }
      if (e.record.doneAt !== undefined) this.run(e, false);
      else if (active < this.settingsValue.maxActiveDownloads) {
        this.run(e, false);
        active++;
      }
    }
  }

  private fetchMetadata(e: Entry): void {
    let magnet;
    try {
      magnet = parseMagnet(e.record.magnet!).magnet;
    } catch (err) {
      e.error = `bad magnet link: ${(err as Error).message}`;
      return;
    }
    const fetch = this.opts.session.fetchMetadata(magnet, e.peers.length > 0 ? { peers: e.peers } : {});
    e.fetch = fetch;
    e.running = fetch.metadata
      .then(
        async (m) => {
          await this.opts.state.saveTorrent(e.hex, toTorrentFile(m));
          e.metainfo = m;
          const { magnet: _m, ...rest } = e.record;
          e.record = { ...rest, name: m.name };
          await this.persist();
        },
        (err: unknown) => {
          if (!(err instanceof EngineError && err.code === 'ENGINE_CLOSED')) e.error = (err as Error).message;
        },
      )
      .catch((err: unknown) => {
        e.error = (err as Error).message;
      })
      .finally(() => {
        e.fetch = undefined;
        e.running = undefined;
        this.changed(e);
        this.schedule();
      });
    this.changed(e);
  }

  /** Runs the torrent's job until it ends (stop, failure, the session closing). */
  private run(e: Entry, recheck: boolean): void {
    const metainfo = e.metainfo!;
    const abort = new AbortController();
    const job = new Job({
      session: this.opts.session,
      metainfo,
      dir: e.record.dir,
      // The daemon's resume data lives in its own state folder (resume/), with its list.
      stateDir: resolve(this.opts.state.path),
      seedGoal: { kind: 'forever' },
      recheck,
      signal: abort.signal,
      ...(e.peers.length > 0 ? { peers: e.peers } : {}),
      ...(e.record.selection !== undefined ? { selection: e.record.selection } : {}),
      ...(this.opts.statusIntervalMs !== undefined ? { statusIntervalMs: this.opts.statusIntervalMs } : {}),
    });
    e.job = job;
    e.abort = abort;
    e.checking = undefined;
    job.on('checking', (p) => {
      e.checking = p;
      this.changed(e);
    });
    job.on('restored', (r) => {
      e.checking = undefined;
      e.restored = { source: r.source, checked: r.checked };
      if (e.verifyOnly) abort.abort();
      this.changed(e);
    });
    job.on('status', () => this.changed(e));
    job.on('seeding', () => {
      if (e.record.doneAt === undefined && e.torrent?.stats().left === 0) {
        e.record = { ...e.record, doneAt: Math.floor(Date.now() / 1000) };
        this.persist().catch(() => undefined);
      }
      // A download slot came free.
      this.schedule();
      this.changed(e);
    });
    job.on('stopping', () => {
      const t = e.torrent;
      if (t !== undefined) {
        e.lastFileDone = e.fileDone();
        e.lastStats = t.stats();
      }
    });
    e.running = job
      .run()
      .then(
        (outcome) => this.settle(e, outcome),
        (err: unknown) => {
          e.error = `bug: ${(err as Error).message}`;
        },
      )
      .finally(() => {
        e.job = undefined;
        e.abort = undefined;
        e.running = undefined;
        e.verifyOnly = false;
        this.changed(e);
        this.schedule();
      });
    this.changed(e);
  }

  private settle(e: Entry, outcome: JobOutcome): void {
    e.lastOutcome = outcome.kind;
    if ('stats' in outcome && outcome.stats !== undefined) e.lastStats = outcome.stats;
    switch (outcome.kind) {
      case 'failed':
      case 'disk-error':
      case 'seed-failed':
        e.error = outcome.error.message;
        break;
      case 'verify-failed':
      case 'no-peers':
        e.error = outcome.kind;
        break;
      case 'done':
      case 'seeded':
      case 'interrupted':
        break;
    }
  }

  /** Stops every torrent (each job saves its resume data) and writes the list. The session stays the caller's. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.list().map((e) => this.halt(e).catch(() => undefined)));
    await this.persist().catch(() => undefined);
  }
}

function parseTorrent(bytes: Uint8Array): Metainfo {
  if (bytes.length > MAX_TORRENT_BYTES) throw new DaemonError('DAEMON_TOO_LARGE', `a torrent file larger than ${MAX_TORRENT_BYTES} bytes`);
  try {
    return parseMetainfo(bytes).metainfo;
  } catch (e) {
    if (e instanceof CodecError) throw new DaemonError('DAEMON_BAD_REQUEST', `invalid torrent: ${e.message}`, { cause: e });
    throw e;
  }
}

function checkIndex(m: Metainfo, i: number): number {
  if (!Number.isSafeInteger(i) || i < 0 || i >= m.files.length)
    throw new DaemonError('DAEMON_BAD_REQUEST', `no file ${String(i)} (the torrent has ${m.files.length})`);
  return i;
}

function selectionWithout(m: Metainfo, unwanted: readonly number[]): number[] | undefined {
  const drop = new Set(unwanted.map((i) => checkIndex(m, i)));
  if (drop.size === 0) return undefined;
  const sel = m.files.flatMap((_, i) => (drop.has(i) ? [] : [i]));
  if (sel.length === 0) throw new DaemonError('DAEMON_BAD_REQUEST', 'at least one file must be wanted');
  return sel;
}
