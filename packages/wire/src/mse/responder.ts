import { WireError } from '../errors.js';
import { PROTOCOL_STRING } from '../handshake.js';
import {
  EMPTY,
  MSE_CRYPTO_PLAINTEXT,
  MSE_CRYPTO_RC4,
  MSE_MAX_IA_BYTES,
  MSE_VC_BYTES,
  MseMachine,
  methodBit,
  methodBits,
  type MseCommonOptions,
  type MseMethod,
  type MseResult,
} from './common.js';
import { MSE_KEY_BYTES, mseCipher, mseReq1Hash, mseReq3Hash, mseSharedSecret, xor20, type MseCipher, type MseInfoHashLookup } from './crypto.js';

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
  private readonly lookup: MseInfoHashLookup;
  private readonly allow: number;
  private readonly prefer: MseMethod;
  private readonly maxIa: number;
  private secret: Buffer = EMPTY;
  private req1: Buffer = EMPTY;
  private infoHash: Buffer = EMPTY;
  private cipher: MseCipher | undefined;
  private selected: MseMethod = 'rc4';
  private padC = 0;
  private iaLength = 0;

  constructor(opts: MseResponderOptions) {
    super(opts);
    const maxIa = opts.maxIaBytes ?? MSE_MAX_IA_BYTES;
    if (!Number.isInteger(maxIa) || maxIa < 0 || maxIa > MSE_MAX_IA_BYTES) {
      throw new WireError('WIRE_BAD_ARGUMENT', `maxIaBytes must be in 0..${MSE_MAX_IA_BYTES}, got ${maxIa}`);
    }
    this.lookup = opts.lookup;
    this.allow = methodBits(opts.allow ?? ['rc4', 'plaintext']);
    this.prefer = opts.prefer ?? 'rc4';
    this.maxIa = maxIa;
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
      out.push(this.keyMessage());
      this.state = 'sync';
    }
    if (this.state === 'sync') {
      if (!this.seek(this.req1, "HASH('req1', S)")) return undefined;
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
      this.padC = this.padLengthAt(f, 4, 'PadC');
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
    return this.finish(this.selected, this.infoHash, ia, cipher);
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
