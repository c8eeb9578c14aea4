import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * A real libtorrent 2.0.x peer (Debian's python3-libtorrent) on 127.0.0.1, driven by
 * `py/lt_peer.py`: a seeder for interop tests, a downloader for benchmarks, and a reference
 * torrent maker. DHT (unless `dht` is given), LSD, UPnP, NAT-PMP and uTP are off (INTEROP.md).
 */

/** Debian's interpreter: the pyenv `python3` on PATH has no libtorrent module. */
export const SYSTEM_PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('../py/lt_peer.py', import.meta.url));
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5_000;

/** Whether python3-libtorrent is importable here (tests that need it fail loudly without it). */
export function hasLibtorrent(): boolean {
  return spawnSync(SYSTEM_PYTHON, ['-c', 'import libtorrent'], { stdio: 'ignore' }).status === 0;
}

export interface LtEvent {
  readonly event: string;
  readonly [key: string]: unknown;
}

export interface LtPeerInfo {
  readonly ip: string;
  readonly port: number;
  /** What libtorrent's identify_client makes of the remote peer id, e.g. "TC 0.1.0". */
  readonly client: string;
  readonly pid: string;
  readonly seed: boolean;
  readonly totalUpload: number;
  readonly totalDownload: number;
}

export interface LtStatus {
  readonly state: string;
  readonly progress: number;
  readonly numPeers: number;
  readonly totalDone: number;
  readonly downloadRate: number;
  readonly uploadRate: number;
  readonly totalUpload: number;
  readonly totalDownload: number;
}

export interface LibtorrentOptions {
  /** The .torrent to seed or download; give either this or `magnet`. */
  readonly torrentPath?: string;
  /**
   * A magnet link (`magnet:?xt=urn:btih:...`) to start from instead of a .torrent: libtorrent
   * fetches the metadata from its peers (BEP 9) and prints a `metadata` event
   * (`infoHash`, `name`, `pieces`, `totalSize`) when it has it.
   */
  readonly magnet?: string;
  /** Folder holding (seeder) or receiving (downloader) the torrent's data. */
  readonly savePath: string;
  /** Documents intent; a seeder is a peer whose data is complete after the check. */
  readonly seed?: boolean;
  /** Skip the initial hash check (libtorrent then verifies lazily on first request). */
  readonly seedMode?: boolean;
  /** Listen port on 127.0.0.1; 0 (default) picks a free one. */
  readonly port?: number;
  /** Peers libtorrent dials once the torrent is ready. */
  readonly connectTo?: readonly { readonly ip: string; readonly port: number }[];
  /** Emit a `status` event this often (0 = never). */
  readonly statusIntervalMs?: number;
  /** libtorrent settings_pack overrides by name, applied last (e.g. `{ upload_rate_limit: 1000000 }`). */
  readonly settings?: Readonly<Record<string, string | number | boolean>>;
  /**
   * Turns libtorrent's DHT on (loopback settings, no public router) and joins these nodes with
   * add_dht_node; the torrent is then announced to the DHT at once. Off when absent.
   */
  readonly dht?: { readonly nodes: readonly { readonly ip: string; readonly port: number }[] };
}

export interface LibtorrentPeer {
  readonly port: number;
  readonly infoHash: string;
  readonly process: ChildProcess;
  /** Every JSON line the peer printed so far. */
  readonly events: readonly LtEvent[];
  /** Resolves with the first event (past or future) named `name` that matches. */
  waitFor(name: string, match?: (e: LtEvent) => boolean, timeoutMs?: number): Promise<LtEvent>;
  /** Makes libtorrent dial a peer (e.g. tc listening on 127.0.0.1). */
  connect(ip: string, port: number): void;
  /** With `dht`: announces the torrent to the DHT now (torrent_handle.force_dht_announce). */
  dhtAnnounce(): void;
  peers(): Promise<LtPeerInfo[]>;
  status(): Promise<LtStatus>;
  /** Ends the process (stdin close, then SIGKILL after 5 s) and waits for its exit. */
  stop(): Promise<void>;
}

/** Starts a python script of py/ (lt_peer.py unless told) with its JSON config; exported for the DHT node helper. */
export function run(
  config: object,
  script: string = SCRIPT,
): { child: ChildProcess; events: LtEvent[]; listeners: Set<(e: LtEvent) => void>; stderr: string[] } {
  const child = spawn(SYSTEM_PYTHON, [script, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const events: LtEvent[] = [];
  const listeners = new Set<(e: LtEvent) => void>();
  const stderr: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    let e: LtEvent;
    try {
      e = JSON.parse(line) as LtEvent;
    } catch {
      return; // libtorrent itself never prints to stdout; ignore anything that is not ours
    }
    events.push(e);
    for (const l of [...listeners]) l(e);
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 200) stderr.push(s);
  });
  return { child, events, listeners, stderr };
}

export function waiter(child: ChildProcess, events: LtEvent[], listeners: Set<(e: LtEvent) => void>, stderr: string[]): LibtorrentPeer['waitFor'] {
  return (name, match = () => true, timeoutMs = START_TIMEOUT_MS) =>
    new Promise((resolve, reject) => {
      const found = events.find((e) => e.event === name && match(e));
      if (found) return resolve(found);
      const cleanup = (): void => {
        clearTimeout(timer);
        listeners.delete(onEvent);
        child.off('exit', onExit);
      };
      const onEvent = (e: LtEvent): void => {
        if (e.event === name && match(e)) {
          cleanup();
          resolve(e);
        } else if (e.event === 'error' && name !== 'error') {
          cleanup();
          reject(new Error(`libtorrent peer: ${String(e['message'])}`));
        }
      };
      const onExit = (code: number | null): void => {
        cleanup();
        reject(new Error(`libtorrent peer exited (${code}) before "${name}": ${stderr.join('').slice(-2000)}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`libtorrent peer: no "${name}" within ${timeoutMs} ms`));
      }, timeoutMs);
      listeners.add(onEvent);
      if (child.exitCode !== null) onExit(child.exitCode);
      else child.once('exit', onExit);
    });
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

/** Starts a libtorrent peer and resolves once it listens. Call `stop()` in afterAll. */
export async function startLibtorrent(opts: LibtorrentOptions): Promise<LibtorrentPeer> {
  if ((opts.torrentPath === undefined) === (opts.magnet === undefined)) {
    throw new Error('startLibtorrent: give exactly one of torrentPath and magnet');
  }
  const { child, events, listeners, stderr } = run({
    mode: 'peer',
    ...(opts.magnet === undefined ? { torrentPath: opts.torrentPath } : { magnet: opts.magnet }),
    savePath: opts.savePath,
    seed: opts.seed ?? false,
    seedMode: opts.seedMode ?? false,
    port: opts.port ?? 0,
    connectTo: opts.connectTo ?? [],
    statusIntervalMs: opts.statusIntervalMs ?? 0,
    settings: opts.settings ?? {},
    ...(opts.dht ? { dht: opts.dht } : {}),
  });
  const waitFor = waiter(child, events, listeners, stderr);
  const send = (cmd: object): void => {
    child.stdin?.write(JSON.stringify(cmd) + '\n');
  };
  try {
    const [listening, added] = await Promise.all([waitFor('listening'), waitFor('added')]);
    const ask = async <T>(cmd: string, field: string): Promise<T> => {
      const seen = events.length;
      send({ cmd });
      // Only a reply printed after this command counts.
      const e = await waitFor(cmd, (ev) => events.indexOf(ev) >= seen);
      return (field === '' ? e : e[field]) as T;
    };
    return {
      port: listening['port'] as number,
      infoHash: added['infoHash'] as string,
      process: child,
      events,
      waitFor,
      connect: (ip, port) => send({ cmd: 'connect', ip, port }),
      dhtAnnounce: () => send({ cmd: 'dht-announce' }),
      peers: () => ask<LtPeerInfo[]>('peers', 'peers'),
      status: () => ask<LtStatus>('status', ''),
      stop: () => stopChild(child),
    };
  } catch (e) {
    await stopChild(child);
    throw e;
  }
}

export interface LtCreated {
  /** SHA-1 info-hash (v1), hex. */
  readonly infoHash: string;
  /** SHA-256 info-hash, hex, for hybrid torrents only. */
  readonly infoHashV2: string | null;
  readonly pieces: number;
  readonly pieceLength: number;
  readonly totalSize: number;
}

/** Makes a .torrent of `dataPath` (file or folder) with lt.create_torrent: a reference for info-hashes. */
export async function createTorrentWithLibtorrent(opts: {
  readonly dataPath: string;
  readonly torrentPath: string;
  /** 0 (default) lets libtorrent choose. */
  readonly pieceLength?: number;
  /** A v1+v2 hybrid instead of the default v1-only torrent. */
  readonly hybrid?: boolean;
  /** A BEP 52 v2-only torrent (no SHA-1 pieces); wins over `hybrid`. */
  readonly v2Only?: boolean;
}): Promise<LtCreated> {
  const { child, events, listeners, stderr } = run({ mode: 'create', ...opts, pieceLength: opts.pieceLength ?? 0 });
  try {
    const e = await waiter(child, events, listeners, stderr)('created');
    return e as unknown as LtCreated;
  } finally {
    await stopChild(child);
  }
}
