import { ManualClock } from '@tc/clock';
import { UtpSocket, type RemoteAddress, type UtpSocketOptions } from '../src/socket.js';

/**
 * UtpSockets on a pretend network, on a ManualClock: each socket has an address, datagrams sent
 * to an address are queued, and `pump()` delivers them and runs deferred acks until nothing moves.
 * Anything sent to an address nobody owns is kept in `stray` (what a hostile test inspects).
 */
export class MemoryNet {
  readonly clock = new ManualClock(1_000_000);
  private readonly sockets = new Map<string, UtpSocket>();
  private queue: { buf: Buffer; from: RemoteAddress; to: string }[] = [];
  private deferred: (() => void)[] = [];
  readonly stray: { buf: Buffer; to: string }[] = [];

  socket(address: string, port: number, opts: UtpSocketOptions = {}): UtpSocket {
    const from = { address, port };
    const s = new UtpSocket(
      { send: (buf, toPort, toHost) => this.queue.push({ buf: Buffer.from(buf), from, to: `${toHost}:${toPort}` }) },
      { clock: this.clock, defer: (fn) => this.deferred.push(fn), ...opts },
    );
    this.sockets.set(`${address}:${port}`, s);
    return s;
  }

  /** Injects a datagram as if `from` had sent it to `to`. */
  inject(buf: Buffer, from: RemoteAddress, to: string): void {
    this.queue.push({ buf, from, to });
  }

  /** Every datagram delivered, as it went (the last 2000): templates for a fuzzer. */
  readonly recent: Buffer[] = [];

  /** One round: delivers what is queued now and runs the deferred acks. Returns whether anything moved. */
  step(): boolean {
    const q = this.queue;
    this.queue = [];
    const d = this.deferred;
    this.deferred = [];
    for (const x of q) {
      const s = this.sockets.get(x.to);
      if (this.recent.push(x.buf) > 2000) this.recent.shift();
      if (s === undefined) this.stray.push({ buf: x.buf, to: x.to });
      else s.receive(x.buf, x.from);
    }
    for (const f of d) f();
    return q.length > 0 || d.length > 0;
  }

  pump(maxRounds = 1_000_000): void {
    for (let i = 0; i < maxRounds; i++) if (!this.step()) return;
    throw new Error('memory net did not settle');
  }

  /** Advances the clock in steps, pumping after each. */
  advance(ms: number, step = 50): void {
    for (let t = 0; t < ms; t += step) {
      this.clock.advance(Math.min(step, ms - t));
      this.pump();
    }
  }
}
