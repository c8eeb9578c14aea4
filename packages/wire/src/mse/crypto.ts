import { createDiffieHellman, createHash, type DiffieHellman } from 'node:crypto';
import { WireError } from '../errors.js';
import { INFO_HASH_BYTES } from '../handshake.js';
import { Rc4 } from './rc4.js';

/**
 * The MSE Diffie-Hellman group: the 768-bit prime P (the first Oakley group's prime, which the MSE
 * spec fixes) and generator G = 2. Every MSE peer uses these exact values.
 */
export const MSE_PRIME = Buffer.from(
  'FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563',
  'hex',
);
export const MSE_GENERATOR = 2;
/** Ya, Yb and the secret S are sent and hashed as 96-byte big-endian numbers (768 bits), zero-padded. */
export const MSE_KEY_BYTES = 96;
/** Xa, Xb: 160 bits, as libtorrent uses (the spec asks for at least 128; beyond 180 adds nothing). */
export const MSE_PRIVATE_KEY_BYTES = 20;
/** The first 1024 bytes of each RC4 keystream are discarded (RC4's weak early output). */
export const MSE_RC4_DISCARD_BYTES = 1024;

const PRIME_MINUS_ONE = BigInt('0x' + MSE_PRIME.toString('hex')) - 1n;

/**
 * One DiffieHellman object for the MSE group, made on first use. Node checks the prime each time one
 * is created (about 20 ms here), while a modular exponentiation takes about 0.05 ms: so the object is
 * shared and each call sets its own private key, then computes, all synchronously (nothing can
 * interleave on the one JS thread).
 */
let group: DiffieHellman | undefined;
function dh(privateKey: Uint8Array): DiffieHellman {
  group ??= createDiffieHellman(MSE_PRIME, MSE_GENERATOR);
  group.setPrivateKey(privateKey);
  return group;
}

function leftPad(b: Buffer, bytes: number): Buffer {
  if (b.length === bytes) return b;
  const out = Buffer.alloc(bytes);
  b.copy(out, bytes - b.length);
  return out;
}

/** Y = G^X mod P as 96 bytes. */
export function msePublicKey(privateKey: Uint8Array): Buffer {
  return leftPad(dh(privateKey).generateKeys(), MSE_KEY_BYTES);
}

/**
 * S = Y^X mod P as 96 bytes, after checking the peer's Y is in 2..P-2 (1 and P-1 would make the
 * secret guessable; 0 and ≥ P are not keys).
 */
export function mseSharedSecret(privateKey: Uint8Array, peerPublicKey: Uint8Array): Buffer {
  if (peerPublicKey.length !== MSE_KEY_BYTES) {
    throw new WireError('WIRE_BAD_ARGUMENT', `an MSE public key is ${MSE_KEY_BYTES} bytes, got ${peerPublicKey.length}`);
  }
  const y = BigInt('0x' + Buffer.from(peerPublicKey.buffer, peerPublicKey.byteOffset, peerPublicKey.length).toString('hex'));
  if (y < 2n || y >= PRIME_MINUS_ONE) throw new WireError('WIRE_MSE_BAD_KEY', 'the peer sent a Diffie-Hellman key outside 2..P-2');
  return leftPad(dh(privateKey).computeSecret(peerPublicKey), MSE_KEY_BYTES);
}

function sha1(...parts: (string | Uint8Array)[]): Buffer {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** HASH('req1', S): the initiator's sync marker, sent in the clear after PadA. */
export function mseReq1Hash(secret: Uint8Array): Buffer {
  return sha1('req1', secret);
}

/**
 * HASH('req2', SKEY) with SKEY the info-hash. The initiator sends it XORed with HASH('req3', S), so
 * only a peer that knows the torrent can tell which one is meant. A responder serving many torrents
 * keeps these in a map (see `mseInfoHashLookup`).
 */
export function mseReq2Hash(infoHash: Uint8Array): Buffer {
  if (infoHash.length !== INFO_HASH_BYTES) {
    throw new WireError('WIRE_BAD_ARGUMENT', `an info-hash is ${INFO_HASH_BYTES} bytes, got ${infoHash.length}`);
  }
  return sha1('req2', infoHash);
}

/** HASH('req3', S): the mask over the req2 hash. */
export function mseReq3Hash(secret: Uint8Array): Buffer {
  return sha1('req3', secret);
}

export function xor20(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(20);
  for (let k = 0; k < 20; k++) out[k] = a[k]! ^ b[k]!;
  return out;
}

/** The two RC4 streams of one side: what it sends and what it reads. */
export interface MseCipher {
  /** Encrypts what this side sends. */
  readonly encrypt: Rc4;
  /** Decrypts what this side receives. */
  readonly decrypt: Rc4;
}

function mseRc4(label: 'keyA' | 'keyB', secret: Uint8Array, infoHash: Uint8Array): Rc4 {
  const rc4 = new Rc4(sha1(label, secret, infoHash));
  rc4.skip(MSE_RC4_DISCARD_BYTES);
  return rc4;
}

/**
 * The initiator (A) encrypts with HASH('keyA', S, SKEY) and the responder (B) with
 * HASH('keyB', S, SKEY); each decrypts with the other's. Both already past the 1024 discarded bytes.
 */
export function mseCipher(role: 'initiator' | 'responder', secret: Uint8Array, infoHash: Uint8Array): MseCipher {
  const a = mseRc4('keyA', secret, infoHash);
  const b = mseRc4('keyB', secret, infoHash);
  return role === 'initiator' ? { encrypt: a, decrypt: b } : { encrypt: b, decrypt: a };
}

/** Finds the info-hash whose HASH('req2', info-hash) is the given hash; undefined when none is served. */
export type MseInfoHashLookup = (req2Hash: Buffer) => Buffer | undefined;

/**
 * A lookup over a fixed set of info-hashes. An engine whose torrents come and go can keep its own
 * map from `mseReq2Hash(infoHash)` and pass a function over it instead.
 */
export function mseInfoHashLookup(infoHashes: Iterable<Uint8Array>): MseInfoHashLookup {
  const byReq2 = new Map<string, Buffer>();
  for (const ih of infoHashes) byReq2.set(mseReq2Hash(ih).toString('hex'), Buffer.from(ih));
  return (req2) => byReq2.get(req2.toString('hex'));
}
