import { ManualClock } from '@tc/clock';
import type { ConnectionOptions } from '../src/connection-options.js';
import { UtpConnection } from '../src/connection.js';
import type { UtpError } from '../src/errors.js';
import { PACKET_TYPE_NAMES, decodePacket, type Packet } from '../src/packet.js';

/**
 * Two UtpConnections wired to each other through in-memory queues, on a ManualClock: no sockets.
 * `pump()` delivers queued packets (through an optional `filter` that may drop, or hold them for
 * later) and runs the deferred acks, until nothing moves.
 */

export interface Side {
  conn: UtpConnection;
  /** Packets this side sent, not yet delivered. */
  out: Buffer[];
  /** Every packet this side sent, decoded. */
  sent: Packet[];
  received: Buffer[];
  ended: boolean;
  connected: boolean;
  finished: boolean;
  closed: { error: UtpError | undefined } | undefined;
  released: boolean;
  drains: number;
  /** Bytes delivered and not yet "read" by the application (shrinks the advertised window). */
  unread: number;
  /** Whether the application reads everything at once (default) or leaves it in `unread`. */
  autoRead: boolean;
}

export type Direction = 'a→b' | 'b→a';
/** Returns 'drop' to lose the packet, 'hold' to keep it for `release`, or 'pass'. */
export type Filter = (p: Packet, dir: Direction) => 'drop' | 'hold' | 'pass';

export class Pair {
  readonly clock = new ManualClock(10_000);
  readonly a: Side;
  b!: Side;
  private readonly deferred: (() => void)[] = [];
  held: { buf: Buffer; dir: Direction }[] = [];
  filter: Filter = () => 'pass';

  constructor(
    private readonly opts: Partial<ConnectionOptions> & { isnA?: number; isnB?: number } = {},
    startB = true,
  ) {
    this.a = this.side();
    this.a.conn = UtpConnection.connect({ recvId: 500, sendId: 501 }, this.handlers(this.a), this.connOpts(this.a, opts.isnA ?? 0x1000));
    if (startB) this.startB();
  }

  /** Answers the SYN that `a` sent first. */
  startB(): void {
    const syn = this.a.out.shift()!;
    this.b = this.side();
    this.b.conn = UtpConnection.accept(decodePacket(syn), this.handlers(this.b), this.connOpts(this.b, this.opts.isnB ?? 0x2000));
  }

  private side(): Side {
    return {
      conn: undefined as unknown as UtpConnection,
      out: [],
      sent: [],
      received: [],
      ended: false,
      connected: false,
      finished: false,
      closed: undefined,
      released: false,
      drains: 0,
      unread: 0,
      autoRead: true,
    };
  }

  private connOpts(s: Side, isn: number): ConnectionOptions {
    return {
      clock: this.clock,
      defer: (fn) => this.deferred.push(fn),
      random16: () => isn,
      readBufferedBytes: () => s.unread,
      ...this.opts,
    };
  }

  private handlers(s: Side): Parameters<typeof UtpConnection.connect>[1] {
    return {
      send: (b) => {
        const copy = Buffer.from(b); // retransmissions rewrite the same buffer
        s.out.push(copy);
        s.sent.push(decodePacket(copy));
      },
      connect: () => {
        s.connected = true;
      },
      data: (p) => {
        s.received.push(Buffer.from(p));
        if (!s.autoRead) s.unread += p.length;
      },
      end: () => {
        s.ended = true;
      },
      drain: () => {
        s.drains++;
      },
      finished: () => {
        s.finished = true;
      },
      close: (error) => {
        s.closed = { error };
      },
      release: () => {
        s.released = true;
      },
    };
  }

  /** Delivers packets both ways and runs deferred acks until nothing is left to do. */
  pump(maxRounds = 100_000): void {
    for (let i = 0; i < maxRounds; i++) {
      const aOut = this.a.out.splice(0);
      const bOut = this.b.out.splice(0);
      for (const buf of aOut) this.deliver(buf, 'a→b');
      for (const buf of bOut) this.deliver(buf, 'b→a');
      const fns = this.deferred.splice(0);
      for (const f of fns) f();
      if (aOut.length === 0 && bOut.length === 0 && fns.length === 0) return;
    }
    throw new Error('pump did not settle');
  }

  /** Delivers held packets (in the order given, e.g. reversed to reorder). */
  release(order: (h: { buf: Buffer; dir: Direction }[]) => { buf: Buffer; dir: Direction }[] = (h) => h): void {
    const h = order(this.held.splice(0));
    for (const x of h) this.to(x.dir).conn.receive(decodePacket(x.buf));
  }

  /** Advances the clock by `ms`, pumping after every timer, 10 ms at a time. */
  advance(ms: number, step = 10): void {
    for (let t = 0; t < ms; t += step) {
      this.clock.advance(Math.min(step, ms - t));
      this.pump();
    }
  }

  private to(dir: Direction): Side {
    return dir === 'a→b' ? this.b : this.a;
  }

  private deliver(buf: Buffer, dir: Direction): void {
    const p = decodePacket(buf);
    const verdict = this.filter(p, dir);
    if (verdict === 'drop') return;
    if (verdict === 'hold') {
      this.held.push({ buf, dir });
      return;
    }
    this.to(dir).conn.receive(p);
  }

  /** The application reads what it left unread. */
  read(s: Side): void {
    s.unread = 0;
    s.conn.readDrained();
  }
}

export const typeName = (p: Packet): string => PACKET_TYPE_NAMES[p.type];

export function concat(bufs: Buffer[]): Buffer {
  return Buffer.concat(bufs);
}
