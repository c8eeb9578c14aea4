import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type TimerHandle } from '@tc/clock';
import { parseIp, unmapIpv4 } from '@tc/codec';
import { familyOf, isSelfAddress, rateLimitKey } from './addresses.js';
import { isBep42Exempt, isSecureNodeId, secureNodeId } from './bep42.js';
import { DhtError } from './errors.js';
import { AddressVotes } from './external-address.js';
import { cryptoRandom, endpointKey, randomNodeId, type Contact, type Endpoint, type Family, type PeerAddress, type RandomBytes } from './ids.js';
import { decodeKrpc, encodeError, KRPC_PROTOCOL_ERROR, type Query, type QueryMessage, type ResponseMessage } from './krpc.js';
import { Lookup, type LookupStats, type Seed } from './lookup.js';
import {
  MAINTENANCE_INTERVAL_MS,
  MAX_VERIFY_PINGS,
  PINGS_PER_TICK,
  REBOOTSTRAP_INTERVAL_MS,
  SWEEP_INTERVAL_MS,
  type BootstrapResult,
  type DhtNodeEvents,
  type DhtNodeOptions,
} from './node-options.js';
import { PeerStore } from './peer-store.js';
import { DEFAULT_RATE_LIMIT, RateLimiter } from './rate-limit.js';
import { RoutingTable } from './routing-table.js';
import { Rpc, type Target } from './rpc.js';
import { DhtSearch, driveLookup, sum, sumStats, type QueryFn, type SearchResult } from './search.js';
import { answerQuery } from './serve.js';
import { MAX_SAVED_NODES, type DhtState } from './state.js';
import { TOKEN_ROTATE_MS, TokenSecrets } from './tokens.js';
import { NodeStats, type DhtStats } from './stats.js';

/**
 * One DHT node: it owns the timers and the routing tables, sends through the injected transport
 * and is fed every KRPC datagram with `receive`. All protocol decisions live in the pure parts
 * (krpc, routing-table, lookup, serve, addresses, external-address); this class wires them to
 * time and the network. Its options, events and upkeep intervals are in node-options.ts.
 */
export class DhtNode extends EventEmitter<DhtNodeEvents> {
  private nodeId: Buffer;
  private readonly clock: Clock;
  private readonly opts: DhtNodeOptions;
  private readonly random: RandomBytes;
  private readonly families: readonly Family[];
  private tables = new Map<Family, RoutingTable>();
  private readonly rpc: Rpc;
  private readonly tokens: TokenSecrets;
  private readonly store = new PeerStore();
  private readonly limiter: RateLimiter;
  private readonly counters = new NodeStats();
  private readonly timers: TimerHandle[] = [];
  private readonly routers = new Set<string>();
  private readonly verifying = new Set<string>();
  private readonly votes = new AddressVotes();
  private bootstrapSeeds: Seed[] = [];
  private lastBootstrap = -Infinity;
  private bootstrapping = false;
  private refreshing = false;
  private running = false;
  private externalAddress: string | undefined;

  constructor(opts: DhtNodeOptions) {
    super();
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? cryptoRandom;
    this.families = opts.families ?? [4];
    this.nodeId = opts.id ?? opts.state?.id ?? randomNodeId(this.random);
    for (const f of this.families) this.tables.set(f, this.newTable(this.nodeId));
    this.tokens = new TokenSecrets(this.random);
    this.limiter = new RateLimiter(opts.rateLimit ?? DEFAULT_RATE_LIMIT, this.clock.now());
    this.rpc = new Rpc({
      clock: this.clock,
      send: (d, to) => this.send(d, to),
      encode: opts.version ? { version: opts.version } : {},
      ...(opts.queryTimeoutMs !== undefined ? { timeoutMs: opts.queryTimeoutMs } : {}),
      ...(opts.querySlowMs !== undefined ? { slowMs: opts.querySlowMs } : {}),
      random: this.random,
    });
    if (opts.state) this.bootstrapSeeds = opts.state.nodes.filter((n) => this.families.includes(n.family));
    if (opts.externalAddress !== undefined) this.setExternalAddress(opts.externalAddress);
  }

  private newTable(id: Buffer): RoutingTable {
    return new RoutingTable(id, this.clock.now(), {
      ...(this.opts.k !== undefined ? { k: this.opts.k } : {}),
      ...(this.opts.maxNodesPerPublicIp !== undefined ? { maxNodesPerPublicIp: this.opts.maxNodesPerPublicIp } : {}),
      random: this.random,
    });
  }

  get id(): Buffer {
    return this.nodeId;
  }

  /** Starts the timers (token rotation, sweeps, table upkeep). Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.timers.push(
      this.clock.setInterval(() => this.tokens.rotate(), TOKEN_ROTATE_MS),
      this.clock.setInterval(() => {
        const now = this.clock.now();
        this.store.sweep(now);
        this.limiter.sweep(now);
      }, SWEEP_INTERVAL_MS),
      this.clock.setInterval(() => this.maintain(), MAINTENANCE_INTERVAL_MS),
    );
  }

  /** Cancels every timer and fails every pending query and search (DHT_STOPPED). */
  stop(): void {
    this.running = false;
    for (const t of this.timers.splice(0)) t.cancel();
    this.rpc.failAll();
  }

  // ---------------------------------------------------------------- network in and out

  private send(datagram: Buffer, to: Endpoint): void {
    this.counters.sent(datagram.length);
    this.opts.transport.send(datagram, to.port, to.ip);
  }

  private isSelf(e: Endpoint): boolean {
    return isSelfAddress(e, this.opts.localPort, this.externalAddress);
  }

  /** Feeds one datagram (the engine passes those whose first byte is `d`). Never throws. */
  receive(datagram: Buffer, from: Endpoint): void {
    if (!this.running) return;
    this.counters.received(datagram.length);
    const ip = unmapIpv4(from.ip);
    const family = familyOf(ip);
    if (!this.tables.has(family) || parseIp(ip) === undefined) return this.counters.drop('family');
    const src: Target = { ip, port: from.port, family };
    let m;
    try {
      m = decodeKrpc(datagram);
    } catch (e) {
      this.counters.drop('malformed');
      // A malformed query whose id we could read gets the protocol error BEP 5 defines (if the limiter lets us).
      if (e instanceof DhtError && e.isQuery && e.transactionId && this.limiter.allow(rateLimitKey(src), this.clock.now())) {
        this.send(encodeError(e.transactionId, KRPC_PROTOCOL_ERROR, e.message.slice(0, 100), this.rpc.encodeOptions), src);
      }
      return;
    }
    if (m.type === 'query') this.onQuery(m, src);
    else this.onReply(m, src);
  }

  private onQuery(m: QueryMessage, src: Target): void {
    const now = this.clock.now();
    if (!this.limiter.allow(rateLimitKey(src), now)) return this.counters.drop('rate-limited');
    if (m.query?.id.equals(this.nodeId) || this.isSelf(src)) return this.counters.drop('self');
    const table = this.tables.get(src.family)!;
    const a = answerQuery(m, src, {
      id: this.nodeId,
      now,
      closest: (f, target, count) => this.tables.get(f)?.closest(target, count, now) ?? [],
      tokens: this.tokens,
      store: this.store,
      encode: this.rpc.encodeOptions,
    });
    this.counters.query(m.query?.method ?? 'unknown', a.refused !== undefined);
    this.send(a.reply, src);
    if (a.announced) this.emit('announce', a.announced.infoHash, a.announced.peer);
    this.emit('query', m.query?.method ?? m.unknownMethod ?? 'unknown', { ip: src.ip, port: src.port });
    if (!m.query || m.readOnly) return;
    const c: Contact = { id: m.query.id, ...src };
    if (!table.queried(c, now)) this.verify(c);
  }

  /** A stranger queried us: ping it, and it joins the table if it answers (BEP 5 keeps only responders). */
  private verify(c: Contact): void {
    const key = endpointKey(c);
    if (this.verifying.has(key) || this.verifying.size >= MAX_VERIFY_PINGS || this.routers.has(key)) return;
    this.verifying.add(key);
    this.query(c, { method: 'ping', id: this.nodeId })
      .catch(() => undefined)
      .finally(() => this.verifying.delete(key));
  }

  private onReply(m: ResponseMessage | { type: 'error'; t: Buffer; code: number; message: string }, src: Target): void {
    const settled = this.rpc.settle(m, src);
    if (!settled) return this.counters.drop('unexpected');
    if (m.type === 'error') return this.counters.errorReply();
    this.counters.response();
    const key = endpointKey(src);
    if (m.r.id.equals(this.nodeId) || this.isSelf(src)) return;
    // One vote per voter address (per port only on loopback, where every node shares one address).
    if (m.ip && familyOf(m.ip.ip) === src.family) this.vote(m.ip.ip, rateLimitKey(src));
    if (this.routers.has(key)) return;
    const c: Contact = { id: m.r.id, ...src };
    const table = this.tables.get(src.family)!;
    const r = table.responded(c, this.clock.now());
    if (r.outcome === 'added' || r.outcome === 'replaced') this.emit('node', c);
    for (const p of r.ping) this.ping(p).catch(() => undefined);
  }

  /** Sends a query and keeps the table's failure counts. */
  private query(to: Target & { readonly id?: Buffer }, q: Query, onSlow?: () => void): Promise<ResponseMessage> {
    if (!this.running) return Promise.reject(new DhtError('DHT_STOPPED', 'the DHT node is not running'));
    this.counters.queryOut(q.method);
    return this.rpc.query(to, q, onSlow).catch((e: unknown) => {
      if (e instanceof DhtError && e.code === 'DHT_TIMEOUT') {
        this.counters.timeout();
        this.tables.get(to.family)?.failed(to, this.clock.now());
      }
      throw e;
    });
  }

  private readonly queryFn: QueryFn = (to, q, onSlow) => this.query(to, q, onSlow);

  /** Pings a node (BEP 5's `port` message asks for exactly this); it joins the table if it answers. */
  ping(to: Endpoint): Promise<Buffer> {
    const ip = unmapIpv4(to.ip);
    if (parseIp(ip) === undefined || !Number.isInteger(to.port) || to.port < 1 || to.port > 0xffff) {
      return Promise.reject(new DhtError('DHT_BAD_ARGUMENT', `not an address: ${to.ip}:${to.port}`));
    }
    const family = familyOf(ip);
    if (!this.tables.has(family)) return Promise.reject(new DhtError('DHT_BAD_ARGUMENT', `this node has no IPv${family} socket`));
    return this.query({ ip, port: to.port, family }, { method: 'ping', id: this.nodeId }).then((r) => r.r.id);
  }

  // ---------------------------------------------------------------- BEP 42

  private vote(ip: string, voter: string): void {
    const elected = this.votes.vote(ip, voter, this.externalAddress);
    if (elected !== undefined) this.setExternalAddress(elected);
  }

  /**
   * Our external address is known (from the engine, e.g. a tracker's BEP 24 reply, or from the
   * nodes' votes): if our id does not conform to it, take a BEP 42 id and rebuild the tables.
   */
  setExternalAddress(ip: string): void {
    const addr = unmapIpv4(ip);
    if (parseIp(addr) === undefined) throw new DhtError('DHT_BAD_ARGUMENT', `not an IP address: ${ip}`);
    this.externalAddress = addr;
    this.emit('external-address', addr);
    if (isBep42Exempt(addr) || isSecureNodeId(this.nodeId, addr)) return;
    this.nodeId = secureNodeId(addr, this.random);
    const now = this.clock.now();
    this.tables = new Map([...this.tables].map(([f, t]) => [f, t.rebuild(this.nodeId, now)]));
    this.emit('id', this.nodeId);
  }

  // ---------------------------------------------------------------- lookups

  private newLookup(target: Buffer, family: Family, extraSeeds: readonly Seed[] = []): Lookup {
    const l = new Lookup(target, {
      family,
      ownId: this.nodeId,
      isSelf: (e) => this.isSelf(e),
      ...(this.opts.alpha !== undefined ? { alpha: this.opts.alpha } : {}),
      ...(this.opts.k !== undefined ? { k: this.opts.k } : {}),
    });
    const table = this.tables.get(family)!;
    l.seed(table.closest(target, 2 * (this.opts.k ?? 8), this.clock.now()));
    l.seed(extraSeeds.filter((s) => s.family === family));
    // With an empty table, the bootstrap addresses (or last run's nodes) are the way in.
    if (table.size === 0) l.seed(this.bootstrapSeeds.filter((s) => s.family === family));
    return l;
  }

  private search(infoHash: Buffer, announce?: { readonly port: number; readonly impliedPort: boolean }): DhtSearch {
    if (infoHash.length !== 20) throw new DhtError('DHT_BAD_ARGUMENT', 'an info-hash is 20 bytes');
    return new DhtSearch(infoHash, this.clock, async (onPeers, aborted) => {
      const emitPeers = (p: PeerAddress[]): void => {
        onPeers(p);
        this.emit('peers', infoHash, p);
      };
      const runs = this.families.map(async (family) => {
        const l = this.newLookup(infoHash, family);
        await driveLookup(
          l,
          family,
          () => ({ method: 'get_peers', id: this.nodeId, infoHash }),
          this.queryFn,
          emitPeers,
          () => !this.running || aborted(),
        );
        let announced = 0;
        let announceFailed = 0;
        if (announce && !aborted()) {
          const acks = await Promise.allSettled(
            l
              .announceTargets()
              .map(({ contact, token }) =>
                this.query(contact, { method: 'announce_peer', id: this.nodeId, infoHash, token, port: announce.port, impliedPort: announce.impliedPort }),
              ),
          );
          announced = acks.filter((a) => a.status === 'fulfilled').length;
          announceFailed = acks.length - announced;
        }
        return { stats: l.stats, announced, announceFailed };
      });
      const done = await Promise.all(runs);
      const stats = sumStats(done.map((d) => d.stats));
      this.counters.lookupDone(stats);
      if (!announce) return { stats };
      return { stats, announced: sum(done.map((d) => d.announced)), announceFailed: sum(done.map((d) => d.announceFailed)) };
    });
  }

  /** Looks up peers for an info-hash (get_peers, every family). */
  lookup(infoHash: Buffer): DhtSearch {
    return this.search(infoHash);
  }

  /**
   * Looks up an info-hash and announces that we have it on `port` (or, with `impliedPort`, on the
   * UDP port our queries come from: BEP 5, for uTP on the DHT's port) to the k closest nodes.
   */
  announce(infoHash: Buffer, port: number, opts: { readonly impliedPort?: boolean } = {}): DhtSearch {
    const impliedPort = opts.impliedPort ?? false;
    if (!impliedPort && (!Number.isInteger(port) || port < 1 || port > 0xffff)) {
      throw new DhtError('DHT_BAD_ARGUMENT', `announce port ${port} is outside 1..65535`);
    }
    return this.search(infoHash, { port: impliedPort ? 0 : port, impliedPort });
  }

  /** A find_node lookup of `target`: the closest nodes that answered. */
  async findNode(target: Buffer, extraSeeds: readonly Seed[] = []): Promise<{ closest: Contact[]; stats: LookupStats }> {
    const results = await Promise.all(
      this.families.map(async (family) => {
        const l = this.newLookup(target, family, extraSeeds);
        await driveLookup(
          l,
          family,
          () => ({ method: 'find_node', id: this.nodeId, target }),
          this.queryFn,
          () => undefined,
          () => !this.running,
        );
        return l;
      }),
    );
    return { closest: results.flatMap((l) => l.closest()), stats: sumStats(results.map((l) => l.stats)) };
  }

  /**
   * Joins the DHT through these addresses (IP literals; the engine resolves names first): a
   * find_node lookup of our own id (BEP 5). With `router`, the addresses answer but never enter
   * the table (public routers). They are remembered and tried again while the table stays empty.
   */
  async bootstrap(addresses: readonly Endpoint[] = [], opts: { readonly router?: boolean } = {}): Promise<BootstrapResult> {
    const seeds: Seed[] = [];
    for (const a of addresses) {
      const ip = unmapIpv4(a.ip);
      if (parseIp(ip) === undefined || !Number.isInteger(a.port) || a.port < 1 || a.port > 0xffff) {
        throw new DhtError('DHT_BAD_ARGUMENT', `bootstrap address ${a.ip}:${a.port} is not an IP literal and port`);
      }
      const s = { ip, port: a.port, family: familyOf(ip) };
      if (opts.router) this.routers.add(endpointKey(s));
      if (!this.bootstrapSeeds.some((b) => endpointKey(b) === endpointKey(s))) this.bootstrapSeeds.push(s);
      seeds.push(s);
    }
    const start = this.clock.now();
    this.lastBootstrap = start;
    this.bootstrapping = true;
    try {
      const { stats } = await this.findNode(this.nodeId, [...seeds, ...this.bootstrapSeeds]);
      return { stats, durationMs: this.clock.now() - start, nodes: this.tableSize() };
    } finally {
      this.bootstrapping = false;
    }
  }

  // ---------------------------------------------------------------- upkeep

  private maintain(): void {
    const now = this.clock.now();
    if (this.tableSize() === 0 && this.bootstrapSeeds.length > 0 && !this.bootstrapping && now - this.lastBootstrap >= REBOOTSTRAP_INTERVAL_MS) {
      this.bootstrap().catch(() => undefined);
      return;
    }
    for (const t of this.tables.values()) {
      for (const c of t.questionable(now).slice(0, PINGS_PER_TICK)) this.query(c, { method: 'ping', id: this.nodeId }).catch(() => undefined);
    }
    if (this.refreshing) return;
    const stale = [...this.tables.values()].flatMap((t) => t.takeStale(now));
    if (stale.length === 0) return;
    this.refreshing = true;
    // One bucket refresh at a time, in order, so upkeep never floods.
    void (async () => {
      for (const target of stale) if (this.running) await this.findNode(target).catch(() => undefined);
    })().finally(() => (this.refreshing = false));
  }

  private tableSize(): number {
    let n = 0;
    for (const t of this.tables.values()) n += t.size;
    return n;
  }

  /** Our id and the nodes worth saving (good ones first), for `encodeState`. */
  state(): DhtState {
    const now = this.clock.now();
    const nodes: Contact[] = [];
    for (const t of this.tables.values()) {
      const entries = t.entries().sort((a, b) => Number(t.status(b, now) === 'good') - Number(t.status(a, now) === 'good'));
      nodes.push(
        ...entries
          .filter((e) => t.status(e, now) !== 'bad')
          .slice(0, MAX_SAVED_NODES)
          .map((e) => e.contact),
      );
    }
    return { id: this.nodeId, nodes };
  }

  /** Members of the routing table of one family (for diagnostics). */
  nodes(family: Family = 4): Contact[] {
    return (
      this.tables
        .get(family)
        ?.entries()
        .map((e) => e.contact) ?? []
    );
  }

  stats(): DhtStats {
    return this.counters.snapshot({
      id: this.nodeId.toString('hex'),
      nodes: { 4: this.tables.get(4)?.size ?? 0, 6: this.tables.get(6)?.size ?? 0 },
      buckets: { 4: this.tables.get(4)?.bucketCount ?? 0, 6: this.tables.get(6)?.bucketCount ?? 0 },
      inFlight: this.rpc.inFlight,
      storedInfoHashes: this.store.infoHashes,
      storedPeers: this.store.peers,
      rateLimitKeys: this.limiter.keys,
      externalAddress: this.externalAddress,
    });
  }
}

export type { SearchResult };
