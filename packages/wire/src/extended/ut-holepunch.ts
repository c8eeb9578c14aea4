import { isIPv4 } from 'node:net';
import { WireError } from '../errors.js';
import { formatIp, ipBytes } from './handshake.js';

/** The BEP 10 extension name (BEP 55). */
export const UT_HOLEPUNCH = 'ut_holepunch';

/** msg_type (BEP 55). */
export const HolepunchType = {
  /** Initiator → relay: please introduce me to the peer at addr. */
  rendezvous: 0x00,
  /** Relay → both peers: dial (over uTP) the peer at addr. */
  connect: 0x01,
  /** Relay → initiator: the rendezvous for addr cannot be done; err_code says why. */
  error: 0x02,
} as const;

/** err_code (BEP 55). */
export const HolepunchError = {
  /** The endpoint is invalid. */
  NoSuchPeer: 0x01,
  /** The relay is not connected to that peer. */
  NotConnected: 0x02,
  /** That peer does not support ut_holepunch. */
  NoSupport: 0x03,
  /** The endpoint is the relay itself. */
  NoSelf: 0x04,
} as const;

export type HolepunchErrorName = keyof typeof HolepunchError;

const ADDR_IPV4 = 0x00;
const ADDR_IPV6 = 0x01;
/** msg_type + addr_type. */
const HEADER_BYTES = 2;
/** Compact endpoints: 4 or 16 address bytes plus a 2-byte port. */
const ENDPOINT_V4_BYTES = 6;
const ENDPOINT_V6_BYTES = 18;
const ERR_CODE_BYTES = 4;

export type HolepunchMessage =
  | { readonly type: 'rendezvous'; readonly ip: string; readonly port: number }
  | { readonly type: 'connect'; readonly ip: string; readonly port: number }
  /** `code` is kept as sent: codes beyond the BEP's four are the caller's to ignore (see holepunchErrorName). */
  | { readonly type: 'error'; readonly ip: string; readonly port: number; readonly code: number };

/** The BEP's name for an err_code, or undefined for a code it does not define. */
export function holepunchErrorName(code: number): HolepunchErrorName | undefined {
  for (const [name, value] of Object.entries(HolepunchError)) if (value === code) return name as HolepunchErrorName;
  return undefined;
}

const TYPE_NAMES = ['rendezvous', 'connect', 'error'] as const;

/**
 * Parses a ut_holepunch payload. BEP 55 puts a 4-byte err_code (0 unless an error) after the
 * endpoint of every message; libtorrent 2.0 writes it only in error messages. Both forms are read;
 * an error message without its code, an unknown type or address type, or any other length is
 * WIRE_BAD_EXTENDED (BEP 55 says to ignore such messages: the caller may catch and drop).
 * Port 0 and addresses are not judged here: whether to relay or dial is the engine's call.
 */
export function decodeHolepunch(payload: Uint8Array): HolepunchMessage {
  const b = Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  if (b.length < HEADER_BYTES) {
    throw new WireError('WIRE_BAD_EXTENDED', `ut_holepunch message of ${b.length} bytes`, { value: b.length });
  }
  const typeId = b[0]!;
  const type = TYPE_NAMES[typeId];
  if (type === undefined) throw new WireError('WIRE_BAD_EXTENDED', `ut_holepunch message type ${typeId} is not defined`, { value: typeId });
  const addrType = b[1]!;
  if (addrType !== ADDR_IPV4 && addrType !== ADDR_IPV6) {
    throw new WireError('WIRE_BAD_EXTENDED', `ut_holepunch address type ${addrType} is neither IPv4 (0) nor IPv6 (1)`, { value: addrType });
  }
  const endpoint = addrType === ADDR_IPV4 ? ENDPOINT_V4_BYTES : ENDPOINT_V6_BYTES;
  const bare = HEADER_BYTES + endpoint;
  const full = bare + ERR_CODE_BYTES;
  const ok = b.length === full || (b.length === bare && type !== 'error');
  if (!ok) {
    throw new WireError('WIRE_BAD_EXTENDED', `ut_holepunch ${type} of ${b.length} bytes; expected ${type === 'error' ? full : `${bare} or ${full}`}`, {
      value: b.length,
    });
  }
  const ip = formatIp(b.subarray(HEADER_BYTES, HEADER_BYTES + endpoint - 2))!;
  const port = b.readUInt16BE(HEADER_BYTES + endpoint - 2);
  if (type === 'error') return { type, ip, port, code: b.readUInt32BE(bare) };
  return { type, ip, port };
}

/** Encodes a ut_holepunch payload in the BEP's form: the err_code field is always present (0 unless an error). */
export function encodeHolepunch(m: HolepunchMessage): Buffer {
  if (!Number.isInteger(m.port) || m.port < 0 || m.port > 0xffff) {
    throw new WireError('WIRE_BAD_ARGUMENT', `port must be in 0..65535, got ${m.port}`);
  }
  const code = m.type === 'error' ? m.code : 0;
  if (!Number.isInteger(code) || code < 0 || code > 0xffffffff) {
    throw new WireError('WIRE_BAD_ARGUMENT', `err_code must be a 32-bit unsigned integer, got ${code}`);
  }
  const addr = ipBytes(m.ip); // WIRE_BAD_ARGUMENT if not IP text
  const out = Buffer.alloc(HEADER_BYTES + addr.length + 2 + ERR_CODE_BYTES);
  out[0] = HolepunchType[m.type];
  out[1] = isIPv4(m.ip) ? ADDR_IPV4 : ADDR_IPV6;
  addr.copy(out, HEADER_BYTES);
  out.writeUInt16BE(m.port, HEADER_BYTES + addr.length);
  out.writeUInt32BE(code, HEADER_BYTES + addr.length + 2);
  return out;
}
