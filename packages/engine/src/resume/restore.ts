import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Bitfield } from '@tc/wire';
import type { Clock, TimerHandle } from '../clock.js';
import { EngineError } from '../errors.js';
import { pieceSize, type TorrentLayout } from '../layout.js';
import { containedJoin } from '../storage/safe-path.js';
import type { TorrentStorage } from '../storage/types.js';
import type { Torrent } from '../torrent/torrent.js';
import type { Verifier } from '../verify.js';
import { verifyPiece } from '../v2/verify-piece.js';
import { decodeResume, trustablePieces, type FileStamp, type ResumeData, type ResumeLoad } from './format.js';
import { migrateLegacyResume, type MigrateResult } from './location.js';
import { ResumeStore, resumePath, stampFiles, type DurableWriteHooks } from './store.js';

/**
 * Start-up state of a torrent on disk (issue 6): trust the resume file where the files on disk match
 * it, re-check everything else that could hold data, never trust a piece that was not verified.
 * The keeper then saves the verified set while the torrent runs, with a bounded write rate.
 */

/** Save after this many newly verified pieces… */
export const RESUME_SAVE_PIECES = 64;
/** …or this long after the first unsaved one, whichever comes first (bounded loss on a crash, bounded writes). */
export const RESUME_SAVE_MS = 3_000;

export type RestoreSource =
  /** Every trusted piece came from the resume file; nothing was re-checked. */
  | 'resume'
  /** Some or all pieces were re-checked by hashing the data on disk. */
  | 'recheck'
  /** No data on disk: a first start. */
  | 'fresh';

export interface RestoreResult {
  readonly have: Bitfield;
  readonly source: RestoreSource;
  /** Pieces taken from the resume file without hashing. */
  readonly fromResume: number;
  /** Pieces hashed from disk, and how many of them passed. */
  readonly checked: number;
  readonly checkedOk: number;
  /** Why the resume file was not (fully) trusted; undefined when trusted or simply missing. */
  readonly rejected: Extract<ResumeLoad, { ok: false }> | undefined;
  /** Totals carried over from the resume file. */
  readonly uploaded: number;
  readonly downloaded: number;
  /** Current stamps of the torrent's files (undefined: missing or padding). */
  readonly stamps: readonly (FileStamp | undefined)[];
  /** What became of a resume file an earlier version left beside the data ('none' when there was none, or `resumeFile` is that file). */
  readonly migrated: MigrateResult;
}

export interface RestoreOptions {
  readonly dir: string;
  readonly name: string;
  readonly infoHash: Buffer;
  readonly layout: TorrentLayout;
  readonly storage: TorrentStorage;
  readonly verifier: Verifier;
  /**
   * The resume file (`resumeFileFor`: in the state folder). Default: `resumePath(dir, name)`, beside
   * the data, where earlier versions kept it; when another file is named, one found there is moved
   * into it first (`migrateLegacyResume`).
   */
  readonly resumeFile?: string;
  /** Ignore the resume file and hash everything on disk (`--recheck`). */
  readonly recheck?: boolean;
  /** Re-check progress: pieces checked so far, pieces to check. */
  readonly onCheck?: (done: number, total: number) => void;
  readonly signal?: AbortSignal;
}

/** Absolute path of each torrent file under `dir` (undefined for padding files). */
export function dataPaths(dir: string, layout: TorrentLayout): (string | undefined)[] {
  return layout.files.map((f) => (f.padding ? undefined : containedJoin(dir, f.path)));
}

/** Pieces that lie wholly in files present on disk at full size (padding counts as present): the only ones worth hashing. */
function checkablePieces(layout: TorrentLayout, stamps: readonly (FileStamp | undefined)[]): boolean[] {
  const ok = new Array<boolean>(layout.pieceCount).fill(true);
  for (let i = 0; i < layout.files.length; i++) {
    const f = layout.files[i]!;
    if (f.padding || f.length === 0) continue;
    const s = stamps[i];
    if (s !== undefined && s.size >= f.length) continue;
    const first = Math.floor(f.offset / layout.pieceLength);
    const last = Math.floor((f.offset + f.length - 1) / layout.pieceLength);
    for (let p = first; p <= last; p++) ok[p] = false;
  }
  return ok;
}

/** Reads the resume file and the data on disk; returns the pieces that may count as verified. */
export async function restore(opts: RestoreOptions): Promise<RestoreResult> {
  const { layout } = opts;
  const paths = dataPaths(opts.dir, layout);
  const legacy = resumePath(opts.dir, opts.name);
  const store = new ResumeStore(opts.resumeFile ?? legacy);
  const expect = { ...layout, infoHash: opts.infoHash };
  // Also under --recheck: the old file must leave the user's folder either way.
  const migrated = store.path !== legacy ? await migrateLegacyResume(legacy, store.path, expect) : 'none';
  let have = new Bitfield(layout.pieceCount);
  let rejected: Extract<ResumeLoad, { ok: false }> | undefined;
  let uploaded = 0;
  let downloaded = 0;
  let fromResume = 0;
  if (opts.recheck !== true) {
    const r = await store.load(expect, paths);
    if (r.ok) {
      have = Bitfield.fromWire(r.resume.have, layout.pieceCount);
      uploaded = r.resume.uploaded;
      downloaded = r.resume.downloaded;
      fromResume = have.count;
    } else {
      if (r.reason !== 'missing') rejected = r;
      if (r.reason === 'stale-files') {
        // Re-read what the decoder accepted, keeping only pieces wholly in unchanged files.
        const again = decodeResume(await readFile(store.path).catch(() => Buffer.alloc(0)), expect);
        if (again.ok) {
          have = trustablePieces(again.resume, expect, r.staleFiles ?? []);
          uploaded = again.resume.uploaded;
          downloaded = again.resume.downloaded;
          fromResume = have.count;
        }
      }
    }
  }
  const stamps = await stampFiles(paths);
  const checkable = checkablePieces(layout, stamps);
  const todo: number[] = [];
  // A trusted resume says exactly what is there; otherwise anything on disk not yet trusted gets hashed.
  if (opts.recheck === true || rejected !== undefined || (fromResume === 0 && stamps.some((s) => s !== undefined))) {
    for (let i = 0; i < layout.pieceCount; i++) if (!have.has(i) && checkable[i]) todo.push(i);
  }
  let checkedOk = 0;
  for (let k = 0; k < todo.length; k++) {
    if (opts.signal?.aborted === true) throw new EngineError('ENGINE_CLOSED', 'interrupted while re-checking');
    opts.onCheck?.(k, todo.length);
    const i = todo[k]!;
    const bytes = await opts.storage.read(i, 0, pieceSize(layout, i));
    if (await verifyPiece(layout, opts.verifier, i, [bytes])) {
      have.set(i);
      checkedOk++;
    }
  }
  if (todo.length > 0) opts.onCheck?.(todo.length, todo.length);
  const source: RestoreSource = todo.length > 0 ? 'recheck' : fromResume > 0 ? 'resume' : 'fresh';
  return { have, source, fromResume, checked: todo.length, checkedOk, rejected, uploaded, downloaded, stamps, migrated };
}

export interface ResumeKeeperOptions {
  readonly dir: string;
  readonly name: string;
  readonly infoHash: Buffer;
  readonly layout: TorrentLayout;
  readonly clock: Clock;
  /** The torrent's storage: synced before each save, so the file never claims data a power cut could lose. */
  readonly storage: TorrentStorage;
  /** The resume file (see RestoreOptions); its folder is created on the first save. Default: beside the data. */
  readonly resumeFile?: string;
  /** Passed to the resume file's durable write (tests look at the file there). */
  readonly writeHooks?: DurableWriteHooks;
  /** Verified pieces at start (from `restore`). */
  readonly have: Bitfield;
  readonly uploaded?: number;
  readonly downloaded?: number;
  readonly selection?: readonly number[];
  readonly savePieces?: number;
  readonly saveMs?: number;
  /** A failed save (disk full…): reported, the torrent goes on. */
  readonly onError?: (e: EngineError) => void;
}

/**
 * Keeps a torrent's resume file up to date: the verified set (pieces hashed and written, as the
 * torrent's `piece-verified` event says) with the files' stamps taken after it. Saves at most every
 * `saveMs` or `savePieces` pieces; `flush()` after the torrent is closed writes the final state.
 */
export class ResumeKeeper {
  readonly store: ResumeStore;
  private readonly have: Bitfield;
  private readonly paths: (string | undefined)[];
  private unsaved = 0;
  private timer: TimerHandle | undefined;
  private torrent: Torrent | undefined;
  private stopped = false;
  /** The save in progress: saves run one after another, so a later one never records less than an earlier one. */
  private saving: Promise<void> = Promise.resolve();
  private readonly onVerified = ({ index }: { index: number }): void => this.verified(index);
  /** A pause is a natural point to be durable: save then (issue 6). */
  private readonly onState = (s: { kind: string }): void => {
    if (s.kind === 'paused' && !this.stopped) this.save().catch(() => undefined);
  };

  constructor(private readonly opts: ResumeKeeperOptions) {
    this.store = new ResumeStore(opts.resumeFile ?? resumePath(opts.dir, opts.name), opts.writeHooks);
    this.have = new Bitfield(opts.layout.pieceCount);
    for (const i of opts.have.indices()) this.have.set(i);
    this.paths = dataPaths(opts.dir, opts.layout);
  }

  get verifiedCount(): number {
    return this.have.count;
  }

  attach(t: Torrent): void {
    this.torrent = t;
    t.on('piece-verified', this.onVerified);
    t.on('state', this.onState);
  }

  private verified(index: number): void {
    if (this.stopped || !this.have.set(index)) return;
    this.unsaved++;
    if (this.unsaved >= (this.opts.savePieces ?? RESUME_SAVE_PIECES)) {
      this.save().catch(() => undefined);
    } else if (this.timer === undefined) {
      this.timer = this.opts.clock.setTimeout(() => {
        this.timer = undefined;
        this.save().catch(() => undefined);
      }, this.opts.saveMs ?? RESUME_SAVE_MS);
    }
  }

  /**
   * Writes the current state now (also when nothing changed: a first save records the stamps).
   * Resolves once it is durable; a failure is reported through `onError` and rejects.
   */
  save(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    this.unsaved = 0;
    const run = this.saving.catch(() => undefined).then(() => this.saveNow());
    this.saving = run;
    return run;
  }

  /** Resolves when no save is in progress (a test's "wait for the keeper"); never rejects. */
  async settled(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.saving;
      await current.catch(() => undefined);
    } while (current !== this.saving);
  }

  private async saveNow(): Promise<void> {
    // The bitfield first, then a sync: every piece in it was written before the sync began, so the
    // sync makes it durable before the file claims it (a power cut loses claims, never data they name).
    const have = Buffer.from(this.have.toBuffer());
    try {
      await this.opts.storage.sync();
      if (this.opts.resumeFile !== undefined) await mkdir(dirname(this.store.path), { recursive: true, mode: 0o700 });
      // Stamps after the sync: a write landing in between changes an mtime, which only makes the next start re-check more.
      const files = await stampFiles(this.paths);
      const s = this.torrent?.stats();
      const data: ResumeData = {
        infoHash: this.opts.infoHash,
        pieceLength: this.opts.layout.pieceLength,
        pieceCount: this.opts.layout.pieceCount,
        have,
        files,
        uploaded: (this.opts.uploaded ?? 0) + (s?.uploaded ?? 0),
        downloaded: (this.opts.downloaded ?? 0) + (s?.downloaded ?? 0),
        selection: this.opts.selection,
        savedAt: Date.now(),
      };
      await this.store.save(data);
    } catch (e) {
      const err = e instanceof EngineError ? e : new EngineError('ENGINE_DISK', `cannot save resume data: ${(e as Error).message}`, { cause: e });
      this.opts.onError?.(err);
      throw err;
    }
  }

  /** Final save, once the torrent is closed (no write in flight). Further events are ignored. */
  async flush(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.torrent?.off('piece-verified', this.onVerified);
    this.torrent?.off('state', this.onState);
    await this.save();
  }
}
