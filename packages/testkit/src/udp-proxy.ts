import { createSocket, type Socket } from 'node:dgram';

/**
 * A user-space UDP proxy on loopback that drops, delays (with jitter), duplicates and reorders
 * datagrams, since this kernel has no netem qdisc. Clients send to the proxy's port; each client
 * address gets its own upstream socket towards the target (like a NAT), so the target sees one
 * peer per client and its replies find their way back.
 *
 * Every decision (drop? how late? copy? hold back?) comes from a PRNG seeded by `seed`, drawn in
 * datagram order per direction: the same seed and the same datagram sequence give the same fate
 * to each datagram.
 */

export interface UdpImpairment {
  /** Probability that a datagram is dropped (0–1). */
  readonly loss?: number;
  /** Fixed one-way delay, ms. */
  readonly delayMs?: number;
  /** Extra delay drawn uniformly from [0, jitterMs) per datagram; datagrams overtake each other. */
  readonly jitterMs?: number;
  /** Probability that a datagram is delivered twice (the copy with its own delay). */
  readonly duplicate?: number;
  /** Probability that a datagram is held back by `reorderDelayMs` more, so later ones pass it. */
  readonly reorder?: number;
  /** Default 20 ms. */
  readonly reorderDelayMs?: number;
}

export interface UdpProxyOptions {
  readonly target: { readonly host: string; readonly port: number };
  /** Client → target. */
  readonly up?: UdpImpairment;
  /** Target → client. */
  readonly down?: UdpImpairment;
  readonly seed?: number;
}

export interface UdpDirectionStats {
  received: number;
  forwarded: number;
  dropped: number;
  duplicated: number;
  reordered: number;
}

export interface UdpProxy {
  /** Clients send here (127.0.0.1). */
  readonly port: number;
  readonly stats: { readonly up: UdpDirectionStats; readonly down: UdpDirectionStats };
  /** Changes the impairment of one direction from now on. */
  set(direction: 'up' | 'down', impairment: UdpImpairment): void;
  /** Closes every socket; datagrams still delayed are discarded. */
  close(): Promise<void>;
}

/** mulberry32: a small, fast, seedable PRNG (uniform in [0, 1)). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DEFAULT_REORDER_DELAY_MS = 20;
/** Upstream sockets kept at most (one per client address); enough for any test. */
const MAX_CLIENTS = 1024;

function checkProbability(name: string, v: number | undefined): void {
  if (v !== undefined && !(v >= 0 && v <= 1)) throw new Error(`udp proxy: ${name} ${v} is not a probability`);
}

function checkImpairment(i: UdpImpairment): void {
  checkProbability('loss', i.loss);
  checkProbability('duplicate', i.duplicate);
  checkProbability('reorder', i.reorder);
  for (const [k, v] of [
    ['delayMs', i.delayMs],
    ['jitterMs', i.jitterMs],
    ['reorderDelayMs', i.reorderDelayMs],
  ] as const) {
    if (v !== undefined && !(v >= 0 && Number.isFinite(v))) throw new Error(`udp proxy: ${k} ${v} is not a duration`);
  }
}

class Direction {
  readonly stats: UdpDirectionStats = { received: 0, forwarded: 0, dropped: 0, duplicated: 0, reordered: 0 };
  impairment: UdpImpairment;

  constructor(
    impairment: UdpImpairment,
    private readonly random: () => number,
    private readonly timers: Set<NodeJS.Timeout>,
  ) {
    checkImpairment(impairment);
    this.impairment = impairment;
  }

  /** Decides the datagram's fate and sends it (or its copies) through `send` when due. */
  pass(buf: Buffer, send: (b: Buffer) => void): void {
    const i = this.impairment;
    this.stats.received++;
    // Draw every number for every datagram, so one datagram's fate does not shift the next one's.
    const rLoss = this.random();
    const rDup = this.random();
    const rReorder = this.random();
    const rJitter1 = this.random();
    const rJitter2 = this.random();
    if (rLoss < (i.loss ?? 0)) {
      this.stats.dropped++;
      return;
    }
    let delay = (i.delayMs ?? 0) + rJitter1 * (i.jitterMs ?? 0);
    if (rReorder < (i.reorder ?? 0)) {
      delay += i.reorderDelayMs ?? DEFAULT_REORDER_DELAY_MS;
      this.stats.reordered++;
    }
    this.later(buf, delay, send);
    if (rDup < (i.duplicate ?? 0)) {
      this.stats.duplicated++;
      this.later(buf, (i.delayMs ?? 0) + rJitter2 * (i.jitterMs ?? 0), send);
    }
  }

  private later(buf: Buffer, delayMs: number, send: (b: Buffer) => void): void {
    if (delayMs <= 0) {
      this.stats.forwarded++;
      send(buf);
      return;
    }
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.stats.forwarded++;
      send(buf);
    }, delayMs);
    this.timers.add(t);
  }
}

export async function startUdpProxy(opts: UdpProxyOptions): Promise<UdpProxy> {
  const seed = opts.seed ?? 1;
  const timers = new Set<NodeJS.Timeout>();
  // Separate streams per direction, so traffic one way does not change decisions the other way.
  const up = new Direction(opts.up ?? {}, seededRandom(seed), timers);
  const down = new Direction(opts.down ?? {}, seededRandom(seed ^ 0x9e3779b9), timers);
  const front = createSocket('udp4');
  const upstreams = new Map<string, Socket>();
  let closed = false;
  await bind(front);

  front.on('message', (msg, rinfo) => {
    if (closed) return;
    const k = `${rinfo.address}:${rinfo.port}`;
    let upstream = upstreams.get(k);
    if (upstream === undefined) {
      if (upstreams.size >= MAX_CLIENTS) return;
      const s = createSocket('udp4');
      upstream = s;
      upstreams.set(k, s);
      s.on('message', (reply) => {
        if (!closed) down.pass(reply, (b) => front.send(b, rinfo.port, rinfo.address));
      });
      s.on('error', () => undefined);
      // Bind synchronously-enough: a send on an unbound dgram socket binds it to a free port.
      s.bind(0, '127.0.0.1');
    }
    const u = upstream;
    up.pass(msg, (b) => {
      if (!closed) u.send(b, opts.target.port, opts.target.host);
    });
  });
  front.on('error', () => undefined);

  return {
    port: front.address().port,
    stats: { up: up.stats, down: down.stats },
    set(direction, impairment) {
      checkImpairment(impairment);
      (direction === 'up' ? up : down).impairment = impairment;
    },
    async close() {
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const all = [front, ...upstreams.values()];
      upstreams.clear();
      await Promise.all(all.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

function bind(s: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      s.off('error', reject);
      resolve();
    });
  });
}
