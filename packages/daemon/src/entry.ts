import type { Metainfo } from '@tc/codec';
import type { MetadataFetcher, PeerAddress, Torrent, TorrentStats } from '@tc/engine';
import type { Job, JobOutcome } from '@tc/job';
import type { TorrentRecord } from './state-dir.js';

/** Where a torrent is, as the daemon shows it. */
export type EntryStatus =
  /** Stopped by the user. */
  | 'stopped'
  /** Waiting for a download slot. */
  | 'queued'
  /** A magnet link whose metadata has not come yet. */
  | 'metadata'
  /** Hashing data on disk (a restart without trustworthy resume data, or a verify). */
  | 'checking'
  | 'downloading'
  | 'seeding'
  /** Stopped by a failure (`error` says which); start it again to retry. */
  | 'error';

/** One torrent of the registry: what is kept on disk, and what runs now. Internal to the package. */
export class Entry {
  record: TorrentRecord;
  metainfo: Metainfo | undefined;
  job: Job | undefined;
  abort: AbortController | undefined;
  /** Resolves when the running job (or metadata fetch) has ended and the entry settled. */
  running: Promise<void> | undefined;
  fetch: MetadataFetcher | undefined;
  /** Stats of the last run, shown while stopped. */
  lastStats: TorrentStats | undefined;
  /** Per-file verified bytes when the last run ended. */
  lastFileDone: number[] | undefined;
  lastOutcome: JobOutcome['kind'] | undefined;
  error: string | undefined;
  checking: { done: number; total: number } | undefined;
  /** A verify on a stopped torrent: stop again once the data is checked. */
  verifyOnly = false;
  /** How the last start found the data: trusted resume data, or hashed (`checked` pieces). */
  restored: { readonly source: string; readonly checked: number } | undefined;
  /** Being stopped to be run again differently (a verify): the queue leaves it alone meanwhile. */
  held = false;
  /** Peers named at add time, dialled on every start while the daemon runs. */
  peers: readonly PeerAddress[] = [];

  constructor(record: TorrentRecord, metainfo: Metainfo | undefined) {
    this.record = record;
    this.metainfo = metainfo;
  }

  get id(): number {
    return this.record.id;
  }

  get hex(): string {
    return this.record.infoHashHex;
  }

  get torrent(): Torrent | undefined {
    return this.job?.torrent;
  }

  get status(): EntryStatus {
    if (this.fetch !== undefined) return 'metadata';
    const job = this.job;
    if (job !== undefined) {
      switch (job.phase) {
        case 'created':
        case 'checking':
          return 'checking';
        case 'downloading':
          return 'downloading';
        case 'seeding':
          return 'seeding';
        case 'stopping':
        case 'ended':
          return this.record.paused ? 'stopped' : 'queued';
      }
    }
    if (this.error !== undefined) return 'error';
    return this.record.paused ? 'stopped' : 'queued';
  }

  /** Counts against the download slots: checking or downloading. */
  get downloading(): boolean {
    const s = this.status;
    return s === 'checking' || s === 'downloading';
  }

  /** The current stats, or the last run's. */
  stats(): TorrentStats | undefined {
    return this.torrent?.stats() ?? this.lastStats;
  }

  /** Verified bytes of each file (from the piece map while running, else as the last run left them). */
  fileDone(): number[] {
    const m = this.metainfo;
    if (m === undefined) return [];
    const t = this.torrent;
    if (t === undefined) return this.lastFileDone ?? m.files.map(() => 0);
    const plen = m.pieceLength;
    return m.files.map((f) => {
      if (f.length === 0) return 0;
      const first = Math.floor(f.offset / plen);
      const last = Math.floor((f.offset + f.length - 1) / plen);
      let done = 0;
      for (let i = first; i <= last; i++) {
        if (!t.picker.hasPiece(i)) continue;
        const start = Math.max(f.offset, i * plen);
        const end = Math.min(f.offset + f.length, (i + 1) * plen);
        done += end - start;
      }
      return done;
    });
  }

  /** Wanted flag per file. */
  wanted(): boolean[] {
    const m = this.metainfo;
    if (m === undefined) return [];
    const sel = this.record.selection;
    if (sel === undefined) return m.files.map(() => true);
    const set = new Set(sel);
    return m.files.map((_, i) => set.has(i));
  }
}
