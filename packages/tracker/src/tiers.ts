import { EventEmitter } from 'node:events';
import { isPrivateHost } from './address.js';
import { systemClock, type Clock, type TimerHandle } from '@tc/clock';
import { TrackerError } from './errors.js';
import type { TrackerTransport } from './transport.js';
import type { AnnounceEvent, AnnounceRequest, AnnounceResult, Peer } from './types.js';

/** RELIABILITY #28 / libtorrent `min_announce_interval`: never re-announce sooner than 5 minutes. */
export const MIN_ANNOUNCE_INTERVAL_S = 300;
/**
 * Longest re-announce interval we follow, seconds (a week). An HTTP or UDP (BEP 15) reply may carry
 * any u32; as a timer delay that overflows 2^31-1 ms and Node fires it at once.
 */
export const MAX_ANNOUNCE_INTERVAL_S = 7 * 24 * 3600;
/** RELIABILITY #29: a public tracker's peers below this port are dropped (the privileged ports). */
export const MIN_PUBLIC_PEER_PORT = 1024;
/** Shortest gap between two announces asked for by the engine, when the tracker sets no `min interval`. */
export const MIN_MANUAL_GAP_S = 60;
/** First retry after a tracker fails; doubled per failure (with jitter) up to the cap. */
export const BACKOFF_BASE_MS = 15_000;
/** A failing tracker is retried at least every 30 minutes. */
export const BACKOFF_MAX_MS = 30 * 60_000;
/** ±25 % jitter, so many torrents do not retry a tracker in lock-step. */
export const BACKOFF_JITTER = 0.25;
/** `stopped` must not hold up shutdown (CLI.md: bounded stopped announce). */
export const STOP_TIMEOUT_MS = 5_000;

export type TrackerState = 'idle' | 'announcing' | 'ok' | 'error';

export interface TrackerStatus {
  readonly url: string;
  readonly tier: number;
  readonly state: TrackerState;
  readonly failures: number;
  readonly lastError?: TrackerError;
  /** Clock time (ms) before which this tracker is not tried again after failing. */
  readonly retryAt?: number;
  readonly lastAnnounceAt?: number;
  readonly interval?: number;
  readonly minInterval?: number;
  readonly complete?: number;
  readonly incomplete?: number;
  readonly peers?: number;
  readonly warning?: string;
}

export interface TrackerSetEvents {
  /** New peers from one announce, already filtered (our own address, duplicates within the reply). */
  peers: [{ url: string; peers: Peer[] }];
  /** Any change of one tracker's status. */
  status: [TrackerStatus];
  /** A `warning message` from a tracker. */
  warning: [{ url: string; message: string }];
}

export interface TrackerSetOptions {
  /** BEP 12 `announce-list` (or `[[announce]]`). Empty tiers and duplicate URLs are dropped. */
  readonly tiers: readonly (readonly string[])[];
  readonly infoHash: Buffer;
  readonly peerId: Buffer;
  /** Our listen port; also used to recognise ourselves in peer lists. */
  readonly port: number;
  readonly transport: TrackerTransport;
  /** Byte counts for each announce. */
  readonly stats: () => { uploaded: number; downloaded: number; left: number };
  readonly key?: number;
  readonly numwant?: number;
  /** Our own addresses: a peer at one of these with our port is us. */
  readonly selfAddresses?: readonly string[];
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Floor for the re-announce interval, seconds (tests lower it). */
  readonly minIntervalS?: number;
  readonly minManualGapS?: number;
  readonly backoffBaseMs?: number;
  readonly backoffMaxMs?: number;
  readonly stopTimeoutMs?: number;
}

interface Tracker {
  readonly url: string;
  readonly tier: number;
  state: TrackerState;
  failures: number;
  lastError?: TrackerError;
  retryAt?: number;
  lastOk?: AnnounceResult;
  lastAnnounceAt?: number;
  /** Whether this tracker has accepted our `started` (else the next announce to it is `started`). */
  started: boolean;
  trackerId?: Buffer;
}

export interface AnnounceOutcome {
  readonly url: string;
  readonly result: AnnounceResult;
}

/**
 * BEP 12 tiers for one torrent: each tier shuffled once, trackers tried in order, the one that
 * answers moved to the front of its tier, later tiers tried only when a whole tier fails. Schedules
 * re-announces on the tracker's interval (clamped) and backs off failing trackers with jitter.
 */
export class TrackerSet extends EventEmitter<TrackerSetEvents> {
  private readonly tiers: Tracker[][];
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly key: number;
  private timer: TimerHandle | undefined;
  private running = false;
  private stopped = false;
  private inFlight: Promise<AnnounceOutcome | undefined> | undefined;
  private inFlightAbort: AbortController | undefined;
  /** An event not yet accepted by any tracker (`completed` must reach one). */
  private pendingEvent: AnnounceEvent | undefined;
  private lastSuccess: { tracker: Tracker; at: number } | undefined;
  private nextAt: number | undefined;
  /** Callers of announceNow() waiting for the next round. */
  private waiters: ((o: AnnounceOutcome | undefined) => void)[] = [];

  constructor(private readonly opts: TrackerSetOptions) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.key = opts.key ?? Math.floor(this.random() * 0x1_0000_0000) >>> 0;
    const seen = new Set<string>();
    this.tiers = [];
    for (const tier of opts.tiers) {
      const list: Tracker[] = [];
      for (const url of tier) {
        if (seen.has(url)) continue;
        seen.add(url);
        list.push({ url, tier: this.tiers.length, state: 'idle', failures: 0, started: false });
      }
      if (list.length === 0) continue;
      shuffle(list, this.random);
      this.tiers.push(list);
    }
  }

  /** Current tracker order and status, tier by tier. */
  status(): TrackerStatus[] {
    return this.tiers.flat().map((t) => this.snapshot(t));
  }

  /** Clock time (ms) of the next scheduled announce, if any. */
  get nextAnnounceAt(): number | undefined {
    return this.nextAt;
  }

  /** Sends `started` now and keeps announcing on schedule until `stop()`. */
  start(): Promise<AnnounceOutcome | undefined> {
    if (this.running || this.stopped) return this.inFlight ?? Promise.resolve(undefined);
    this.running = true;
    this.pendingEvent = 'started';
    return this.runRound();
  }

  /**
   * Tells the trackers the download completed. An event is news, not a request for peers, so it
   * goes out now without waiting for `min interval` (after any announce already in flight).
   */
  async completed(): Promise<AnnounceOutcome | undefined> {
    if (!this.running || this.stopped) return undefined;
    await this.inFlight;
    this.pendingEvent = 'completed';
    return this.runRound();
  }

  /**
   * Announces as soon as the tracker allows (`min interval`, or our minimum gap); for an engine that
   * wants more peers. Resolves with the outcome of that announce.
   */
  announceNow(): Promise<AnnounceOutcome | undefined> {
    if (!this.running || this.stopped) return Promise.resolve(undefined);
    if (this.inFlight) return this.inFlight;
    const earliest = this.earliestManual();
    if (earliest <= this.clock.now()) return this.runRound();
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      // Bring the next announce forward to `earliest`, never push a sooner one back.
      if (this.nextAt === undefined || this.nextAt > earliest) this.schedule(earliest);
    });
  }

  /** Stops scheduling and sends `stopped` to the tracker that knows us, within a bounded time. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.running = false;
    this.cancelTimer();
    this.release(undefined);
    this.inFlightAbort?.abort();
    await this.inFlight?.catch(() => undefined);
    const last = this.lastSuccess?.tracker;
    if (last === undefined) return;
    const ctl = new AbortController();
    const t = this.clock.setTimeout(() => ctl.abort(), this.opts.stopTimeoutMs ?? STOP_TIMEOUT_MS);
    try {
      await this.opts.transport.announce(last.url, this.request(last, 'stopped'), ctl.signal);
      last.state = 'idle';
      last.started = false;
      this.emit('status', this.snapshot(last));
    } catch {
      // A tracker that misses our `stopped` drops us after its timeout anyway.
    } finally {
      t.cancel();
    }
  }

  private earliestManual(): number {
    const last = this.lastSuccess;
    if (last === undefined) return this.clock.now();
    const gapS = Math.max(last.tracker.lastOk?.minInterval ?? 0, this.opts.minManualGapS ?? MIN_MANUAL_GAP_S);
    return last.at + gapS * 1000;
  }

  private request(t: Tracker, event: AnnounceEvent): AnnounceRequest {
    const s = this.opts.stats();
    return {
      infoHash: this.opts.infoHash,
      peerId: this.opts.peerId,
      port: this.opts.port,
      uploaded: s.uploaded,
      downloaded: s.downloaded,
      left: s.left,
      event,
      key: this.key,
      ...(this.opts.numwant !== undefined ? { numwant: this.opts.numwant } : {}),
      ...(t.trackerId !== undefined ? { trackerId: t.trackerId } : {}),
    };
  }

  private runRound(): Promise<AnnounceOutcome | undefined> {
    if (this.inFlight) return this.inFlight;
    this.cancelTimer();
    const ctl = new AbortController();
    this.inFlightAbort = ctl;
    const p = this.round(ctl.signal)
      .catch(() => undefined)
      .then((o) => {
        this.inFlight = undefined;
        this.inFlightAbort = undefined;
        // Whatever started this round, it answers everyone waiting in announceNow().
        this.release(o);
        return o;
      });
    this.inFlight = p;
    return p;
  }

  /** One BEP 12 pass over the tiers; at most one tracker succeeds. */
  private async round(signal: AbortSignal): Promise<AnnounceOutcome | undefined> {
    for (const tier of this.tiers) {
      for (let i = 0; i < tier.length; i++) {
        const t = tier[i];
        if (t === undefined) continue;
        if (t.retryAt !== undefined && t.retryAt > this.clock.now()) continue; // backing off: do not hammer it
        if (this.stopped || signal.aborted) return undefined;
        // A tracker that has not seen our `started` gets it now, whatever the round is for.
        const event: AnnounceEvent = this.pendingEvent === 'completed' ? 'completed' : !t.started || this.pendingEvent === 'started' ? 'started' : 'periodic';
        t.state = 'announcing';
        this.emit('status', this.snapshot(t));
        let result: AnnounceResult;
        try {
          result = await this.opts.transport.announce(t.url, this.request(t, event), signal);
        } catch (e) {
          if (this.stopped) return undefined;
          this.fail(t, e);
          continue;
        }
        if (this.stopped) return undefined;
        this.succeed(t, tier, i, result);
        this.pendingEvent = undefined;
        return { url: t.url, result };
      }
    }
    // Every tracker failed or is backing off: retry when the first one may be tried again.
    const retry = Math.min(...this.tiers.flat().map((t) => t.retryAt ?? this.clock.now() + (this.opts.backoffBaseMs ?? BACKOFF_BASE_MS)));
    if (this.running && Number.isFinite(retry)) this.schedule(Math.max(retry, this.clock.now()));
    return undefined;
  }

  private fail(t: Tracker, e: unknown): void {
    t.failures++;
    t.state = 'error';
    t.lastError = e instanceof TrackerError ? e : new TrackerError('TRACKER_NETWORK', String((e as Error)?.message ?? e), { url: t.url, cause: e });
    const base = this.opts.backoffBaseMs ?? BACKOFF_BASE_MS;
    const max = this.opts.backoffMaxMs ?? BACKOFF_MAX_MS;
    const delay = Math.min(max, base * 2 ** Math.min(t.failures - 1, 30)) * (1 + BACKOFF_JITTER * (2 * this.random() - 1));
    t.retryAt = this.clock.now() + delay;
    this.emit('status', this.snapshot(t));
  }

  private succeed(t: Tracker, tier: Tracker[], index: number, result: AnnounceResult): void {
    const now = this.clock.now();
    t.failures = 0;
    t.state = 'ok';
    delete t.lastError;
    delete t.retryAt;
    t.lastOk = result;
    t.lastAnnounceAt = now;
    t.started = true;
    if (result.trackerId !== undefined) t.trackerId = result.trackerId;
    // BEP 12: the tracker that answered moves to the front of its tier.
    if (index > 0) {
      tier.splice(index, 1);
      tier.unshift(t);
    }
    this.lastSuccess = { tracker: t, at: now };
    this.emit('status', this.snapshot(t));
    if (result.warning !== undefined) this.emit('warning', { url: t.url, message: result.warning });
    const peers = this.filterPeers(result.peers, t.url);
    if (peers.length > 0) this.emit('peers', { url: t.url, peers });
    if (this.running) {
      const intervalS = Math.min(Math.max(result.interval, this.opts.minIntervalS ?? MIN_ANNOUNCE_INTERVAL_S), MAX_ANNOUNCE_INTERVAL_S);
      this.schedule(now + intervalS * 1000);
    }
  }

  /**
   * Drops us, duplicates, and (RELIABILITY #29, libtorrent `ssrf_mitigation`) loopback, private or
   * privileged-port peers handed out by a public tracker: those would make us probe the user's own network.
   */
  private filterPeers(peers: readonly Peer[], trackerUrl: string): Peer[] {
    const self = new Set((this.opts.selfAddresses ?? []).map((a) => `${a.toLowerCase()}|${this.opts.port}`));
    const trackerIsPrivate = isPrivateHost(hostOf(trackerUrl));
    const seen = new Set<string>();
    const out: Peer[] = [];
    for (const p of peers) {
      const k = `${p.ip.toLowerCase()}|${p.port}`;
      if (self.has(k) || seen.has(k)) continue;
      if (!trackerIsPrivate && isPrivateHost(p.ip)) continue;
      // Peers on privileged ports are services (SSH, web, mail), not BitTorrent clients (lt `no_connect_privileged_ports`).
      if (!trackerIsPrivate && p.port < MIN_PUBLIC_PEER_PORT) continue;
      if (p.peerId !== undefined && p.peerId.equals(this.opts.peerId)) continue;
      seen.add(k);
      out.push(p);
    }
    return out;
  }

  private schedule(at: number): void {
    this.cancelTimer();
    this.nextAt = at;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.nextAt = undefined;
        if (!this.running || this.stopped) return this.release(undefined);
        void this.runRound();
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  private release(o: AnnounceOutcome | undefined): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve(o);
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.nextAt = undefined;
  }

  private snapshot(t: Tracker): TrackerStatus {
    const r = t.lastOk;
    return {
      url: t.url,
      tier: t.tier,
      state: t.state,
      failures: t.failures,
      ...(t.lastError !== undefined ? { lastError: t.lastError } : {}),
      ...(t.retryAt !== undefined ? { retryAt: t.retryAt } : {}),
      ...(t.lastAnnounceAt !== undefined ? { lastAnnounceAt: t.lastAnnounceAt } : {}),
      ...(r !== undefined
        ? {
            interval: r.interval,
            ...(r.minInterval !== undefined ? { minInterval: r.minInterval } : {}),
            ...(r.complete !== undefined ? { complete: r.complete } : {}),
            ...(r.incomplete !== undefined ? { incomplete: r.incomplete } : {}),
            peers: r.peers.length,
            ...(r.warning !== undefined ? { warning: r.warning } : {}),
          }
        : {}),
    };
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return '';
  }
}

/** Fisher–Yates with the injected random source (BEP 12: shuffle each tier once). */
function shuffle<T>(a: T[], random: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const x = a[i] as T;
    a[i] = a[j] as T;
    a[j] = x;
  }
}
