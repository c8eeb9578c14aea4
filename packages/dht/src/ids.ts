import { randomBytes } from 'node:crypto';

/** BEP 5: node ids and info-hashes share one 160-bit space. */
export const NODE_ID_BYTES = 20;
export const NODE_ID_BITS = NODE_ID_BYTES * 8;

/** An address family: the IPv4 and IPv6 DHTs are separate (BEP 32). */
export type Family = 4 | 6;

/** A peer (BitTorrent over TCP/uTP) as the DHT hands it out: the same shape as a tracker's peer. */
export interface PeerAddress {
  readonly ip: string;
  readonly port: number;
  readonly family: Family;
}

/** A DHT node: its id and the UDP address it answers on. */
export interface Contact {
  readonly id: Buffer;
  readonly ip: string;
  readonly port: number;
  readonly family: Family;
}

/** Where a datagram came from or goes to (an IP literal, never a name). */
export interface Endpoint {
  readonly ip: string;
  readonly port: number;
}

/** Source of random bytes: crypto by default, seeded in tests that need repeatable ids. */
export type RandomBytes = (n: number) => Buffer;
export const cryptoRandom: RandomBytes = (n) => randomBytes(n);

export function randomNodeId(random: RandomBytes = cryptoRandom): Buffer {
  return random(NODE_ID_BYTES);
}

/** `ip:port` (IPv6 in brackets): the key a node or peer is known by. */
export function endpointKey(e: Endpoint): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

/**
 * Which of `a` and `b` is closer to `target` by the XOR metric (BEP 5): negative when `a` is,
 * positive when `b` is, 0 when they are the same id.
 */
export function compareDistance(a: Buffer, b: Buffer, target: Buffer): number {
  for (let i = 0; i < NODE_ID_BYTES; i++) {
    const t = target[i]!;
    const da = a[i]! ^ t;
    const db = b[i]! ^ t;
    if (da !== db) return da - db;
  }
  return 0;
}

/** How many leading bits two ids share (160 when equal). */
export function commonPrefixBits(a: Buffer, b: Buffer): number {
  for (let i = 0; i < NODE_ID_BYTES; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return NODE_ID_BITS;
}

/**
 * A random id that shares exactly `bits` leading bits with `base` (bit `bits` differs), or at least
 * `bits` when `exact` is false: a target inside one bucket's range, for its refresh (BEP 5).
 */
export function randomIdNear(base: Buffer, bits: number, exact: boolean, random: RandomBytes = cryptoRandom): Buffer {
  const out = random(NODE_ID_BYTES);
  const whole = Math.floor(bits / 8);
  base.copy(out, 0, 0, whole);
  const rest = bits % 8;
  if (whole < NODE_ID_BYTES) {
    const keep = rest === 0 ? 0 : (0xff << (8 - rest)) & 0xff;
    let byte = (base[whole]! & keep) | (out[whole]! & ~keep & 0xff);
    if (exact) {
      const flip = 0x80 >> rest;
      byte = (byte & ~flip) | (~base[whole]! & flip);
    }
    out[whole] = byte;
  }
  return out;
}
