/**
 * The torrent's judgements of its peers, as pure functions of what it measured: when a peer is
 * snubbed and when it is dropped, and which peer makes room for a better candidate. The tick
 * (torrent.ts) applies them.
 */

/** A peer with requests outstanding and no block for this long is snubbed (issue 5; libtorrent request_timeout 60 s). */
export const SNUB_TIMEOUT_MS = 60_000;
/** A snubbed peer still without a block after this many snub timeouts is dropped: it had its one-request chance. */
export const SNUB_DROP_FACTOR = 2;
/** Interval between attempts to replace the weakest peer when better candidates wait. */
export const REPLACE_EVERY_MS = 30_000;
/** A peer is not judged for replacement before it has had this long to show its rate. */
export const REPLACE_GRACE_MS = 60_000;

export type SnubVerdict =
  /** Leave it be: nothing outstanding, or still within its time. */
  | 'ok'
  /** Release its requests to others and keep one outstanding to let it prove itself. */
  | 'snub'
  /** Already snubbed and still silent: close it. */
  | 'drop';

export interface SnubInput {
  /** Our requests it has not answered. */
  readonly outstanding: number;
  readonly snubbed: boolean;
  /** Time since it last made progress (a block, or requests going from none to some), ms. */
  readonly sinceProgressMs: number;
  readonly snubTimeoutMs: number;
}

export function snubVerdict(s: SnubInput): SnubVerdict {
  // With nothing asked, silence is not its fault.
  if (s.outstanding === 0) return 'ok';
  if (!s.snubbed) return s.sinceProgressMs > s.snubTimeoutMs ? 'snub' : 'ok';
  return s.sinceProgressMs > SNUB_DROP_FACTOR * s.snubTimeoutMs ? 'drop' : 'ok';
}

export interface ReplaceInput {
  /** Only a downloading torrent gains from a better peer; a seed serves whoever comes. */
  readonly downloading: boolean;
  readonly peers: number;
  readonly maxPeers: number;
  /** Candidates that could be dialled now. */
  readonly candidatesWaiting: number;
}

/** Whether to drop a peer to make room: the pool is full and someone waits to take the place. */
export function shouldReplace(s: ReplaceInput): boolean {
  return s.downloading && s.peers >= s.maxPeers && s.candidatesWaiting > 0;
}

/**
 * The lowest-scoring peer among those that had REPLACE_GRACE_MS to show their rate (the first of
 * equals), or undefined when none has. `score` is called only for those.
 */
export function weakestPeer<P extends { readonly connectedAt: number }>(peers: Iterable<P>, now: number, score: (p: P) => number): P | undefined {
  let worst: P | undefined;
  let worstScore = Infinity;
  for (const p of peers) {
    if (now - p.connectedAt < REPLACE_GRACE_MS) continue;
    const s = score(p);
    if (s < worstScore) {
      worst = p;
      worstScore = s;
    }
  }
  return worst;
}
