import { WireError } from './errors.js';
import { PEER_ID_BYTES } from './identity.js';

/** BEP 3: `<pstrlen=19><pstr><8 reserved><20 info-hash><20 peer id>`. */
export const PROTOCOL_STRING = 'BitTorrent protocol';
const PSTR = Buffer.from(PROTOCOL_STRING, 'latin1');
export const HANDSHAKE_BYTES = 1 + PSTR.length + 8 + 20 + PEER_ID_BYTES; // 68
export const INFO_HASH_BYTES = 20;
const RESERVED_OFFSET = 1 + PSTR.length;
const INFO_HASH_OFFSET = RESERVED_OFFSET + 8;
const PEER_ID_OFFSET = INFO_HASH_OFFSET + INFO_HASH_BYTES;

/** Reserved-bit features we know by name, with their (byte, mask) in the 8 reserved bytes. */
export const RESERVED_BITS = {
  /** BEP 10 extension protocol: reserved[5] |= 0x10. */
  extended: [5, 0x10],
  /** BEP 6 fast extension: reserved[7] |= 0x04. */
  fast: [7, 0x04],
  /** BEP 5 DHT (the peer sends `port` messages): reserved[7] |= 0x01. */
  dht: [7, 0x01],
  /** BEP 52: the peer speaks BitTorrent v2 (hash request/hashes/hash reject): reserved[7] |= 0x10. */
  v2: [7, 0x10],
} as const satisfies Record<string, readonly [number, number]>;

export type ReservedFeature = keyof typeof RESERVED_BITS;
export type Features = Readonly<Partial<Record<ReservedFeature, boolean>>>;

/** 8 reserved bytes with the named features set. */
export function makeReserved(features: Features): Buffer {
  const r = Buffer.alloc(8);
  for (const name of Object.keys(RESERVED_BITS) as ReservedFeature[]) {
    if (features[name] === true) setReservedBit(r, name, true);
  }
  return r;
}

export function hasReservedBit(reserved: Uint8Array, name: ReservedFeature): boolean {
  const [byte, mask] = RESERVED_BITS[name];
  return ((reserved[byte] ?? 0) & mask) !== 0;
}

export function setReservedBit(reserved: Uint8Array, name: ReservedFeature, on: boolean): void {
  const [byte, mask] = RESERVED_BITS[name];
  reserved[byte] = on ? reserved[byte]! | mask : reserved[byte]! & ~mask;
}

/** The named features in a reserved field. */
export function readFeatures(reserved: Uint8Array): Required<Features> {
  return {
    extended: hasReservedBit(reserved, 'extended'),
    fast: hasReservedBit(reserved, 'fast'),
    dht: hasReservedBit(reserved, 'dht'),
    v2: hasReservedBit(reserved, 'v2'),
  };
}

/** A feature is in use on a connection only when both sides set its bit (BEP 6, BEP 10). */
export function negotiate(local: Features, remote: Features): Required<Features> {
  return {
    extended: local.extended === true && remote.extended === true,
    fast: local.fast === true && remote.fast === true,
    dht: local.dht === true && remote.dht === true,
    v2: local.v2 === true && remote.v2 === true,
  };
}

export interface Handshake {
  /** The 8 reserved bytes as sent (unknown bits kept). */
  readonly reserved: Buffer;
  readonly infoHash: Buffer;
  readonly peerId: Buffer;
}

export interface HandshakeInit {
  readonly infoHash: Uint8Array;
  readonly peerId: Uint8Array;
  /** Either raw reserved bytes, or features by name. */
  readonly reserved?: Uint8Array;
  readonly features?: Features;
}

export function encodeHandshake(h: HandshakeInit): Buffer {
  if (h.infoHash.length !== INFO_HASH_BYTES) {
    throw new WireError('WIRE_BAD_ARGUMENT', `info-hash must be ${INFO_HASH_BYTES} bytes, got ${h.infoHash.length}`);
  }
  if (h.peerId.length !== PEER_ID_BYTES) {
    throw new WireError('WIRE_BAD_ARGUMENT', `peer id must be ${PEER_ID_BYTES} bytes, got ${h.peerId.length}`);
  }
  const reserved = h.reserved ?? makeReserved(h.features ?? {});
  if (reserved.length !== 8) throw new WireError('WIRE_BAD_ARGUMENT', 'reserved must be 8 bytes');
  const out = Buffer.alloc(HANDSHAKE_BYTES);
  out[0] = PSTR.length;
  PSTR.copy(out, 1);
  out.set(reserved, RESERVED_OFFSET);
  out.set(h.infoHash, INFO_HASH_OFFSET);
  out.set(h.peerId, PEER_ID_OFFSET);
  return out;
}

/**
 * Checks handshake bytes as soon as they arrive, so a peer speaking another protocol (or MSE-encrypted
 * bytes) is rejected before 68 bytes are buffered. `bytes` are the handshake's bytes from `from` on.
 */
export function checkHandshakeBytes(bytes: Uint8Array, from: number): void {
  for (let j = 0; j < bytes.length && from + j < RESERVED_OFFSET; j++) {
    const i = from + j;
    const want = i === 0 ? PSTR.length : PSTR[i - 1];
    if (bytes[j] !== want) {
      throw new WireError(
        'WIRE_BAD_PSTR',
        i === 0 ? `handshake starts with byte ${bytes[j]}, expected 19` : 'handshake protocol string is not "BitTorrent protocol"',
      );
    }
  }
}

/** Parses exactly 68 handshake bytes. Subarrays of `bytes` are copied so the result outlives the chunk. */
export function decodeHandshake(bytes: Uint8Array): Handshake {
  if (bytes.length !== HANDSHAKE_BYTES) {
    throw new WireError('WIRE_BAD_HANDSHAKE', `handshake is ${bytes.length} bytes, expected ${HANDSHAKE_BYTES}`, {
      value: bytes.length,
      limit: HANDSHAKE_BYTES,
    });
  }
  checkHandshakeBytes(bytes, 0);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    reserved: Buffer.from(b.subarray(RESERVED_OFFSET, INFO_HASH_OFFSET)),
    infoHash: Buffer.from(b.subarray(INFO_HASH_OFFSET, PEER_ID_OFFSET)),
    peerId: Buffer.from(b.subarray(PEER_ID_OFFSET, HANDSHAKE_BYTES)),
  };
}
