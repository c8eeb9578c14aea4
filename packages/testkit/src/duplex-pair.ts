import { Duplex } from 'node:stream';

/**
 * Two in-memory Duplex ends joined like a TCP connection: what one writes the other reads (chunks
 * arrive asynchronously, as from a socket), `end()` on one is 'end' on the other, and destroying
 * one ends the other's readable side and destroys it too (a reset). Backpressure holds: a write's
 * callback waits until the other side's reader has room.
 */
export function duplexPair(opts: { highWaterMark?: number } = {}): [Duplex, Duplex] {
  const a = new End(opts.highWaterMark);
  const b = new End(opts.highWaterMark);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

class End extends Duplex {
  peer: End | undefined;
  private waiting: (() => void) | undefined;

  constructor(highWaterMark: number | undefined) {
    super(highWaterMark === undefined ? { allowHalfOpen: true } : { allowHalfOpen: true, highWaterMark });
  }

  override _read(): void {
    const w = this.peer?.waiting;
    if (w && this.peer) {
      this.peer.waiting = undefined;
      w();
    }
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    const peer = this.peer;
    if (!peer || peer.destroyed) return cb(new Error('the other end is gone'));
    // A copy, as a socket would deliver: the reader may change its chunk (decrypt in place).
    const copy = Buffer.from(chunk);
    setImmediate(() => {
      if (peer.destroyed) return cb();
      if (peer.push(copy)) cb();
      else this.waiting = () => cb();
    });
  }

  override _final(cb: (e?: Error | null) => void): void {
    const peer = this.peer;
    setImmediate(() => {
      if (peer && !peer.destroyed) peer.push(null);
      cb();
    });
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    const peer = this.peer;
    this.waiting?.();
    this.waiting = undefined;
    if (peer && !peer.destroyed) {
      setImmediate(() => {
        peer.push(null);
        peer.destroy();
      });
    }
    cb(err);
  }
}
