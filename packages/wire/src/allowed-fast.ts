import { createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { WireError } from './errors.js';
import { INFO_HASH_BYTES } from './handshake.js';

/** BEP 6 suggests k = 10 pieces in the allowed-fast set. */
export const DEFAULT_ALLOWED_FAST_COUNT = 10;

/**
 * The canonical allowed-fast set of BEP 6 for a peer at `ip` (IPv4 dotted quad): the pieces it
 * may request while choked. Deterministic, so both sides can compute it. Only the top three
 * octets of the address count, so one host cannot collect several sets from its /24.
 * IPv6 is not covered by BEP 6; for it this returns an empty set (no allowed-fast grants).
 */
export function allowedFastSet(infoHash: Uint8Array, ip: string, pieceCount: number, k = DEFAULT_ALLOWED_FAST_COUNT): number[] {
  if (infoHash.length !== INFO_HASH_BYTES) {
    throw new WireError('WIRE_BAD_ARGUMENT', `info-hash must be ${INFO_HASH_BYTES} bytes`);
  }
  if (!Number.isInteger(pieceCount) || pieceCount < 0 || !Number.isInteger(k) || k < 0) {
    throw new WireError('WIRE_BAD_ARGUMENT', 'piece count and k must be non-negative integers');
  }
  if (!isIPv4(ip)) return [];
  const want = Math.min(k, pieceCount); // the loop below could not end with k > pieceCount
  const octets = ip.split('.').map(Number);
  let x: Buffer = Buffer.concat([Buffer.from([octets[0]!, octets[1]!, octets[2]!, 0]), infoHash]);
  const set: number[] = [];
  const seen = new Set<number>();
  while (set.length < want) {
    x = createHash('sha1').update(x).digest();
    for (let i = 0; i < 5 && set.length < want; i++) {
      const index = x.readUInt32BE(i * 4) % pieceCount;
      if (!seen.has(index)) {
        seen.add(index);
        set.push(index);
      }
    }
  }
  return set;
}
