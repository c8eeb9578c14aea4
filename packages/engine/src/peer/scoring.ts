/** What the engine has measured about one peer. */
export interface PeerRecord {
  /** Download rate from the peer, bytes per second. */
  readonly rateBps: number;
  /** Smoothed time from request to block, ms (undefined before the first block). */
  readonly responseMs: number | undefined;
  /** Pieces that failed their hash with a block of this peer in them. */
  readonly hashFailures: number;
  /** Requests that timed out, rejected requests we did not expect, protocol slips. */
  readonly faults: number;
  /** Blocks received from the peer. */
  readonly blocks: number;
}

/** Response time below which a peer is not penalised (ms): loopback and LAN peers all look alike here. */
const RESPONSE_FREE_MS = 200;

/**
 * A single number ranking peers: throughput, discounted for slow responses and unreliability.
 * Higher is better; 0 for a peer that gave nothing. Used to pick whom to drop when better
 * candidates wait, and whom to fill first.
 */
export function peerScore(p: PeerRecord): number {
  const response = p.responseMs === undefined ? 1 : 1 / (1 + Math.max(0, p.responseMs - RESPONSE_FREE_MS) / 1000);
  const reliability = 1 / (1 + 4 * p.hashFailures + p.faults);
  // A small floor for peers that did deliver, so a fresh but proven peer beats a silent one.
  const base = p.rateBps + (p.blocks > 0 ? 1024 : 0);
  return base * response * reliability;
}

/** Hash failures after which a peer that shared in bad pieces is banned (Transmission bans at 5 strikes; we are stricter since loopback peers are cheap to lose). */
export const BAN_AFTER_HASH_FAILURES = 3;

/**
 * What to do with a peer after a piece it contributed to failed. `sole` when it sent every block
 * of that piece: then the fault is certainly its own.
 */
export function hashFailureVerdict(failuresSoFar: number, sole: boolean, onParole: boolean): 'parole' | 'ban' {
  if (sole && onParole) return 'ban';
  if (sole && failuresSoFar >= 2) return 'ban';
  if (failuresSoFar >= BAN_AFTER_HASH_FAILURES) return 'ban';
  return 'parole';
}
