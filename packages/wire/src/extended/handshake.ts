import { asDict, BDict, CodecError, decode, encode, type BEncodable, type BValue } from '@tc/codec';
import { isIP } from 'node:net';
import { WireError } from '../errors.js';
import { EXTENDED_CLIENT_NAME } from '../identity.js';
import { MAX_METADATA_BYTES } from './ut-metadata.js';

/** BEP 10: extended message id 0 is the handshake; the rest are assigned in `m`. */
export const EXTENDED_HANDSHAKE_ID = 0;
/** Extended handshakes and PEX payloads are shallow dictionaries; deeper nesting is hostile. */
const MAX_EXTENDED_DEPTH = 8;
/** A generous bound on values in one extension payload (the byte cap is the decoder's). */
const MAX_EXTENDED_TOKENS = 10_000;
/**
 * Most extension names kept for one peer, across all its handshakes (BEP 10 lets a peer re-send its
 * handshake to add names, so without a bound a peer could grow the map at will). Real clients
 * announce about a dozen.
 */
export const MAX_EXTENSION_NAMES = 128;

/** What a peer said in its BEP 10 handshake. Optional fields are absent when missing or malformed. */
export interface ExtendedHandshake {
  /** Extension name → the id the peer wants us to use; names mapped to 0 are disabled, so left out. */
  readonly m: ReadonlyMap<string, number>;
  /** Names this handshake mapped to 0: a re-sent handshake disables them (BEP 10). */
  readonly disabled: ReadonlySet<string>;
  /** Client name and version (untrusted text: sanitize before printing). */
  readonly v?: string;
  /** The peer's listen port. */
  readonly p?: number;
  /** How many outstanding requests the peer queues. */
  readonly reqq?: number;
  /** Our address as the peer sees it (IPv4 or IPv6 text). */
  readonly yourip?: string;
  /** Size of the info dictionary in bytes (BEP 9), when the peer has it. */
  readonly metadataSize?: number;
  /** The whole dictionary, for keys not named here (`upload_only`, `e`, `ipv6`, …). */
  readonly dict: BDict;
}

export interface ExtendedHandshakeInit {
  /** Extension name → the id we assign (1..255), or 0 to disable one announced earlier. */
  readonly m: Readonly<Record<string, number>> | ReadonlyMap<string, number>;
  /** Default: tc's own name and version. */
  readonly v?: string;
  readonly p?: number;
  readonly reqq?: number;
  /** The peer's address as we see it, IPv4 or IPv6 text. */
  readonly yourip?: string;
  readonly metadataSize?: number;
}

function decodeDict(payload: Uint8Array, what: string): BDict {
  let v: BValue;
  try {
    // Lenient: real clients send unsorted keys; structure and bounds are still enforced.
    v = decode(payload, { mode: 'lenient', maxDepth: MAX_EXTENDED_DEPTH, maxTokens: MAX_EXTENDED_TOKENS });
  } catch (e) {
    if (e instanceof CodecError) throw new WireError('WIRE_BAD_EXTENDED', `${what} is not valid bencode: ${e.message}`, { cause: e });
    throw e;
  }
  if (!(v instanceof BDict)) throw new WireError('WIRE_BAD_EXTENDED', `${what} is not a dictionary`);
  return v;
}

export { decodeDict as decodeExtendedDict };

const intIn = (v: BValue | undefined, min: number, max: number): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : undefined;

/** Formats 4 or 16 raw address bytes as text. */
export function formatIp(bytes: Uint8Array): string | undefined {
  if (bytes.length === 4) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  if (bytes.length === 16) {
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
    // Compress the longest run of zero groups, as RFC 5952 asks.
    let best = -1;
    let bestLen = 1;
    for (let i = 0; i < 8;) {
      if (groups[i] !== '0') {
        i++;
        continue;
      }
      let j = i;
      while (j < 8 && groups[j] === '0') j++;
      if (j - i > bestLen) {
        best = i;
        bestLen = j - i;
      }
      i = j;
    }
    if (best < 0) return groups.join(':');
    return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
  }
  return undefined;
}

/** The raw bytes of an IPv4 or IPv6 address in text. */
export function ipBytes(ip: string): Buffer {
  const family = isIP(ip);
  if (family === 4) return Buffer.from(ip.split('.').map(Number));
  if (family === 6) {
    const [head = '', tail] = ip.split('::') as [string, string | undefined];
    const parse = (s: string): number[] => {
      if (s === '') return [];
      const parts = s.split(':');
      const last = parts[parts.length - 1]!;
      if (last.includes('.')) {
        // An embedded IPv4 tail (::ffff:1.2.3.4) fills two groups.
        const o = last.split('.').map(Number);
        parts.splice(-1, 1, ((o[0]! << 8) | o[1]!).toString(16), ((o[2]! << 8) | o[3]!).toString(16));
      }
      return parts.map((p) => parseInt(p, 16));
    };
    const h = parse(head);
    const t = tail === undefined ? [] : parse(tail);
    const groups = tail === undefined ? h : [...h, ...new Array<number>(8 - h.length - t.length).fill(0), ...t];
    const out = Buffer.alloc(16);
    groups.forEach((g, i) => out.writeUInt16BE(g, i * 2));
    return out;
  }
  throw new WireError('WIRE_BAD_ARGUMENT', `not an IP address: ${JSON.stringify(ip)}`);
}

/**
 * Parses a BEP 10 handshake payload. Structure errors (not bencode, not a dict, `m` not a dict)
 * are WIRE_BAD_EXTENDED; a bad optional field is dropped, as libtorrent does; a `metadata_size`
 * that is ≤ 0 or beyond MAX_METADATA_BYTES is WIRE_METADATA_BAD_SIZE (RELIABILITY #18).
 */
export function decodeExtendedHandshake(payload: Uint8Array): ExtendedHandshake {
  const dict = decodeDict(payload, 'extended handshake');
  const m = new Map<string, number>();
  const disabled = new Set<string>();
  const mv = dict.get('m');
  if (mv !== undefined) {
    let md: BDict;
    try {
      md = asDict(mv, 'm');
    } catch (e) {
      throw new WireError('WIRE_BAD_EXTENDED', 'extended handshake key "m" is not a dictionary', { cause: e });
    }
    for (const [name, entry] of md.entries) {
      const id = intIn(entry.value, 0, 255);
      // BEP 10: id 0 disables the extension. Out-of-range ids are ignored rather than trusted.
      if (id === undefined) continue;
      const text = Buffer.from(name, 'latin1').toString('utf8');
      if (id === 0) {
        if (disabled.size < MAX_EXTENSION_NAMES) disabled.add(text);
      } else if (m.size < MAX_EXTENSION_NAMES) m.set(text, id);
    }
  }
  const out: { -readonly [K in keyof ExtendedHandshake]: ExtendedHandshake[K] } = { m, disabled, dict };
  const v = dict.get('v');
  if (Buffer.isBuffer(v)) out.v = v.toString('utf8');
  const p = intIn(dict.get('p'), 1, 0xffff);
  if (p !== undefined) out.p = p;
  const reqq = intIn(dict.get('reqq'), 1, Number.MAX_SAFE_INTEGER);
  if (reqq !== undefined) out.reqq = reqq;
  const yourip = dict.get('yourip');
  if (Buffer.isBuffer(yourip)) {
    const ip = formatIp(yourip);
    if (ip !== undefined) out.yourip = ip;
  }
  const size = dict.get('metadata_size');
  if (size !== undefined) {
    if (typeof size === 'bigint' || typeof size !== 'number' || size <= 0 || size > MAX_METADATA_BYTES) {
      throw new WireError('WIRE_METADATA_BAD_SIZE', `metadata_size ${String(size)} is outside 1..${MAX_METADATA_BYTES}`, {
        ...(typeof size === 'number' ? { value: size } : {}),
        limit: MAX_METADATA_BYTES,
      });
    }
    out.metadataSize = size;
  }
  return out;
}

/**
 * The peer's state after a re-sent handshake `next` (BEP 10: "the m dictionary is additive"; it
 * carries only changed names). Names `next` maps to 0 are removed, others are set, the rest kept;
 * new names beyond MAX_EXTENSION_NAMES are ignored. Other fields take `next`'s value when present.
 */
export function mergeExtendedHandshake(prev: ExtendedHandshake, next: ExtendedHandshake): ExtendedHandshake {
  const m = new Map(prev.m);
  for (const name of next.disabled) m.delete(name);
  for (const [name, id] of next.m) if (m.has(name) || m.size < MAX_EXTENSION_NAMES) m.set(name, id);
  const out: { -readonly [K in keyof ExtendedHandshake]: ExtendedHandshake[K] } = { m, disabled: next.disabled, dict: next.dict };
  const v = next.v ?? prev.v;
  if (v !== undefined) out.v = v;
  const p = next.p ?? prev.p;
  if (p !== undefined) out.p = p;
  const reqq = next.reqq ?? prev.reqq;
  if (reqq !== undefined) out.reqq = reqq;
  const yourip = next.yourip ?? prev.yourip;
  if (yourip !== undefined) out.yourip = yourip;
  const metadataSize = next.metadataSize ?? prev.metadataSize;
  if (metadataSize !== undefined) out.metadataSize = metadataSize;
  return out;
}

/** The payload of a BEP 10 handshake (send it as `encodeMessage({ type: 'extended', id: 0, payload })`). */
export function encodeExtendedHandshake(h: ExtendedHandshakeInit): Buffer {
  const m = new Map<string, BEncodable>();
  const entries = h.m instanceof Map ? [...h.m.entries()] : Object.entries(h.m);
  for (const [name, id] of entries) {
    if (!Number.isInteger(id) || id < 0 || id > 255) {
      throw new WireError('WIRE_BAD_ARGUMENT', `extension id for ${name} must be in 0..255, got ${id}`);
    }
    m.set(name, id);
  }
  const dict = new Map<string, BEncodable>([['m', m]]);
  dict.set('v', h.v ?? EXTENDED_CLIENT_NAME);
  if (h.p !== undefined) dict.set('p', h.p);
  if (h.reqq !== undefined) dict.set('reqq', h.reqq);
  if (h.yourip !== undefined) dict.set('yourip', ipBytes(h.yourip));
  if (h.metadataSize !== undefined) dict.set('metadata_size', h.metadataSize);
  return encode(dict);
}
