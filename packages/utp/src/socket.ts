import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { systemClock, type Clock } from '@tc/clock';
import type { ConnectionOptions } from './connection-options.js';
import { UtpConnection } from './connection.js';
import { classifyDatagram } from './demux.js';
import { UtpError, isUtpError } from './errors.js';
import { HEADER_BYTES, PacketType, decodePacket, writeHeader, type Packet } from './packet.js';
import { UtpStream } from './stream.js';

/**
 * Many uTP connections over one datagram port. The socket owns no UDP socket: datagrams come in
 * through `receive(buf, from)` and go out through the injected `DatagramSender`, so the engine can
 * put one UDP socket per listen port in front of it and share it with the DHT (`classifyDatagram`
 * decides whose a datagram is). Connections are told apart by remote address, port and the
 * connection id the remote sends to (BEP 29).
 *
 * Bounded: connections per socket, half-open incoming connections (a SYN flood costs one small
 * record per SYN up to the cap, then nothing), RESETs sent per second, and each connection's
 * buffers (see `UtpConnection`).
 */

export interface DatagramSender {
  send(buf: Buffer, port: number, host: string): void;
}

export interface RemoteAddress {
  readonly address: string;
  readonly port: number;
}

export interface UtpSocketOptions extends Omit<ConnectionOptions, 'clock' | 'readBufferedBytes'> {
  readonly clock?: Clock;
  /** Open connections (incoming and outgoing) at most; libtorrent allows twice its peer limit. */
  readonly maxConnections?: number;
  /** Incoming connections whose initiator has not spoken since the SYN, at most. */
  readonly maxHalfOpen?: number;
  /** RESETs answered to packets of unknown connections per second, at most. */
  readonly maxResetsPerSecond?: number;
  /** As for `net.Socket`: when false (default), the remote's FIN also ends our writable side. */
  readonly allowHalfOpen?: boolean;
}

export const DEFAULT_MAX_CONNECTIONS = 1000;
export const DEFAULT_MAX_HALF_OPEN = 64;
/** Enough for a restarted peer's stale connections; a flood of junk gets no more answers than this. */
export const DEFAULT_MAX_RESETS_PER_SECOND = 100;

export interface UtpSocketStats {
  /** Datagrams given to `receive` that were uTP by their first byte. */
  datagrams: number;
  /** Datagrams that failed to parse, by error code. */
  invalid: Record<string, number>;
  /** Packets for a connection we do not have. */
  unknownConnection: number;
  resetsSent: number;
  /** SYNs not answered: over the connection or half-open cap, or the socket is closing. */
  synsDropped: number;
  accepted: number;
}

interface Entry {
  readonly conn: UtpConnection;
  readonly stream: UtpStream;
  readonly remote: RemoteAddress;
  halfOpen: boolean;
}

const key = (address: string, port: number, recvId: number): string => `${address}|${port}|${recvId}`;

export interface UtpSocketEvents {
  connection: [stream: UtpStream];
}

export class UtpSocket extends EventEmitter<UtpSocketEvents> {
  readonly stats: UtpSocketStats = { datagrams: 0, invalid: {}, unknownConnection: 0, resetsSent: 0, synsDropped: 0, accepted: 0 };
  private readonly clock: Clock;
  private readonly conns = new Map<string, Entry>();
  private readonly maxConnections: number;
  private readonly maxHalfOpen: number;
  private readonly maxResets: number;
  private halfOpen = 0;
  private last: Entry | undefined;
  private resetWindowStart = -Infinity;
  private resetsInWindow = 0;
  private closed = false;

  constructor(
    private readonly sender: DatagramSender,
    private readonly opts: UtpSocketOptions = {},
  ) {
    super();
    this.clock = opts.clock ?? systemClock;
    this.maxConnections = opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.maxHalfOpen = opts.maxHalfOpen ?? DEFAULT_MAX_HALF_OPEN;
    this.maxResets = opts.maxResetsPerSecond ?? DEFAULT_MAX_RESETS_PER_SECOND;
  }

  /** Connections in the table (open, half-open, or lingering after a clean close). */
  get size(): number {
    return this.conns.size;
  }

  /**
   * Hands a datagram to the socket. Returns false if it is not uTP (its first byte says so, as
   * `classifyDatagram` decides): the caller may give it to someone else. Malformed uTP packets
   * are counted in `stats.invalid` and dropped; nothing a remote sends throws.
   */
  receive(buf: Buffer, from: RemoteAddress): boolean {
    if (classifyDatagram(buf) !== 'utp') return false;
    this.stats.datagrams++;
    let p: Packet;
    try {
      p = decodePacket(buf);
    } catch (e) {
      if (!isUtpError(e)) throw e;
      this.stats.invalid[e.code] = (this.stats.invalid[e.code] ?? 0) + 1;
      return true;
    }
    // Most datagrams belong to the connection the previous one did (libtorrent caches it too).
    const last = this.last;
    const entry =
      last !== undefined &&
      p.type !== PacketType.Syn &&
      p.connectionId === last.conn.ids.recvId &&
      from.port === last.remote.port &&
      from.address === last.remote.address
        ? last
        : this.lookup(p, from);
    if (entry !== undefined) {
      this.last = entry;
      entry.conn.receive(p);
      return true;
    }
    if (p.type === PacketType.Syn) this.accept(p, from);
    else {
      this.stats.unknownConnection++;
      // A RESET for a RESET could ping-pong between two confused peers.
      if (p.type !== PacketType.Reset) this.sendReset(p, from);
    }
    return true;
  }

  private lookup(p: Packet, from: RemoteAddress): Entry | undefined {
    const id = p.connectionId;
    // A SYN names the id the initiator receives on; we receive on the next one.
    if (p.type === PacketType.Syn) return this.conns.get(key(from.address, from.port, (id + 1) & 0xffff));
    const e = this.conns.get(key(from.address, from.port, id));
    if (e !== undefined || p.type !== PacketType.Reset) return e;
    // A RESET answering a packet the remote did not know carries the id we sent with (our
    // receive id ± 1), as libutp's does; look there too.
    for (const near of [(id + 1) & 0xffff, (id - 1) & 0xffff]) {
      const n = this.conns.get(key(from.address, from.port, near));
      if (n !== undefined && n.conn.ids.sendId === id) return n;
    }
    return undefined;
  }

  /**
   * Dials `host:port` over uTP; the stream emits `connect` once the SYN is answered. `host` must
   * be an IP address (peers are learnt as addresses; nothing here resolves names).
   */
  connect(port: number, host: string): UtpStream {
    if (isIP(host) === 0 || !Number.isInteger(port) || port < 1 || port > 0xffff) {
      throw new UtpError('UTP_BAD_ARGUMENT', `uTP can only dial an IP address and port 1-65535, not ${host}:${port}`, { value: port });
    }
    const stream = new UtpStream({ address: host, port }, true, this.opts.allowHalfOpen);
    if (this.closed) {
      process.nextTick(() => stream.destroy(new UtpError('UTP_CLOSED', 'uTP socket is closed')));
      return stream;
    }
    if (this.conns.size >= this.maxConnections) {
      process.nextTick(() =>
        stream.destroy(new UtpError('UTP_TOO_MANY_CONNECTIONS', `uTP socket has ${this.conns.size} connections`, { limit: this.maxConnections })),
      );
      return stream;
    }
    const recvId = this.freeId(host, port);
    const k = key(host, port, recvId);
    const remote = { address: host, port };
    const conn = UtpConnection.connect(
      { recvId, sendId: (recvId + 1) & 0xffff },
      {
        ...stream.handlers(),
        send: (b) => this.sender.send(b, port, host),
        release: () => this.remove(k),
      },
      this.connectionOptions(stream),
    );
    stream.attach(conn);
    if (conn.state !== 'closed') this.conns.set(k, { conn, stream, remote, halfOpen: false });
    return stream;
  }

  /** Destroys every connection (each gets a RESET) and stops accepting. */
  close(): void {
    this.closed = true;
    for (const e of [...this.conns.values()]) {
      if (e.conn.state === 'closed') e.conn.stopLingering();
      else e.stream.destroy();
    }
    this.conns.clear();
    this.last = undefined;
    this.halfOpen = 0;
  }

  private connectionOptions(stream: UtpStream): ConnectionOptions {
    const { maxConnections: _a, maxHalfOpen: _b, maxResetsPerSecond: _c, allowHalfOpen: _d, ...rest } = this.opts;
    return { ...rest, clock: this.clock, readBufferedBytes: () => stream.readableLength };
  }

  /** A random receive id not in use towards this remote. */
  private freeId(host: string, port: number): number {
    for (;;) {
      const id = Math.floor(Math.random() * 0x10000);
      if (!this.conns.has(key(host, port, id))) return id;
    }
  }

  private accept(syn: Packet, from: RemoteAddress): void {
    if (this.closed || this.listenerCount('connection') === 0) {
      this.stats.synsDropped++;
      return;
    }
    if (this.conns.size >= this.maxConnections || this.halfOpen >= this.maxHalfOpen) {
      this.stats.synsDropped++;
      return;
    }
    const stream = new UtpStream(from, false, this.opts.allowHalfOpen);
    const k = key(from.address, from.port, (syn.connectionId + 1) & 0xffff);
    const entry: { e?: Entry } = {};
    const handlers = stream.handlers();
    const conn = UtpConnection.accept(
      syn,
      {
        ...handlers,
        connect: () => {
          // The initiator spoke after our SYN-ACK: its address is real. Hand the stream out.
          const e = entry.e;
          if (e !== undefined && e.halfOpen) {
            e.halfOpen = false;
            this.halfOpen--;
          }
          this.stats.accepted++;
          this.emit('connection', stream);
        },
        close: (error) => {
          // Nobody holds a half-open stream (it was never handed out): its failure is nobody's
          // error event, or a spoofed SYN would crash the process ten seconds later.
          if (entry.e?.halfOpen !== false) stream.destroy();
          else handlers.close(error);
        },
        send: (b) => this.sender.send(b, from.port, from.address),
        release: () => this.remove(k),
      },
      this.connectionOptions(stream),
    );
    stream.attach(conn);
    if (conn.state === 'closed') return;
    entry.e = { conn, stream, remote: from, halfOpen: true };
    this.halfOpen++;
    this.conns.set(k, entry.e);
  }

  private remove(k: string): void {
    const e = this.conns.get(k);
    if (e === undefined) return;
    if (this.last === e) this.last = undefined;
    if (e.halfOpen) this.halfOpen--;
    this.conns.delete(k);
  }

  /** Tells the sender of a packet for an unknown connection that there is none (rate-limited). */
  private sendReset(p: Packet, to: RemoteAddress): void {
    const now = this.clock.now();
    if (now - this.resetWindowStart >= 1000) {
      this.resetWindowStart = now;
      this.resetsInWindow = 0;
    }
    if (this.resetsInWindow >= this.maxResets) return;
    this.resetsInWindow++;
    const buf = Buffer.allocUnsafe(HEADER_BYTES);
    writeHeader(
      buf,
      {
        type: PacketType.Reset,
        connectionId: p.connectionId,
        timestampUs: Math.floor(now * 1000) >>> 0,
        timestampDiffUs: 0,
        windowBytes: 0,
        seq: Math.floor(Math.random() * 0x10000),
        ack: p.seq,
      },
      0,
    );
    this.stats.resetsSent++;
    this.sender.send(buf, to.port, to.address);
  }
}
