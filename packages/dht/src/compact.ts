import { formatIp, IPV4_BYTES, IPV6_BYTES, parseIp } from '@tc/codec';
import { DhtError } from './errors.js';
import { NODE_ID_BYTES, type Contact, type Family, type PeerAddress } from './ids.js';

/** BEP 5 "compact IP-address/port info": 4 address bytes + 2 port bytes. */
export const COMPACT_PEER4_BYTES = IPV4_BYTES + 2;
/** BEP 32: 16 address bytes + 2 port bytes. */
export const COMPACT_PEER6_BYTES = IPV6_BYTES + 2;
/** BEP 5 "compact node info": 20-byte id + compact IPv4 address. */
export const COMPACT_NODE4_BYTES = NODE_ID_BYTES + COMPACT_PEER4_BYTES;
/** BEP 32: 20-byte id + compact IPv6 address. */
export const COMPACT_NODE6_BYTES = NODE_ID_BYTES + COMPACT_PEER6_BYTES;

/**
 * Most nodes read from one `nodes`/`nodes6` string. An honest node sends k = 8; a string of
 * thousands is hostile and is cut here rather than turned into thousands of objects.
 */
export const MAX_NODES_PER_REPLY = 32;

function endpointBytes(ip: string, port: number, family: Family, field: string): Buffer {
  const addr = parseIp(ip);
  if (addr === undefined || addr.length !== (family === 4 ? IPV4_BYTES : IPV6_BYTES)) {
    throw new DhtError('DHT_BAD_ARGUMENT', `${field}: ${JSON.stringify(ip)} is not an IPv${family} address`, { field });
  }
  if (!Number.isInteger(port) || port < 1 || port > 0xffff) {
    throw new DhtError('DHT_BAD_ARGUMENT', `${field}: port ${port} is outside 1..65535`, { field });
  }
  const out = Buffer.alloc(addr.length + 2);
  addr.copy(out);
  out.writeUInt16BE(port, addr.length);
  return out;
}

/** One compact peer (6 or 18 bytes). */
export function encodeCompactPeer(p: { readonly ip: string; readonly port: number }): Buffer {
  const family: Family = p.ip.includes(':') ? 6 : 4;
  return endpointBytes(p.ip, p.port, family, 'peer');
}

/** Reads one compact peer string; undefined for a wrong length or port 0 (unusable, skipped by callers). */
export function decodeCompactPeer(b: Buffer): PeerAddress | undefined {
  if (b.length !== COMPACT_PEER4_BYTES && b.length !== COMPACT_PEER6_BYTES) return undefined;
  const port = b.readUInt16BE(b.length - 2);
  if (port === 0) return undefined;
  const ip = formatIp(b.subarray(0, b.length - 2))!;
  return { ip, port, family: b.length === COMPACT_PEER4_BYTES ? 4 : 6 };
}

/** Concatenated compact node info for one family; every contact must be of that family. */
export function encodeCompactNodes(nodes: readonly Contact[], family: Family): Buffer {
  return Buffer.concat(
    nodes.map((n) => {
      if (n.id.length !== NODE_ID_BYTES) throw new DhtError('DHT_BAD_ARGUMENT', 'a node id is 20 bytes', { field: 'nodes' });
      return Buffer.concat([n.id, endpointBytes(n.ip, n.port, family, family === 4 ? 'nodes' : 'nodes6')]);
    }),
  );
}

export interface NodeList {
  readonly nodes: Contact[];
  /** Entries not used: port 0, or beyond `max`. */
  readonly skipped: number;
}

/**
 * Parses a `nodes` (26-byte entries) or `nodes6` (38-byte) string. A length that is not a whole
 * number of entries is malformed (DHT_BAD_FIELD); entries with port 0 are skipped; at most `max`
 * are built.
 */
export function decodeCompactNodes(b: Buffer, family: Family, field: string, max = MAX_NODES_PER_REPLY): NodeList {
  const size = family === 4 ? COMPACT_NODE4_BYTES : COMPACT_NODE6_BYTES;
  if (b.length % size !== 0) {
    throw new DhtError('DHT_BAD_FIELD', `${field} is ${b.length} bytes, not a multiple of ${size}`, { field });
  }
  const count = b.length / size;
  const nodes: Contact[] = [];
  let skipped = 0;
  for (let i = 0; i < count; i++) {
    if (nodes.length >= max) {
      skipped += count - i;
      break;
    }
    const at = i * size;
    const port = b.readUInt16BE(at + size - 2);
    if (port === 0) {
      skipped++;
      continue;
    }
    // Copies: the datagram buffer is not kept alive by a table entry.
    const id = Buffer.from(b.subarray(at, at + NODE_ID_BYTES));
    const ip = formatIp(b.subarray(at + NODE_ID_BYTES, at + size - 2))!;
    nodes.push({ id, ip, port, family });
  }
  return { nodes, skipped };
}

/** `ip` + port as BEP 42's top-level `ip` field carries them (our view of the requester's address). */
export function encodeCompactEndpoint(ip: string, port: number): Buffer {
  return endpointBytes(ip, port, ip.includes(':') ? 6 : 4, 'ip');
}
