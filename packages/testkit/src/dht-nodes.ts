import { fileURLToPath } from 'node:url';
import { run, stopChild, waiter, type LtEvent } from './libtorrent.js';

/**
 * Real third-party DHT nodes on loopback (INTEROP.md, distributed features): a libtorrent node
 * (python3-libtorrent, driven by `py/lt_dht.py`) and an npm `bittorrent-dht` node. Every node is
 * 127.0.0.1 with its own UDP port.
 */

const LT_DHT_SCRIPT = fileURLToPath(new URL('../py/lt_dht.py', import.meta.url));
const REPLY_TIMEOUT_MS = 20_000;

export interface DhtEndpoint {
  readonly ip: string;
  readonly port: number;
}

export interface LtDhtNode {
  readonly port: number;
  readonly events: readonly LtEvent[];
  waitFor(name: string, match?: (e: LtEvent) => boolean, timeoutMs?: number): Promise<LtEvent>;
  /** session.add_dht_node: the node is pinged and enters the routing table if it answers. */
  addNode(to: DhtEndpoint): void;
  /** session.dht_get_peers, and the peers its reply alert carries. */
  getPeers(infoHashHex: string, timeoutMs?: number): Promise<DhtEndpoint[]>;
  /** Adds a magnet torrent for the hash: libtorrent looks it up and announces its listen port. */
  announce(infoHashHex: string): void;
  /** The members of libtorrent's routing table. */
  liveNodes(): Promise<{ id: string; ip: string; port: number }[]>;
  /** libtorrent's `dht.*` session counters (dht_nodes, dht_get_peers_out, dht_messages_out, …). */
  counters(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

export interface LtDhtOptions {
  /** UDP (and TCP) port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number;
  /** Nodes to join with add_dht_node. */
  readonly nodes?: readonly DhtEndpoint[];
  /** Print every DHT datagram as a `pkt` event (`dir`, `ip`, `port`, `data` hex). */
  readonly logPackets?: boolean;
  /** Folder for the magnet torrents `announce` adds (nothing is downloaded into it). */
  readonly savePath?: string;
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
}

/** Starts a libtorrent DHT node and resolves once it listens. Call `stop()` in afterAll. */
export async function startLibtorrentDhtNode(opts: LtDhtOptions = {}): Promise<LtDhtNode> {
  const { child, events, listeners, stderr } = run(
    {
      port: opts.port ?? 0,
      nodes: opts.nodes ?? [],
      logPackets: opts.logPackets ?? false,
      savePath: opts.savePath ?? '.',
      settings: opts.settings ?? {},
    },
    LT_DHT_SCRIPT,
  );
  const waitFor = waiter(child, events, listeners, stderr);
  const send = (cmd: object): void => {
    child.stdin?.write(JSON.stringify(cmd) + '\n');
  };
  const ask = async (cmd: object, name: string, match: (e: LtEvent) => boolean = () => true, timeoutMs = REPLY_TIMEOUT_MS): Promise<LtEvent> => {
    const seen = events.length;
    send(cmd);
    return waitFor(name, (e) => events.indexOf(e) >= seen && match(e), timeoutMs);
  };
  try {
    const listening = await waitFor('listening');
    return {
      port: listening['port'] as number,
      events,
      waitFor,
      addNode: (to) => send({ cmd: 'add-node', ip: to.ip, port: to.port }),
      getPeers: async (infoHash, timeoutMs) =>
        (await ask({ cmd: 'get-peers', infoHash }, 'get-peers', (e) => e['infoHash'] === infoHash, timeoutMs))['peers'] as DhtEndpoint[],
      announce: (infoHash) => send({ cmd: 'announce', infoHash }),
      liveNodes: async () => (await ask({ cmd: 'live-nodes' }, 'live-nodes'))['nodes'] as { id: string; ip: string; port: number }[],
      counters: async () => (await ask({ cmd: 'counters' }, 'counters'))['values'] as Record<string, number>,
      stop: () => stopChild(child),
    };
  } catch (e) {
    await stopChild(child);
    throw e;
  }
}

/** The part of npm `bittorrent-dht`'s DHT class these helpers use (testkit does not depend on the package). */
export interface BtDht {
  readonly nodeId: Buffer;
  listen(port: number, host: string, cb?: () => void): void;
  address(): { port: number };
  addNode(node: { host: string; port: number; id?: Buffer }): void;
  lookup(infoHash: Buffer, cb?: (err: Error | null, visited: number) => void): () => void;
  announce(infoHash: Buffer, port: number, cb?: (err: Error | null) => void): void;
  toJSON(): { nodes: { host: string; port: number }[] };
  destroy(cb?: () => void): void;
  on(event: 'peer', fn: (peer: { host: string; port: number }, infoHash: Buffer, from: unknown) => void): unknown;
  on(event: 'announce', fn: (peer: { host: string; port: number }, infoHash: Buffer) => void): unknown;
  on(event: 'ready' | 'listening', fn: () => void): unknown;
  on(event: 'error' | 'warning', fn: (err: Error) => void): unknown;
  removeListener(event: 'peer', fn: (peer: { host: string; port: number }, infoHash: Buffer, from: unknown) => void): unknown;
  /** Its k-rpc socket: sends any query and hands back the reply (or the error). */
  readonly _rpc: {
    query(
      peer: { host: string; port: number },
      msg: { q: string; a: Record<string, unknown> },
      cb: (err: Error | null, reply: Record<string, unknown>) => void,
    ): void;
  };
}

export type BtDhtClass = new (opts: { bootstrap: string[]; host?: string | false; maxAge?: number }) => BtDht;

export interface RunningBtDht {
  readonly dht: BtDht;
  readonly port: number;
  /** Sends one raw KRPC query with its socket; resolves with the reply's `r` (rejects on an error reply or timeout). */
  query(to: DhtEndpoint, q: string, a: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** A get_peers lookup: every peer its `peer` events reported for the hash. */
  lookup(infoHash: Buffer): Promise<DhtEndpoint[]>;
  announce(infoHash: Buffer, port: number): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts an npm `bittorrent-dht` node on 127.0.0.1 joined to `bootstrap` (`[]` for the first node:
 * `false` would mean the public routers). The test passes the package's DHT class.
 */
export async function startBittorrentDhtNode(DHT: BtDhtClass, bootstrap: readonly DhtEndpoint[], port = 0): Promise<RunningBtDht> {
  const dht = new DHT({ bootstrap: bootstrap.map((b) => `${b.ip}:${b.port}`), host: false });
  // A vanished test peer must not crash the test process.
  dht.on('error', () => undefined);
  dht.on('warning', () => undefined);
  await new Promise<void>((resolve) => dht.listen(port, '127.0.0.1', resolve));
  return {
    dht,
    port: dht.address().port,
    query: (to, q, a) =>
      new Promise((resolve, reject) =>
        dht._rpc.query({ host: to.ip, port: to.port }, { q, a }, (err, reply) => {
          if (err) reject(err);
          else resolve(reply['r'] as Record<string, unknown>);
        }),
      ),
    lookup: (infoHash) =>
      new Promise((resolve, reject) => {
        const found: DhtEndpoint[] = [];
        const onPeer = (p: { host: string; port: number }, h: Buffer): void => {
          if (h.equals(infoHash)) found.push({ ip: p.host, port: p.port });
        };
        dht.on('peer', onPeer);
        dht.lookup(infoHash, (err) => {
          dht.removeListener('peer', onPeer);
          if (err) reject(err);
          else resolve(found);
        });
      }),
    announce: (infoHash, p) => new Promise((resolve, reject) => dht.announce(infoHash, p, (err) => (err ? reject(err) : resolve()))),
    stop: () => new Promise<void>((r) => dht.destroy(() => r())),
  };
}
