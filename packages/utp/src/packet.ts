import { UtpError } from './errors.js';

/**
 * The uTP packet (BEP 29, version 1): a 20-byte big-endian header, a chain of extensions, then
 * payload.
 *
 * ```
 *  0       4       8               16              24              32
 *  +-------+-------+---------------+---------------+---------------+
 *  | type  | ver   | extension     | connection_id                 |
 *  | timestamp_microseconds                                        |
 *  | timestamp_difference_microseconds                             |
 *  | wnd_size                                                      |
 *  | seq_nr                        | ack_nr                        |
 * ```
 * Each extension is `next_extension (1 byte), len (1 byte), len bytes`; extension 1 is the
 * selective ack.
 */

export const PacketType = { Data: 0, Fin: 1, State: 2, Reset: 3, Syn: 4 } as const;
export type PacketType = (typeof PacketType)[keyof typeof PacketType];

export const PACKET_TYPE_NAMES = ['DATA', 'FIN', 'STATE', 'RESET', 'SYN'] as const;

/** The only version BEP 29 defines. */
export const UTP_VERSION = 1;
export const HEADER_BYTES = 20;

/** Extension ids: selective ack (BEP 29); the 8-byte "extension bits" of early uTorrent; libtorrent's close reason. */
export const EXTENSION_SACK = 1;
export const EXTENSION_BITS = 2;
export const EXTENSION_CLOSE_REASON = 3;
const EXTENSION_BITS_BYTES = 8;

/**
 * Chained extensions we walk before giving up. Real peers send at most two (sack, close reason);
 * the cap stops a packet made of hundreds of empty extensions from costing a loop each.
 */
export const MAX_EXTENSIONS = 8;

/** We send the selective-ack bitmask in whole 32-bit words (BEP 29); the length byte caps it at 252. */
export const SACK_WORD_BYTES = 4;
export const MAX_SACK_BYTES = 252;

export interface PacketHeader {
  readonly type: PacketType;
  /** The receiver's id for this connection (a SYN carries the sender's receive id instead). */
  readonly connectionId: number;
  /** The sender's clock when it sent the packet, microseconds mod 2^32. */
  readonly timestampUs: number;
  /** The sender's latest one-way delay sample of our packets, microseconds (0 = none yet). */
  readonly timestampDiffUs: number;
  /** Bytes the sender can still take into its receive buffer. */
  readonly windowBytes: number;
  readonly seq: number;
  /** The last sequence number the sender received in order. */
  readonly ack: number;
}

export interface Packet extends PacketHeader {
  /**
   * Selective ack bitmask, when present: bit `i` (byte `i >> 3`, bit `i & 7`, least significant
   * first) says packet `ack + 2 + i` arrived.
   */
  readonly sack: Uint8Array | undefined;
  /** A view of the input after the extensions. */
  readonly payload: Buffer;
}

export interface PacketInit extends PacketHeader {
  readonly sack?: Uint8Array;
  readonly payload?: Uint8Array;
}

/**
 * Parses one datagram. Throws `UtpError` (`UTP_TRUNCATED`, `UTP_BAD_VERSION`, `UTP_BAD_TYPE`,
 * `UTP_BAD_EXTENSION`, `UTP_TOO_MANY_EXTENSIONS`, `UTP_UNEXPECTED_PAYLOAD`). The payload is a
 * view of `buf`, not a copy.
 */
export function decodePacket(buf: Uint8Array): Packet {
  if (buf.length < HEADER_BYTES) {
    throw new UtpError('UTP_TRUNCATED', `uTP packet of ${buf.length} bytes is shorter than its header`, {
      value: buf.length,
      limit: HEADER_BYTES,
    });
  }
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const first = b[0]!;
  const version = first & 0x0f;
  if (version !== UTP_VERSION) {
    throw new UtpError('UTP_BAD_VERSION', `uTP version ${version} (only 1 exists)`, { value: version, limit: UTP_VERSION });
  }
  const typeNibble = first >> 4;
  if (typeNibble > PacketType.Syn) {
    throw new UtpError('UTP_BAD_TYPE', `uTP packet type ${typeNibble} is not one of 0-4`, { value: typeNibble, limit: PacketType.Syn });
  }
  const type = typeNibble as PacketType;
  let sack: Uint8Array | undefined;
  let extension = b[1]!;
  let at = HEADER_BYTES;
  let count = 0;
  while (extension !== 0) {
    if (++count > MAX_EXTENSIONS) {
      throw new UtpError('UTP_TOO_MANY_EXTENSIONS', `more than ${MAX_EXTENSIONS} chained uTP extensions`, { limit: MAX_EXTENSIONS });
    }
    if (at + 2 > b.length) {
      throw new UtpError('UTP_TRUNCATED', 'uTP extension header runs past the end of the packet', { value: b.length });
    }
    const next = b[at]!;
    const len = b[at + 1]!;
    const start = at + 2;
    if (start + len > b.length) {
      throw new UtpError('UTP_TRUNCATED', `uTP extension of ${len} bytes runs past the end of the packet`, {
        value: len,
        limit: b.length - start,
      });
    }
    if (extension === EXTENSION_SACK) {
      // BEP 29 says whole 32-bit words, but libtorrent sends as many bytes as the gap needs
      // (1, 2, 3, ...): accept any length. An empty one says nothing. A second one in the same
      // packet would be meaningless; the first wins.
      if (len > 0) sack ??= b.subarray(start, start + len);
    } else if (extension === EXTENSION_BITS && len !== EXTENSION_BITS_BYTES) {
      // libutp drops such packets: the extension-bits header is exactly 8 bytes.
      throw new UtpError('UTP_BAD_EXTENSION', `extension-bits header of ${len} bytes (must be 8)`, { value: len, limit: EXTENSION_BITS_BYTES });
    }
    // Other extensions (extension bits, close reason, future ones) are skipped, as BEP 29 asks.
    extension = next;
    at = start + len;
  }
  const payload = b.subarray(at);
  if (payload.length > 0 && (type === PacketType.Syn || type === PacketType.State || type === PacketType.Reset)) {
    throw new UtpError('UTP_UNEXPECTED_PAYLOAD', `uTP ${PACKET_TYPE_NAMES[type]} packet carries ${payload.length} bytes of payload`, {
      value: payload.length,
      limit: 0,
    });
  }
  // Plain byte arithmetic: the length was checked above, and this runs once per datagram.
  return {
    type,
    connectionId: (b[2]! << 8) | b[3]!,
    timestampUs: u32(b, 4),
    timestampDiffUs: u32(b, 8),
    windowBytes: u32(b, 12),
    seq: (b[16]! << 8) | b[17]!,
    ack: (b[18]! << 8) | b[19]!,
    sack,
    payload,
  };
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function putU32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = v >>> 16;
  b[at + 2] = v >>> 8;
  b[at + 3] = v;
}

function checkField(name: string, v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) {
    throw new UtpError('UTP_BAD_ARGUMENT', `uTP ${name} ${v} is outside 0..${max}`, { value: v, limit: max });
  }
}

/** Writes the 20-byte header at `buf[0..20)`; `extension` is the first extension id (0 = none). */
export function writeHeader(buf: Uint8Array, h: PacketHeader, extension: number): void {
  writeHeaderFields(buf, h.type, extension, h.connectionId, h.timestampUs, h.timestampDiffUs, h.windowBytes, h.seq, h.ack);
}

/**
 * `writeHeader` with the fields as arguments, for the per-packet path (no object per packet).
 * Fields are taken modulo their width; callers pass values already in range.
 */
export function writeHeaderFields(
  buf: Uint8Array,
  type: PacketType,
  extension: number,
  connectionId: number,
  timestampUs: number,
  timestampDiffUs: number,
  windowBytes: number,
  seq: number,
  ack: number,
): void {
  buf[0] = (type << 4) | UTP_VERSION;
  buf[1] = extension;
  buf[2] = connectionId >>> 8;
  buf[3] = connectionId;
  putU32(buf, 4, timestampUs);
  putU32(buf, 8, timestampDiffUs);
  putU32(buf, 12, windowBytes);
  buf[16] = seq >>> 8;
  buf[17] = seq;
  buf[18] = ack >>> 8;
  buf[19] = ack;
}

/** Encodes a whole packet (header, optional selective ack, payload) into a new buffer. */
export function encodePacket(p: PacketInit): Buffer {
  checkField('type', p.type, PacketType.Syn);
  checkField('connection id', p.connectionId, 0xffff);
  checkField('timestamp', p.timestampUs, 0xffffffff);
  checkField('timestamp difference', p.timestampDiffUs, 0xffffffff);
  checkField('window', p.windowBytes, 0xffffffff);
  checkField('seq_nr', p.seq, 0xffff);
  checkField('ack_nr', p.ack, 0xffff);
  const sack = p.sack;
  if (sack !== undefined && (sack.length === 0 || sack.length % SACK_WORD_BYTES !== 0 || sack.length > MAX_SACK_BYTES)) {
    throw new UtpError('UTP_BAD_ARGUMENT', `selective ack of ${sack.length} bytes is not a multiple of 4 in 4..${MAX_SACK_BYTES}`, {
      value: sack.length,
    });
  }
  const payload = p.payload ?? EMPTY;
  const extBytes = sack === undefined ? 0 : 2 + sack.length;
  const buf = Buffer.allocUnsafe(HEADER_BYTES + extBytes + payload.length);
  writeHeader(buf, p, sack === undefined ? 0 : EXTENSION_SACK);
  if (sack !== undefined) {
    buf[HEADER_BYTES] = 0; // no further extension
    buf[HEADER_BYTES + 1] = sack.length;
    buf.set(sack, HEADER_BYTES + 2);
  }
  buf.set(payload, HEADER_BYTES + extBytes);
  return buf;
}

const EMPTY = new Uint8Array(0);

/** Whether bit `i` of a selective-ack mask is set (packet `ack + 2 + i` arrived). */
export function sackHas(mask: Uint8Array, i: number): boolean {
  return ((mask[i >> 3] ?? 0) & (1 << (i & 7))) !== 0;
}
