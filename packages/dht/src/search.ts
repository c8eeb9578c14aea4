import { EventEmitter } from 'node:events';
import type { Clock } from '@tc/clock';
import type { Family, PeerAddress } from './ids.js';
import type { Query, ResponseMessage } from './krpc.js';
import type { Lookup, LookupStats } from './lookup.js';
import type { Target } from './rpc.js';

export interface SearchResult {
  readonly infoHash: Buffer;
  /** Every distinct peer found (both families). */
  readonly peers: readonly PeerAddress[];
  /** Counters summed over the lookups run (one per address family). */
  readonly stats: LookupStats;
  readonly durationMs: number;
  /** Time from the start to the first peer, if any was found. */
  readonly firstPeerMs: number | undefined;
  /** For an announce: nodes that accepted our announce_peer, and those that did not. */
  readonly announced?: number;
  readonly announceFailed?: number;
}

export interface SearchEvents {
  peers: [peers: PeerAddress[]];
}

export type SearchRun = (
  onPeers: (peers: PeerAddress[]) => void,
  aborted: () => boolean,
) => Promise<{
  readonly stats: LookupStats;
  readonly announced?: number;
  readonly announceFailed?: number;
}>;

/**
 * One running lookup (or lookup + announce): peers as `peers` events, as an async iterable (each
 * iterator sees every peer from the start), and a `done` promise with the counters and timings.
 */
export class DhtSearch extends EventEmitter<SearchEvents> implements AsyncIterable<PeerAddress> {
  readonly infoHash: Buffer;
  readonly done: Promise<SearchResult>;
  private readonly found: PeerAddress[] = [];
  private finished = false;
  private stopped = false;
  private wake: (() => void)[] = [];

  constructor(infoHash: Buffer, clock: Clock, run: SearchRun) {
    super();
    this.infoHash = infoHash;
    const start = clock.now();
    let firstPeerMs: number | undefined;
    const onPeers = (peers: PeerAddress[]): void => {
      if (peers.length === 0) return;
      firstPeerMs ??= clock.now() - start;
      this.found.push(...peers);
      this.emit('peers', peers);
      this.notify();
    };
    this.done = run(onPeers, () => this.stopped).then(
      (r) => this.finish({ infoHash, peers: this.found, firstPeerMs, durationMs: clock.now() - start, ...r }),
      (e: unknown) => {
        this.finished = true;
        this.notify();
        throw e;
      },
    );
  }

  private finish(r: SearchResult): SearchResult {
    this.finished = true;
    this.notify();
    return r;
  }

  private notify(): void {
    const w = this.wake;
    this.wake = [];
    for (const f of w) f();
  }

  /** Stops asking new nodes; `done` resolves with what was found so far. */
  abort(): void {
    this.stopped = true;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<PeerAddress> {
    let i = 0;
    for (;;) {
      while (i < this.found.length) yield this.found[i++]!;
      if (this.finished) return;
      await new Promise<void>((r) => this.wake.push(r));
    }
  }
}

/** Sends one query (the node's, which also keeps the routing table's failure counts). */
export type QueryFn = (to: Target, q: Query, onSlow: () => void) => Promise<ResponseMessage>;

/**
 * Drives one pure lookup over the network: asks whom `next()` names, feeds answers, failures and
 * slow nodes back, and resolves when the lookup is done, nothing is left in flight, or `stop()`.
 */
export function driveLookup(
  l: Lookup,
  family: Family,
  make: () => Query,
  query: QueryFn,
  onPeers: (p: PeerAddress[]) => void,
  stop: () => boolean,
): Promise<void> {
  return new Promise((resolve) => {
    let inFlight = 0;
    let finished = false;
    const pump = (): void => {
      if (finished) return;
      if (stop() || l.done) {
        finished = true;
        return resolve();
      }
      for (const to of l.next()) {
        inFlight++;
        const target: Target = { ip: to.ip, port: to.port, family };
        query(target, make(), () => {
          l.slow(target);
          pump();
        })
          .then((r) => {
            const fresh = l.answered(target, r.r);
            if (fresh.length > 0) onPeers(fresh);
          })
          .catch(() => l.failed(target))
          .finally(() => {
            inFlight--;
            pump();
          });
      }
      if (inFlight === 0) {
        finished = true;
        resolve();
      }
    };
    pump();
  });
}

export function sum(xs: readonly (number | undefined)[]): number {
  return xs.reduce<number>((a, b) => a + (b ?? 0), 0);
}

/** Counters of several lookups (one per family) as one. */
export function sumStats(all: readonly LookupStats[]): LookupStats {
  return {
    queried: sum(all.map((s) => s.queried)),
    answered: sum(all.map((s) => s.answered)),
    failed: sum(all.map((s) => s.failed)),
    hops: Math.max(0, ...all.map((s) => s.hops)),
    peers: sum(all.map((s) => s.peers)),
    dropped: sum(all.map((s) => s.dropped)),
  };
}
