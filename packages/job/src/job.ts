import { EventEmitter } from 'node:events';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { systemClock, type Clock } from '@tc/clock';
import {
  EngineError,
  FsStorage,
  inlineVerifier,
  PartFile,
  PartFileStorage,
  planPieces,
  restore,
  resumeFileFor,
  ResumeKeeper,
  seedGoalReached,
  sourceFromMetainfo,
  stateFolder,
  type PiecePlan,
  type RestoreResult,
  type SeedGoal,
  type Session,
  type TorrentLayout,
  type TorrentStorage,
  type Torrent,
  type TorrentSource,
  type TorrentState,
} from '@tc/engine';
import { JobError } from './errors.js';
import { checkJobOptions, diskNameOf } from './options.js';
import type { DownloadEnd, JobEvents, JobOptions, JobOutcome, JobPhase, SeedEndKind, StopReason } from './types.js';

/** How often a running job emits `status` and checks its timeout and seed goal. */
export const STATUS_INTERVAL_MS = 1_000;

/**
 * Info-hashes each session has a job for, claimed synchronously when a job starts: two jobs started
 * at once for one torrent would otherwise both pass the session's own check (its `add` awaits the
 * storage before it records the torrent) and fight over one resume file.
 */
const running = new WeakMap<Session, Set<string>>();

/** The part file's name in the state folder: the resume file's, with this suffix. */
export const PART_SUFFIX = '.parts';

/** Where a job's bytes go: its files, and the storage in front of them (the part file, when one is used). */
interface Disk {
  readonly files: FsStorage;
  readonly storage: TorrentStorage;
  /** The layout the resume data is checked against: parked files count as padding. */
  readonly layout: TorrentLayout;
  readonly part: PartFile | undefined;
  readonly parked: readonly boolean[] | undefined;
}

/** A piece the resume data vouches for whose parked bytes the part file does not hold (it was deleted) is not trusted. */
function dropUnbacked(restored: RestoreResult, layout: TorrentLayout, part: PartFile, parked: readonly boolean[]): void {
  layout.files.forEach((f, i) => {
    if (parked[i] !== true || f.length === 0) return;
    for (let p = Math.floor(f.offset / layout.pieceLength); p <= Math.floor((f.offset + f.length - 1) / layout.pieceLength); p++) {
      if (!part.has(p)) restored.have.clear(p);
    }
  });
}

/** How one seeding phase went. */
interface SeedRun {
  readonly kind: SeedEndKind;
  readonly error: EngineError | undefined;
  readonly seedMs: number;
}

/**
 * One torrent's download or seed, from the data on disk to an outcome: restore (trust the resume
 * file where the files match it, hash the rest) → add to the caller's session → wait (complete, no
 * peers in time, a disk error, the signal) → optionally seed to a goal → stop (`stopped` announced,
 * resume data saved) → outcome. It owns the torrent's storage and resume keeper and releases both on
 * every path; it never closes the session, writes to a terminal, or touches process signals.
 *
 * ```ts
 * const job = new Job({ session, metainfo, dir, seedGoal: { kind: 'ratio', ratio: 2 }, signal });
 * job.on('status', (s) => show(s.stats));
 * const outcome = await job.run();
 * ```
 */
export class Job extends EventEmitter<JobEvents> {
  private readonly opts: JobOptions;
  private readonly clock: Clock;
  private readonly source: TorrentSource;
  private phaseValue: JobPhase = 'created';
  private torrentValue: Torrent | undefined;
  private startedAt = 0;

  /** Throws JobError `JOB_BAD_OPTION` for options out of bounds. */
  constructor(opts: JobOptions) {
    super();
    checkJobOptions(opts);
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.source = sourceFromMetainfo(opts.metainfo);
  }

  get phase(): JobPhase {
    return this.phaseValue;
  }

  /** The running torrent (stats, peers, trackers); undefined before `started` and after the job ended. */
  get torrent(): Torrent | undefined {
    return this.phaseValue === 'ended' ? undefined : this.torrentValue;
  }

  get infoHashHex(): string {
    return this.opts.metainfo.infoHashHex;
  }

  /** Runs the job to its end (once). Rejects only on a bug; every expected failure is an outcome. */
  async run(): Promise<JobOutcome> {
    if (this.phaseValue !== 'created') throw new JobError('JOB_BAD_OPTION', 'a job runs once');
    this.phaseValue = 'checking';
    this.startedAt = this.clock.now();
    const hex = this.infoHashHex;
    const claimed = running.get(this.opts.session) ?? new Set<string>();
    running.set(this.opts.session, claimed);
    let outcome: JobOutcome;
    if (claimed.has(hex) || this.opts.session.get(hex) !== undefined) {
      outcome = { kind: 'failed', error: new JobError('JOB_ALREADY_RUNNING', `the session already has torrent ${hex}`), elapsedMs: 0 };
    } else {
      claimed.add(hex);
      try {
        outcome = await this.execute();
      } catch (e) {
        if (!(e instanceof EngineError)) throw e;
        outcome = { kind: 'failed', error: e, elapsedMs: this.elapsedMs() };
      } finally {
        claimed.delete(hex);
      }
    }
    this.phaseValue = 'ended';
    this.emit('end', outcome);
    return outcome;
  }

  private elapsedMs(): number {
    return this.clock.now() - this.startedAt;
  }

  private async execute(): Promise<JobOutcome> {
    const { metainfo, selection } = this.opts;
    const plan = selection !== undefined ? planPieces(this.source.layout, selection) : undefined;
    if (plan !== undefined && selection !== undefined) {
      this.emit('selected', {
        files: selection.length,
        fileCount: metainfo.files.length,
        wantedPieces: plan.wantedCount,
        pieceCount: metainfo.pieceCount,
        wantedBytes: plan.wantedBytes,
      });
    }
    // Checks every path before anything is touched (ENGINE_UNSAFE_PATH: the outcome is `failed`).
    const files = new FsStorage(this.source.layout, this.opts.dir);
    const resumeFile = await resumeFileFor(this.opts.stateDir ?? stateFolder(), this.source.infoHash, this.opts.dir);
    let disk: Disk;
    try {
      disk = await this.openDisk(files, resumeFile);
    } catch (e) {
      await files.close();
      throw e;
    }
    const restored = await this.check(disk, resumeFile);
    if ('kind' in restored) return restored;
    return this.runTorrent(disk, restored, plan, resumeFile);
  }

  /**
   * The torrent's storage: its files, behind the part file (issue 17) when a selection parks the
   * bytes of unselected neighbours, or an earlier selection left some (moved into place now that
   * their files are selected). Resume data then counts parked files as padding: their bytes are
   * vouched for by the part file's slots, not by files in the user's folder.
   */
  private async openDisk(files: FsStorage, resumeFile: string): Promise<Disk> {
    const { layout } = this.source;
    const { selection } = this.opts;
    const part = await PartFile.open(resumeFile.replace(/\.tc-resume$/, '') + PART_SUFFIX, layout.pieceLength, layout.pieceCount);
    if (selection === undefined && part.pieces.length === 0) return { files, storage: files, layout, part: undefined, parked: undefined };
    // Paths were checked by FsStorage's constructor (contained in dir).
    const present = await Promise.all(
      layout.files.map(async (f) =>
        f.padding
          ? false
          : lstat(join(this.opts.dir, ...f.path)).then(
              () => true,
              () => false,
            ),
      ),
    );
    const storage = new PartFileStorage(layout, files, part, selection, present);
    try {
      await storage.adopt();
    } catch (e) {
      await part.close();
      throw e;
    }
    const parked = storage.parked;
    const resumeLayout: TorrentLayout = { ...layout, files: layout.files.map((f, i) => (parked[i] === true ? { ...f, padding: true } : f)) };
    return { files, storage, layout: resumeLayout, part, parked };
  }

  /** Restores the verified set; closes the storage unless the job goes on with it. */
  private async check(disk: Disk, resumeFile: string): Promise<RestoreResult | JobOutcome> {
    const { metainfo, signal } = this.opts;
    let keep = false;
    try {
      const restored = await restore({
        dir: this.opts.dir,
        name: diskNameOf(metainfo),
        resumeFile,
        infoHash: this.source.infoHash,
        layout: disk.layout,
        storage: disk.storage,
        verifier: inlineVerifier,
        recheck: this.opts.recheck === true,
        ...(signal !== undefined ? { signal } : {}),
        onCheck: (done, total) => this.emit('checking', { done, total }),
      });
      if (disk.part !== undefined && disk.parked !== undefined) dropUnbacked(restored, disk.layout, disk.part, disk.parked);
      const rejected = restored.rejected !== undefined ? { reason: restored.rejected.reason, message: restored.rejected.message } : undefined;
      this.emit('restored', {
        source: restored.source,
        have: restored.have.count,
        pieceCount: metainfo.pieceCount,
        checked: restored.checked,
        checkedOk: restored.checkedOk,
        rejected,
      });
      if (this.opts.seedOnly === true && restored.have.count < metainfo.pieceCount) {
        return { kind: 'verify-failed', have: restored.have.count, pieceCount: metainfo.pieceCount, elapsedMs: this.elapsedMs() };
      }
      keep = true;
      return restored;
    } catch (e) {
      // The signal during a re-check: a stop like any other, not a failure.
      if (e instanceof EngineError && e.code === 'ENGINE_CLOSED' && signal?.aborted === true)
        return { kind: 'interrupted', stats: undefined, elapsedMs: this.elapsedMs() };
      throw e;
    } finally {
      if (!keep) await disk.storage.close();
    }
  }

  /** Adds the torrent, drives it to an outcome, and removes it from the session on every path. */
  private async runTorrent(disk: Disk, restored: RestoreResult, plan: PiecePlan | undefined, resumeFile: string): Promise<JobOutcome> {
    const store = disk.storage;
    const { session, selection } = this.opts;
    const keeper = new ResumeKeeper({
      dir: this.opts.dir,
      name: diskNameOf(this.opts.metainfo),
      resumeFile,
      infoHash: this.source.infoHash,
      layout: disk.layout,
      clock: this.clock,
      storage: store,
      have: restored.have,
      uploaded: restored.uploaded,
      downloaded: restored.downloaded,
      onError: (error) => this.emit('resume-save-failed', { error, final: this.phaseValue === 'stopping' }),
      ...(selection !== undefined ? { selection } : {}),
    });
    let handedOver = false;
    let torrent: Torrent;
    try {
      torrent = await session.add(this.source, {
        dir: this.opts.dir,
        ...(this.opts.maxPeers !== undefined ? { maxPeers: this.opts.maxPeers } : {}),
        ...(this.opts.peers !== undefined ? { peers: this.opts.peers } : {}),
        ...(this.opts.webSeeds !== undefined && this.opts.webSeeds.length > 0 ? { webSeeds: this.opts.webSeeds } : {}),
        have: restored.have.indices(),
        ...(plan !== undefined ? { wanted: plan.wanted } : {}),
        ...(this.opts.sequential === true ? { sequential: true } : {}),
        storage: {
          open: () => {
            handedOver = true;
            return Promise.resolve(store);
          },
        },
      });
    } catch (e) {
      // Once opened through the factory the session owns the storage (and closes it when it refuses).
      if (!handedOver) await store.close();
      throw e;
    }
    this.torrentValue = torrent;
    keeper.attach(torrent);
    // After a re-check, a first save at once: a crash before the first piece still finds the stamps
    // of what was checked. (A fresh start has nothing to record, and its folder may not exist yet.)
    if (restored.source === 'recheck') keeper.save().catch(() => undefined);
    const unforward = this.forward(torrent);
    this.emit('started', { torrent, port: session.port });
    try {
      return await this.drive(torrent, disk.files, keeper);
    } finally {
      // Every path has stopped the torrent already; this one is for a bug thrown on the way.
      await this.stop(keeper);
      unforward();
    }
  }

  private forward(t: Torrent): () => void {
    const onConnected = (e: JobEvents['peer-connected'][0]): boolean => this.emit('peer-connected', e);
    const onDisconnected = (e: JobEvents['peer-disconnected'][0]): boolean => this.emit('peer-disconnected', e);
    const onBanned = (e: JobEvents['peer-banned'][0]): boolean => this.emit('peer-banned', e);
    const onHashFailure = (e: JobEvents['hash-failure'][0]): boolean => this.emit('hash-failure', e);
    const onVerified = (e: JobEvents['piece-verified'][0]): boolean => this.emit('piece-verified', e);
    const onWarning = (e: JobEvents['warning'][0]): boolean => this.emit('warning', e);
    const onTracker = (e: JobEvents['tracker-status'][0]): boolean => this.emit('tracker-status', e);
    t.on('peer-connected', onConnected);
    t.on('peer-disconnected', onDisconnected);
    t.on('peer-banned', onBanned);
    t.on('hash-failure', onHashFailure);
    t.on('piece-verified', onVerified);
    t.on('warning', onWarning);
    t.on('tracker-status', onTracker);
    return () => {
      t.off('peer-connected', onConnected);
      t.off('peer-disconnected', onDisconnected);
      t.off('peer-banned', onBanned);
      t.off('hash-failure', onHashFailure);
      t.off('piece-verified', onVerified);
      t.off('warning', onWarning);
      t.off('tracker-status', onTracker);
    };
  }

  private async drive(torrent: Torrent, store: FsStorage, keeper: ResumeKeeper): Promise<JobOutcome> {
    this.phaseValue = 'downloading';
    const end = await this.waitForDownload(torrent);
    this.emit('download-end', end);
    const goal = this.opts.seedGoal;
    switch (end.kind) {
      case 'done': {
        try {
          // Zero-length files hold no piece: nothing wrote them.
          await store.createEmptyFiles(this.opts.selection);
        } catch (e) {
          await this.stop(keeper, { reason: 'error', phase: 'downloading' });
          throw e;
        }
        if (goal === undefined) {
          await this.stop(keeper, { reason: 'done', phase: 'downloading' });
          return { kind: 'done', stats: torrent.stats(), elapsedMs: this.elapsedMs() };
        }
        const seed = await this.seed(torrent, goal, false);
        await this.stop(keeper, { reason: seed.kind, phase: 'seeding' });
        if (seed.kind === 'error') return { kind: 'seed-failed', error: seed.error!, stats: torrent.stats(), elapsedMs: this.elapsedMs(), seedMs: seed.seedMs };
        return { kind: 'seeded', until: seed.kind, stats: torrent.stats(), elapsedMs: this.elapsedMs(), seedMs: seed.seedMs };
      }
      case 'interrupted':
        await this.stop(keeper, { reason: 'interrupted', phase: 'downloading' });
        return { kind: 'interrupted', stats: torrent.stats(), elapsedMs: this.elapsedMs() };
      case 'no-peers': {
        // Read before the stop: closing resets each tracker's state.
        const trackers = torrent.trackerStatus();
        await this.stop(keeper, { reason: 'no-peers', phase: 'downloading' });
        return { kind: 'no-peers', stats: torrent.stats(), trackers, elapsedMs: this.elapsedMs() };
      }
      case 'disk-error': {
        // Upload-only (RELIABILITY.md case 30): with a seed goal, serve what was verified meanwhile.
        const seed = goal !== undefined && torrent.state.kind === 'upload-only' ? await this.seed(torrent, goal, true) : undefined;
        await this.stop(keeper, { reason: 'disk-error', phase: seed !== undefined ? 'seeding' : 'downloading' });
        return {
          kind: 'disk-error',
          error: end.error,
          stats: torrent.stats(),
          elapsedMs: this.elapsedMs(),
          seeded: seed !== undefined ? { until: seed.kind, seedMs: seed.seedMs } : undefined,
        };
      }
    }
  }

  /** Resolves when the download completes, fails on disk, gets no peer in time, or the signal (or the session's close) stops it. */
  private waitForDownload(torrent: Torrent): Promise<DownloadEnd> {
    const { signal, firstPeerTimeoutMs } = this.opts;
    return new Promise<DownloadEnd>((resolve) => {
      let everPeer = false;
      const finish = (end: 'done' | 'interrupted' | 'no-peers' | EngineError): void => {
        ticker.cancel();
        signal?.removeEventListener('abort', onAbort);
        torrent.off('state', onState);
        const stats = torrent.stats();
        const elapsedMs = this.elapsedMs();
        resolve(typeof end === 'string' ? { kind: end, stats, elapsedMs } : { kind: 'disk-error', error: end, stats, elapsedMs });
      };
      const onAbort = (): void => finish('interrupted');
      // The session's owner closed it (a daemon shutting down): a stop from outside, like the signal.
      const onState = (st: TorrentState): void => {
        if (st.kind === 'closed') finish('interrupted');
      };
      const ticker = this.clock.setInterval(() => {
        const stats = torrent.stats();
        if (stats.peers > 0) everPeer = true;
        const elapsedMs = this.elapsedMs();
        this.emit('status', { phase: 'downloading', stats, elapsedMs, seedMs: 0 });
        if (firstPeerTimeoutMs !== undefined && !everPeer && stats.downloaded === 0 && elapsedMs > firstPeerTimeoutMs) finish('no-peers');
      }, this.opts.statusIntervalMs ?? STATUS_INTERVAL_MS);
      if (signal?.aborted === true) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      torrent.on('state', onState);
      torrent.done.then(
        () => finish('done'),
        (e: unknown) => finish(e instanceof EngineError ? e : new EngineError('ENGINE_DISK', String(e), { cause: e })),
      );
    });
  }

  /** Serves peers until the goal, the signal (or the session's close) or an error. */
  private async seed(torrent: Torrent, goal: SeedGoal, uploadOnly: boolean): Promise<SeedRun> {
    const { signal } = this.opts;
    this.phaseValue = 'seeding';
    const seedStart = this.clock.now();
    this.emit('seeding', { uploadOnly, stats: torrent.stats(), elapsedMs: this.elapsedMs() });
    const end = await new Promise<{ kind: SeedEndKind; error: EngineError | undefined }>((resolve) => {
      const finish = (kind: SeedEndKind, error?: EngineError): void => {
        ticker.cancel();
        signal?.removeEventListener('abort', onAbort);
        torrent.off('error', onError);
        torrent.off('state', onState);
        resolve({ kind, error });
      };
      const onAbort = (): void => finish('interrupted');
      const onError = (e: EngineError): void => finish('error', e);
      const onState = (st: TorrentState): void => {
        if (st.kind === 'closed') finish('interrupted');
      };
      const ticker = this.clock.setInterval(() => {
        const stats = torrent.stats();
        const seedMs = this.clock.now() - seedStart;
        this.emit('status', { phase: 'seeding', stats, elapsedMs: this.elapsedMs(), seedMs });
        if (seedGoalReached(goal, stats.uploaded, stats.totalBytes, seedMs)) finish('goal');
      }, this.opts.statusIntervalMs ?? STATUS_INTERVAL_MS);
      if (signal?.aborted === true) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      torrent.on('error', onError);
      torrent.on('state', onState);
    });
    this.emit('seed-end', { kind: end.kind, stats: torrent.stats(), error: end.error });
    return { ...end, seedMs: this.clock.now() - seedStart };
  }

  /**
   * Closes the torrent (peers, the bounded `stopped` announce, pending writes, storage) and saves
   * the resume data after it, when no write is in flight. Idempotent: only the first call emits
   * `stopping` and does the work.
   */
  private async stop(keeper: ResumeKeeper, why?: { reason: StopReason; phase: 'downloading' | 'seeding' }): Promise<void> {
    if (this.phaseValue === 'stopping') return;
    this.phaseValue = 'stopping';
    if (why !== undefined) this.emit('stopping', why);
    // (A session its owner closed meanwhile has closed the torrent itself.)
    await this.opts.session.remove(this.source.infoHash);
    // A failed final save was reported through onError (`resume-save-failed`, final).
    await keeper.flush().catch(() => undefined);
  }
}
