import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { MessageDecoder, type DecoderOptions, type Incoming } from '../src/index.js';

/**
 * A byte stream (a TCP socket, or an MSE stream over one) plus our decoder, for live tests against real clients: no engine, just the
 * codecs. `next` waits for the first message matching a predicate (earlier ones are kept in `seen`).
 */
export class PeerConn {
  readonly seen: Incoming[] = [];
  private readonly decoder: MessageDecoder;
  private readonly waiters: { match: (m: Incoming) => boolean; resolve: (m: Incoming) => void; from: number }[] = [];
  private failure: Error | undefined;
  private readonly failWaiters = new Set<(e: Error) => void>();

  private constructor(
    readonly socket: Duplex,
    opts: DecoderOptions,
  ) {
    this.decoder = new MessageDecoder(opts);
    socket.on('data', (chunk: Buffer) => {
      let msgs: Incoming[];
      try {
        msgs = this.decoder.push(chunk);
      } catch (e) {
        this.fail(e as Error);
        socket.destroy();
        return;
      }
      for (const m of msgs) {
        this.seen.push(m);
        for (const w of [...this.waiters]) {
          if (this.seen.length - 1 >= w.from && w.match(m)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            w.resolve(m);
          }
        }
      }
    });
    socket.on('error', (e) => this.fail(e));
    socket.on('close', () => this.fail(new Error('peer closed the connection')));
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const f of this.failWaiters) f(this.failure);
  }

  static open(port: number, opts: DecoderOptions): Promise<PeerConn> {
    return new Promise((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.off('error', reject);
        resolve(new PeerConn(s, opts));
      });
      s.once('error', reject);
    });
  }

  /** Our decoder over an already open stream (e.g. after an MSE handshake). */
  static over(stream: Duplex, opts: DecoderOptions): PeerConn {
    return new PeerConn(stream, opts);
  }

  send(...bufs: Buffer[]): void {
    for (const b of bufs) this.socket.write(b);
  }

  /** The first message (from now, or already seen when `past`) for which `match` holds. */
  next<T extends Incoming>(match: (m: Incoming) => m is T, timeoutMs = 10_000, past = true): Promise<T> {
    if (past) {
      const hit = this.seen.find(match);
      if (hit) return Promise.resolve(hit);
    }
    return new Promise<T>((resolve, reject) => {
      const onFail = (e: Error): void => {
        clearTimeout(timer);
        reject(e);
      };
      const timer = setTimeout(() => {
        this.failWaiters.delete(onFail);
        reject(new Error('timed out waiting for a message'));
      }, timeoutMs);
      this.waiters.push({
        match,
        from: this.seen.length,
        resolve: (m) => {
          clearTimeout(timer);
          this.failWaiters.delete(onFail);
          resolve(m as T);
        },
      });
      if (this.failure) onFail(this.failure);
      else this.failWaiters.add(onFail);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.destroy();
    });
  }
}

export const is =
  <K extends Incoming['type']>(type: K) =>
  (m: Incoming): m is Extract<Incoming, { type: K }> =>
    m.type === type;
