import { isSecureNodeId } from './bep42.js';
import { compareDistance, endpointKey, type Contact, type Endpoint, type Family, type PeerAddress } from './ids.js';
import type { ResponseBody } from './krpc.js';
import { K } from './routing-table.js';

/**
 * The iterative lookup of BEP 5 (Kademlia), pure: the caller asks `next()` whom to query, and
 * reports answers, failures and slow nodes; the lookup converges on the k closest nodes that
 * answer and ends when none closer is left to ask. For get_peers it also gathers peers and the
 * write tokens that announce_peer needs.
 */

/** Kademlia's α: queries in flight at once. */
export const ALPHA = 3;
/** Candidates kept in the shortlist; farther unqueried ones are dropped (hostile replies cannot grow it). */
export const MAX_LOOKUP_CANDIDATES = 128;
/** Queries one lookup may send, whatever the network answers (a bound on endless "closer" fakes). */
export const MAX_QUERIES_PER_LOOKUP = 200;
/** Distinct peers one lookup collects; beyond this they are counted, not kept. */
export const MAX_LOOKUP_PEERS = 5000;

type State = 'new' | 'inflight' | 'slow' | 'answered' | 'failed';

interface Candidate {
  readonly key: string;
  readonly ip: string;
  readonly port: number;
  readonly family: Family;
  /** Unknown for a bootstrap address until it answers. */
  id: Buffer | undefined;
  state: State;
  /** Steps from the start: seeds are 0, nodes they name are 1, and so on. */
  readonly depth: number;
  token: Buffer | undefined;
  secure: boolean;
}

export interface LookupStats {
  /** Queries sent. */
  readonly queried: number;
  /** Nodes that answered. */
  readonly answered: number;
  /** Nodes that timed out or sent an error. */
  readonly failed: number;
  /** Steps from the start to the closest node that answered (1 = a node we knew). */
  readonly hops: number;
  /** Distinct peers found. */
  readonly peers: number;
  /** Entries dropped from replies: our own node, conflicting ids, beyond the caps. */
  readonly dropped: number;
}

export interface LookupOptions {
  readonly family: Family;
  readonly alpha?: number;
  readonly k?: number;
  /** Our own id and address checks: we never query ourselves. */
  readonly ownId: Buffer;
  readonly isSelf?: (e: Endpoint) => boolean;
}

/** A node to seed with: a contact from the table, or a bare address (bootstrap, saved state). */
export type Seed = Contact | (Endpoint & { readonly family: Family; readonly id?: undefined });

export class Lookup {
  readonly target: Buffer;
  private readonly opts: Required<Omit<LookupOptions, 'isSelf'>> & Pick<LookupOptions, 'isSelf'>;
  /** Sorted by distance to the target; id-less seeds last. */
  private list: Candidate[] = [];
  private readonly byKey = new Map<string, Candidate>();
  private readonly peerKeys = new Set<string>();
  private queried = 0;
  private answeredCount = 0;
  private failedCount = 0;
  private dropped = 0;
  private peerCount = 0;

  constructor(target: Buffer, opts: LookupOptions) {
    this.target = target;
    this.opts = { alpha: ALPHA, k: K, ...opts };
  }

  seed(seeds: readonly Seed[]): void {
    for (const s of seeds) this.add(s, 0);
  }

  private add(s: Seed, depth: number): void {
    if (s.family !== this.opts.family) return;
    const key = endpointKey(s);
    if (this.byKey.has(key) || (s.id !== undefined && s.id.equals(this.opts.ownId)) || this.opts.isSelf?.(s)) {
      if (!this.byKey.has(key)) this.dropped++;
      return;
    }
    if (s.id !== undefined && this.list.some((c) => c.id?.equals(s.id))) {
      this.dropped++; // one id at two addresses: keep the first
      return;
    }
    const c: Candidate = {
      key,
      ip: s.ip,
      port: s.port,
      family: s.family,
      id: s.id,
      state: 'new',
      depth,
      token: undefined,
      secure: s.id !== undefined && isSecureNodeId(s.id, s.ip),
    };
    this.byKey.set(key, c);
    this.insertSorted(c);
    if (this.list.length > MAX_LOOKUP_CANDIDATES) {
      // Drop the farthest candidate that is not being asked right now.
      for (let i = this.list.length - 1; i >= 0; i--) {
        const x = this.list[i]!;
        if (x.state === 'new' || x.state === 'failed') {
          this.list.splice(i, 1);
          this.byKey.delete(x.key);
          if (x === c) this.dropped++;
          break;
        }
      }
    }
  }

  private closer(a: Candidate, b: Candidate): boolean {
    if (a.id === undefined) return false;
    if (b.id === undefined) return true;
    return compareDistance(a.id, b.id, this.target) < 0;
  }

  private insertSorted(c: Candidate): void {
    let i = this.list.length;
    while (i > 0 && this.closer(c, this.list[i - 1]!)) i--;
    this.list.splice(i, 0, c);
  }

  /** Nodes to query now (marked in flight). Slow nodes do not hold a slot. */
  next(): Seed[] {
    let busy = this.list.filter((c) => c.state === 'inflight').length;
    const out: Seed[] = [];
    let answered = 0;
    for (const c of this.list) {
      if (busy >= this.opts.alpha || answered >= this.opts.k || this.queried >= MAX_QUERIES_PER_LOOKUP) break;
      if (c.state === 'answered' && c.secure) answered++;
      if (c.state !== 'new') continue;
      c.state = 'inflight';
      busy++;
      this.queried++;
      out.push(c.id ? { id: c.id, ip: c.ip, port: c.port, family: c.family } : { ip: c.ip, port: c.port, family: c.family });
    }
    return out;
  }

  /**
   * A node answered. Returns the peers in its reply that are new to this lookup. An answer whose id
   * differs from the id we were told counts as a failure.
   */
  answered(from: Endpoint, r: ResponseBody): PeerAddress[] {
    const c = this.byKey.get(endpointKey(from));
    if (!c || (c.state !== 'inflight' && c.state !== 'slow')) return [];
    if ((c.id !== undefined && !c.id.equals(r.id)) || r.id.equals(this.opts.ownId)) {
      this.failed(from);
      return [];
    }
    if (c.id === undefined) {
      // A seed's id is known now: it moves to its place in the order.
      c.id = r.id;
      c.secure = isSecureNodeId(r.id, c.ip);
      this.list.splice(this.list.indexOf(c), 1);
      this.insertSorted(c);
    }
    c.state = 'answered';
    c.token = r.token;
    this.answeredCount++;
    for (const n of (this.opts.family === 4 ? r.nodes : r.nodes6) ?? []) this.add(n, c.depth + 1);
    const fresh: PeerAddress[] = [];
    for (const p of r.values ?? []) {
      if (p.family !== this.opts.family) continue;
      const key = endpointKey(p);
      if (this.peerKeys.has(key)) continue;
      if (this.peerKeys.size >= MAX_LOOKUP_PEERS) {
        this.dropped++;
        continue;
      }
      this.peerKeys.add(key);
      this.peerCount++;
      fresh.push(p);
    }
    return fresh;
  }

  failed(from: Endpoint): void {
    const c = this.byKey.get(endpointKey(from));
    if (!c || (c.state !== 'inflight' && c.state !== 'slow')) return;
    c.state = 'failed';
    this.failedCount++;
  }

  /** A query has been out longer than the short timeout: it no longer holds a slot (libtorrent does the same). */
  slow(from: Endpoint): void {
    const c = this.byKey.get(endpointKey(from));
    if (c?.state === 'inflight') c.state = 'slow';
  }

  /**
   * Done when the k closest nodes that did not fail have all answered (BEP 42: only conforming
   * nodes count), or nothing is left to ask and nothing is in flight.
   */
  get done(): boolean {
    let answered = 0;
    for (const c of this.list) {
      if (c.state === 'failed') continue;
      if (c.state === 'answered') {
        if (c.secure && ++answered >= this.opts.k) return true;
        continue;
      }
      if (c.state === 'new' && this.queried >= MAX_QUERIES_PER_LOOKUP) continue;
      return false;
    }
    return true;
  }

  /**
   * Where to announce (BEP 5): the k closest nodes that answered with a token, conforming ones
   * first (BEP 42), filled up with non-conforming ones when there are too few.
   */
  announceTargets(): { readonly contact: Contact; readonly token: Buffer }[] {
    const withToken = this.list.filter((c) => c.state === 'answered' && c.token !== undefined && c.id !== undefined);
    const pick = [...withToken.filter((c) => c.secure), ...withToken.filter((c) => !c.secure)].slice(0, this.opts.k);
    pick.sort((a, b) => compareDistance(a.id!, b.id!, this.target));
    return pick.map((c) => ({ contact: { id: c.id!, ip: c.ip, port: c.port, family: c.family }, token: c.token! }));
  }

  /** The closest nodes that answered (find_node's result). */
  closest(count: number = this.opts.k): Contact[] {
    return this.list
      .filter((c) => c.state === 'answered' && c.id !== undefined)
      .slice(0, count)
      .map((c) => ({ id: c.id!, ip: c.ip, port: c.port, family: c.family }));
  }

  get stats(): LookupStats {
    const closest = this.list.find((c) => c.state === 'answered');
    return {
      queried: this.queried,
      answered: this.answeredCount,
      failed: this.failedCount,
      hops: closest ? closest.depth + 1 : 0,
      peers: this.peerCount,
      dropped: this.dropped,
    };
  }
}
