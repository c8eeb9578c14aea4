import { endpointKey, type Family, type PeerAddress } from './ids.js';

/** How long an announced peer is handed out without a new announce (libtorrent and the issue: 30 minutes). */
export const PEER_TTL_MS = 30 * 60_000;
/** Info-hashes stored at once (libtorrent's `dht_max_torrents` is 2000; we are a client, not a hub). */
export const MAX_STORED_INFO_HASHES = 1000;
/** Peers stored per info-hash (libtorrent's `dht_max_peers` is 500). */
export const MAX_PEERS_PER_INFO_HASH = 300;
/** Peers stored in all: about 150 bytes each, so the store stays near 3 MB however it is flooded. */
export const MAX_STORED_PEERS = 20_000;

interface Stored {
  readonly peer: PeerAddress;
  readonly at: number;
}

/**
 * Peers announced to us (BEP 5 announce_peer), bounded three ways and expiring. Maps keep
 * insertion order and an announce moves its entry to the end, so the first entry is always the
 * least recently announced: the one to evict.
 */
export class PeerStore {
  private readonly byHash = new Map<string, Map<string, Stored>>();
  private total = 0;

  get infoHashes(): number {
    return this.byHash.size;
  }

  get peers(): number {
    return this.total;
  }

  add(infoHash: Buffer, peer: PeerAddress, now: number): void {
    const h = infoHash.toString('hex');
    let peers = this.byHash.get(h);
    if (peers) this.byHash.delete(h);
    else {
      if (this.byHash.size >= MAX_STORED_INFO_HASHES) this.evictHash();
      peers = new Map();
    }
    this.byHash.set(h, peers);
    const key = endpointKey(peer);
    if (peers.delete(key)) this.total--;
    else if (peers.size >= MAX_PEERS_PER_INFO_HASH) this.evictPeer(peers);
    while (this.total >= MAX_STORED_PEERS) this.evictOldestAnywhere();
    peers.set(key, { peer, at: now });
    this.total++;
  }

  private evictHash(): void {
    const first = this.byHash.entries().next().value;
    if (!first) return;
    this.total -= first[1].size;
    this.byHash.delete(first[0]);
  }

  private evictPeer(peers: Map<string, Stored>): void {
    const first = peers.keys().next().value;
    if (first !== undefined && peers.delete(first)) this.total--;
  }

  private evictOldestAnywhere(): void {
    const first = this.byHash.entries().next().value;
    if (!first) return;
    this.evictPeer(first[1]);
    if (first[1].size === 0) this.byHash.delete(first[0]);
  }

  /** Up to `max` live peers of one family for an info-hash, a random sample when there are more. */
  get(infoHash: Buffer, family: Family, max: number, now: number): PeerAddress[] {
    const peers = this.byHash.get(infoHash.toString('hex'));
    if (!peers) return [];
    const live: PeerAddress[] = [];
    for (const s of peers.values()) if (s.peer.family === family && now - s.at < PEER_TTL_MS) live.push(s.peer);
    for (let i = 0; i < Math.min(max, live.length); i++) {
      const j = i + Math.floor(Math.random() * (live.length - i));
      [live[i], live[j]] = [live[j]!, live[i]!];
    }
    return live.slice(0, max);
  }

  /** Drops expired peers and emptied info-hashes. */
  sweep(now: number): void {
    for (const [h, peers] of this.byHash) {
      for (const [k, s] of peers) {
        if (now - s.at >= PEER_TTL_MS) {
          peers.delete(k);
          this.total--;
        }
      }
      if (peers.size === 0) this.byHash.delete(h);
    }
  }
}
