import { randomBytes } from 'node:crypto';
import { WireError } from '../errors.js';
import { MSE_PRIVATE_KEY_BYTES, msePublicKey, type MseCipher } from './crypto.js';

/** PadA..PadD are 0..512 bytes (MSE spec); a longer len(PadC)/len(PadD) is an error. */
export const MSE_MAX_PAD_BYTES = 512;
/** The verification constant: 8 zero bytes, sent encrypted. */
export const MSE_VC_BYTES = 8;
/**
 * How far past the peer's key its sync marker may start: PadA/PadB are at most 512 bytes, so the
 * marker (req1 hash, 20 bytes; encrypted VC, 8 bytes) must start within the next 512 bytes
 * (libtorrent and Transmission search the same window).
 */
export const MSE_SYNC_WINDOW_BYTES = 512;
/** len(IA) is a 16-bit field; by default the responder takes any IA that field can describe. */
export const MSE_MAX_IA_BYTES = 0xffff;

/** crypto_provide / crypto_select bits. */
export const MSE_CRYPTO_PLAINTEXT = 0x01;
export const MSE_CRYPTO_RC4 = 0x02;

/**
 * After the handshake: `rc4` encrypts the rest of the stream; `plaintext` leaves it in the clear (only
 * the handshake itself, including the IA, was encrypted).
 */
export type MseMethod = 'plaintext' | 'rc4';

export const methodBit = (m: MseMethod): number => (m === 'rc4' ? MSE_CRYPTO_RC4 : MSE_CRYPTO_PLAINTEXT);

export function methodBits(methods: readonly MseMethod[]): number {
  let bits = 0;
  for (const m of methods) bits |= methodBit(m);
  if (bits === 0) throw new WireError('WIRE_BAD_ARGUMENT', 'MSE needs at least one crypto method');
  return bits;
}

/** What a finished handshake hands to the caller. */
export interface MseResult {
  readonly method: MseMethod;
  /** The torrent the connection is for: the initiator's own, or the one the responder found. */
  readonly infoHash: Buffer;
  /** Responder: the initiator's initial payload, decrypted (usually its BitTorrent handshake). Initiator: empty. */
  readonly ia: Buffer;
  /** Bytes that arrived after the handshake, decrypted if the method is rc4: the start of the payload stream. */
  readonly rest: Buffer;
  /** For rc4, the ciphers for the rest of the connection, already past the handshake; undefined for plaintext. */
  readonly cipher: MseCipher | undefined;
}

/** One step of a handshake: bytes to send now (maybe empty), and where the handshake stands. */
export type MseStep =
  | { readonly state: 'need-more'; readonly send: Buffer }
  | { readonly state: 'established'; readonly send: Buffer; readonly result: MseResult }
  | { readonly state: 'failed'; readonly send: Buffer; readonly error: WireError };

/** Where randomness comes from (keys, pad lengths, pad bytes); tests pass a seeded one. */
export type RandomBytes = (n: number) => Buffer;

export interface MseCommonOptions {
  /** Default: node:crypto randomBytes. */
  readonly random?: RandomBytes;
  /** Largest PadA/PadB to send (0..512, default 512); the length is uniform in 0..this. */
  readonly maxPadBytes?: number;
}

export const defaultRandom: RandomBytes = (n) => randomBytes(n);

export function checkMaxPad(max: number): number {
  if (!Number.isInteger(max) || max < 0 || max > MSE_MAX_PAD_BYTES) {
    throw new WireError('WIRE_BAD_ARGUMENT', `MSE padding is 0..${MSE_MAX_PAD_BYTES} bytes, got ${max}`);
  }
  return max;
}

/** A pad length uniform in 0..max (max already checked). */
export function padLength(random: RandomBytes, max: number): number {
  return max === 0 ? 0 : random(2).readUInt16BE(0) % (max + 1);
}

export const EMPTY = Buffer.alloc(0);

/**
 * Unconsumed input. A handshake state waits for a fixed number of bytes (or a marker within a
 * window), so what is kept stays below the largest of those sizes.
 */
export class Pending {
  private buf: Buffer = EMPTY;

  get length(): number {
    return this.buf.length;
  }

  add(chunk: Uint8Array): void {
    const c = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    this.buf = this.buf.length === 0 ? c : Buffer.concat([this.buf, c]);
  }

  /** The first `n` bytes as a copy (the caller may decrypt it in place), or undefined if fewer are here. */
  take(n: number): Buffer | undefined {
    if (this.buf.length < n) return undefined;
    const out = Buffer.from(this.buf.subarray(0, n));
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Where `marker` starts within the first `window + marker.length` bytes, or -1. */
  find(marker: Buffer, window: number): number {
    return this.buf.subarray(0, window + marker.length).indexOf(marker);
  }

  peek(): Buffer {
    return this.buf;
  }

  /** Everything left, as a copy (the caller's chunks are never changed). */
  drain(): Buffer {
    const out = Buffer.from(this.buf);
    this.buf = EMPTY;
    return out;
  }

  /** Keeps a copy of what is left, so a caller's chunk is not held past this push. */
  detach(): void {
    if (this.buf.length > 0) this.buf = Buffer.from(this.buf);
  }
}

/**
 * What both machines share: randomness, the private key and padding, the sync-marker search, the
 * pad-length check and the hand-over of what follows the handshake. A failure is final, and every
 * push after it returns it.
 */
export abstract class MseMachine {
  protected readonly input = new Pending();
  protected readonly random: RandomBytes;
  protected readonly privateKey: Buffer;
  private readonly maxPad: number;
  private failure: WireError | undefined;
  private done = false;
  /** Bytes received so far, for the caller's accounting. */
  received = 0;

  constructor(opts: MseCommonOptions) {
    this.random = opts.random ?? defaultRandom;
    this.maxPad = checkMaxPad(opts.maxPadBytes ?? MSE_MAX_PAD_BYTES);
    this.privateKey = this.random(MSE_PRIVATE_KEY_BYTES);
  }

  /** Bytes held for the next step (bounded by the state's need; never more than a window plus IA). */
  get buffered(): number {
    return this.input.length;
  }

  /** Feeds bytes from the peer; returns what to send and the verdict. */
  push(chunk: Uint8Array): MseStep {
    if (this.failure) return { state: 'failed', send: EMPTY, error: this.failure };
    if (this.done) throw new WireError('WIRE_BAD_ARGUMENT', 'the MSE handshake is over: use the result cipher for the stream');
    this.received += chunk.length;
    this.input.add(chunk);
    const out: Buffer[] = [];
    try {
      const result = this.advance(out);
      const send = out.length === 1 ? out[0]! : Buffer.concat(out);
      if (result) {
        this.done = true;
        return { state: 'established', send, result };
      }
      this.input.detach();
      return { state: 'need-more', send };
    } catch (e) {
      if (!(e instanceof WireError)) throw e;
      this.failure = e;
      this.input.drain();
      return { state: 'failed', send: EMPTY, error: e };
    }
  }

  /** Runs the states as far as the input allows; appends bytes to send to `out`; a result when done. */
  protected abstract advance(out: Buffer[]): MseResult | undefined;

  /** Our public key and a pad of random bytes and random length (message 1 or 2). */
  protected keyMessage(): Buffer {
    return Buffer.concat([msePublicKey(this.privateKey), this.random(padLength(this.random, this.maxPad))]);
  }

  /**
   * Consumes input up to and including `marker` if it starts within the window after the peer's
   * key; false when more input is needed; WIRE_MSE_NO_SYNC once the window is past.
   */
  protected seek(marker: Buffer, what: string): boolean {
    const at = this.input.find(marker, MSE_SYNC_WINDOW_BYTES);
    if (at >= 0) {
      this.input.take(at + marker.length);
      return true;
    }
    if (this.input.length >= MSE_SYNC_WINDOW_BYTES + marker.length) {
      throw new WireError('WIRE_MSE_NO_SYNC', `no ${what} within ${MSE_SYNC_WINDOW_BYTES} bytes after the peer's key`, {
        limit: MSE_SYNC_WINDOW_BYTES,
      });
    }
    return false;
  }

  /** The 16-bit len(PadC) or len(PadD) at `at`, checked against the 512-byte limit. */
  protected padLengthAt(field: Buffer, at: number, which: 'PadC' | 'PadD'): number {
    const n = field.readUInt16BE(at);
    if (n > MSE_MAX_PAD_BYTES) {
      throw new WireError('WIRE_MSE_BAD_PAD', `len(${which}) is ${n}, over ${MSE_MAX_PAD_BYTES}`, { value: n, limit: MSE_MAX_PAD_BYTES });
    }
    return n;
  }

  /** The verdict: what is left of the input is the payload stream's start, decrypted for rc4. */
  protected finish(method: MseMethod, infoHash: Buffer, ia: Buffer, cipher: MseCipher): MseResult {
    const rest = this.input.drain();
    if (method === 'rc4') cipher.decrypt.process(rest);
    return { method, infoHash, ia, rest, cipher: method === 'rc4' ? cipher : undefined };
  }
}
