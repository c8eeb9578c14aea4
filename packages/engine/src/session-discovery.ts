import type { Clock } from './clock.js';
import { SessionDht, type SessionDhtStats } from './discovery/dht.js';
import { SessionLsd, type LsdStats } from './discovery/lsd.js';
import type { UdpPort } from './net/udp-port.js';
import type { PeerAddress } from './peer/connection.js';
import type { CandidateSource } from './peer/swarm.js';

/** Peers' DHT nodes pinged per session at most (each `port` message once): a node needs few, and it bounds the work peers can cause. */
export const MAX_PEER_NODE_PINGS = 1_000;

/** Where an info-hash's DHT and LSD peers go: the magnet fetch first, then the torrent that takes over. */
export type PeerSink = (peers: PeerAddress[], source: CandidateSource) => void;

export interface SessionDiscoveryOptions {
  readonly clock: Clock;
  /** The session's UDP port (the DHT runs on it); undefined: no DHT. */
  readonly udp: UdpPort | undefined;
  /** The TCP listen port, announced on the DHT and LSD. */
  readonly listenPort: number;
  readonly dht?: { readonly bootstrap?: readonly string[] | undefined; readonly stateFile?: string | null | undefined } | false | undefined;
  readonly lsd?: { readonly port?: number; readonly interface?: string } | false | undefined;
  readonly warn: (message: string, cause?: unknown) => void;
}

/**
 * The session's DHT node (BEP 5) and local service discovery (BEP 14), and how their peers reach
 * torrents: one lookup/announce per info-hash, routed to whoever holds it now (a magnet's fetch,
 * then its torrent), never for a private torrent (BEP 27). Also the peers' BEP 5 `port` messages.
 */
export class SessionDiscovery {
  private dhtValue: SessionDht | undefined;
  private lsdValue: SessionLsd | undefined;
  /** Each torrent's (or magnet fetch's) DHT lookups, and where their peers go (the fetch, then its torrent). */
  private readonly routes = new Map<string, { stops: (() => void)[]; sink: PeerSink }>();
  /** Peers' DHT nodes (BEP 5 `port` messages) already pinged. */
  private readonly pingedPeerNodes = new Set<string>();

  private constructor(private readonly listenPort: number) {}

  /** A discovery that runs nothing (a session that does not listen). */
  static none(): SessionDiscovery {
    return new SessionDiscovery(0);
  }

  /** Starts the DHT node (when asked and UDP is bound) and LSD (when asked); a failing LSD is a warning. */
  static async start(opts: SessionDiscoveryOptions): Promise<SessionDiscovery> {
    const d = new SessionDiscovery(opts.listenPort);
    if (opts.udp !== undefined && opts.dht !== undefined && opts.dht !== false) {
      d.dhtValue = await SessionDht.start({
        udp: opts.udp,
        clock: opts.clock,
        bootstrap: opts.dht.bootstrap,
        stateFile: opts.dht.stateFile,
        warn: opts.warn,
      });
    }
    if (opts.lsd !== undefined && opts.lsd !== false) {
      try {
        d.lsdValue = await SessionLsd.start({ clock: opts.clock, listenPort: opts.listenPort, ...opts.lsd, warn: opts.warn });
      } catch (e) {
        opts.warn(`no local service discovery (LSD): ${(e as Error).message}`, e);
      }
    }
    return d;
  }

  /** True when a DHT node runs (our handshakes then set the DHT bit). */
  get hasDht(): boolean {
    return this.dhtValue !== undefined;
  }

  /** The DHT node's counters (nodes, lookups, peers found); undefined when the DHT is off. */
  get dhtStats(): SessionDhtStats | undefined {
    return this.dhtValue?.stats();
  }

  /** LSD's counters; undefined when LSD is off. */
  get lsdStats(): LsdStats | undefined {
    return this.lsdValue?.stats();
  }

  /** Routes an info-hash's DHT and LSD peers to `sink`, starting its lookups and announces if none run; a private torrent stops them. */
  use(infoHash: Buffer, isPrivate: boolean, sink: PeerSink): void {
    const hex = infoHash.toString('hex');
    const running = this.routes.get(hex);
    if (isPrivate) return this.stop(hex);
    if (running !== undefined) {
      running.sink = sink;
      return;
    }
    const entry = { sink, stops: [] as (() => void)[] };
    if (this.dhtValue !== undefined) {
      const t = this.dhtValue.track(infoHash, this.listenPort, (peers) => entry.sink(peers, 'dht'));
      entry.stops.push(() => t.stop());
    }
    if (this.lsdValue !== undefined) {
      const t = this.lsdValue.track(infoHash, (peers) => entry.sink(peers, 'lsd'));
      entry.stops.push(() => t.stop());
    }
    this.routes.set(hex, entry);
  }

  /** Stops an info-hash's lookups and announces. */
  stop(hex: string): void {
    for (const stop of this.routes.get(hex)?.stops ?? []) stop();
    this.routes.delete(hex);
  }

  /** A peer's BEP 5 `port` message: its node is pinged (once per address, a bounded number), entering our table if it answers. */
  nodeFromPeer(host: string, port: number): void {
    const key = `${host}:${port}`;
    if (this.dhtValue === undefined || this.pingedPeerNodes.has(key) || this.pingedPeerNodes.size >= MAX_PEER_NODE_PINGS) return;
    this.pingedPeerNodes.add(key);
    this.dhtValue.node.ping({ ip: host, port }).catch(() => undefined);
  }

  /** Stops every lookup and announce, then the DHT node (saving its table) and LSD. */
  async close(): Promise<void> {
    for (const hex of [...this.routes.keys()]) this.stop(hex);
    await this.dhtValue?.close();
    await this.lsdValue?.close();
  }
}
