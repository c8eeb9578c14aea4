import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Clock, TimerHandle } from '../clock.js';
import type { PeerLink } from '../net/policy.js';
import type { CancelDial, PeerTransports } from '../net/transport.js';
import { dialFailReason } from '../diagnosis/dial-reason.js';
import type { DialFailReason } from '../diagnosis/snapshot.js';
import { addressKey, READ_BUFFER_BYTES, type PeerAddress, type PeerConnection } from './connection.js';

/** A dial that has not connected by then is abandoned (loopback refuses at once; remote SYNs may hang). */
export const CONNECT_TIMEOUT_MS = 10_000;

export interface DialerOptions {
  readonly clock: Clock;
  /** Dials a peer (injected for tests); default a TCP socket with a reused read buffer. */
  readonly connect?: (a: PeerAddress) => Socket;
  readonly connectTimeoutMs?: number;
  /**
   * The session's transports (uTP/TCP, MSE): dials go through them, for `infoHash`. Without them
   * (or with `connect` given) a dial is a plain TCP socket.
   */
  readonly transports?: PeerTransports | undefined;
  readonly infoHash?: Buffer;
}

/** What `onConnect` gets: the peer's byte stream, whether its reads come through `feed`, and how it was reached. */
export type DialConnected = (stream: Duplex, externalReads: boolean, link: PeerLink) => PeerConnection | undefined;

/**
 * Outgoing TCP dials with a timeout, shared by torrents and metadata fetches. Each outgoing socket
 * gets one reused read buffer (`onread`: no allocation per read), fed to the PeerConnection that
 * `onConnect` makes of it.
 */
export class Dialer {
  private readonly pending = new Map<string, { socket: Socket; timer: TimerHandle }>();
  private readonly viaTransports = new Map<string, CancelDial>();

  constructor(private readonly opts: DialerOptions) {}

  /** Dials in flight. */
  get size(): number {
    return this.pending.size + this.viaTransports.size;
  }

  /**
   * Dials `a`. `onConnect` gets the connected socket and whether its reads come through `feed`
   * (externalReads); it returns the connection, or undefined after destroying the socket.
   * `onFail` is called once when the dial fails or times out, with the error if it threw at once
   * (through the transports: with the error of the last attempt), and why (issue 15).
   */
  dial(a: PeerAddress, onConnect: DialConnected, onFail: (thrown: Error | undefined, reason: DialFailReason) => void): void {
    let conn: PeerConnection | undefined;
    const t = this.opts.transports;
    if (t !== undefined && this.opts.connect === undefined && this.opts.infoHash !== undefined) {
      const key = addressKey(a);
      const cancel = t.dial(
        a,
        {
          infoHash: this.opts.infoHash,
          connectTimeoutMs: this.opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
          feed: (chunk) => conn?.feed(chunk),
          readBufferBytes: READ_BUFFER_BYTES,
        },
        (err, r) => {
          if (this.viaTransports.get(key) !== cancel) return;
          this.viaTransports.delete(key);
          // A refused or timed-out dial is no exception (onFail's error is for a dial that threw at once).
          if (r === undefined) return onFail(undefined, dialFailReason(err, false));
          conn = onConnect(r.stream, r.externalReads, r.link);
        },
      );
      this.viaTransports.set(key, cancel);
      return;
    }
    const external = this.opts.connect === undefined;
    const connect =
      this.opts.connect ??
      ((x: PeerAddress) =>
        netConnect({
          host: x.host,
          port: x.port,
          onread: {
            buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
            callback: (n: number, buf: Uint8Array) => {
              conn?.feed((buf as Buffer).subarray(0, n));
              return true;
            },
          },
        }));
    let socket: Socket;
    try {
      socket = connect(a);
    } catch (e) {
      onFail(e as Error, dialFailReason(e as Error, false));
      return;
    }
    const key = addressKey(a);
    const fail = (err?: Error): void => {
      const d = this.pending.get(key);
      if (d === undefined) return;
      d.timer.cancel();
      this.pending.delete(key);
      socket.destroy();
      onFail(undefined, dialFailReason(err, err === undefined));
    };
    const timer = this.opts.clock.setTimeout(() => fail(), this.opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS);
    this.pending.set(key, { socket, timer });
    socket.once('error', fail);
    socket.once('connect', () => {
      const d = this.pending.get(key);
      if (d === undefined) return;
      d.timer.cancel();
      this.pending.delete(key);
      socket.removeListener('error', fail);
      conn = onConnect(socket, external, { transport: 'tcp', encryption: 'plain' });
    });
  }

  /** Abandons every dial in flight (no callbacks). */
  close(): void {
    for (const d of this.pending.values()) {
      d.timer.cancel();
      d.socket.destroy();
    }
    this.pending.clear();
    for (const cancel of this.viaTransports.values()) cancel();
    this.viaTransports.clear();
  }
}
