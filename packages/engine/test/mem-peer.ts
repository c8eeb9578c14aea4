import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { encodeHandshake, encodeMessage, generatePeerId, MessageDecoder, type Features, type Handshake, type Message, type Request } from '@tc/wire';
import type { TestTorrent } from '@tc/testkit/swarm-fixture';
import type { ManualClock } from '../src/clock.js';
import { PeerConnection, type ConnectionHandler } from '../src/peer/connection.js';
import { memoryStorage } from '../src/storage/memory.js';
import { Torrent } from '../src/torrent/torrent.js';
import { sourceOf } from './helpers.js';

/**
 * Peers without sockets: a connection whose "socket" is an in-memory object, so a test can drive a
 * Torrent or a MetadataFetcher with thousands of message sequences a second on a manual clock.
 * Bytes the test sends go through the engine's real decoder; bytes the engine writes are decoded
 * back into messages.
 */

/** Just enough of net.Socket for PeerConnection. */
export class MemSocket extends EventEmitter {
  destroyed = false;
  constructor(private readonly onWrite: (b: Buffer) => void) {
    super();
  }
  setNoDelay(): this {
    return this;
  }
  cork(): void {}
  uncork(): void {}
  write(b: Uint8Array): boolean {
    if (!this.destroyed) this.onWrite(Buffer.from(b));
    return true;
  }
  get writableLength(): number {
    return 0;
  }
  get writableNeedDrain(): boolean {
    return false;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
}

/** What takes an incoming connection once its handshake names the torrent (Torrent, MetadataFetcher). */
export interface Adopter {
  adopt(conn: PeerConnection, h: Handshake): boolean;
}

export interface MemPeer {
  readonly conn: PeerConnection;
  /** Every message the engine sent us, decoded (its handshake first). */
  readonly got: Message[];
  /** The block requests the engine sent us, in order. */
  readonly requests: Request[];
  /** The engine closed the connection (its reason comes with the owner's `peer-disconnected`). */
  readonly closed: boolean;
  /** Feeds messages to the engine as one chunk. Whatever the engine throws comes out here. */
  send(...msgs: Message[]): void;
  /** Feeds raw bytes. */
  sendRaw(bytes: Buffer): void;
}

export interface MemPeerOptions {
  readonly infoHash: Buffer;
  /** Needed to decode the engine's bitfield; omitted before the metadata is known. */
  readonly pieceCount?: number;
  readonly now: number;
  readonly peerId?: Buffer;
  /** What this peer supports (default: fast and extended). */
  readonly features?: Features;
  /** Port in the fake address 10.0.0.1:port (each peer of a test needs its own). */
  readonly port: number;
}

/** An incoming peer: connected, handshake sent, adopted by `target` (or closed when refused). */
export function connectMemPeer(target: Adopter, opts: MemPeerOptions): MemPeer {
  const features = opts.features ?? { fast: true, extended: true };
  const decoder = new MessageDecoder({ features, ...(opts.pieceCount !== undefined ? { pieceCount: opts.pieceCount } : {}) });
  const got: Message[] = [];
  const requests: Request[] = [];
  const sock = new MemSocket((b) => {
    for (const m of decoder.push(b)) {
      if (m.type === 'handshake') continue;
      got.push(m);
      if (m.type === 'request') requests.push(m);
    }
  });
  // The session's part: routes the handshake to the target, as Session.onHandshake does.
  const router: ConnectionHandler = {
    onHandshake: (conn, h) => target.adopt(conn, h),
    onMessage: () => undefined,
    onBatchEnd: () => undefined,
    onClose: () => undefined,
  };
  const conn = new PeerConnection(sock as unknown as Socket, router, {
    address: { host: '10.0.0.1', port: opts.port },
    outgoing: false,
    features: { fast: true, extended: true },
    now: opts.now,
  });
  const feed = (bytes: Buffer): void => {
    sock.emit('data', bytes);
  };
  feed(encodeHandshake({ infoHash: opts.infoHash, peerId: opts.peerId ?? generatePeerId(), features }));
  return {
    conn,
    got,
    requests,
    get closed() {
      return conn.isClosed;
    },
    send: (...msgs) => feed(Buffer.concat(msgs.map((m) => encodeMessage(m)))),
    sendRaw: feed,
  };
}

/** Parsed once per test torrent: a property makes thousands of torrents of the same one. */
const sources = new WeakMap<TestTorrent, ReturnType<typeof sourceOf>>();

/** A torrent over memory storage on a manual clock, started, for in-memory peers. */
export async function memTorrent(
  t: TestTorrent,
  opts: { clock: ManualClock; have?: Iterable<number>; random?: () => number; infoBytes?: boolean },
): Promise<Torrent> {
  let src = sources.get(t);
  if (src === undefined) sources.set(t, (src = sourceOf(t)));
  const tor = new Torrent({
    infoHash: src.infoHash,
    name: src.name,
    layout: src.layout,
    storage: await memoryStorage().open(src.layout),
    peerId: generatePeerId(),
    clock: opts.clock,
    listenPort: 0,
    isSelf: () => false,
    ...(opts.random !== undefined ? { random: opts.random } : {}),
    ...(opts.have !== undefined ? { have: opts.have } : {}),
    ...(opts.infoBytes === true && src.infoBytes !== undefined ? { infoBytes: src.infoBytes } : {}),
  });
  tor.start();
  return tor;
}

/** The bytes of block `r` of the test torrent. */
export function blockOf(t: TestTorrent, r: { index: number; begin: number; length: number }): Buffer {
  const off = r.index * t.pieceLength + r.begin;
  return t.data.subarray(off, off + r.length);
}
