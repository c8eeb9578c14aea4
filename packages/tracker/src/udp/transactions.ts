import { TrackerError } from '../errors.js';
import { parseUdpReply, peekTransactionId, type UdpReply } from './protocol.js';

/** BEP 15: a connection id may be used for one minute after the client received it. */
export const CONNECTION_ID_LIFETIME_MS = 60_000;

/** Connection ids per tracker address, valid for their lifetime from the moment they arrived. */
export class ConnectionIdCache {
  private readonly ids = new Map<string, { id: bigint; at: number }>();
  constructor(
    private readonly now: () => number,
    private readonly lifetimeMs = CONNECTION_ID_LIFETIME_MS,
  ) {}

  get(key: string): bigint | undefined {
    const e = this.ids.get(key);
    if (e === undefined) return undefined;
    if (this.now() - e.at >= this.lifetimeMs) {
      this.ids.delete(key);
      return undefined;
    }
    return e.id;
  }

  set(key: string, id: bigint): void {
    this.ids.set(key, { id, at: this.now() });
  }

  delete(key: string): void {
    this.ids.delete(key);
  }
}

export interface Endpoint {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export function endpointKey(e: Endpoint): string {
  return e.family === 6 ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

interface Pending {
  readonly from: Endpoint;
  readonly settle: (reply: UdpReply | TrackerError) => void;
}

export type RouteOutcome = 'delivered' | 'unknown-transaction' | 'wrong-source' | 'rejected';

/**
 * Routes replies to waiting requests by transaction id, checking the sender (RELIABILITY #29:
 * a reply with an unknown id, or from another address, is ignored). Pure: no sockets or timers.
 */
export class TransactionTable {
  private readonly pending = new Map<number, Pending>();
  /** Replies ignored because no request matched (unknown id or wrong sender). */
  ignored = 0;

  constructor(private readonly random: () => number) {}

  get size(): number {
    return this.pending.size;
  }

  /** A fresh 32-bit id not in use. */
  allocate(): number {
    for (;;) {
      const id = Math.floor(this.random() * 0x1_0000_0000) >>> 0;
      if (!this.pending.has(id)) return id;
    }
  }

  register(id: number, from: Endpoint, settle: (reply: UdpReply | TrackerError) => void): void {
    this.pending.set(id, { from, settle });
  }

  cancel(id: number): void {
    this.pending.delete(id);
  }

  /** Rejects every waiter (client closing). */
  failAll(err: TrackerError): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) p.settle(err);
  }

  /**
   * Rejects every waiter for one tracker address: its socket reported the address unreachable
   * (ICMP port unreachable on a connected socket), so no reply can come. Returns how many it failed.
   */
  failFrom(from: Endpoint, err: TrackerError): number {
    let n = 0;
    for (const [id, p] of [...this.pending]) {
      if (!sameEndpoint(p.from, from)) continue;
      this.pending.delete(id);
      p.settle(err);
      n++;
    }
    return n;
  }

  route(packet: Buffer, from: Endpoint): RouteOutcome {
    const id = peekTransactionId(packet);
    const p = id === undefined ? undefined : this.pending.get(id);
    if (id === undefined || p === undefined) {
      this.ignored++;
      return 'unknown-transaction';
    }
    if (!sameEndpoint(p.from, from)) {
      this.ignored++;
      return 'wrong-source';
    }
    this.pending.delete(id);
    let reply: UdpReply;
    try {
      reply = parseUdpReply(packet, from.family);
    } catch (e) {
      p.settle(e instanceof TrackerError ? e : new TrackerError('TRACKER_BAD_RESPONSE', String(e), { cause: e }));
      return 'rejected';
    }
    p.settle(reply);
    return 'delivered';
  }
}

function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && normalise(a.address) === normalise(b.address);
}

/** dgram reports IPv4-mapped senders on dual-stack sockets as ::ffff:a.b.c.d. */
function normalise(a: string): string {
  const l = a.toLowerCase();
  return l.startsWith('::ffff:') && l.includes('.') ? l.slice(7) : l;
}
