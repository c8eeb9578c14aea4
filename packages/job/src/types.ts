import type { Clock } from '@tc/clock';
import type { Metainfo } from '@tc/codec';
import type { EngineError, PeerAddress, RestoreSource, SeedGoal, Session, Torrent, TorrentEvents, TorrentStats } from '@tc/engine';
import type { TrackerStatus } from '@tc/tracker';
import type { JobError } from './errors.js';

export interface JobOptions {
  /** The session the torrent is added to. The caller owns it: the job never creates or closes it. */
  readonly session: Session;
  readonly metainfo: Metainfo;
  /** The folder holding (or to hold) the torrent's file or folder. */
  readonly dir: string;
  /**
   * tc's state folder: the resume data goes in its `resume/` folder, keyed by info-hash and `dir`
   * (`resumeFileFor`), never into `dir`. Default `stateFolder()` ($XDG_STATE_HOME/tc); the daemon
   * passes its own. A resume file an earlier version left in `dir` is moved there on start.
   */
  readonly stateDir?: string;
  /** Indices into `metainfo.files` to download (`parseSelection`); undefined: every file. */
  readonly selection?: readonly number[];
  /** Once complete, seed until this goal; undefined: the job ends when the download is complete. */
  readonly seedGoal?: SeedGoal;
  /** Verify, then seed; never download (tc-seed). Data that is not complete ends as `verify-failed`. */
  readonly seedOnly?: boolean;
  /** Peers to dial besides the trackers' (`--peer`). */
  readonly peers?: readonly PeerAddress[];
  /** Web seeds (BEP 19) besides the torrent's `url-list` (`--web-seed`). */
  readonly webSeeds?: readonly string[];
  readonly maxPeers?: number;
  /** Download pieces in index order (`--sequential`): a player can start on the first bytes. */
  readonly sequential?: boolean;
  /** Hash the data on disk even where the resume file vouches for it (`--recheck`). */
  readonly recheck?: boolean;
  /**
   * End as `no-peers` when, this long after the start, no peer has ever connected and nothing was
   * downloaded. Undefined: wait for peers as long as it takes (a daemon).
   */
  readonly firstPeerTimeoutMs?: number;
  /** Aborting it stops the job gracefully (`stopped` announced, resume data saved). Closing the session stops it too. */
  readonly signal?: AbortSignal;
  /** Time for the status ticks, the timeouts, the seed goal and resume saves; default the system clock. */
  readonly clock?: Clock;
  /** How often `status` is emitted and the goals are checked; default STATUS_INTERVAL_MS. */
  readonly statusIntervalMs?: number;
}

/** Where a job is in its life: `checking` covers reading the resume file and hashing data on disk. */
export type JobPhase = 'created' | 'checking' | 'downloading' | 'seeding' | 'stopping' | 'ended';

export interface SelectionSummary {
  /** Files chosen, of how many in the torrent. */
  readonly files: number;
  readonly fileCount: number;
  /** Pieces to fetch (boundary pieces whole), of how many, and their bytes. */
  readonly wantedPieces: number;
  readonly pieceCount: number;
  readonly wantedBytes: number;
}

export interface RestoreSummary {
  /** `resume`: trusted the resume file; `recheck`: hashed data on disk; `fresh`: nothing on disk. */
  readonly source: RestoreSource;
  /** Pieces verified now, of how many. */
  readonly have: number;
  readonly pieceCount: number;
  /** Pieces hashed from disk, and how many passed. */
  readonly checked: number;
  readonly checkedOk: number;
  /** Why the resume file was not (fully) trusted; undefined when trusted or missing. */
  readonly rejected: { readonly reason: string; readonly message: string } | undefined;
}

export interface JobStatus {
  readonly phase: 'downloading' | 'seeding';
  readonly stats: TorrentStats;
  /** Since the job started (its clock). */
  readonly elapsedMs: number;
  /** Since seeding started; 0 while downloading. */
  readonly seedMs: number;
}

/** How the download phase ended (before any seeding or stopping). */
export type DownloadEnd =
  | { readonly kind: 'done'; readonly stats: TorrentStats; readonly elapsedMs: number }
  | { readonly kind: 'interrupted'; readonly stats: TorrentStats; readonly elapsedMs: number }
  | { readonly kind: 'no-peers'; readonly stats: TorrentStats; readonly elapsedMs: number }
  /** A write failed: the torrent is upload-only (it serves what it verified) from now on. */
  | { readonly kind: 'disk-error'; readonly error: EngineError; readonly stats: TorrentStats; readonly elapsedMs: number };

/** How a seeding phase ended. */
export type SeedEndKind = 'goal' | 'interrupted' | 'error';

export type StopReason = 'done' | 'goal' | 'interrupted' | 'no-peers' | 'disk-error' | 'error';

/** What a job ended with. `stats` are taken after the torrent was closed (final byte counts). */
export type JobOutcome =
  /** Every wanted piece verified and written; no seed goal. */
  | { readonly kind: 'done'; readonly stats: TorrentStats; readonly elapsedMs: number }
  /** Complete, then seeded until the goal or a stop (the signal, the session closed): seeding is open-ended, both are normal ends. */
  | { readonly kind: 'seeded'; readonly until: 'goal' | 'interrupted'; readonly stats: TorrentStats; readonly elapsedMs: number; readonly seedMs: number }
  /** Complete, then seeding ended by an error. */
  | { readonly kind: 'seed-failed'; readonly error: EngineError; readonly stats: TorrentStats; readonly elapsedMs: number; readonly seedMs: number }
  /**
   * Stopped before the download completed, by the signal or by the session's owner closing it; no
   * stats when it came before the torrent started.
   */
  | { readonly kind: 'interrupted'; readonly stats: TorrentStats | undefined; readonly elapsedMs: number }
  /** No peer within `firstPeerTimeoutMs`: each tracker's last state and error say why. */
  | { readonly kind: 'no-peers'; readonly stats: TorrentStats; readonly trackers: readonly TrackerStatus[]; readonly elapsedMs: number }
  /**
   * A write failed (disk full, read-only, no permission). With a seed goal the torrent served the
   * pieces it had verified (upload-only) until the goal, a stop or another error: `seeded` says how.
   */
  | {
      readonly kind: 'disk-error';
      readonly error: EngineError;
      readonly stats: TorrentStats;
      readonly elapsedMs: number;
      readonly seeded: { readonly until: SeedEndKind; readonly seedMs: number } | undefined;
    }
  /** `seedOnly` and the data on disk is not complete: nothing was added to the session. */
  | { readonly kind: 'verify-failed'; readonly have: number; readonly pieceCount: number; readonly elapsedMs: number }
  /** The job could not run: an unsafe path, unreadable data, the torrent already in the session… */
  | { readonly kind: 'failed'; readonly error: EngineError | JobError; readonly elapsedMs: number };

type Forwarded = 'peer-connected' | 'peer-disconnected' | 'peer-banned' | 'hash-failure' | 'piece-verified' | 'warning' | 'tracker-status';

/** A job's events, in the order they can come. Torrent events are forwarded as the torrent emits them. */
export interface JobEvents extends Pick<TorrentEvents, Forwarded> {
  /** Before anything is read, when a selection was given. */
  selected: [SelectionSummary];
  /** Hashing data on disk: `done` of `total` pieces (first `0`, last `total`). */
  checking: [{ readonly done: number; readonly total: number }];
  restored: [RestoreSummary];
  /** The torrent is in the session and running. */
  started: [{ readonly torrent: Torrent; readonly port: number }];
  /** Every `statusIntervalMs` while downloading or seeding. */
  status: [JobStatus];
  /** A resume save failed (disk full…); `final` for the save at the end, after which nothing is retried. */
  'resume-save-failed': [{ readonly error: EngineError; readonly final: boolean }];
  'download-end': [DownloadEnd];
  /** Seeding starts: after the download completed, or upload-only after a disk error. */
  seeding: [{ readonly uploadOnly: boolean; readonly stats: TorrentStats; readonly elapsedMs: number }];
  'seed-end': [{ readonly kind: SeedEndKind; readonly stats: TorrentStats; readonly error: EngineError | undefined }];
  /** The torrent is about to be closed (`stopped` announced, resume data saved). */
  stopping: [{ readonly reason: StopReason; readonly phase: 'downloading' | 'seeding' }];
  end: [JobOutcome];
}
