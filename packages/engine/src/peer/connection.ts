import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { encodeHandshake, encodeMessage, encodePieceHeader, MessageDecoder, MessageId, WireError, type Features, type Handshake, type Message } from '@tc/wire';
import { EngineError } from '../errors.js';
import type { PeerLink } from '../net/policy.js';

/** A peer's byte stream: a TCP socket, a uTP stream, or an MSE stream over either (net/transport.ts). */
export type PeerStream = Duplex & Partial<Pick<Socket, 'setNoDelay'>>;

/** Handshake must complete within this time (RELIABILITY.md case 26; libtorrent handshake_timeout 10 s). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** A peer that sends nothing at all for this long is dropped (RELIABILITY.md case 26). */
export const IDLE_TIMEOUT_MS = 120_000;
/** We send a keep-alive after this long without sending anything (BEP 3 suggests every 2 minutes; peers time out at 120 s). */
export const KEEPALIVE_INTERVAL_MS = 90_000;
/**
 * A message once started must be whole within this long at least (RELIABILITY #20, slow trickle): a
 * peer sending one byte every few seconds resets the idle timer forever while holding a slot.
 */
export const MESSAGE_DEADLINE_MIN_MS = 30_000;
/**
 * The slowest rate at which a started message may arrive (bytes/s): a 16 KiB block gets 64 s, about
 * libtorrent's 60 s request_timeout. Honest slow peers (a few KiB/s) are far above it.
 */
export const MESSAGE_MIN_RATE_BPS = 256;

/** How long a message of `bytes` (length prefix included) may take from its first byte to its last (ms). */
export function messageDeadlineMs(bytes: number): number {
  return Math.max(MESSAGE_DEADLINE_MIN_MS, Math.ceil((bytes * 1000) / MESSAGE_MIN_RATE_BPS));
}

/** Bytes of one encoded request message (4 length + 1 id + 12 payload, BEP 3). */
const REQUEST_BYTES = 17;

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export function addressKey(a: PeerAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/** What a connection reports to whoever owns it (the session before the handshake, a torrent after). */
export interface ConnectionHandler {
  /** The peer's handshake arrived. Return false to close (wrong torrent, self, banned). */
  onHandshake(conn: PeerConnection, h: Handshake): boolean;
  onMessage(conn: PeerConnection, m: Message): void;
  /** Called once after the messages of one socket read, so work can be batched (refilling pipelines). */
  onBatchEnd(conn: PeerConnection): void;
  /** The connection closed; `reason` is undefined for a normal close. Called exactly once. */
  onClose(conn: PeerConnection, reason: EngineError | undefined): void;
}

export interface ConnectionOptions {
  readonly address: PeerAddress;
  readonly outgoing: boolean;
  readonly features: Features;
  readonly now: number;
  readonly pieceCount?: number;
  readonly handshakeTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  readonly keepAliveMs?: number;
  /**
   * The socket was created with `onread` (a reused read buffer, no allocation per read): its
   * callback calls `feed`, and no 'data' listener is attached. Messages, piece blocks included,
   * are then views of that buffer valid only during the handler calls, so handlers copy what they keep.
   */
  readonly externalReads?: boolean;
  /** How the peer was reached (default plain TCP). */
  readonly link?: PeerLink;
}

/** The timeout overrides a torrent or a metadata fetch passes on to its connections (set ones only: exactOptionalPropertyTypes). */
export function timeoutOptions(o: {
  readonly handshakeTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
}): Pick<ConnectionOptions, 'handshakeTimeoutMs' | 'idleTimeoutMs'> {
  return {
    ...(o.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: o.handshakeTimeoutMs } : {}),
    ...(o.idleTimeoutMs !== undefined ? { idleTimeoutMs: o.idleTimeoutMs } : {}),
  };
}

/**
 * Why a peer is closed after `e` was thrown while handling its input: an EngineError as it is, a
 * WireError as a protocol error, and anything else (a bug: EngineBug, TypeError…) as
 * ENGINE_PEER_INTERNAL, so that one peer's message can never take the process down.
 */
export function closeReasonFor(e: unknown, peer: string): EngineError {
  if (e instanceof EngineError) return e;
  if (e instanceof WireError) return new EngineError('ENGINE_PEER_PROTOCOL', `protocol error (${e.code}): ${e.message}`, { peer, cause: e });
  const what = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return new EngineError('ENGINE_PEER_INTERNAL', `internal error while handling the peer's input (a bug): ${what}`, { peer, cause: e });
}

/** Size of the reused read buffer of an outgoing connection: several 16 KiB blocks per read, so few are split. */
export const READ_BUFFER_BYTES = 256 * 1024;

/**
 * One peer connection: socket bytes ↔ wire messages, timeouts and keep-alives. It holds no torrent
 * logic; the handler decides. Timers are driven by `tick(now)` from the owner's clock, so one interval
 * serves every connection and tests use a manual clock.
 */
export class PeerConnection {
  readonly address: PeerAddress;
  readonly key: string;
  readonly outgoing: boolean;
  readonly link: PeerLink;
  private readonly decoder: MessageDecoder;
  private handshakeDone = false;
  private sentHandshake = false;
  private closed = false;
  private lastReceived: number;
  /** When the message now half-read began (tick time), undefined between messages. */
  private partialSince: number | undefined;
  private lastSent: number;
  private readonly openedAt: number;
  private readonly handshakeTimeoutMs: number;
  private readonly idleTimeoutMs: number;
  private readonly keepAliveMs: number;
  /** The peer's handshake, once read. */
  remote: Handshake | undefined;
  /** Bytes read from and written to the socket (all messages, for statistics). */
  bytesIn = 0;
  bytesOut = 0;

  constructor(
    private readonly socket: PeerStream,
    public handler: ConnectionHandler,
    opts: ConnectionOptions,
  ) {
    this.address = opts.address;
    this.key = addressKey(opts.address);
    this.outgoing = opts.outgoing;
    this.link = opts.link ?? { transport: 'tcp', encryption: 'plain' };
    this.openedAt = opts.now;
    this.lastNow = opts.now;
    this.lastReceived = opts.now;
    this.lastSent = opts.now;
    this.handshakeTimeoutMs = opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    this.keepAliveMs = opts.keepAliveMs ?? KEEPALIVE_INTERVAL_MS;
    this.decoder = new MessageDecoder({
      features: opts.features,
      ...(opts.pieceCount !== undefined ? { pieceCount: opts.pieceCount } : {}),
    });
    socket.setNoDelay?.(true);
    if (opts.externalReads !== true) {
      socket.on('data', (chunk: Buffer) => this.onData(chunk));
      // A stream the transports paused (to look at its first bytes) does not flow by itself.
      if (socket.readableFlowing === false) socket.resume();
    }
    socket.on('error', (e) => this.close(new EngineError('ENGINE_PEER_PROTOCOL', `socket error: ${e.message}`, { peer: this.key, cause: e })));
    socket.on('close', () => this.close(undefined));
    socket.on('end', () => this.close(undefined));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Negotiated BEP 6 / BEP 10 features (after the handshake). */
  get features(): Required<Features> {
    return this.decoder.features ?? { extended: false, fast: false, dht: false, v2: false };
  }

  setPieceCount(n: number): void {
    this.decoder.setPieceCount(n);
  }

  sendHandshake(infoHash: Uint8Array, peerId: Uint8Array, features: Features): void {
    if (this.sentHandshake) return;
    this.sentHandshake = true;
    this.write(encodeHandshake({ infoHash, peerId, features }));
  }

  send(m: Message): void {
    this.write(encodeMessage(m));
  }

  /** Several requests in one buffer and one write: the hot path of downloading. */
  sendRequests(reqs: readonly { piece: number; offset: number; length: number }[], id: number = MessageId.request): void {
    if (reqs.length === 0) return;
    const b = Buffer.allocUnsafe(REQUEST_BYTES * reqs.length);
    let o = 0;
    for (const r of reqs) {
      b.writeUInt32BE(13, o);
      b[o + 4] = id;
      b.writeUInt32BE(r.piece, o + 5);
      b.writeUInt32BE(r.offset, o + 9);
      b.writeUInt32BE(r.length, o + 13);
      o += REQUEST_BYTES;
    }
    this.write(b);
  }

  sendCancels(reqs: readonly { piece: number; offset: number; length: number }[]): void {
    this.sendRequests(reqs, MessageId.cancel);
  }

  /** A piece message without copying the block: header and block written back to back. */
  sendPiece(index: number, begin: number, block: Uint8Array): boolean {
    if (this.closed) return false;
    this.socket.cork();
    this.socket.write(encodePieceHeader(index, begin, block.length));
    const ok = this.socket.write(block);
    this.socket.uncork();
    this.bytesOut += 13 + block.length;
    return ok;
  }

  /** Bytes written but not yet taken by the kernel: what a peer that does not read makes us hold. */
  get queuedBytes(): number {
    return this.socket.writableLength ?? 0;
  }

  /** True when the socket's send buffer is full: stop queueing until it drains. */
  get congested(): boolean {
    return this.socket.writableNeedDrain;
  }

  private write(b: Buffer): void {
    if (this.closed) return;
    this.bytesOut += b.length;
    this.lastSent = this.lastNow;
    this.socket.write(b);
  }

  /** Bytes read by an `onread` socket (see ConnectionOptions.externalReads). */
  feed(chunk: Buffer): void {
    this.onData(chunk);
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.bytesIn += chunk.length;
    this.lastReceived = this.now();
    let msgs;
    try {
      msgs = this.decoder.push(chunk);
    } catch (e) {
      const code = e instanceof WireError ? e.code : 'unknown';
      this.close(new EngineError('ENGINE_PEER_PROTOCOL', `protocol error (${code}): ${(e as Error).message}`, { peer: this.key, cause: e }));
      return;
    }
    // A message left half-read began in this chunk if the chunk finished another, else earlier.
    if (this.decoder.buffered === 0) this.partialSince = undefined;
    else if (msgs.length > 0 || this.partialSince === undefined) this.partialSince = this.lastReceived;
    // This runs in a socket callback: whatever the handlers throw must end here, with this peer,
    // not in the event loop (an uncaught exception would end the process).
    try {
      for (const m of msgs) {
        if (this.closed) return;
        if (m.type === 'handshake') {
          this.remote = m;
          this.handshakeDone = true;
          if (!this.handler.onHandshake(this, m)) {
            // A reason, so the owner reports it and backs the address off instead of redialing it at once (RELIABILITY #21).
            this.close(
              new EngineError('ENGINE_PEER_PROTOCOL', 'handshake refused (another torrent, ourselves, a duplicate peer, or not running)', { peer: this.key }),
            );
            return;
          }
          continue;
        }
        this.handler.onMessage(this, m);
      }
      if (!this.closed) this.handler.onBatchEnd(this);
    } catch (e) {
      this.close(closeReasonFor(e, this.key));
    }
  }

  /** The owner's clock reading at the last tick; data handlers use it to avoid a clock call per chunk. */
  private lastNow: number;
  private now(): number {
    return this.lastNow;
  }

  /** Drives timeouts and keep-alives. Call about once a second. */
  tick(now: number): void {
    if (this.closed) return;
    this.lastNow = now;
    if (!this.handshakeDone && now - this.openedAt > this.handshakeTimeoutMs) {
      this.close(new EngineError('ENGINE_PEER_TIMEOUT', 'handshake timed out', { peer: this.key }));
      return;
    }
    if (this.lastReceived < this.openedAt) this.lastReceived = this.openedAt;
    if (now - this.lastReceived > this.idleTimeoutMs) {
      this.close(new EngineError('ENGINE_PEER_TIMEOUT', 'peer sent nothing for too long', { peer: this.key }));
      return;
    }
    if (this.partialSince !== undefined && this.handshakeDone) {
      // The handshake has its own timeout; after it, every message gets time in proportion to its size.
      const bytes = this.decoder.partialMessageBytes;
      const limit = messageDeadlineMs(bytes ?? 0);
      if (now - this.partialSince > limit) {
        const what = bytes === undefined ? 'a message header' : `a ${bytes}-byte message`;
        this.close(new EngineError('ENGINE_PEER_TIMEOUT', `peer trickled ${what}: not whole after ${Math.round(limit / 1000)} s`, { peer: this.key }));
        return;
      }
    }
    if (this.handshakeDone && now - this.lastSent > this.keepAliveMs) {
      this.lastSent = now;
      this.write(Buffer.alloc(4));
    }
  }

  close(reason: EngineError | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.handler.onClose(this, reason);
  }
}
