import { isIP } from 'node:net';
import { parseIp } from '@tc/codec';
import { encodePex, PexFlags, UT_PEX, type PexAddress, type PexMessage, type PexPeer } from '@tc/wire';
import { addressKey, type PeerAddress } from '../peer/connection.js';
import type { PeerState } from '../torrent/peer-state.js';

/**
 * Peer exchange (BEP 11, `ut_pex`): every minute each peer that speaks it hears which of our
 * connected peers are new since our last message to it and which are gone; what peers tell us goes
 * into the candidate list with source 'pex'. Private torrents (BEP 27) never use it: the torrent
 * does not create a TorrentPex for them, and our extended handshake does not offer ut_pex.
 */

/** BEP 11: "no more than once a minute" per peer, in both directions. */
export const PEX_INTERVAL_MS = 60_000;
/** BEP 11: at most 50 added and 50 dropped peers per message. */
export const PEX_MAX_ADDED = 50;
export const PEX_MAX_DROPPED = 50;
/**
 * A peer's PEX messages closer together than this are ignored (not fatal: clocks and timers jitter,
 * and libtorrent sends its first one soon after the handshake). Bounds what one peer adds per minute.
 */
export const PEX_MIN_INCOMING_GAP_MS = 45_000;
/** Most addresses one peer may teach us over the connection's life: a liar fills only this much of the list. */
export const PEX_MAX_LEARNED_PER_PEER = 500;
/** The first message to a new peer waits this long after it joins, so it carries a settled list. */
export const PEX_FIRST_DELAY_MS = 5_000;

interface PeerPex {
  /** Addresses (keys) this peer has heard from us as added and not since dropped. */
  readonly told: Map<string, PexAddress>;
  lastSent: number;
  lastReceived: number;
  learned: number;
}

export interface PexStats {
  readonly sent: number;
  readonly received: number;
  /** Incoming messages ignored for coming too soon, and addresses refused (ours, unusable, over the cap). */
  readonly ignored: number;
  readonly refused: number;
  readonly learned: number;
}

/** Whether an address may be dialled at all: an IP literal that is not unspecified, multicast or broadcast, and a port. */
export function usablePexAddress(a: PexAddress): boolean {
  if (!Number.isInteger(a.port) || a.port < 1 || a.port > 0xffff) return false;
  const b = parseIp(a.ip);
  if (b === undefined) return false;
  if (b.length === 4) return b[0] !== 0 && b[0]! < 224;
  return !b.every((x) => x === 0) && b[0] !== 0xff;
}

/** What an incoming message adds: its usable, new, not-our-own addresses, at most `room` and PEX_MAX_ADDED. */
export function pexCandidates(m: PexMessage, isSelf: (a: PeerAddress) => boolean, room: number): { peers: PeerAddress[]; refused: number } {
  const seen = new Set<string>();
  const peers: PeerAddress[] = [];
  let refused = 0;
  for (const a of m.added) {
    const addr = { host: a.ip, port: a.port };
    const key = addressKey(addr);
    if (peers.length >= Math.min(room, PEX_MAX_ADDED) || seen.has(key) || !usablePexAddress(a) || isSelf(addr)) {
      refused++;
      continue;
    }
    seen.add(key);
    peers.push(addr);
  }
  return { peers, refused };
}

/** The message for one peer: what is new in `current` since `told`, and what is gone; both cut to BEP 11's limits. */
export function pexDiff(current: ReadonlyMap<string, PexPeer>, told: ReadonlyMap<string, PexAddress>): { added: PexPeer[]; dropped: PexAddress[] } {
  const added: PexPeer[] = [];
  const dropped: PexAddress[] = [];
  for (const [k, p] of current) {
    if (added.length >= PEX_MAX_ADDED) break;
    if (!told.has(k)) added.push(p);
  }
  for (const [k, a] of told) {
    if (dropped.length >= PEX_MAX_DROPPED) break;
    if (!current.has(k)) dropped.push(a);
  }
  return { added, dropped };
}

/**
 * Where a connected peer can be reached, for telling others: the address we dialled, or for an
 * incoming connection its address with the listen port of its extended handshake (none: not told).
 */
export function reachableAddress(p: PeerState, pieceCount: number): PexPeer | undefined {
  const c = p.conn;
  const port = c.outgoing ? c.address.port : p.router.peer?.p;
  if (port === undefined || isIP(c.address.host) === 0) return undefined;
  const a = { ip: c.address.host, port };
  if (!usablePexAddress(a)) return undefined;
  const seed = pieceCount > 0 && p.bitfield.count === pieceCount;
  return { ...a, flags: (c.outgoing ? PexFlags.reachable : 0) | (seed ? PexFlags.seed : 0) };
}

/** One torrent's PEX: ticks send, `receive` learns. */
export class TorrentPex {
  private readonly state = new WeakMap<PeerState, PeerPex>();
  private counts = { sent: 0, received: 0, ignored: 0, refused: 0, learned: 0 };

  constructor(
    private readonly o: {
      readonly isSelf: (a: PeerAddress) => boolean;
      readonly addPeers: (peers: PeerAddress[]) => void;
      readonly pieceCount: number;
      readonly intervalMs?: number;
    },
  ) {}

  private of(p: PeerState, now: number): PeerPex {
    let s = this.state.get(p);
    if (s === undefined) {
      // The first message goes out PEX_FIRST_DELAY_MS after we first see the peer.
      s = { told: new Map(), lastSent: now - (this.o.intervalMs ?? PEX_INTERVAL_MS) + PEX_FIRST_DELAY_MS, lastReceived: -Infinity, learned: 0 };
      this.state.set(p, s);
    }
    return s;
  }

  /** Sends to each peer that speaks ut_pex and is due (once a minute), when there is something to say. */
  tick(peers: Iterable<PeerState>, now: number): void {
    const list = [...peers];
    const current = new Map<string, PexPeer>();
    for (const p of list) {
      const a = reachableAddress(p, this.o.pieceCount);
      if (a !== undefined) current.set(addressKey({ host: a.ip, port: a.port }), a);
    }
    const interval = this.o.intervalMs ?? PEX_INTERVAL_MS;
    // "x>y": peer x was told of peer y in this round. Telling y of x in the same round too makes both
    // dial each other at once; libtorrent's duplicate-connection rule (peer ids compared, random per
    // connection) can then close both connections, and neither retries for minutes. So one side hears
    // of the other one round later, when they are already connected: the newer peer (later in
    // `peers`, which is in connection order) is told first and dials the older one, as after an announce.
    const introduced = new Set<string>();
    for (const p of [...list].reverse()) {
      const id = p.router.remoteId(UT_PEX);
      if (id === undefined || p.conn.isClosed) continue;
      const s = this.of(p, now);
      if (now - s.lastSent < interval) continue;
      const self = reachableAddress(p, this.o.pieceCount);
      const others = new Map(current);
      if (self !== undefined) others.delete(addressKey({ host: self.ip, port: self.port }));
      const selfKey = self === undefined ? undefined : addressKey({ host: self.ip, port: self.port });
      const diff = pexDiff(others, s.told);
      const dropped = diff.dropped;
      const added = selfKey === undefined ? diff.added : diff.added.filter((a) => !introduced.has(`${addressKey({ host: a.ip, port: a.port })}>${selfKey}`));
      if (added.length === 0 && dropped.length === 0) continue;
      if (selfKey !== undefined) for (const a of added) introduced.add(`${selfKey}>${addressKey({ host: a.ip, port: a.port })}`);
      s.lastSent = now;
      for (const a of added) s.told.set(addressKey({ host: a.ip, port: a.port }), { ip: a.ip, port: a.port });
      for (const d of dropped) s.told.delete(addressKey({ host: d.ip, port: d.port }));
      p.conn.send({ type: 'extended', id, payload: encodePex({ added, dropped }) });
      this.counts.sent++;
    }
  }

  /** A peer's ut_pex message (already decoded and bounded by wire): too soon is ignored, the rest filtered and added. */
  receive(p: PeerState, m: PexMessage, now: number): void {
    const s = this.of(p, now);
    this.counts.received++;
    if (now - s.lastReceived < PEX_MIN_INCOMING_GAP_MS) {
      this.counts.ignored++;
      return;
    }
    s.lastReceived = now;
    const { peers, refused } = pexCandidates(m, this.o.isSelf, PEX_MAX_LEARNED_PER_PEER - s.learned);
    this.counts.refused += refused;
    s.learned += peers.length;
    this.counts.learned += peers.length;
    if (peers.length > 0) this.o.addPeers(peers);
  }

  stats(): PexStats {
    return { ...this.counts };
  }
}
