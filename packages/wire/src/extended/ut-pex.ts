import { BDict, encode, type BEncodable, type BValue } from '@tc/codec';
import { isIPv4, isIPv6 } from 'node:net';
import { WireError } from '../errors.js';
import { decodeExtendedDict, formatIp, ipBytes } from './handshake.js';

/** BEP 11 `added.f` flag bits. */
export const PexFlags = {
  /** The peer prefers encrypted connections. */
  encryption: 0x01,
  /** The peer is a seed (upload only). */
  seed: 0x02,
  /** The peer supports uTP. */
  utp: 0x04,
  /** The peer supports ut_holepunch. */
  holepunch: 0x08,
  /** The sender connected out to this peer, so it is reachable. */
  reachable: 0x10,
} as const;

/**
 * Most peers read from one list. BEP 11 asks senders for at most 50 added and 50 dropped per
 * message; libtorrent reads up to 100. Beyond that we stop reading and say so (`truncated`).
 */
export const MAX_PEX_PEERS_PER_LIST = 100;

export interface PexPeer {
  readonly ip: string;
  readonly port: number;
  /** `added.f` flags (0 when the peer sent none). */
  readonly flags: number;
}

export interface PexAddress {
  readonly ip: string;
  readonly port: number;
}

export interface PexMessage {
  /** IPv4 (`added`) and IPv6 (`added6`) peers together. */
  readonly added: readonly PexPeer[];
  /** IPv4 (`dropped`) and IPv6 (`dropped6`) peers together. */
  readonly dropped: readonly PexAddress[];
  /** Whether a list was longer than MAX_PEX_PEERS_PER_LIST and was cut. */
  readonly truncated?: boolean;
}

interface ListRead {
  addrs: PexAddress[];
  truncated: boolean;
}

function readCompact(v: BValue | undefined, width: 6 | 18, key: string): ListRead {
  if (v === undefined) return { addrs: [], truncated: false };
  if (!Buffer.isBuffer(v)) throw new WireError('WIRE_BAD_EXTENDED', `ut_pex "${key}" is not a byte string`);
  if (v.length % width !== 0) {
    throw new WireError('WIRE_BAD_EXTENDED', `ut_pex "${key}" is ${v.length} bytes, not a multiple of ${width}`, { value: v.length });
  }
  const n = v.length / width;
  const take = Math.min(n, MAX_PEX_PEERS_PER_LIST);
  const addrs: PexAddress[] = [];
  for (let i = 0; i < take; i++) {
    const at = i * width;
    addrs.push({ ip: formatIp(v.subarray(at, at + width - 2))!, port: v.readUInt16BE(at + width - 2) });
  }
  return { addrs, truncated: n > take };
}

function withFlags(list: ListRead, f: BValue | undefined): PexPeer[] {
  // A missing or short flags string is common (older clients): missing flags read as 0.
  const flags = Buffer.isBuffer(f) ? f : undefined;
  return list.addrs.map((a, i) => ({ ...a, flags: flags?.[i] ?? 0 }));
}

/** Parses a ut_pex payload (BEP 11), IPv4 and IPv6 forms. Port-0 entries are dropped as unusable. */
export function decodePex(payload: Uint8Array): PexMessage {
  const d: BDict = decodeExtendedDict(payload, 'ut_pex message');
  const added4 = readCompact(d.get('added'), 6, 'added');
  const added6 = readCompact(d.get('added6'), 18, 'added6');
  const dropped4 = readCompact(d.get('dropped'), 6, 'dropped');
  const dropped6 = readCompact(d.get('dropped6'), 18, 'dropped6');
  const usable = (a: PexAddress): boolean => a.port !== 0;
  const truncated = added4.truncated || added6.truncated || dropped4.truncated || dropped6.truncated;
  return {
    added: [...withFlags(added4, d.get('added.f')), ...withFlags(added6, d.get('added6.f'))].filter(usable),
    dropped: [...dropped4.addrs, ...dropped6.addrs].filter(usable),
    ...(truncated ? { truncated } : {}),
  };
}

function compact(list: readonly PexAddress[]): Buffer {
  return Buffer.concat(
    list.map((a) => {
      if (!Number.isInteger(a.port) || a.port < 1 || a.port > 0xffff) {
        throw new WireError('WIRE_BAD_ARGUMENT', `port must be in 1..65535, got ${a.port}`);
      }
      const port = Buffer.alloc(2);
      port.writeUInt16BE(a.port);
      return Buffer.concat([ipBytes(a.ip), port]);
    }),
  );
}

/** The payload of a ut_pex message; peers are split into the IPv4 and IPv6 keys by address family. */
export function encodePex(m: { readonly added: readonly PexPeer[]; readonly dropped: readonly PexAddress[] }): Buffer {
  const a4 = m.added.filter((p) => isIPv4(p.ip));
  const a6 = m.added.filter((p) => isIPv6(p.ip));
  const d4 = m.dropped.filter((p) => isIPv4(p.ip));
  const d6 = m.dropped.filter((p) => isIPv6(p.ip));
  if (a4.length + a6.length !== m.added.length || d4.length + d6.length !== m.dropped.length) {
    throw new WireError('WIRE_BAD_ARGUMENT', 'every PEX address must be IPv4 or IPv6 text');
  }
  const dict: Record<string, BEncodable> = {
    added: compact(a4),
    'added.f': Buffer.from(a4.map((p) => p.flags & 0xff)),
    dropped: compact(d4),
  };
  if (a6.length > 0) {
    dict['added6'] = compact(a6);
    dict['added6.f'] = Buffer.from(a6.map((p) => p.flags & 0xff));
  }
  if (d6.length > 0) dict['dropped6'] = compact(d6);
  return encode(dict);
}
