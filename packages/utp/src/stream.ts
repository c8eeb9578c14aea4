import { Duplex } from 'node:stream';
import type { ConnectionHandlers } from './connection-options.js';
import type { UtpConnection } from './connection.js';
import { UtpError } from './errors.js';

/** Node's default stream buffer is 16 KiB; a uTP window holds far more, so buffer a little more per side. */
export const STREAM_HIGH_WATER_MARK_BYTES = 64 * 1024;

/**
 * A uTP connection as a Node `Duplex`, with a TCP socket's close and error semantics:
 * `end()` sends a FIN after the data written so far and `finish` fires once the FIN is acked;
 * the remote's FIN ends the readable side and, unless `allowHalfOpen` (as for `net.Socket`,
 * default false), ends ours too; `destroy()` sends a RESET; a RESET or timeout destroys the stream with a
 * `UtpError` whose `errno` is `ECONNRESET`, `ECONNREFUSED` or `ETIMEDOUT`. Outgoing streams emit
 * `connect` (and `ready`) when the SYN is answered. Backpressure: `write` returns false while the
 * connection's send buffer is full, and the amount the application leaves unread shrinks the
 * window advertised to the remote.
 */
export class UtpStream extends Duplex {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly remoteFamily: 'IPv4' | 'IPv6';
  /** True until an outgoing connection is established (as `net.Socket#connecting`). */
  connecting: boolean;
  private conn: UtpConnection | undefined;
  private heldWrite: ((e?: Error | null) => void) | undefined;
  private heldFinal: ((e?: Error | null) => void) | undefined;

  /** @internal made by `UtpSocket`; `handlers()` wires it to its connection. */
  constructor(remote: { address: string; port: number }, outgoing: boolean, allowHalfOpen = false) {
    super({
      allowHalfOpen,
      readableHighWaterMark: STREAM_HIGH_WATER_MARK_BYTES,
      writableHighWaterMark: STREAM_HIGH_WATER_MARK_BYTES,
    });
    this.remoteAddress = remote.address;
    this.remotePort = remote.port;
    this.remoteFamily = remote.address.includes(':') ? 'IPv6' : 'IPv4';
    this.connecting = outgoing;
  }

  /** @internal */
  attach(conn: UtpConnection): void {
    this.conn = conn;
  }

  /** The connection behind the stream (statistics, window, RTT). */
  get connection(): UtpConnection | undefined {
    return this.conn;
  }

  /** @internal the connection's events, turned into stream events (the socket adds `send` and `release`). */
  handlers(): Omit<ConnectionHandlers, 'send' | 'release'> {
    return {
      connect: () => {
        if (!this.connecting) return;
        this.connecting = false;
        this.emit('connect');
        this.emit('ready');
      },
      data: (payload) => {
        if (!this.destroyed) this.push(payload);
      },
      end: () => {
        if (!this.destroyed) this.push(null);
      },
      drain: () => this.releaseWrite(),
      finished: () => this.releaseFinal(),
      close: (error) => {
        if (error !== undefined) {
          this.destroy(error);
          return;
        }
        // A clean close: both FINs are acked. The stream closes itself once both sides are done.
        this.releaseWrite();
        this.releaseFinal();
      },
    };
  }

  /** TCP_NODELAY: off by default (small writes coalesce while one short packet is unacked). */
  setNoDelay(noDelay = true): this {
    this.conn?.setNoDelay(noDelay);
    return this;
  }

  /** uTP sends its own keep-alives every 29 s; accepted for `net.Socket` compatibility. */
  setKeepAlive(): this {
    return this;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    const conn = this.conn;
    if (conn === undefined || conn.state === 'closed') {
      cb(new UtpError('UTP_CLOSED', 'write after the uTP connection closed'));
      return;
    }
    if (conn.write(chunk)) cb();
    else this.heldWrite = cb;
  }

  override _writev(chunks: { chunk: Buffer }[], cb: (e?: Error | null) => void): void {
    const conn = this.conn;
    if (conn === undefined || conn.state === 'closed') {
      cb(new UtpError('UTP_CLOSED', 'write after the uTP connection closed'));
      return;
    }
    // Corked writes (a piece header and its block) become one queue append, so they share packets.
    let below = true;
    for (const c of chunks) below = conn.write(c.chunk);
    if (below) cb();
    else this.heldWrite = cb;
  }

  override _final(cb: (e?: Error | null) => void): void {
    const conn = this.conn;
    if (conn === undefined || conn.state === 'closed') {
      cb();
      return;
    }
    this.heldFinal = cb;
    conn.end();
  }

  override _read(): void {
    this.conn?.readDrained();
  }

  override _destroy(error: Error | null, cb: (e?: Error | null) => void): void {
    // A RESET, unless the connection already closed (cleanly or by the remote). Held write and
    // final callbacks are dropped: a destroyed Writable reports its pending writes itself.
    this.conn?.destroy();
    this.heldWrite = undefined;
    this.heldFinal = undefined;
    cb(error);
  }

  private releaseWrite(): void {
    const cb = this.heldWrite;
    this.heldWrite = undefined;
    cb?.();
  }

  private releaseFinal(): void {
    const cb = this.heldFinal;
    this.heldFinal = undefined;
    cb?.();
  }
}
