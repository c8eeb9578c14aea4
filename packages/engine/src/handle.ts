import { EventEmitter } from 'node:events';
import type { Magnet, Metainfo } from '@tc/codec';
import type { Clock } from './clock.js';
import { EngineError } from './errors.js';
import type { ResolvedInput } from './add.js';
import type { MetadataFetcher, MetadataFetchStats } from './magnet/fetcher.js';
import { restore } from './resume/restore.js';
import { fsStorage } from './storage/fs.js';
import type { Torrent, TorrentStats } from './torrent/torrent.js';
import type { TorrentStateKind } from './torrent/states.js';
import { inlineVerifier } from './verify.js';
import type { AddOptions, MagnetOptions, TorrentSource } from './session.js';
import type { TorrentStorage } from './storage/types.js';

/** What `session.add()` takes besides the input. */
export interface HandleOptions extends AddOptions {
  /** Aborts the add: the metadata fetch, the verification and the start. `ready` rejects with ENGINE_ABORTED and the torrent is removed. */
  readonly signal?: AbortSignal;
  /**
   * Hash what is already on disk under `dir` before starting (like `--recheck`): pieces that check
   * out are not downloaded again. Default false (a fresh download). `checking` events report it.
   */
  readonly verify?: boolean;
}

/** Where a handle is: fetching the metadata, checking the disk, starting, or the torrent's own state. */
export type HandlePhase = 'metadata' | 'checking' | 'starting' | TorrentStateKind | 'failed';

/** One status snapshot: what `progress()` yields and `status()` returns. */
export interface HandleStatus {
  readonly infoHash: string;
  /** The metadata's name once known, else the magnet's `dn`, else the info-hash. */
  readonly name: string;
  readonly phase: HandlePhase;
  /** Every wanted piece is verified (the torrent seeds). */
  readonly done: boolean;
  /** Verified bytes over total bytes, 0..1 (0 while the size is unknown). */
  readonly fraction: number;
  /** Undefined while the metadata is being fetched. */
  readonly totalBytes: number | undefined;
  readonly haveBytes: number;
  readonly downRateBps: number;
  readonly upRateBps: number;
  readonly peers: number;
  /** The metadata fetch's counters, while it runs. */
  readonly metadata?: MetadataFetchStats;
  /** The torrent's full statistics, once it runs. */
  readonly torrent?: TorrentStats;
  /** Why the add failed (phase `failed`). */
  readonly error?: EngineError;
}

export interface HandleEvents {
  /** The metadata is known: at once (next microtask) for a .torrent or metainfo, once fetched for a magnet. */
  metadata: [Metainfo];
  /** `verify`: pieces hashed so far, pieces to hash. */
  checking: [{ done: number; total: number }];
  /** The torrent runs: `handle.torrent` is set. */
  ready: [Torrent];
  progress: [TorrentStats];
  done: [];
  warning: [{ message: string; peer?: string; cause?: unknown }];
  /** The add failed (also the rejection of `ready`); emitted only when someone listens. */
  error: [EngineError];
}

/** What a handle needs from its session (session.ts passes its own methods). */
export interface HandleHost {
  readonly clock: Clock;
  addTorrent(source: TorrentSource | Metainfo, options: AddOptions): Promise<Torrent>;
  fetchMetadata(magnet: Magnet, options: MagnetOptions): MetadataFetcher;
  remove(infoHash: Buffer): Promise<void>;
  get(infoHash: Buffer): Torrent | undefined;
  /** The engine's view of a metainfo (session.ts: sourceFromMetainfo). */
  toSource(m: Metainfo): TorrentSource;
}

function aborted(signal: AbortSignal, what: string): EngineError {
  return new EngineError('ENGINE_ABORTED', `${what} aborted`, { cause: signal.reason });
}

/** `p`, or ENGINE_ABORTED as soon as `signal` aborts; the listener is removed either way. */
export function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.reject(aborted(signal, what));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(aborted(signal, what));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * A torrent added with `session.add()`, returned at once, before its metadata is known (like
 * webtorrent's torrent object). `ready` resolves with the running Torrent; `await handle` does the
 * same (the handle is thenable, so code written for the older `await session.add(metainfo)` keeps
 * working). Events: `metadata`, `checking`, `ready`, then the torrent's `progress`, `done`,
 * `warning`; `error` when the add fails. `progress()` is the same as an async iterable.
 */
export class TorrentHandle extends EventEmitter<HandleEvents> implements PromiseLike<Torrent> {
  readonly infoHash: Buffer;
  readonly infoHashHex: string;
  /** Resolves with the running torrent; rejects with an EngineError (ENGINE_ABORTED, ENGINE_CLOSED, ENGINE_BAD_TORRENT, ENGINE_DISK, …). */
  readonly ready: Promise<Torrent>;
  /** Resolves when every wanted piece is verified; rejects when the add fails or the torrent closes first. */
  readonly done: Promise<void>;
  private metainfoValue: Metainfo | undefined;
  private torrentValue: Torrent | undefined;
  private fetcherValue: MetadataFetcher | undefined;
  private phaseValue: HandlePhase;
  private errorValue: EngineError | undefined;
  private doneValue = false;
  private readonly hint: string | undefined;
  /** `progress()` waits, woken at each change (ready, done, failure, state). */
  private readonly wakers = new Set<() => void>();

  constructor(
    private readonly host: HandleHost,
    input: ResolvedInput,
    private readonly opts: HandleOptions = {},
  ) {
    super();
    this.infoHash = input.infoHash;
    this.infoHashHex = input.infoHash.toString('hex');
    this.hint = input.name;
    this.phaseValue = input.kind === 'magnet' ? 'metadata' : 'starting';
    this.ready = this.run(input).then(
      (t) => this.started(t),
      (e: unknown) => this.failed(e),
    );
    this.done = this.ready.then((t) => t.done);
    // A caller that only listens to events (or only awaits one of the two) must not get an unhandled rejection.
    this.ready.catch(() => undefined);
    this.done.catch(() => undefined);
  }

  /** The running torrent (undefined until `ready`). */
  get torrent(): Torrent | undefined {
    return this.torrentValue;
  }

  /** The parsed metainfo (undefined until known, and for an engine TorrentSource). */
  get metainfo(): Metainfo | undefined {
    return this.metainfoValue;
  }

  /** The running BEP 9 fetch of a magnet (undefined once the torrent took over). */
  get fetcher(): MetadataFetcher | undefined {
    return this.fetcherValue;
  }

  get name(): string {
    return this.metainfoValue?.name ?? this.torrentValue?.name ?? this.hint ?? this.infoHashHex;
  }

  then<R1 = Torrent, R2 = never>(
    onFulfilled?: ((t: Torrent) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((e: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.ready.then(onFulfilled, onRejected);
  }

  catch<R = never>(onRejected?: ((e: unknown) => R | PromiseLike<R>) | null): Promise<Torrent | R> {
    return this.ready.catch(onRejected);
  }

  private async run(input: ResolvedInput): Promise<Torrent> {
    const { signal } = this.opts;
    let source: Metainfo | TorrentSource;
    if (input.kind === 'magnet') {
      // Already running: that torrent, with the link's peers and the caller's added.
      const running = this.host.get(this.infoHash);
      if (running !== undefined) {
        const peers = [...input.magnet.peers, ...(this.opts.peers ?? [])];
        if (peers.length > 0) running.addPeers(peers, 'manual');
        return running;
      }
      const fetcher = this.host.fetchMetadata(input.magnet, {
        ...(this.opts.maxPeers !== undefined ? { maxPeers: this.opts.maxPeers } : {}),
        ...(this.opts.peers !== undefined ? { peers: this.opts.peers } : {}),
        ...(this.opts.noTrackers !== undefined ? { noTrackers: this.opts.noTrackers } : {}),
      });
      this.fetcherValue = fetcher;
      const onWarning = (w: HandleEvents['warning'][0]): boolean => this.emit('warning', w);
      fetcher.on('warning', onWarning);
      try {
        source = await abortable(fetcher.metadata, signal, 'metadata fetch');
      } catch (e) {
        if (signal?.aborted === true) await this.host.remove(this.infoHash);
        throw e;
      } finally {
        fetcher.off('warning', onWarning);
      }
      this.setMetadata(source);
      this.setPhase('starting');
    } else {
      source = input.source;
      // Listeners attach after add() returns: tell them on the next microtask.
      if (!('layout' in source)) {
        const m = source;
        queueMicrotask(() => this.setMetadata(m));
      }
    }
    // The older path, unchanged: the torrent starts as soon as its storage opens.
    if (this.opts.verify !== true && signal === undefined) return this.host.addTorrent(source, this.opts);
    const held: { storage?: TorrentStorage } = {};
    try {
      const options = this.opts.verify === true ? await this.verify(source, held) : this.opts;
      return await abortable(this.host.addTorrent(source, options), signal, 'add');
    } catch (e) {
      // Once opened through the factory, the storage is the torrent's; until then it is ours to close.
      await held.storage?.close().catch(() => undefined);
      if (signal?.aborted === true) await this.host.remove(this.infoHash);
      throw e;
    }
  }

  /** Hashes the data on disk; the storage it opened goes on to the torrent (`held` until then). */
  private async verify(source: Metainfo | TorrentSource, held: { storage?: TorrentStorage }): Promise<AddOptions> {
    const layout = 'layout' in source ? source.layout : this.host.toSource(source).layout;
    const dir = this.opts.dir ?? process.cwd();
    const storage = await (this.opts.storage ?? fsStorage({ dir })).open(layout);
    held.storage = storage;
    this.setPhase('checking');
    try {
      const restored = await restore({
        dir,
        name: source.name,
        infoHash: this.infoHash,
        layout,
        storage,
        verifier: inlineVerifier,
        recheck: true,
        ...(this.opts.signal !== undefined ? { signal: this.opts.signal } : {}),
        onCheck: (done, total) => this.emit('checking', { done, total }),
      });
      this.setPhase('starting');
      return {
        ...this.opts,
        have: restored.have.indices(),
        storage: {
          open: () => {
            delete held.storage;
            return Promise.resolve(storage);
          },
        },
      };
    } catch (e) {
      if (this.opts.signal?.aborted === true) throw aborted(this.opts.signal, 'verify');
      throw e;
    }
  }

  private setPhase(p: HandlePhase): void {
    this.phaseValue = p;
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }

  private setMetadata(m: Metainfo): void {
    if (this.metainfoValue !== undefined) return;
    this.metainfoValue = m;
    this.emit('metadata', m);
  }

  private started(t: Torrent): Torrent {
    this.torrentValue = t;
    this.fetcherValue = undefined;
    this.setPhase(t.state.kind);
    t.on('progress', (s) => this.emit('progress', s));
    t.on('warning', (w) => this.emit('warning', w));
    t.on('state', (s) => this.setPhase(s.kind));
    t.done.then(
      () => {
        this.doneValue = true;
        this.wake();
        this.emit('done');
      },
      () => undefined,
    );
    this.emit('ready', t);
    return t;
  }

  private failed(e: unknown): never {
    const err = e instanceof EngineError ? e : new EngineError('ENGINE_BAD_TORRENT', (e as Error).message, { cause: e });
    this.errorValue = err;
    this.fetcherValue = undefined;
    this.setPhase('failed');
    if (this.listenerCount('error') > 0) this.emit('error', err);
    throw err;
  }

  /** A snapshot of where the add or the download is. */
  status(): HandleStatus {
    const base = { infoHash: this.infoHashHex, name: this.name, phase: this.phaseValue, ...(this.errorValue !== undefined ? { error: this.errorValue } : {}) };
    const t = this.torrentValue;
    if (t !== undefined) {
      const s = t.stats();
      const fraction = s.totalBytes > 0 ? s.haveBytes / s.totalBytes : 1;
      const done = this.doneValue || s.state === 'seeding';
      return {
        ...base,
        done,
        fraction,
        totalBytes: s.totalBytes,
        haveBytes: s.haveBytes,
        downRateBps: s.downRateBps,
        upRateBps: s.upRateBps,
        peers: s.peers,
        torrent: s,
      };
    }
    const m = this.fetcherValue?.stats();
    return {
      ...base,
      done: false,
      fraction: 0,
      totalBytes: this.metainfoValue?.totalLength,
      haveBytes: 0,
      downRateBps: 0,
      upRateBps: 0,
      peers: m?.peers ?? 0,
      ...(m !== undefined ? { metadata: m } : {}),
    };
  }

  /**
   * Status snapshots as an async iterable: one at once, then one every `intervalMs` (on the
   * session's clock) and at each change of phase. Ends after the snapshot that shows the download
   * done or the torrent closed; throws the add's error; `signal` ends it early (ENGINE_ABORTED).
   */
  async *progress(opts: { readonly intervalMs?: number; readonly signal?: AbortSignal } = {}): AsyncGenerator<HandleStatus, void, undefined> {
    const intervalMs = Math.max(10, opts.intervalMs ?? 1_000);
    for (;;) {
      if (opts.signal?.aborted === true) throw aborted(opts.signal, 'progress');
      const s = this.status();
      if (s.error !== undefined) throw s.error;
      yield s;
      if (s.done || s.phase === 'closed') return;
      await this.nextChange(intervalMs, opts.signal);
    }
  }

  /** Resolves after `ms`, or sooner at a change of phase (ready, checking, done, failed, closed) or an abort. */
  private nextChange(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const finish = (): void => {
        timer.cancel();
        this.wakers.delete(finish);
        signal?.removeEventListener('abort', finish);
        resolve();
      };
      const timer = this.host.clock.setTimeout(finish, ms);
      this.wakers.add(finish);
      signal?.addEventListener('abort', finish, { once: true });
    });
  }

  /** Pauses the torrent (no effect before `ready`). */
  pause(): void {
    this.torrentValue?.pause();
  }

  resume(): void {
    this.torrentValue?.resume();
  }

  /**
   * Removes the torrent from the session (its files stay on disk), or stops the fetch. With a
   * `signal`, an abort stops the waiting (ENGINE_ABORTED) while the close finishes in the background.
   */
  close(opts: { readonly signal?: AbortSignal } = {}): Promise<void> {
    const p = this.host.remove(this.infoHash);
    p.catch(() => undefined);
    return abortable(p, opts.signal, 'close');
  }
}
