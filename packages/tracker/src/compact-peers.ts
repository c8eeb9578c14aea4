import type { Peer } from './types.js';

/** BEP 23: 4 address bytes + 2 port bytes. */
export const COMPACT_PEER4_BYTES = 6;
/** BEP 7: 16 address bytes + 2 port bytes. */
export const COMPACT_PEER6_BYTES = 18;
/**
 * Most peers kept from one reply. Real trackers send 50–200; a reply claiming millions is hostile
 * (RELIABILITY #28) and must not become millions of objects.
 */
export const MAX_PEERS_PER_REPLY = 2000;

export interface PeerList {
  readonly peers: Peer[];
  /** Entries dropped: port 0, a ragged tail, or beyond the cap. */
  readonly skipped: number;
}

export function ipv4ToString(b: Uint8Array, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** RFC 5952 text: lower-case hex, leading zeros dropped, the longest run of zero groups as `::`. */
export function ipv6ToString(b: Uint8Array, at: number): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((b[at + 2 * i] ?? 0) << 8) | (b[at + 2 * i + 1] ?? 0));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  const head = hex.slice(0, bestStart).join(':');
  const tail = hex.slice(bestStart + bestLen).join(':');
  return `${head}::${tail}`;
}

/**
 * Parses a compact peer list (BEP 23 for IPv4, BEP 7 for IPv6). A ragged tail is ignored and
 * counted; port 0 is skipped; at most `max` peers are built, so a huge list costs one pass of counting only.
 */
export function parseCompactPeers(bytes: Uint8Array, family: 4 | 6, max = MAX_PEERS_PER_REPLY): PeerList {
  const size = family === 4 ? COMPACT_PEER4_BYTES : COMPACT_PEER6_BYTES;
  const count = Math.floor(bytes.length / size);
  const ragged = bytes.length % size === 0 ? 0 : 1;
  const peers: Peer[] = [];
  let skipped = ragged;
  for (let i = 0; i < count; i++) {
    if (peers.length >= max) {
      skipped += count - i;
      break;
    }
    const at = i * size;
    const ip = family === 4 ? ipv4ToString(bytes, at) : ipv6ToString(bytes, at);
    const port = ((bytes[at + size - 2] ?? 0) << 8) | (bytes[at + size - 1] ?? 0);
    if (port === 0) {
      skipped++;
      continue;
    }
    peers.push({ ip, port, family });
  }
  return { peers, skipped };
}

/** The compact form of peers (for fake trackers in tests and for PEX-like uses). */
export function encodeCompactPeers(peers: readonly Peer[], family: 4 | 6): Buffer {
  const size = family === 4 ? COMPACT_PEER4_BYTES : COMPACT_PEER6_BYTES;
  const list = peers.filter((p) => p.family === family);
  const out = Buffer.alloc(list.length * size);
  list.forEach((p, i) => {
    const at = i * size;
    if (family === 4) {
      p.ip.split('.').forEach((o, k) => out.writeUInt8(Number(o) & 0xff, at + k));
    } else {
      expandIpv6(p.ip).copy(out, at);
    }
    out.writeUInt16BE(p.port, at + size - 2);
  });
  return out;
}

/** 16 bytes of an IPv6 text address (no zone, no embedded IPv4 form). */
export function expandIpv6(ip: string): Buffer {
  const out = Buffer.alloc(16);
  const [head = '', tail] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.slice(0, 8).forEach((g, i) => out.writeUInt16BE(parseInt(g, 16) & 0xffff, 2 * i));
  return out;
}
