import type { Clock } from '../clock.js';
import type { EngineError } from '../errors.js';
import type { TorrentLayout } from '../layout.js';
import { RateMeter } from '../peer/rate.js';
import type { PiecePicker } from '../picker/picker.js';
import type { TorrentStorage } from '../storage/types.js';
import type { PeerTable } from './peer-state.js';
import type { TorrentState } from './states.js';
import type { TorrentEvents, TorrentOptions } from './types.js';

/** The byte and event counts a torrent reports in `stats()`, kept by the parts that see them. */
export class Totals {
  /** Payload bytes received in accepted blocks. */
  downloaded = 0;
  uploaded = 0;
  hashFailures = 0;
  wasteBytes = 0;
  readonly downRate: RateMeter;
  readonly upRate: RateMeter;
  /** Addresses of the peers that sent us at least one accepted block. */
  readonly peersUsed = new Set<string>();

  constructor(now: number) {
    this.downRate = new RateMeter(now);
    this.upRate = new RateMeter(now);
  }
}

/**
 * What the parts of a torrent (registry, requesting, completion, serving, dispatch) share, so that
 * none reaches into another's privates. Made once by `Torrent`; nothing in it is allocated per block.
 */
export interface TorrentContext {
  readonly opts: TorrentOptions;
  readonly layout: TorrentLayout;
  readonly picker: PiecePicker;
  readonly clock: Clock;
  readonly storage: TorrentStorage;
  readonly peers: PeerTable;
  readonly totals: Totals;
  /** Aborted on close: releases this torrent's waits on the (shared) rate limiters. */
  readonly closing: AbortSignal;
  emit<K extends keyof TorrentEvents>(event: K, ...args: TorrentEvents[K]): boolean;
  /** The lifecycle state now. */
  state(): TorrentState;
  /** Set by the first failed piece write; from then on nothing is requested again (upload-only). */
  diskError(): EngineError | undefined;
  /** Keeps pending disk or limiter work, so `close()` can wait for it; a bug in it becomes a warning. */
  track(work: Promise<unknown>): void;
}

/** Connected to the swarm: peers are dialled, accepted and served. */
export function isLive(s: TorrentState): boolean {
  return s.kind === 'downloading' || s.kind === 'seeding' || s.kind === 'upload-only';
}
