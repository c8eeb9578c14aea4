import { HEADER_BYTES, PacketType, UTP_VERSION } from './packet.js';

/** Who owns a datagram that arrived on a UDP port shared by uTP and the DHT. */
export type DatagramOwner = 'utp' | 'dht' | 'unknown';

/** KRPC messages (BEP 5) are bencoded dictionaries, so their first byte is `d`. */
const BENCODE_DICT = 0x64;

/**
 * Decides from its first byte (and length) whom a datagram belongs to, as libtorrent does on its
 * shared port: `d` (0x64) is a KRPC message for the DHT; a byte with version 1 in the low nibble
 * and a type 0–4 in the high one (0x01 DATA, 0x11 FIN, 0x21 STATE, 0x31 RESET, 0x41 SYN) in a
 * datagram of at least the 20-byte header is uTP; anything else is `unknown` (count and drop).
 * The two sets cannot overlap: 0x64 has version nibble 4.
 */
export function classifyDatagram(buf: Uint8Array): DatagramOwner {
  const first = buf[0];
  if (first === undefined) return 'unknown';
  if (first === BENCODE_DICT) return 'dht';
  if ((first & 0x0f) === UTP_VERSION && first >> 4 <= PacketType.Syn && buf.length >= HEADER_BYTES) return 'utp';
  return 'unknown';
}
