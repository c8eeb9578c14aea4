import { invariant } from '../errors.js';

/**
 * The choking algorithm of BEP 3 ("Choking and optimistic unchoking"), as a pure decision:
 * a snapshot of the peers in, the set to unchoke out. See CHOKING.md for the reasoning.
 *
 * - Every 10 s, the `slots` interested peers with the best rate are unchoked: the rate they give us
 *   while we leech (tit-for-tat), the rate we reach to them while we seed.
 * - Peers that are faster than those but not interested are unchoked too (they cost nothing until
 *   they become interested; then the next run chokes the slowest downloader), as BEP 3 says.
 * - One optimistic unchoke, rotated every 30 s, picked at random among choked interested peers,
 *   newly connected peers three times as likely (BEP 3 / BitTorrent 4.x); when interested it counts
 *   as one of the `slots`.
 * - Snubbed peers (nothing received for 60 s while we wanted something) lose their regular slot
 *   and can only be unchoked optimistically (anti-snubbing, BitTorrent 4.x, libtorrent).
 */

/** BEP 3: "changing choked peers once every ten seconds" avoids fibrillation. */
export const RECHOKE_INTERVAL_MS = 10_000;
/** BEP 3: "Which peer is optimistically unchoked rotates every 30 seconds." */
export const OPTIMISTIC_INTERVAL_MS = 30_000;
/** BEP 3: four uploads, the optimistic one included when it is interested. */
export const DEFAULT_UPLOAD_SLOTS = 4;
/** A peer connected this recently has never had a turn in the rotation: it gets the ×3 weight. */
export const NEW_PEER_MS = OPTIMISTIC_INTERVAL_MS;
/** BEP 3: "Newly connected peers are three times as likely to start as the current optimistic unchoke." */
export const NEW_PEER_WEIGHT = 3;

export type ChokerMode = 'leeching' | 'seeding';

/** What the choker needs to know about one connected peer, sampled just before a run. */
export interface ChokerPeer<Id = string> {
  readonly id: Id;
  /** The peer is interested in us (wants to download from us). */
  readonly interested: boolean;
  /** We are interested in the peer. Informational: the ranking uses rates, which only flow with interest. */
  readonly amInterested: boolean;
  /** Payload bytes/s the peer sends us (smoothed over ~20 s, as BEP 3 suggests). */
  readonly downloadBps: number;
  /** Payload bytes/s we send the peer. */
  readonly uploadBps: number;
  /** No block from the peer for 60 s although we had requests out. */
  readonly snubbed: boolean;
  /** We currently choke the peer. */
  readonly choked: boolean;
  /** When the connection completed its handshake, in the clock's ms. */
  readonly connectedAt: number;
}

/** The optimistic unchoke carried from one run to the next. */
export interface OptimisticState<Id = string> {
  readonly id: Id;
  /** When it was picked, in the clock's ms. */
  readonly since: number;
}

export interface ChokerInput<Id = string> {
  readonly peers: readonly ChokerPeer<Id>[];
  readonly mode: ChokerMode;
  /** Upload slots, the optimistic unchoke included. Default 4. */
  readonly slots?: number;
  /** The current optimistic unchoke, from the previous decision. */
  readonly optimistic: OptimisticState<Id> | undefined;
  readonly now: number;
  /** Uniform in [0, 1): injected so tests are deterministic. Default Math.random. */
  readonly random?: () => number;
}

export interface ChokeDecision<Id = string> {
  /** Every peer to leave or make unchoked; every other peer is to be choked. */
  readonly unchoke: ReadonlySet<Id>;
  /** Peers whose state changes: send them `unchoke` / `choke` now. */
  readonly toUnchoke: readonly Id[];
  readonly toChoke: readonly Id[];
  /** The optimistic unchoke to carry to the next run (undefined when no peer qualifies). */
  readonly optimistic: OptimisticState<Id> | undefined;
  /** When to run again (ms, the clock's time). Run earlier when a peer leaves or its interest changes. */
  readonly nextRunAt: number;
}

/** The rate a peer is ranked by in this mode. */
function rankRate<Id>(p: ChokerPeer<Id>, mode: ChokerMode): number {
  return mode === 'leeching' ? p.downloadBps : p.uploadBps;
}

/**
 * One choking round. Pure: the same input (random included) gives the same decision.
 * Call every RECHOKE_INTERVAL_MS, and early when an unchoked peer disconnects or a peer's interest
 * changes (an early run never rotates the optimistic unchoke before its 30 s are up).
 */
export function rechoke<Id>(input: ChokerInput<Id>): ChokeDecision<Id> {
  const { peers, mode, now } = input;
  const slots = input.slots ?? DEFAULT_UPLOAD_SLOTS;
  invariant(Number.isSafeInteger(slots) && slots >= 1, `upload slots must be a positive integer, got ${slots}`);
  const random = input.random ?? Math.random;
  const byId = new Map<Id, ChokerPeer<Id>>();
  for (const p of peers) byId.set(p.id, p);

  // 1. The optimistic unchoke: keep it for its 30 s while it is still connected and interested.
  let optimistic = input.optimistic;
  const held = optimistic === undefined ? undefined : byId.get(optimistic.id);
  if (optimistic === undefined || held === undefined || !held.interested || now - optimistic.since >= OPTIMISTIC_INTERVAL_MS) {
    const picked = pickOptimistic(peers, held?.id, now, random);
    optimistic = picked === undefined ? undefined : { id: picked, since: now };
    // Nobody else qualifies: the current one keeps its turn (a fresh 30 s) if it still wants data.
    if (optimistic === undefined && held !== undefined && held.interested) optimistic = { id: held.id, since: now };
  }

  // 2. Regular slots, by rate. Ties go to peers already unchoked (no needless choke/unchoke churn),
  //    then to the longest connected, then to input order (sort is stable).
  const unchoke = new Set<Id>();
  let downloaders = 0;
  if (optimistic !== undefined) {
    unchoke.add(optimistic.id);
    if (byId.get(optimistic.id)!.interested) downloaders++;
  }
  const ranked = peers
    .filter((p) => !p.snubbed && !unchoke.has(p.id) && (p.interested || mode === 'leeching'))
    .sort((a, b) => rankRate(b, mode) - rankRate(a, mode) || Number(a.choked) - Number(b.choked) || a.connectedAt - b.connectedAt);
  for (const p of ranked) {
    if (downloaders >= slots) break;
    // A peer that gives us nothing and does not want anything gains nothing from an unchoke.
    if (!p.interested && rankRate(p, mode) <= 0) continue;
    unchoke.add(p.id);
    if (p.interested) downloaders++;
  }

  const toUnchoke: Id[] = [];
  const toChoke: Id[] = [];
  for (const p of peers) {
    const want = unchoke.has(p.id);
    if (want && p.choked) toUnchoke.push(p.id);
    else if (!want && !p.choked) toChoke.push(p.id);
  }
  return { unchoke, toUnchoke, toChoke, optimistic, nextRunAt: now + RECHOKE_INTERVAL_MS };
}

/**
 * A random choked, interested peer (snubbed ones included: this is their only way back), other
 * than the outgoing optimistic one; peers connected within NEW_PEER_MS weigh NEW_PEER_WEIGHT.
 */
function pickOptimistic<Id>(peers: readonly ChokerPeer<Id>[], outgoing: Id | undefined, now: number, random: () => number): Id | undefined {
  const pool: { id: Id; weight: number }[] = [];
  let total = 0;
  for (const p of peers) {
    if (!p.interested || p.id === outgoing) continue;
    // An already unchoked peer earned its slot; the optimistic one is for someone who has none.
    if (!p.choked) continue;
    const weight = now - p.connectedAt < NEW_PEER_MS ? NEW_PEER_WEIGHT : 1;
    pool.push({ id: p.id, weight });
    total += weight;
  }
  if (pool.length === 0) return undefined;
  let r = random() * total;
  for (const c of pool) {
    r -= c.weight;
    if (r < 0) return c.id;
  }
  return pool[pool.length - 1]!.id;
}

/**
 * The choker with its state (the optimistic unchoke and the next run time) for the engine to hold,
 * one per torrent. The engine samples peers, calls `run`, and sends the messages in the decision.
 */
export class Choker<Id = string> {
  private optimistic: OptimisticState<Id> | undefined;
  private nextAt = 0;

  constructor(private readonly opts: { slots?: number; random?: () => number } = {}) {}

  /** True when a scheduled run is due. */
  due(now: number): boolean {
    return now >= this.nextAt;
  }

  get optimisticPeer(): Id | undefined {
    return this.optimistic?.id;
  }

  run(peers: readonly ChokerPeer<Id>[], mode: ChokerMode, now: number): ChokeDecision<Id> {
    const d = rechoke<Id>({
      peers,
      mode,
      now,
      optimistic: this.optimistic,
      ...(this.opts.slots !== undefined ? { slots: this.opts.slots } : {}),
      ...(this.opts.random !== undefined ? { random: this.opts.random } : {}),
    });
    this.optimistic = d.optimistic;
    this.nextAt = d.nextRunAt;
    return d;
  }
}
