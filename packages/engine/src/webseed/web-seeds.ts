import { Agent, type Dispatcher } from 'undici';
import { USER_AGENT } from '@tc/wire';
import { BLOCK_BYTES } from '../layout.js';
import type { PieceSet } from '../picker/picker.js';
import type { TorrentContext } from '../torrent/context.js';
import type { PieceBuffers } from '../torrent/piece-buffers.js';
import type { PieceCompletion } from '../torrent/piece-completion.js';
import { fetchRange, WebSeedFailure } from './fetch.js';
import { freshHealth, mayRequest, noteFailure, noteHashFailure, noteSuccess, type WebSeedHealth, type WebSeedState } from './policy.js';
import { blockRuns, spanRanges, type BlockRun } from './ranges.js';
import { checkWebSeedUrl, MAX_WEB_SEEDS, webSeedFileUrl } from './url.js';

/** A span (a run of blocks of one piece, over one or more files) must arrive whole within this. */
export const WEB_SEED_TIMEOUT_MS = 30_000;
/**
 * Longest span (one HTTP request per file it covers): consecutive pieces are fetched together, as
 * libtorrent does, so small pieces do not cost a request each. At least one piece.
 */
export const WEB_SEED_SPAN_BYTES = 4 * 1024 * 1024;
/** Bytes a web seed may have in flight: several spans at once, so one round trip does not idle the link. */
export const WEB_SEED_INFLIGHT_BYTES = 16 * 1024 * 1024;
/** Spans in flight per web seed, at least and at most. */
export const WEB_SEED_MIN_INFLIGHT = 2;
export const WEB_SEED_MAX_INFLIGHT = 8;
/** Picker ids of web seeds are negative: peers' ids are not. */
const FIRST_WEB_SEED_ID = -1;

/** A web seed as the torrent's stats show it. */
export interface WebSeedInfo {
  readonly url: string;
  readonly state: WebSeedState;
  /** Why it is backed off or dropped (or last failed). */
  readonly reason?: string;
  /** Payload bytes accepted from it. */
  readonly downloaded: number;
  readonly inFlight: number;
  readonly failures: number;
  readonly hashFailures: number;
}

export interface WebSeedOptions {
  /** BEP 19 base URLs (`url-list`, a magnet's `ws=`, `--web-seed`); bad ones are skipped with a warning. */
  readonly urls: readonly string[];
  /** Per file, the path as named in the torrent (`[name]` or `[name, …path]`); default: the layout's paths. */
  readonly paths?: readonly (readonly string[])[];
  readonly timeoutMs?: number;
  /** undici dispatcher (tests); otherwise the web seeds' own Agent, closed with them. */
  readonly dispatcher?: Dispatcher;
}

interface Seed extends WebSeedHealth {
  readonly id: number;
  readonly base: URL;
  readonly display: string;
  inFlight: number;
  downloaded: number;
  /** Pieces this seed started: it may finish them (peers take only pieces nobody works on). */
  readonly owned: Set<number>;
  readonly aborts: Set<AbortController>;
  /** File URLs, built once per file. */
  readonly urls: Map<number, string>;
}

/** What the web seeds need of the torrent: the same block and verify-write path as peers. */
export interface WebSeedHost {
  readonly buffers: PieceBuffers;
  readonly completion: Pick<PieceCompletion, 'writeBacklog' | 'complete'>;
  readonly maxWriteBacklogBytes: number;
  /** Blocks were released (a failed span, a dropped seed): peers may take them. */
  refill(): void;
}

/**
 * The web seeds (BEP 19) of one torrent. Each is a source in the picker (a negative id, every piece)
 * that takes pieces nobody works on, rarest first, as whole-piece spans mapped to HTTP Range requests
 * across file boundaries; blocks that arrive go through the peers' path (picker, piece buffer,
 * verify, write). A failing seed is backed off, then dropped with its reason (policy.ts).
 */
export class WebSeeds {
  private readonly seeds: Seed[] = [];
  private readonly dispatcher: Dispatcher;
  private readonly ownDispatcher: Agent | undefined;
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;
  /** Pieces per span (WEB_SEED_SPAN_BYTES). */
  private readonly spanPieces: number;
  private readonly multiFile: boolean;
  private readonly paths: readonly (readonly string[])[];
  /** Span buffers for reuse (at most one per span in flight): a fresh 4 MiB buffer per span churns the GC. */
  private readonly spareBuffers: Buffer[] = [];
  private readonly spanBytes: number;

  constructor(
    private readonly ctx: TorrentContext,
    private readonly host: WebSeedHost,
    opts: WebSeedOptions,
  ) {
    const layout = ctx.layout;
    this.timeoutMs = opts.timeoutMs ?? WEB_SEED_TIMEOUT_MS;
    this.spanPieces = Math.max(1, Math.floor(WEB_SEED_SPAN_BYTES / layout.pieceLength));
    const spanBytes = this.spanPieces * layout.pieceLength;
    this.spanBytes = spanBytes;
    this.maxInFlight = Math.max(WEB_SEED_MIN_INFLIGHT, Math.min(WEB_SEED_MAX_INFLIGHT, Math.ceil(WEB_SEED_INFLIGHT_BYTES / spanBytes)));
    this.paths = opts.paths !== undefined && opts.paths.length === layout.files.length ? opts.paths : layout.files.map((f) => f.path);
    this.multiFile = this.paths.length > 1 || (this.paths[0]?.length ?? 0) > 1;
    this.ownDispatcher = opts.dispatcher === undefined ? new Agent({ connect: { timeout: this.timeoutMs }, keepAliveTimeout: 4_000 }) : undefined;
    this.dispatcher = opts.dispatcher ?? this.ownDispatcher!;
    const seen = new Set<string>();
    for (const u of opts.urls) {
      if (this.seeds.length >= MAX_WEB_SEEDS) break;
      let base: URL;
      try {
        base = checkWebSeedUrl(u);
      } catch (e) {
        ctx.emit('warning', { message: (e as Error).message });
        continue;
      }
      if (seen.has(base.href)) continue;
      seen.add(base.href);
      const id = FIRST_WEB_SEED_ID - this.seeds.length;
      this.seeds.push({ ...freshHealth(), id, base, display: base.href, inFlight: 0, downloaded: 0, owned: new Set(), aborts: new Set(), urls: new Map() });
      ctx.picker.addPeer(id, EVERY_PIECE);
    }
  }

  get size(): number {
    return this.seeds.length;
  }

  /** Starts spans on every web seed that may be asked, up to its in-flight bound and the torrent's piece budget. */
  fill(): void {
    const { ctx, host } = this;
    if (ctx.state().kind !== 'downloading' || ctx.diskError() !== undefined) return;
    const picker = ctx.picker;
    const now = ctx.clock.now();
    for (const seed of this.seeds) {
      if (!mayRequest(seed, now)) continue;
      for (const i of seed.owned) if (picker.pieceState(i) !== 'active') seed.owned.delete(i);
      const allowed: PieceSet = {
        has: (i) => {
          const s = picker.pieceState(i);
          return s === 'queued' || (s === 'active' && (seed.owned.has(i) || picker.endgame));
        },
      };
      while (seed.inFlight < this.maxInFlight && host.completion.writeBacklog <= host.maxWriteBacklogBytes) {
        const perPiece = Math.ceil(ctx.layout.pieceLength / BLOCK_BYTES);
        const blocks = picker.pick(seed.id, perPiece, now, allowed, host.buffers.room(picker.activeCount) > 0 ? 1 : 0);
        if (blocks.length === 0) break;
        // A new piece runs on into the next queued ones (one request for the span), while the piece budget allows.
        const last = blocks[blocks.length - 1]!;
        for (let next = last.piece + 1; next < last.piece + this.spanPieces && next < ctx.layout.pieceCount; next++) {
          if (picker.pieceState(next) !== 'queued' || host.buffers.room(picker.activeCount) <= 0) break;
          const more = picker.pick(seed.id, perPiece, now, { has: (i) => i === next }, 1);
          if (more.length === 0) break;
          blocks.push(...more);
        }
        for (const run of blockRuns(blocks, ctx.layout.pieceLength, this.spanPieces * ctx.layout.pieceLength)) {
          for (const b of run.blocks) seed.owned.add(b.piece);
          this.start(seed, run);
        }
      }
    }
  }

  private urlOf(seed: Seed, file: number): string {
    let u = seed.urls.get(file);
    if (u === undefined) {
      u = webSeedFileUrl(seed.base, this.paths[file]!, this.multiFile);
      seed.urls.set(file, u);
    }
    return u;
  }

  private start(seed: Seed, run: BlockRun): void {
    const { ctx } = this;
    seed.inFlight++;
    const ctl = new AbortController();
    seed.aborts.add(ctl);
    let timedOut = false;
    const timer = ctx.clock.setTimeout(() => {
      timedOut = true;
      ctl.abort();
    }, this.timeoutMs);
    const onClose = (): void => ctl.abort();
    ctx.closing.addEventListener('abort', onClose, { once: true });
    const whole = this.spareBuffers.pop() ?? Buffer.allocUnsafe(this.spanBytes);
    const buf = whole.subarray(0, run.length);
    const work = (async () => {
      try {
        const limiter = ctx.opts.downLimiter;
        if (limiter !== undefined && limiter.limited) await limiter.acquire(run.length, seed.id, ctl.signal);
        for (const r of spanRanges(ctx.layout, run.piece, run.offset, run.length)) {
          if (r.padding) {
            buf.fill(0, r.spanOffset, r.spanOffset + r.length);
            continue;
          }
          await fetchRange(this.urlOf(seed, r.file), r.start, r.length, buf, r.spanOffset, {
            dispatcher: this.dispatcher,
            signal: ctl.signal,
            userAgent: USER_AGENT,
            fileLength: ctx.layout.files[r.file]!.length,
          });
        }
      } catch (e) {
        if (ctx.closing.aborted) return;
        const reason = timedOut
          ? `no complete reply within ${Math.round(this.timeoutMs / 1000)} s (stalled)`
          : e instanceof WebSeedFailure
            ? e.message
            : ctl.signal.aborted
              ? undefined // paused: not the seed's fault
              : networkReason(e);
        this.failed(seed, run, reason);
        this.recycle(whole);
        return;
      } finally {
        timer.cancel();
        ctx.closing.removeEventListener('abort', onClose);
        seed.aborts.delete(ctl);
        seed.inFlight--;
      }
      this.deliver(seed, run, buf);
      this.recycle(whole);
    })();
    ctx.track(work);
  }

  private recycle(buf: Buffer): void {
    if (this.spareBuffers.length < this.maxInFlight) this.spareBuffers.push(buf);
  }

  /** A span arrived whole: its blocks go the peers' way (picker, piece buffer, verify and write). */
  private deliver(seed: Seed, run: BlockRun, buf: Buffer): void {
    const { ctx } = this;
    const picker = ctx.picker;
    const t = ctx.totals;
    noteSuccess(seed);
    if (ctx.diskError() !== undefined || seed.state === 'dropped') {
      t.wasteBytes += run.length;
      return;
    }
    const now = ctx.clock.now();
    for (const b of run.blocks) {
      const o = picker.onBlock(seed.id, b.piece, b.offset, b.length);
      if (o.kind !== 'accepted') {
        t.wasteBytes += b.length;
        continue;
      }
      t.downRate.add(b.length, now);
      t.downloaded += b.length;
      seed.downloaded += b.length;
      const at = (b.piece - run.piece) * ctx.layout.pieceLength + b.offset - run.offset;
      buf.copy(this.host.buffers.forBlock(b.piece, now), b.offset, at, at + b.length);
      for (const pid of o.cancel) ctx.peers.byId(pid)?.conn.sendCancels([b]);
      if (o.complete) this.host.completion.complete(b.piece);
    }
    this.fill();
  }

  private failed(seed: Seed, run: BlockRun, reason: string | undefined): void {
    const { ctx } = this;
    for (const b of run.blocks) ctx.picker.release(seed.id, b.piece, b.offset);
    if (reason !== undefined) this.blame(seed, (h, now) => noteFailure(h, reason, now));
    this.host.refill();
  }

  /** Applies a failure to a seed; a seed dropped by it leaves the picker, and the change is told as a warning. */
  private blame(seed: Seed, note: (h: WebSeedHealth, now: number) => void): void {
    const before = seed.state;
    note(seed, this.ctx.clock.now());
    if (seed.state === before) return;
    if (seed.state === 'dropped') {
      this.ctx.picker.removePeer(seed.id);
      for (const c of seed.aborts) c.abort();
      this.ctx.emit('warning', { message: `web seed ${seed.display} dropped: ${seed.reason ?? 'failed'}` });
    } else if (seed.state === 'backoff') {
      this.ctx.emit('warning', { message: `web seed ${seed.display} backed off: ${seed.reason ?? 'failed'}` });
    }
  }

  /** Whether a picker id is one of ours. */
  owns(id: number): boolean {
    return id <= FIRST_WEB_SEED_ID && this.byId(id) !== undefined;
  }

  private byId(id: number): Seed | undefined {
    return this.seeds[FIRST_WEB_SEED_ID - id];
  }

  /**
   * A piece with data from web seed `id` failed the hash check: it counts against the seed as against
   * a peer (backed off, then dropped). Returns the seed's URL for the hash-failure event.
   */
  hashFailed(id: number): string | undefined {
    const seed = this.byId(id);
    if (seed === undefined) return undefined;
    this.blame(seed, noteHashFailure);
    return seed.display;
  }

  /** Paused: spans in flight are abandoned (their blocks released), not blamed on the seeds. */
  pause(): void {
    for (const seed of this.seeds) {
      for (const c of seed.aborts) c.abort();
      if (seed.state !== 'dropped') this.ctx.picker.releaseAll(seed.id);
    }
  }

  info(): WebSeedInfo[] {
    return this.seeds.map((s) => ({
      url: s.display,
      state: s.state,
      ...(s.reason !== undefined ? { reason: s.reason } : {}),
      downloaded: s.downloaded,
      inFlight: s.inFlight,
      failures: s.failures,
      hashFailures: s.hashFailures,
    }));
  }

  /** Aborts what is in flight and closes the connections (the torrent waits for the tracked work first). */
  async close(): Promise<void> {
    for (const seed of this.seeds) for (const c of seed.aborts) c.abort();
    this.spareBuffers.length = 0;
    await this.ownDispatcher?.destroy().catch(() => undefined);
  }
}

/** Every piece: a web seed serves the whole torrent. */
const EVERY_PIECE: PieceSet = { has: () => true };

/** A short reason for a network error (refused, reset, DNS), from undici's cause chain. */
function networkReason(e: unknown): string {
  for (let c = e, depth = 0; typeof c === 'object' && c !== null && depth < 5; c = (c as { cause?: unknown }).cause, depth++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('E')) return `network error (${code})`;
  }
  return `network error (${(e as Error).message})`;
}
