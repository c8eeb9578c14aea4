import { MAX_METADATA_BYTES, MetadataAssembler, WireError } from '@tc/wire';

/**
 * A metadata request unanswered after this long goes to another peer (BEP 9 names no timeout;
 * libtorrent gives up on a ut_metadata request after about 20 s, we are quicker since any peer may answer).
 */
export const METADATA_REQUEST_TIMEOUT_MS = 10_000;
/** Outstanding ut_metadata requests per peer: a few, so a slow peer holds few pieces. */
export const METADATA_REQUESTS_PER_PEER = 2;
/** After a `reject` (BEP 9: the peer does not have that piece, or limits us) the peer is not asked again for this long. */
export const METADATA_REJECT_BACKOFF_MS = 5_000;
/** Rejects plus timeouts after which a peer is no longer asked for metadata at all. */
export const MAX_METADATA_FAULTS = 8;

/** Why a peer is not asked for metadata. */
export type MetadataSkipReason = 'no-ut-metadata' | 'bad-size';

export type DataOutcome =
  /** Stored; more pieces are needed. */
  | { readonly kind: 'stored' }
  /** Not requested from this peer (late, after a timeout, or a duplicate): dropped, no harm. */
  | { readonly kind: 'ignored' }
  /** The peer broke the exchange (a size other than the one it announced): close it. */
  | { readonly kind: 'drop'; readonly reason: string }
  /** Every piece is in and the SHA-1 matches the info-hash: the info dictionary's bytes. */
  | { readonly kind: 'done'; readonly info: Buffer }
  /** Every piece is in but the SHA-1 is wrong: everything is discarded and `blamed` (who sent pieces) are never asked again. */
  | { readonly kind: 'mismatch'; readonly blamed: readonly number[]; readonly message: string };

interface Source {
  readonly size: number;
  /** Piece → when it was requested. */
  readonly inflight: Map<number, number>;
  blockedUntil: number;
  faults: number;
  distrusted: boolean;
}

/**
 * BEP 9 metadata fetching for one info-hash, without sockets or timers: peers (by number) join
 * with the `metadata_size` of their extended handshake; `requests(now)` says what to ask whom;
 * data, rejects and departures come back in. The pieces are collected by wire's
 * MetadataAssembler (sizes, SHA-1). Memory: one buffer of at most MAX_METADATA_BYTES.
 *
 * Peers may announce different sizes (one is lying): the size announced by most trusted peers is
 * fetched; when the result does not hash, its senders are distrusted and the vote is taken again.
 */
export class MetadataExchange {
  private readonly sources = new Map<number, Source>();
  private assembler: MetadataAssembler | undefined;
  /** Who sent each stored piece of the current attempt. */
  private readonly senders = new Map<number, number>();
  private result: Buffer | undefined;

  constructor(private readonly infoHash: Buffer) {}

  /** Bytes of the metadata being fetched (undefined until a peer announced a usable size). */
  get size(): number | undefined {
    return this.assembler?.size;
  }

  get done(): boolean {
    return this.result !== undefined;
  }

  /** The distinct sizes peers announced (more than one: some disagree), for the diagnosis. */
  get sizes(): number[] {
    return [...new Set([...this.sources.values()].map((s) => s.size))].sort((a, b) => a - b);
  }

  /** Peers that can be asked (announced a usable size, not distrusted). */
  get sourceCount(): number {
    let n = 0;
    for (const s of this.sources.values()) if (!s.distrusted && s.faults < MAX_METADATA_FAULTS) n++;
    return n;
  }

  /** Pieces received of the current attempt, and how many there are. */
  progress(): { readonly have: number; readonly total: number } {
    const a = this.assembler;
    return a === undefined ? { have: 0, total: 0 } : { have: a.pieceCount - a.missing().length, total: a.pieceCount };
  }

  /**
   * A peer's extended handshake arrived. `size` is its `metadata_size` (undefined: none, so it cannot
   * serve metadata) and `hasExtension` whether its `m` names ut_metadata. Returns why it is skipped, if it is.
   */
  addPeer(id: number, hasExtension: boolean, size: number | undefined): MetadataSkipReason | undefined {
    if (!hasExtension || size === undefined) return 'no-ut-metadata';
    if (!Number.isSafeInteger(size) || size <= 0 || size > MAX_METADATA_BYTES) return 'bad-size';
    const old = this.sources.get(id);
    if (old !== undefined && old.size === size) return undefined;
    this.removePeer(id);
    this.sources.set(id, { size, inflight: new Map(), blockedUntil: 0, faults: 0, distrusted: false });
    return undefined;
  }

  /** The peer left: its requests are free again. */
  removePeer(id: number): void {
    this.sources.delete(id);
  }

  /**
   * What to request now: each missing piece from one peer at a time, at most
   * METADATA_REQUESTS_PER_PEER per peer, least-loaded peer first. Marks them in flight.
   */
  requests(now: number): { peer: number; piece: number }[] {
    if (this.result !== undefined) return [];
    this.expire(now);
    const a = this.pickSize();
    if (a === undefined) return [];
    const inflight = new Set<number>();
    for (const s of this.sources.values()) for (const p of s.inflight.keys()) inflight.add(p);
    const out: { peer: number; piece: number }[] = [];
    for (const piece of a.missing()) {
      if (inflight.has(piece)) continue;
      let best: [number, Source] | undefined;
      for (const [id, s] of this.sources) {
        if (!this.usable(s, now) || s.size !== a.size || s.inflight.size >= METADATA_REQUESTS_PER_PEER) continue;
        if (best === undefined || s.inflight.size < best[1].inflight.size) best = [id, s];
      }
      if (best === undefined) break;
      best[1].inflight.set(piece, now);
      out.push({ peer: best[0], piece });
    }
    return out;
  }

  /** BEP 9 `reject`: the peer will not send that piece (for now). */
  onReject(id: number, piece: number, now: number): void {
    const s = this.sources.get(id);
    if (s === undefined || !s.inflight.delete(piece)) return;
    s.faults++;
    s.blockedUntil = now + METADATA_REJECT_BACKOFF_MS;
  }

  /** BEP 9 `data` (already checked by wire against the peer's announced size and the piece length). */
  onData(id: number, piece: number, totalSize: number, data: Uint8Array): DataOutcome {
    const s = this.sources.get(id);
    if (s === undefined || this.result !== undefined) return { kind: 'ignored' };
    if (totalSize !== s.size) return { kind: 'drop', reason: `sent metadata total_size ${totalSize} after announcing ${s.size}` };
    if (!s.inflight.delete(piece)) return { kind: 'ignored' };
    const a = this.assembler;
    if (a === undefined || a.size !== totalSize) return { kind: 'ignored' };
    try {
      if (!a.add(piece, data)) return { kind: 'ignored' };
    } catch (e) {
      if (e instanceof WireError) return { kind: 'drop', reason: e.message };
      throw e;
    }
    this.senders.set(piece, id);
    if (!a.complete) return { kind: 'stored' };
    try {
      this.result = a.finish();
      return { kind: 'done', info: this.result };
    } catch (e) {
      if (!(e instanceof WireError) || e.code !== 'WIRE_METADATA_HASH_MISMATCH') throw e;
      const blamed = [...new Set(this.senders.values())];
      for (const b of blamed) {
        const bs = this.sources.get(b);
        if (bs !== undefined) {
          bs.distrusted = true;
          bs.inflight.clear();
        }
      }
      // Start over: the next vote may pick another size; the old buffer is released.
      this.assembler = undefined;
      this.senders.clear();
      return { kind: 'mismatch', blamed, message: e.message };
    }
  }

  private usable(s: Source, now: number): boolean {
    return !s.distrusted && s.faults < MAX_METADATA_FAULTS && s.blockedUntil <= now;
  }

  /** Requests past their time go back to the pool, and count against the peer. */
  private expire(now: number): void {
    for (const s of this.sources.values()) {
      for (const [piece, at] of s.inflight) {
        if (now - at < METADATA_REQUEST_TIMEOUT_MS) continue;
        s.inflight.delete(piece);
        s.faults++;
      }
    }
  }

  /**
   * The assembler for the size most trusted peers announced. An attempt is kept while anyone can
   * still serve its size; otherwise (its peers left or were distrusted) another size is tried.
   */
  private pickSize(): MetadataAssembler | undefined {
    const votes = new Map<number, number>();
    for (const s of this.sources.values()) if (!s.distrusted && s.faults < MAX_METADATA_FAULTS) votes.set(s.size, (votes.get(s.size) ?? 0) + 1);
    const cur = this.assembler;
    if (cur !== undefined && votes.has(cur.size)) return cur;
    let best: number | undefined;
    for (const [size, n] of votes) if (best === undefined || n > votes.get(best)!) best = size;
    if (best === undefined) return cur;
    if (cur === undefined || cur.size !== best) {
      this.assembler = new MetadataAssembler(this.infoHash, best);
      this.senders.clear();
      for (const s of this.sources.values()) s.inflight.clear();
    }
    return this.assembler;
  }
}
