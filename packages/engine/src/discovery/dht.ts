import { lookup as dnsLookup } from 'node:dns/promises';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ANNOUNCE_INTERVAL_MS, decodeState, DhtNode, encodeState, type DhtSearch, type DhtState, type DhtStats, type Endpoint, type Family } from '@tc/dht';
import type { Clock, TimerHandle } from '../clock.js';
import type { UdpPort } from '../net/udp-port.js';
import type { PeerAddress } from '../peer/connection.js';
import { writeDurably } from '../resume/store.js';
import { stateFolder } from '../state-folder.js';

/**
 * The session's one DHT node (BEP 5, BEP 32) on the session's UDP port, and the per-torrent
 * lookups and announces that feed the torrents' candidate lists with source 'dht'. The protocol
 * is packages/dht; this module only wires it to the port, the state folder and the clock.
 */

/** Used when the user names no bootstrap node (libtorrent's and Transmission's defaults). */
export const DHT_ROUTERS: readonly string[] = [
  'router.bittorrent.com:6881',
  'router.utorrent.com:6881',
  'dht.transmissionbt.com:6881',
  'dht.libtorrent.org:25401',
];
/** Look up and announce each torrent again this often while it runs (libtorrent's dht_announce_interval: 15 min). */
export const DHT_REANNOUNCE_MS = ANNOUNCE_INTERVAL_MS;
/**
 * A lookup that found no peer is tried again this soon: a magnet has nothing else to go on, and a
 * table still filling after bootstrap answers better a little later. Short enough that a trackerless
 * magnet starts within seconds of a seeder announcing; each further empty lookup doubles the wait,
 * up to DHT_REANNOUNCE_MS, so that a torrent nobody else has costs the DHT little (one lookup is
 * ~20-60 queries).
 */
export const DHT_RETRY_EMPTY_MS = 20_000;
/** The routing table's file in the state folder. */
export const DHT_STATE_FILE = 'dht.state';
/** The routing table is also saved this often while running, so that a killed process leaves a recent one. */
export const DHT_SAVE_INTERVAL_MS = 10 * 60_000;
/** Most bootstrap addresses a user may give (each is one query at start). */
export const MAX_BOOTSTRAP_NODES = 64;

export { stateFolder };

/** `HOST:PORT` or `[V6]:PORT`; undefined when it is neither. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:\s[\]]+):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  return { host: m[1]!, port };
}

export interface SessionDhtOptions {
  readonly udp: UdpPort;
  readonly clock: Clock;
  /** `HOST:PORT` nodes to join; undefined: DHT_ROUTERS (as routers, kept out of the table); empty: none (the saved table only). */
  readonly bootstrap?: readonly string[] | undefined;
  /** Where the routing table is kept between runs; null: not kept. Default: stateFolder()/dht.state. */
  readonly stateFile?: string | null | undefined;
  readonly warn?: (message: string, cause?: unknown) => void;
}

export interface SessionDhtStats extends DhtStats {
  /** Torrents being looked up and announced. */
  readonly torrents: number;
  /** Peers the lookups found, in all. */
  readonly peersFound: number;
  readonly bootstrapped: boolean;
}

/** One torrent's use of the DHT; `stop()` ends it (private metadata, torrent removed). */
export interface DhtTracking {
  stop(): void;
  /** Look up again now (e.g. a magnet with no peer yet), unless a lookup is running. */
  refresh(): void;
}

export class SessionDht {
  readonly node: DhtNode;
  private readonly ready: Promise<void>;
  private readonly tracked = new Set<{ stop(): void }>();
  private peersFound = 0;
  private bootstrapped = false;
  private closed = false;
  private readonly saveTimer: TimerHandle;
  private saving: Promise<void> = Promise.resolve();

  private constructor(
    private readonly opts: SessionDhtOptions,
    state: DhtState | undefined,
  ) {
    const families: Family[] = [];
    if (opts.udp.hasFamily(4)) families.push(4);
    if (opts.udp.hasFamily(6)) families.push(6);
    this.node = new DhtNode({
      transport: { send: (d, port, ip) => opts.udp.send(d, port, ip) },
      clock: opts.clock,
      families,
      localPort: opts.udp.port,
      ...(state !== undefined ? { state } : {}),
    });
    opts.udp.onDatagram('dht', (d, from) => this.node.receive(d, { ip: from.address, port: from.port }));
    this.node.start();
    this.saveTimer = opts.clock.setInterval(() => void this.save(), DHT_SAVE_INTERVAL_MS);
    this.ready = this.bootstrap(state).then(
      () => void (this.bootstrapped = true),
      (e: unknown) => this.warn(`DHT bootstrap failed: ${(e as Error).message}`, e),
    );
  }

  /** Starts the node: reads the saved table (a bad file is a warning and a fresh start), joins in the background. */
  static async start(opts: SessionDhtOptions): Promise<SessionDht> {
    const file = opts.stateFile === undefined ? join(stateFolder(), DHT_STATE_FILE) : opts.stateFile;
    let state: DhtState | undefined;
    if (file !== null) {
      try {
        state = decodeState(await readFile(file));
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT') opts.warn?.(`ignoring the saved DHT table ${file}: ${(e as Error).message}`, e);
      }
    }
    return new SessionDht({ ...opts, stateFile: file }, state);
  }

  private warn(message: string, cause?: unknown): void {
    this.opts.warn?.(message, cause);
  }

  private async bootstrap(state: DhtState | undefined): Promise<void> {
    const given = this.opts.bootstrap;
    const names = (given ?? DHT_ROUTERS).slice(0, MAX_BOOTSTRAP_NODES);
    const endpoints: Endpoint[] = [];
    await Promise.all(
      names.map(async (text) => {
        const hp = parseHostPort(text);
        if (hp === undefined) return this.warn(`DHT bootstrap: cannot read ${JSON.stringify(text)} as HOST:PORT`);
        try {
          const all = await dnsLookup(hp.host, { all: true });
          for (const a of all) if (this.opts.udp.hasFamily(a.family === 6 ? 6 : 4)) endpoints.push({ ip: a.address, port: hp.port });
        } catch (e) {
          // Offline, or a router's name gone: the saved table and the other names may still do.
          if (given !== undefined) this.warn(`DHT bootstrap: cannot resolve ${hp.host}: ${(e as Error).message}`, e);
        }
      }),
    );
    if (this.closed || (endpoints.length === 0 && (state?.nodes.length ?? 0) === 0)) return;
    await this.node.bootstrap(endpoints, { router: given === undefined });
  }

  /**
   * Looks up `infoHash` and announces `port` for it, at once (after the bootstrap) and then every
   * DHT_REANNOUNCE_MS (DHT_RETRY_EMPTY_MS while nothing is found); peers go to `onPeers`.
   */
  track(infoHash: Buffer, port: number, onPeers: (peers: PeerAddress[]) => void): DhtTracking {
    let stopped = false;
    let timer: TimerHandle | undefined;
    let search: DhtSearch | undefined;
    let emptyRuns = 0;
    const run = (): void => {
      timer?.cancel();
      timer = undefined;
      if (stopped || this.closed || search !== undefined) return;
      let s: DhtSearch;
      try {
        s = port > 0 ? this.node.announce(infoHash, port) : this.node.lookup(infoHash);
      } catch (e) {
        this.warn(`DHT lookup: ${(e as Error).message}`, e);
        return;
      }
      search = s;
      s.on('peers', (peers) => {
        if (stopped) return;
        this.peersFound += peers.length;
        onPeers(peers.map((p) => ({ host: p.ip, port: p.port })));
      });
      const retry = (): void => schedule(Math.min(DHT_REANNOUNCE_MS, DHT_RETRY_EMPTY_MS * 2 ** Math.min(emptyRuns++, 16)));
      s.done.then((r) => {
        if (r.peers.length === 0) return retry();
        emptyRuns = 0;
        schedule(DHT_REANNOUNCE_MS);
      }, retry);
    };
    const schedule = (ms: number): void => {
      search = undefined;
      if (stopped || this.closed) return;
      timer = this.opts.clock.setTimeout(run, ms);
    };
    const handle = {
      stop: (): void => {
        stopped = true;
        timer?.cancel();
        search?.abort();
        this.tracked.delete(handle);
      },
      refresh: (): void => run(),
    };
    this.tracked.add(handle);
    void this.ready.then(run);
    return handle;
  }

  stats(): SessionDhtStats {
    return { ...this.node.stats(), torrents: this.tracked.size, peersFound: this.peersFound, bootstrapped: this.bootstrapped };
  }

  /** Stops every lookup and the node, and saves the routing table (atomically). Never throws. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.saveTimer.cancel();
    for (const t of [...this.tracked]) t.stop();
    const state = this.node.state();
    this.node.stop();
    await this.save(state);
  }

  /** Writes the routing table (one write at a time; an empty table never replaces a saved one). Never throws. */
  private save(state: DhtState = this.node.state()): Promise<void> {
    const file = this.opts.stateFile;
    if (file === null || file === undefined || state.nodes.length === 0) return this.saving;
    this.saving = this.saving.then(async () => {
      try {
        await mkdir(dirname(file), { recursive: true });
        await writeDurably(file, encodeState(state));
      } catch (e) {
        this.warn(`cannot save the DHT table to ${file}: ${(e as Error).message}`, e);
      }
    });
    return this.saving;
  }
}
