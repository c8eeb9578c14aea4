/**
 * BEP 52 hash messages, pure: hash request (21), hashes (22), hash reject (23). Each starts with the
 * same 48 bytes `<pieces root 32><base layer u32><index u32><length u32><proof layers u32>`; hashes
 * then carries `length` hashes of the base layer followed by the uncle hashes of the proof. The
 * decoder yields these ids as `unknown` messages: `decodeHashMessage` reads their payload.
 * Context-free bounds are checked here; the file's geometry (`checkHashRequest` in the engine) decides
 * the rest.
 */
import { WireError } from './errors.js';

export const HashMessageId = { hashRequest: 21, hashes: 22, hashReject: 23 } as const;
/** `<pieces root><base><index><length><proof layers>`. */
export const HASH_REQUEST_BYTES = 48;
export const HASH_BYTES = 32;
/** libtorrent refuses more than 8192 hashes in one request; BEP 52 asks for at least 512 to be served. */
export const MAX_HASHES_PER_REQUEST = 8192;
/** A merkle tree of 2^48 leaves is 4 EiB of data: no layer index or proof is deeper. */
export const MAX_TREE_LAYERS = 48;

export interface HashRequestFields {
  /** The file's `pieces root` (32 bytes). */
  readonly root: Buffer;
  /** Layer of the requested hashes: 0 = 16 KiB blocks, log2(piece length / 16 KiB) = pieces. */
  readonly base: number;
  /** First requested hash in the base layer (a multiple of `length`). */
  readonly index: number;
  /** Hashes requested (a power of two). */
  readonly length: number;
  /** Ancestor layers above the base the proof covers. */
  readonly proofLayers: number;
}
export interface HashRequestMessage extends HashRequestFields {
  readonly type: 'hash-request';
}
export interface HashRejectMessage extends HashRequestFields {
  readonly type: 'hash-reject';
}
export interface HashesMessage extends HashRequestFields {
  readonly type: 'hashes';
  /** `length` base-layer hashes, then the uncles (views of the received bytes). */
  readonly hashes: readonly Buffer[];
}
export type HashMessage = HashRequestMessage | HashRejectMessage | HashesMessage;

export function isHashMessageId(id: number): boolean {
  return id === HashMessageId.hashRequest || id === HashMessageId.hashes || id === HashMessageId.hashReject;
}

function bad(message: string): WireError {
  return new WireError('WIRE_BAD_HASHES', message);
}

function checkFields(f: HashRequestFields): void {
  if (f.root.length !== HASH_BYTES) throw bad(`pieces root is ${f.root.length} bytes, not ${HASH_BYTES}`);
  if (!Number.isInteger(f.base) || f.base < 0 || f.base > MAX_TREE_LAYERS) throw bad(`base layer ${f.base} is outside 0..${MAX_TREE_LAYERS}`);
  if (!Number.isInteger(f.length) || f.length < 1 || f.length > MAX_HASHES_PER_REQUEST || (f.length & (f.length - 1)) !== 0) {
    throw bad(`length ${f.length} is not a power of two in 1..${MAX_HASHES_PER_REQUEST}`);
  }
  if (!Number.isInteger(f.index) || f.index < 0 || f.index > 0xffff_ffff || f.index % f.length !== 0)
    throw bad(`index ${f.index} is not a multiple of length ${f.length}`);
  if (!Number.isInteger(f.proofLayers) || f.proofLayers < 0 || f.proofLayers > MAX_TREE_LAYERS)
    throw bad(`proof layers ${f.proofLayers} is outside 0..${MAX_TREE_LAYERS}`);
}

/** Reads the payload (after the id byte) of message 21, 22 or 23. Throws WireError WIRE_BAD_HASHES. */
export function decodeHashMessage(id: number, payload: Buffer): HashMessage {
  if (!isHashMessageId(id)) throw bad(`message ${id} is not a BEP 52 hash message`);
  if (payload.length < HASH_REQUEST_BYTES) throw bad(`hash message of ${payload.length} bytes, need at least ${HASH_REQUEST_BYTES}`);
  const f: HashRequestFields = {
    root: payload.subarray(0, 32),
    base: payload.readUInt32BE(32),
    index: payload.readUInt32BE(36),
    length: payload.readUInt32BE(40),
    proofLayers: payload.readUInt32BE(44),
  };
  checkFields(f);
  if (id !== HashMessageId.hashes) {
    if (payload.length !== HASH_REQUEST_BYTES) throw bad(`hash request/reject of ${payload.length} bytes, not ${HASH_REQUEST_BYTES}`);
    return { type: id === HashMessageId.hashRequest ? 'hash-request' : 'hash-reject', ...f };
  }
  const rest = payload.length - HASH_REQUEST_BYTES;
  if (rest % HASH_BYTES !== 0) throw bad(`hashes message carries ${rest} bytes, not a whole number of hashes`);
  const n = rest / HASH_BYTES;
  if (n < f.length || n > f.length + f.proofLayers) throw bad(`hashes message carries ${n} hashes for length ${f.length} and ${f.proofLayers} proof layers`);
  const hashes: Buffer[] = [];
  for (let o = HASH_REQUEST_BYTES; o < payload.length; o += HASH_BYTES) hashes.push(payload.subarray(o, o + HASH_BYTES));
  return { type: 'hashes', ...f, hashes };
}

/** A whole framed message (length prefix, id, payload). */
export function encodeHashMessage(m: HashMessage): Buffer {
  checkFields(m);
  const hashes = m.type === 'hashes' ? m.hashes : [];
  for (const h of hashes) if (h.length !== HASH_BYTES) throw new WireError('WIRE_BAD_ARGUMENT', `a hash is ${h.length} bytes, not ${HASH_BYTES}`);
  const id = m.type === 'hash-request' ? HashMessageId.hashRequest : m.type === 'hashes' ? HashMessageId.hashes : HashMessageId.hashReject;
  const body = 1 + HASH_REQUEST_BYTES + hashes.length * HASH_BYTES;
  const b = Buffer.allocUnsafe(4 + body);
  b.writeUInt32BE(body, 0);
  b[4] = id;
  m.root.copy(b, 5);
  b.writeUInt32BE(m.base, 37);
  b.writeUInt32BE(m.index, 41);
  b.writeUInt32BE(m.length, 45);
  b.writeUInt32BE(m.proofLayers, 49);
  let o = 53;
  for (const h of hashes) {
    h.copy(b, o);
    o += HASH_BYTES;
  }
  return b;
}
