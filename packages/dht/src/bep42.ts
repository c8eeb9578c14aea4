import { parseIp } from '@tc/codec';
import { cryptoRandom, NODE_ID_BYTES, type RandomBytes } from './ids.js';

/**
 * BEP 42: a node id derived from the node's external address, so that one party cannot place
 * many nodes next to an info-hash without controlling many addresses. The first 21 bits of the
 * id are the top of CRC32C(masked address | r << 29 (IPv4) or r << 61 (IPv6)); the last byte
 * carries r in its low 3 bits.
 */

/** Bits of the address that feed the hash: BEP 42's masks (IPv4, and the high 64 bits of IPv6). */
const V4_MASK = [0x03, 0x0f, 0x3f, 0xff];
const V6_MASK = [0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff];

/** CRC32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven. */
const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32c(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC32C_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The CRC32C that the id's first 21 bits must match, for address bytes (4 or 16) and r in 0..7. */
function prefixCrc(ip: Buffer, r: number): number {
  const mask = ip.length === 4 ? V4_MASK : V6_MASK;
  const input = Buffer.alloc(mask.length);
  for (let i = 0; i < mask.length; i++) input[i] = ip[i]! & mask[i]!;
  input[0] = input[0]! | ((r & 7) << 5);
  return crc32c(input);
}

/**
 * Addresses exempt from the rule, as the BEP lists them (10/8, 172.16/12, 192.168/16, 169.254/16,
 * 127/8), plus their IPv6 counterparts (::1, fe80::/10 link-local, fc00::/7 unique local) and the
 * unspecified addresses: on these there is no external address to tie an id to.
 */
export function isBep42Exempt(ip: string): boolean {
  const b = parseIp(ip);
  if (b === undefined) return false;
  if (b.length === 4) {
    const [a = 0, c = 0] = b;
    return a === 10 || a === 127 || a === 0 || (a === 172 && (c & 0xf0) === 16) || (a === 192 && c === 168) || (a === 169 && c === 254);
  }
  if (b.subarray(0, 15).every((x) => x === 0)) return b[15] === 1 || b[15] === 0; // ::1 and ::
  if ((b[0]! & 0xfe) === 0xfc) return true;
  return b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;
}

/** A BEP 42 id for our external address `ip` (random bytes everywhere the BEP leaves them free). */
export function secureNodeId(ip: string, random: RandomBytes = cryptoRandom): Buffer {
  const b = parseIp(ip);
  if (b === undefined) throw new TypeError(`secureNodeId: not an IP address: ${ip}`);
  const id = random(NODE_ID_BYTES);
  const r = id[NODE_ID_BYTES - 1]! & 7;
  const crc = prefixCrc(b, r);
  id[0] = (crc >>> 24) & 0xff;
  id[1] = (crc >>> 16) & 0xff;
  id[2] = ((crc >>> 8) & 0xf8) | (id[2]! & 0x07);
  return id;
}

/** Whether `id` conforms to BEP 42 for `ip` (exempt addresses always conform). */
export function isSecureNodeId(id: Buffer, ip: string): boolean {
  if (isBep42Exempt(ip)) return true;
  const b = parseIp(ip);
  if (b === undefined || id.length !== NODE_ID_BYTES) return false;
  const crc = prefixCrc(b, id[NODE_ID_BYTES - 1]! & 7);
  return id[0] === ((crc >>> 24) & 0xff) && id[1] === ((crc >>> 16) & 0xff) && (id[2]! & 0xf8) === ((crc >>> 8) & 0xf8);
}
