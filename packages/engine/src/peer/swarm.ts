import type { EngineError } from '../errors.js';
import { backoffDelayMs, MAX_FAILURES } from './backoff.js';
import { addressKey, type PeerAddress } from './connection.js';

/**
 * A connection that lasted this long proved the peer works even if it sent us nothing (it had nothing
 * we want, or we served it): its close is not a failure. Shorter than the grace before we replace a
 * weak peer ourselves (60 s), so those closes are not held against it.
 */
export const USEFUL_CONNECTION_MS = 30_000;

/** What the torrent knows of a connection when it ends. */
export interface ClosedConnection {
  /** Undefined for a clean close (FIN) by either side. */
  readonly reason: EngineError | undefined;
  /** Whether the peer's handshake arrived. */
  readonly handshaken: boolean;
  /** Blocks it sent that we accepted. */
  readonly blocks: number;
  /** Time since the handshake (ms). */
  readonly connectedMs: number;
}

/**
 * Whether a connection's end counts as a failure of the address, i.e. backs it off exponentially and,
 * repeated MAX_FAILURES times, forgets it (RELIABILITY #26; libtorrent counts failcount the same way).
 * A peer that accepts and hangs up at once would otherwise be redialled every few seconds forever.
 */
export function closeIsFailure(c: ClosedConnection): boolean {
  // It stalled or trickled (RELIABILITY #20, #26): back off even if it once sent good blocks.
  if (c.reason?.code === 'ENGINE_PEER_TIMEOUT') return true;
  // It gave us data (perhaps it only had part of the torrent for now): redial soon.
  if (c.blocks > 0) return false;
  if (!c.handshaken || c.reason !== undefined) return true;
  // A clean close: a failure only when it came right after connecting.
  return c.connectedMs < USEFUL_CONNECTION_MS;
}

/** Where a candidate came from: trackers, incoming connections, `--peer`, and later DHT and PEX. */
export type CandidateSource = 'tracker' | 'incoming' | 'manual' | 'dht' | 'pex' | 'lsd';

/** Most candidates remembered per torrent: bounds memory against trackers or PEX flooding us. */
export const MAX_CANDIDATES = 2_000;

interface Candidate {
  readonly address: PeerAddress;
  readonly key: string;
  readonly source: CandidateSource;
  failures: number;
  /** Clock time (ms) before which we do not dial it again. */
  retryAt: number;
  connected: boolean;
  banned: boolean;
}

/**
 * One list of peers we may dial, fed by every source. Decides whom to dial next (never a banned
 * peer, ourselves, a connected peer, or one in backoff) and backs off failures with jitter.
 * Pure: time and randomness come in as arguments.
 */
export class CandidateList {
  private readonly all = new Map<string, Candidate>();

  constructor(
    /** Addresses that are us (our listen port on local addresses): never dialled. */
    private readonly isSelf: (a: PeerAddress) => boolean,
    private readonly random: () => number = Math.random,
  ) {}

  get size(): number {
    return this.all.size;
  }

  /** Adds candidates; returns how many were new. Manual peers are kept even when the list is full. */
  add(addresses: readonly PeerAddress[], source: CandidateSource): number {
    let added = 0;
    for (const address of addresses) {
      if (address.port <= 0 || address.port > 65535 || this.isSelf(address)) continue;
      const key = addressKey(address);
      if (this.all.has(key)) continue;
      if (this.all.size >= MAX_CANDIDATES && source !== 'manual') continue;
      this.all.set(key, { address, key, source, failures: 0, retryAt: 0, connected: false, banned: false });
      added++;
    }
    return added;
  }

  /** Candidates known, by where they came from (trackers, DHT, PEX, LSD, …): the diagnosis of a swarm's sources. */
  bySource(): Partial<Record<CandidateSource, number>> {
    const out: Partial<Record<CandidateSource, number>> = {};
    for (const c of this.all.values()) out[c.source] = (out[c.source] ?? 0) + 1;
    return out;
  }

  /** Up to `n` candidates ready to dial at `now`, fewest failures first; marks them connected. */
  take(n: number, now: number): PeerAddress[] {
    const ready: Candidate[] = [];
    for (const c of this.all.values()) if (!c.connected && !c.banned && c.retryAt <= now) ready.push(c);
    ready.sort((a, b) => a.failures - b.failures || (a.source === 'manual' ? -1 : 0) - (b.source === 'manual' ? -1 : 0));
    const out = ready.slice(0, Math.max(0, n));
    for (const c of out) c.connected = true;
    return out.map((c) => c.address);
  }

  /** How many could be dialled now (to decide whether dropping a weak peer is worth it). */
  waiting(now: number): number {
    let n = 0;
    for (const c of this.all.values()) if (!c.connected && !c.banned && c.retryAt <= now) n++;
    return n;
  }

  /** Marks an address connected (e.g. it dialled us); adds it if unknown. Returns false if banned. */
  markConnected(address: PeerAddress): boolean {
    const key = addressKey(address);
    let c = this.all.get(key);
    if (c === undefined) {
      this.add([address], 'incoming');
      c = this.all.get(key);
      if (c === undefined) return true; // list full: still allowed, just not remembered
    }
    if (c.banned) return false;
    c.connected = true;
    return true;
  }

  /** The connection ended. `failed` (refused, timed out, protocol error) schedules a retry with backoff. */
  disconnected(address: PeerAddress, failed: boolean, now: number): void {
    const c = this.all.get(addressKey(address));
    if (c === undefined) return;
    c.connected = false;
    if (!failed) {
      c.failures = 0;
      c.retryAt = now + backoffDelayMs(1, this.random);
      return;
    }
    c.failures++;
    if (c.failures >= MAX_FAILURES && c.source !== 'manual') {
      this.all.delete(c.key);
      return;
    }
    c.retryAt = now + backoffDelayMs(c.failures, this.random);
  }

  ban(address: PeerAddress): void {
    const key = addressKey(address);
    const c = this.all.get(key);
    if (c !== undefined) c.banned = true;
    else this.all.set(key, { address, key, source: 'incoming', failures: 0, retryAt: Infinity, connected: false, banned: true });
  }

  isBanned(address: PeerAddress): boolean {
    return this.all.get(addressKey(address))?.banned === true;
  }

  /** Clears backoff so that every known candidate may be dialled again now (e.g. after resume). */
  resetBackoff(): void {
    for (const c of this.all.values()) c.retryAt = 0;
  }
}
