import type { Clock, TimerHandle } from '@tc/clock';
import { DhtError } from './errors.js';
import { cryptoRandom, endpointKey, type Endpoint, type Family, type RandomBytes } from './ids.js';
import { encodeQuery, type EncodeOptions, type ErrorMessage, type Query, type ResponseMessage } from './krpc.js';

/**
 * Our outstanding queries, matched to replies by transaction id and by the address they were sent
 * to (a reply from elsewhere with a guessed id is ignored). Each query has a short timeout, after
 * which it is "slow" (a lookup may ask someone else meanwhile), and a full timeout.
 */

/** After this long without a reply a query is slow: lookups stop waiting on it (libtorrent: 1 s on its short timeout too). */
export const QUERY_SLOW_MS = 1_000;
/** After this long a query has failed (libtorrent gives up after 15 s; most answers come in well under a second). */
export const QUERY_TIMEOUT_MS = 5_000;
/** Our own queries in flight at once: bounds memory and what a lookup storm can send. */
export const MAX_QUERIES_IN_FLIGHT = 512;

export type Target = Endpoint & { readonly family: Family };

interface Pending {
  readonly to: Target;
  readonly method: Query['method'];
  readonly resolve: (r: ResponseMessage) => void;
  readonly reject: (e: DhtError) => void;
  readonly timers: TimerHandle[];
}

export interface RpcOptions {
  readonly clock: Clock;
  readonly send: (datagram: Buffer, to: Target) => void;
  readonly encode: EncodeOptions;
  readonly timeoutMs?: number;
  readonly slowMs?: number;
  readonly maxInFlight?: number;
  readonly random?: RandomBytes;
}

export class Rpc {
  private readonly opts: RpcOptions;
  private readonly pending = new Map<number, Pending>();
  private nextTid: number;

  constructor(opts: RpcOptions) {
    this.opts = opts;
    // A random start: ids from a restarted node do not line up with replies meant for the last run.
    this.nextTid = (opts.random ?? cryptoRandom)(2).readUInt16BE(0);
  }

  /** What every message we send carries (`v`). */
  get encodeOptions(): EncodeOptions {
    return this.opts.encode;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Sends a query; resolves with the reply, rejects with DHT_TIMEOUT, DHT_ERROR_REPLY, DHT_BUSY or DHT_STOPPED. */
  query(to: Target, q: Query, onSlow?: () => void): Promise<ResponseMessage> {
    if (this.pending.size >= (this.opts.maxInFlight ?? MAX_QUERIES_IN_FLIGHT)) {
      return Promise.reject(new DhtError('DHT_BUSY', `${this.pending.size} queries already in flight`));
    }
    let tid = this.nextTid;
    while (this.pending.has(tid)) tid = (tid + 1) & 0xffff;
    this.nextTid = (tid + 1) & 0xffff;
    const t = Buffer.alloc(2);
    t.writeUInt16BE(tid);
    const datagram = encodeQuery(t, q, this.opts.encode);
    return new Promise<ResponseMessage>((resolve, reject) => {
      const clock = this.opts.clock;
      const timers: TimerHandle[] = [
        clock.setTimeout(() => {
          this.pending.delete(tid);
          reject(new DhtError('DHT_TIMEOUT', `${q.method} to ${endpointKey(to)}: no reply`));
        }, this.opts.timeoutMs ?? QUERY_TIMEOUT_MS),
      ];
      if (onSlow) timers.push(clock.setTimeout(onSlow, this.opts.slowMs ?? QUERY_SLOW_MS));
      this.pending.set(tid, { to, method: q.method, resolve, reject, timers });
      this.opts.send(datagram, to);
    });
  }

  /**
   * Hands a reply to the query it answers. Returns the query's target and method, or undefined
   * when nothing outstanding matches (unknown id, or a reply from another address).
   */
  settle(m: ResponseMessage | ErrorMessage, from: Endpoint): { readonly to: Target; readonly method: Query['method'] } | undefined {
    if (m.t.length !== 2) return undefined;
    const tid = m.t.readUInt16BE(0);
    const p = this.pending.get(tid);
    if (!p || p.to.ip !== from.ip || p.to.port !== from.port) return undefined;
    this.pending.delete(tid);
    for (const t of p.timers) t.cancel();
    if (m.type === 'response') p.resolve(m);
    else {
      p.reject(
        new DhtError('DHT_ERROR_REPLY', `${p.method} to ${endpointKey(p.to)}: error ${m.code} ${JSON.stringify(m.message)}`, {
          remoteCode: m.code,
        }),
      );
    }
    return { to: p.to, method: p.method };
  }

  /** Rejects every outstanding query (the node stops). */
  failAll(): void {
    for (const p of this.pending.values()) {
      for (const t of p.timers) t.cancel();
      p.reject(new DhtError('DHT_STOPPED', 'the DHT node stopped'));
    }
    this.pending.clear();
  }
}
