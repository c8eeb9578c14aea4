import { CodecError } from './errors.js';

/** A v1 info-hash: the SHA-1 of the raw `info` bytes (BEP 3). Only codec's parsers make one. */
export type InfoHash = Buffer & { readonly __brand: 'InfoHash' };

/** BEP 3: SHA-1 digests are 20 bytes. */
export const INFO_HASH_BYTES = 20;

const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** RFC 4648 base32 without padding, as magnet links carry a 20-byte hash (32 characters). */
export function toBase32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let acc = 0;
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32_ALPHABET[(acc >>> bits) & 31];
    }
    acc &= (1 << bits) - 1; // keep only the unread bits so acc never overflows
  }
  if (bits > 0) out += BASE32_ALPHABET[(acc << (5 - bits)) & 31];
  return out;
}

/** Decodes RFC 4648 base32 (case-insensitive, no padding); undefined on any invalid character or stray bits. */
export function fromBase32(text: string): Buffer | undefined {
  const upper = text.toUpperCase();
  const out: number[] = [];
  let bits = 0;
  let acc = 0;
  for (const ch of upper) {
    const v = BASE32_ALPHABET.indexOf(ch);
    if (v < 0) return undefined;
    acc = (acc << 5) | v;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((acc >>> bits) & 0xff);
      acc &= (1 << bits) - 1;
    }
  }
  if (acc !== 0) return undefined; // non-zero padding bits: not a canonical encoding
  return Buffer.from(out);
}

/** Brands 20 bytes as an InfoHash (copies, so the caller's buffer can change freely). */
export function infoHashFromBytes(bytes: Uint8Array): InfoHash {
  if (bytes.length !== INFO_HASH_BYTES) {
    throw new CodecError('CODEC_BAD_INFO_HASH', `an info-hash is ${INFO_HASH_BYTES} bytes, not ${bytes.length}`);
  }
  return Buffer.from(bytes) as InfoHash;
}

/** Parses a 40-character hex or 32-character base32 info-hash (the two forms BEP 9 allows in `btih`). */
export function parseInfoHash(text: string): InfoHash {
  if (/^[0-9a-fA-F]{40}$/.test(text)) return Buffer.from(text, 'hex') as InfoHash;
  if (/^[A-Za-z2-7]{32}$/.test(text)) {
    const b = fromBase32(text);
    if (b?.length === INFO_HASH_BYTES) return b as InfoHash;
  }
  throw new CodecError('CODEC_BAD_INFO_HASH', 'an info-hash is 40 hex or 32 base32 characters');
}

export function infoHashHex(h: InfoHash): string {
  return h.toString('hex');
}

export function infoHashBase32(h: InfoHash): string {
  return toBase32(h);
}
