import { WireError } from '../errors.js';
import { PROTOCOL_STRING } from '../handshake.js';
import {
  checkMaxPad,
  defaultRandom,
  EMPTY,
  MSE_CRYPTO_PLAINTEXT,
  MSE_CRYPTO_RC4,
  MSE_MAX_IA_BYTES,
  MSE_MAX_PAD_BYTES,
  MSE_SYNC_WINDOW_BYTES,
  MSE_VC_BYTES,
  MseMachine,
  methodBit,
  methodBits,
  padLength,
  type MseCommonOptions,
  type MseMethod,
  type MseResult,
  type RandomBytes,
} from './common.js';
import {
  MSE_KEY_BYTES,
  MSE_PRIVATE_KEY_BYTES,
  mseCipher,
  msePublicKey,
  mseReq1Hash,
  mseReq3Hash,
  mseSharedSecret,
  xor20,
  type MseCipher,
  type MseInfoHashLookup,
} from './crypto.js';

/** `19 "BitTorrent protocol"`: how a plaintext connection opens. */
const PLAIN_START = Buffer.concat([Buffer.from([PROTOCOL_STRING.length]), Buffer.from(PROTOCOL_STRING, 'latin1')]);

/**
 * How an incoming connection opened: with a plaintext BitTorrent handshake, with something else
 * (an MSE key), or too few bytes yet to tell. A DH key starts with those 20 bytes with chance 2^-160.
 */
export function classifyIncoming(first: Uint8Array): 'bittorrent' | 'mse' | 'need-more' {
  const n = Math.min(first.length, PLAIN_START.length);
  for (let k = 0; k < n; k++) if (first[k] !== PLAIN_START[k]) return 'mse';
  return n === PLAIN_START.length ? 'bittorrent' : 'need-more';
}

export interface MseResponderOptions extends MseCommonOptions {
  /** Finds the torrent from the initiator's req2 hash (see `mseInfoHashLookup`). */
  readonly lookup: MseInfoHashLookup;
  /** The methods we accept (default both). */
  readonly allow?: readonly MseMethod[];
  /** Which to select when the initiator provides both and we allow both (default rc4). */
  readonly prefer?: MseMethod;
  /** The largest len(IA) accepted (default 65535, all the field can say); the IA is buffered whole. */
  readonly maxIaBytes?: number;
}

type State = 'key' | 'sync' | 'skey' | 'provide' | 'pad' | 'ia';

/**
 * The accepting side of MSE (see MseInitiator for the four messages). Reads Ya and answers with Yb
 * and PadB; finds HASH('req1', S) within PadA's window; recovers the torrent from the obfuscated
 * req2 hash through the caller's lookup; checks VC; picks a method; reads PadC and the IA; answers
 * with message 4. The verdict carries the decrypted IA: for the peer wire, the first bytes of the
 * payload stream.
 */
export class MseResponder extends MseMachine {
  private state: State = 'key';
  private readonly random: RandomBytes;
  private readonly privateKey: Buffer;
  private readonly lookup: MseInfoHashLookup;
  private readonly allow: number;
  private readonly prefer: MseMethod;
  private readonly maxIa: number;
  private readonly maxPad: number;
  private secret: Buffer = EMPTY;
  private req1: Buffer = EMPTY;
  private infoHash: Buffer = EMPTY;
  private cipher: MseCipher | undefined;
  private selected: MseMethod = 'rc4';
  private padC = 0;
  private iaLength = 0;

  constructor(opts: MseResponderOptions) {
    super();
    const maxIa = opts.maxIaBytes ?? MSE_MAX_IA_BYTES;
    if (!Number.isInteger(maxIa) || maxIa < 0 || maxIa > MSE_MAX_IA_BYTES) {
      throw new WireError('WIRE_BAD_ARGUMENT', `maxIaBytes must be in 0..${MSE_MAX_IA_BYTES}, got ${maxIa}`);
    }
    this.random = opts.random ?? defaultRandom;
    this.maxPad = checkMaxPad(opts.maxPadBytes ?? MSE_MAX_PAD_BYTES);
    this.lookup = opts.lookup;
    this.allow = methodBits(opts.allow ?? ['rc4', 'plaintext']);
    this.prefer = opts.prefer ?? 'rc4';
    this.maxIa = maxIa;
    this.privateKey = this.random(MSE_PRIVATE_KEY_BYTES);
  }

  protected advance(out: Buffer[]): MseResult | undefined {
    if (this.state === 'key') {
      if (classifyIncoming(this.input.peek()) === 'bittorrent') {
        throw new WireError('WIRE_MSE_PLAINTEXT', 'the peer sent a plaintext BitTorrent handshake, not an MSE key');
      }
      const ya = this.input.take(MSE_KEY_BYTES);
      if (!ya) return undefined;
      this.secret = mseSharedSecret(this.privateKey, ya);
      this.req1 = mseReq1Hash(this.secret);
      out.push(Buffer.concat([msePublicKey(this.privateKey), this.random(padLength(this.random, this.maxPad))]));
      this.state = 'sync';
    }
    if (this.state === 'sync') {
      const at = this.input.find(this.req1, MSE_SYNC_WINDOW_BYTES);
      if (at < 0) {
        if (this.input.length >= MSE_SYNC_WINDOW_BYTES + this.req1.length) {
          throw new WireError('WIRE_MSE_NO_SYNC', `no HASH('req1', S) within ${MSE_SYNC_WINDOW_BYTES} bytes after the peer's key`, {
            limit: MSE_SYNC_WINDOW_BYTES,
          });
        }
        return undefined;
      }
      this.input.take(at + this.req1.length);
      this.state = 'skey';
    }
    if (this.state === 'skey') {
      const f = this.input.take(20 + MSE_VC_BYTES);
      if (!f) return undefined;
      const req2 = xor20(f.subarray(0, 20), mseReq3Hash(this.secret));
      const infoHash = this.lookup(req2);
      if (infoHash === undefined) throw new WireError('WIRE_MSE_UNKNOWN_TORRENT', 'the peer asked for a torrent we do not serve');
      this.infoHash = Buffer.from(infoHash);
      this.cipher = mseCipher('responder', this.secret, this.infoHash);
      const vc = f.subarray(20);
      this.cipher.decrypt.process(vc);
      if (vc.some((b) => b !== 0)) throw new WireError('WIRE_MSE_BAD_VC', 'the verification constant did not decrypt to zeros');
      this.state = 'provide';
    }
    const cipher = this.cipher!;
    if (this.state === 'provide') {
      const f = this.input.take(4 + 2);
      if (!f) return undefined;
      cipher.decrypt.process(f);
      const provide = f.readUInt32BE(0);
      this.selected = this.select(provide);
      this.padC = f.readUInt16BE(4);
      if (this.padC > MSE_MAX_PAD_BYTES) {
        throw new WireError('WIRE_MSE_BAD_PAD', `len(PadC) is ${this.padC}, over ${MSE_MAX_PAD_BYTES}`, { value: this.padC, limit: MSE_MAX_PAD_BYTES });
      }
      this.state = 'pad';
    }
    if (this.state === 'pad') {
      const f = this.input.take(this.padC + 2);
      if (!f) return undefined;
      cipher.decrypt.process(f);
      this.iaLength = f.readUInt16BE(this.padC);
      if (this.iaLength > this.maxIa) {
        throw new WireError('WIRE_MSE_IA_TOO_LONG', `len(IA) is ${this.iaLength}, over ${this.maxIa}`, { value: this.iaLength, limit: this.maxIa });
      }
      this.state = 'ia';
    }
    const ia = this.input.take(this.iaLength);
    if (!ia) return undefined;
    cipher.decrypt.process(ia); // the IA is always RC4, whatever method is selected
    out.push(this.message4());
    const rest = this.input.drain();
    const rc4 = this.selected === 'rc4';
    if (rc4) cipher.decrypt.process(rest);
    return { method: this.selected, infoHash: this.infoHash, ia, rest, cipher: rc4 ? cipher : undefined };
  }

  private select(provide: number): MseMethod {
    const common = provide & this.allow & (MSE_CRYPTO_PLAINTEXT | MSE_CRYPTO_RC4);
    if (common === 0) {
      throw new WireError('WIRE_MSE_NO_COMMON_METHOD', `the peer provides crypto 0x${provide.toString(16)}, we allow 0x${this.allow.toString(16)}`, {
        value: provide,
      });
    }
    if (common & methodBit(this.prefer)) return this.prefer;
    return common & MSE_CRYPTO_RC4 ? 'rc4' : 'plaintext';
  }

  /** ENCRYPT(VC, crypto_select, len(PadD), PadD), PadD empty as the spec reserves it. */
  private message4(): Buffer {
    const m = Buffer.alloc(MSE_VC_BYTES + 4 + 2);
    m.writeUInt32BE(methodBit(this.selected), MSE_VC_BYTES);
    this.cipher!.encrypt.process(m);
    return m;
  }
}
