import { isBep42Exempt, isSecureNodeId } from './bep42.js';
import { commonPrefixBits, compareDistance, cryptoRandom, endpointKey, NODE_ID_BITS, randomIdNear, type Contact, type RandomBytes } from './ids.js';

/**
 * The routing table of BEP 5, pure: the caller says what happened (a node answered, queried us,
 * failed to answer) and when; the table says what to do (ping these questionable nodes). Bucket i
 * holds nodes whose ids share exactly i leading bits with ours; the last bucket holds everything
 * closer, and only it splits (it is the one that covers our own id).
 */

/** BEP 5: nodes per bucket. */
export const K = 8;
/** BEP 5: a node that answered within 15 minutes is good; after that, questionable. */
export const GOOD_FOR_MS = 15 * 60_000;
/** BEP 5 suggests trying once more before giving up on a node: two failures in a row make it bad. */
export const BAD_AFTER_FAILURES = 2;
/** BEP 5: a bucket unchanged for 15 minutes is refreshed with a lookup of a random id in its range. */
export const BUCKET_REFRESH_MS = 15 * 60_000;
/** Nodes kept per bucket to step in when a member goes bad (libtorrent keeps the same number). */
export const REPLACEMENTS_PER_BUCKET = K;
/**
 * Nodes per public IP address in the table (libtorrent's `dht_restrict_routing_ips`): one party with
 * one address cannot fill a bucket. Local and loopback addresses are exempt (tests, LANs).
 */
export const MAX_NODES_PER_PUBLIC_IP = 1;

export type NodeStatus = 'good' | 'questionable' | 'bad';

export interface TableEntry {
  readonly contact: Contact;
  /** When it last answered one of our queries (every table member has). */
  lastResponse: number;
  /** When it last sent us a query. */
  lastQuery: number | undefined;
  /** Our queries in a row that it did not answer. */
  failures: number;
  /** BEP 42: its id conforms to its address (or the address is exempt). */
  readonly secure: boolean;
}

interface Bucket {
  entries: TableEntry[];
  replacements: TableEntry[];
  lastChanged: number;
}

export type InsertOutcome = 'added' | 'updated' | 'replaced' | 'cached' | 'rejected';

export interface InsertResult {
  readonly outcome: InsertOutcome;
  /** Questionable members of a full bucket to ping, least recently seen first (BEP 5). */
  readonly ping: readonly Contact[];
}

export interface RoutingTableOptions {
  readonly k?: number;
  readonly maxNodesPerPublicIp?: number;
  readonly random?: RandomBytes;
}

export class RoutingTable {
  readonly id: Buffer;
  private readonly k: number;
  private readonly maxPerIp: number;
  private readonly random: RandomBytes;
  private buckets: Bucket[];
  private readonly byId = new Map<string, TableEntry>();
  private readonly ipCount = new Map<string, number>();

  constructor(id: Buffer, now: number, opts: RoutingTableOptions = {}) {
    this.id = id;
    this.k = opts.k ?? K;
    this.maxPerIp = opts.maxNodesPerPublicIp ?? MAX_NODES_PER_PUBLIC_IP;
    this.random = opts.random ?? cryptoRandom;
    this.buckets = [{ entries: [], replacements: [], lastChanged: now }];
  }

  /** Members (not replacements). */
  get size(): number {
    return this.byId.size;
  }

  get bucketCount(): number {
    return this.buckets.length;
  }

  status(e: TableEntry, now: number): NodeStatus {
    if (e.failures >= BAD_AFTER_FAILURES) return 'bad';
    if (now - e.lastResponse < GOOD_FOR_MS) return 'good';
    if (e.lastQuery !== undefined && now - e.lastQuery < GOOD_FOR_MS) return 'good';
    return 'questionable';
  }

  private indexOf(id: Buffer): number {
    return Math.min(commonPrefixBits(id, this.id), this.buckets.length - 1);
  }

  /** The member with this id, if any. */
  get(id: Buffer): TableEntry | undefined {
    return this.byId.get(id.toString('hex'));
  }

  /** A node answered one of our queries: add or refresh it, as BEP 5 says. */
  responded(c: Contact, now: number): InsertResult {
    if (c.id.equals(this.id)) return { outcome: 'rejected', ping: [] };
    const known = this.get(c.id);
    if (known) {
      // The same id from another address is refused: the first address keeps the id.
      if (known.contact.ip !== c.ip || known.contact.port !== c.port) return { outcome: 'rejected', ping: [] };
      known.lastResponse = now;
      known.failures = 0;
      this.bucketOf(c.id).lastChanged = now;
      return { outcome: 'updated', ping: [] };
    }
    // A node restarted with a new id: the old entry at its address is stale.
    const sameAddress = this.findByEndpoint(c);
    if (sameAddress) this.remove(sameAddress.contact.id);
    if (!isBep42Exempt(c.ip) && (this.ipCount.get(c.ip) ?? 0) >= this.maxPerIp) return { outcome: 'rejected', ping: [] };
    const entry: TableEntry = { contact: c, lastResponse: now, lastQuery: undefined, failures: 0, secure: isSecureNodeId(c.id, c.ip) };
    return this.insert(entry, now);
  }

  private insert(entry: TableEntry, now: number): InsertResult {
    for (;;) {
      const i = this.indexOf(entry.contact.id);
      const bucket = this.buckets[i]!;
      if (bucket.entries.length < this.k) {
        this.addTo(bucket, entry, now);
        return { outcome: 'added', ping: [] };
      }
      if (i === this.buckets.length - 1 && this.buckets.length < NODE_ID_BITS) {
        this.split();
        continue;
      }
      const bad = bucket.entries.find((e) => this.status(e, now) === 'bad');
      if (bad) {
        this.replace(bucket, bad, entry, now);
        return { outcome: 'replaced', ping: [] };
      }
      // BEP 42: a conforming node takes the place of a non-conforming one, which waits in reserve.
      const insecure = entry.secure ? bucket.entries.find((e) => !e.secure) : undefined;
      if (insecure) {
        this.replace(bucket, insecure, entry, now);
        this.cache(bucket, insecure);
        return { outcome: 'replaced', ping: [] };
      }
      this.cache(bucket, entry);
      const ping = bucket.entries
        .filter((e) => this.status(e, now) === 'questionable')
        .sort((a, b) => lastSeen(a) - lastSeen(b))
        .map((e) => e.contact);
      return { outcome: 'cached', ping };
    }
  }

  private addTo(bucket: Bucket, entry: TableEntry, now: number): void {
    bucket.entries.push(entry);
    bucket.lastChanged = now;
    this.byId.set(entry.contact.id.toString('hex'), entry);
    this.ipCount.set(entry.contact.ip, (this.ipCount.get(entry.contact.ip) ?? 0) + 1);
  }

  private replace(bucket: Bucket, old: TableEntry, entry: TableEntry, now: number): void {
    this.remove(old.contact.id);
    this.addTo(bucket, entry, now);
  }

  private cache(bucket: Bucket, entry: TableEntry): void {
    const key = endpointKey(entry.contact);
    bucket.replacements = bucket.replacements.filter((r) => endpointKey(r.contact) !== key && !r.contact.id.equals(entry.contact.id));
    bucket.replacements.push(entry);
    // The oldest insecure candidate leaves first, then the oldest.
    while (bucket.replacements.length > REPLACEMENTS_PER_BUCKET) {
      const victim = bucket.replacements.findIndex((r) => !r.secure);
      bucket.replacements.splice(victim >= 0 ? victim : 0, 1);
    }
  }

  private split(): void {
    const last = this.buckets[this.buckets.length - 1]!;
    const depth = this.buckets.length - 1;
    const far: Bucket = { entries: [], replacements: [], lastChanged: last.lastChanged };
    const near: Bucket = { entries: [], replacements: [], lastChanged: last.lastChanged };
    for (const e of last.entries) (commonPrefixBits(e.contact.id, this.id) > depth ? near : far).entries.push(e);
    for (const e of last.replacements) (commonPrefixBits(e.contact.id, this.id) > depth ? near : far).replacements.push(e);
    this.buckets.splice(depth, 1, far, near);
  }

  private bucketOf(id: Buffer): Bucket {
    return this.buckets[this.indexOf(id)]!;
  }

  private findByEndpoint(c: { ip: string; port: number }): TableEntry | undefined {
    for (const e of this.byId.values()) if (e.contact.ip === c.ip && e.contact.port === c.port) return e;
    return undefined;
  }

  /** Removes a member (nothing happens for an unknown id). */
  remove(id: Buffer): void {
    const key = id.toString('hex');
    const e = this.byId.get(key);
    if (!e) return;
    const bucket = this.bucketOf(id);
    bucket.entries = bucket.entries.filter((x) => x !== e);
    this.byId.delete(key);
    const n = (this.ipCount.get(e.contact.ip) ?? 1) - 1;
    if (n <= 0) this.ipCount.delete(e.contact.ip);
    else this.ipCount.set(e.contact.ip, n);
  }

  /** A member sent us a query: with an earlier answer, that keeps it good (BEP 5). False for strangers. */
  queried(c: Contact, now: number): boolean {
    const e = this.get(c.id);
    if (!e || e.contact.ip !== c.ip || e.contact.port !== c.port) return false;
    e.lastQuery = now;
    return true;
  }

  /**
   * One of our queries to this node went unanswered. A node that goes bad is replaced by the best
   * waiting candidate (a conforming one first, then the most recently heard).
   */
  failed(c: { readonly id?: Buffer; readonly ip: string; readonly port: number }, now: number): void {
    const e = c.id ? this.get(c.id) : this.findByEndpoint(c);
    if (!e || e.contact.ip !== c.ip || e.contact.port !== c.port) {
      for (const b of this.buckets) b.replacements = b.replacements.filter((r) => r.contact.ip !== c.ip || r.contact.port !== c.port);
      return;
    }
    e.failures++;
    if (this.status(e, now) !== 'bad') return;
    const bucket = this.bucketOf(e.contact.id);
    if (bucket.replacements.length === 0) return;
    const pick = [...bucket.replacements].sort((a, b) => Number(b.secure) - Number(a.secure) || lastSeen(b) - lastSeen(a))[0]!;
    bucket.replacements = bucket.replacements.filter((r) => r !== pick);
    this.remove(e.contact.id);
    if (isBep42Exempt(pick.contact.ip) || (this.ipCount.get(pick.contact.ip) ?? 0) < this.maxPerIp) this.addTo(bucket, pick, now);
  }

  /** Up to `count` members that are not bad, closest to `target` first. */
  closest(target: Buffer, count: number = this.k, now?: number): Contact[] {
    const best: TableEntry[] = [];
    for (const e of this.byId.values()) {
      if (now !== undefined ? this.status(e, now) === 'bad' : e.failures >= BAD_AFTER_FAILURES) continue;
      let i = best.length;
      while (i > 0 && compareDistance(e.contact.id, best[i - 1]!.contact.id, target) < 0) i--;
      if (i >= count) continue;
      best.splice(i, 0, e);
      if (best.length > count) best.pop();
    }
    return best.map((e) => e.contact);
  }

  /** Every member, for persistence and stats. */
  entries(): TableEntry[] {
    return [...this.byId.values()];
  }

  /** Members not heard from within the good window, least recently seen first (to ping). */
  questionable(now: number): Contact[] {
    return this.entries()
      .filter((e) => this.status(e, now) === 'questionable')
      .sort((a, b) => lastSeen(a) - lastSeen(b))
      .map((e) => e.contact);
  }

  /**
   * Buckets unchanged for BUCKET_REFRESH_MS, each with a random target in its range (BEP 5). The
   * returned buckets count as changed now, so each is handed out once per period.
   */
  takeStale(now: number): Buffer[] {
    const out: Buffer[] = [];
    this.buckets.forEach((b, i) => {
      if (now - b.lastChanged < BUCKET_REFRESH_MS) return;
      b.lastChanged = now;
      out.push(randomIdNear(this.id, i, i < this.buckets.length - 1, this.random));
    });
    return out;
  }

  /** The same members under a new id (BEP 42: our id changed with our external address). */
  rebuild(id: Buffer, now: number): RoutingTable {
    const t = new RoutingTable(id, now, { k: this.k, maxNodesPerPublicIp: this.maxPerIp, random: this.random });
    for (const e of this.entries()) {
      if (e.contact.id.equals(id)) continue;
      t.insert({ ...e }, now);
    }
    return t;
  }

  /** Throws if the table's structures disagree (for tests): bucket ranges, sizes, indexes. */
  checkInvariants(): void {
    const seen = new Map<string, number>();
    let members = 0;
    this.buckets.forEach((b, i) => {
      if (b.entries.length > this.k) throw new Error(`bucket ${i} holds ${b.entries.length} > k`);
      if (b.replacements.length > REPLACEMENTS_PER_BUCKET) throw new Error(`bucket ${i} caches too many`);
      for (const e of [...b.entries, ...b.replacements]) {
        const cpl = commonPrefixBits(e.contact.id, this.id);
        const fits = i === this.buckets.length - 1 ? cpl >= i : cpl === i;
        if (!fits) throw new Error(`node sharing ${cpl} bits sits in bucket ${i}`);
      }
      for (const e of b.entries) {
        if (this.byId.get(e.contact.id.toString('hex')) !== e) throw new Error('bucket entry missing from the id index');
        seen.set(e.contact.ip, (seen.get(e.contact.ip) ?? 0) + 1);
        members++;
      }
    });
    if (members !== this.byId.size) throw new Error(`id index holds ${this.byId.size}, buckets ${members}`);
    if (seen.size !== this.ipCount.size || [...seen].some(([ip, n]) => this.ipCount.get(ip) !== n)) throw new Error('per-IP counts are off');
  }
}

function lastSeen(e: TableEntry): number {
  return Math.max(e.lastResponse, e.lastQuery ?? 0);
}
