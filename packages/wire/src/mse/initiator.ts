import { WireError } from '../errors.js';
import { INFO_HASH_BYTES } from '../handshake.js';
import {
  EMPTY,
  MSE_CRYPTO_PLAINTEXT,
  MSE_CRYPTO_RC4,
  MSE_MAX_IA_BYTES,
  MSE_VC_BYTES,
  MseMachine,
  methodBits,
  type MseCommonOptions,
  type MseMethod,
  type MseResult,
  type MseStep,
} from './common.js';
import { MSE_KEY_BYTES, mseCipher, mseReq1Hash, mseReq2Hash, mseReq3Hash, mseSharedSecret, xor20, type MseCipher } from './crypto.js';

export interface MseInitiatorOptions extends MseCommonOptions {
  /** The torrent to connect for (SKEY). */
  readonly infoHash: Uint8Array;
  /** crypto_provide: the methods we accept (default both; the responder picks one). */
  readonly provide?: readonly MseMethod[];
  /**
   * The initial payload, sent encrypted inside the handshake (libtorrent sends its 68-byte
   * BitTorrent handshake here, saving a round trip). At most 65535 bytes. Default: none.
   * Transmission 3.00 reads the IA without decrypting it when it selects plaintext and then hangs
   * up (test/mse-transmission.test.ts): give an IA only when `provide` is rc4 alone, or write the
   * BitTorrent handshake to the stream after the MSE handshake.
   */
  readonly ia?: Uint8Array;
}

type State = 'new' | 'key' | 'sync' | 'select' | 'pad' | 'done';

/**
 * The connecting side of MSE, as a pure state machine:
 *
 *   1 A→B  Ya, PadA
 *   2 B→A  Yb, PadB
 *   3 A→B  HASH('req1', S), HASH('req2', SKEY) xor HASH('req3', S),
 *          ENCRYPT(VC, crypto_provide, len(PadC), PadC, len(IA)), ENCRYPT(IA)
 *   4 B→A  ENCRYPT(VC, crypto_select, len(PadD), PadD), then the payload stream
 *
 * `start()` gives message 1; `push()` takes what B sends and gives message 3 once Yb is in, then
 * the verdict once message 4 is read.
 */
export class MseInitiator extends MseMachine {
  private state: State = 'new';
  private readonly infoHash: Buffer;
  private readonly provide: number;
  private readonly ia: Buffer;
  private cipher: MseCipher | undefined;
  private vcMarker: Buffer = EMPTY;
  private selected: MseMethod = 'rc4';
  private padD = 0;

  constructor(opts: MseInitiatorOptions) {
    super(opts);
    if (opts.infoHash.length !== INFO_HASH_BYTES) {
      throw new WireError('WIRE_BAD_ARGUMENT', `an info-hash is ${INFO_HASH_BYTES} bytes, got ${opts.infoHash.length}`);
    }
    const ia = opts.ia ?? EMPTY;
    if (ia.length > MSE_MAX_IA_BYTES) {
      throw new WireError('WIRE_BAD_ARGUMENT', `the MSE initial payload is at most ${MSE_MAX_IA_BYTES} bytes, got ${ia.length}`);
    }
    this.infoHash = Buffer.from(opts.infoHash);
    this.provide = methodBits(opts.provide ?? ['rc4', 'plaintext']);
    this.ia = Buffer.from(ia);
  }

  /** Message 1: Ya and PadA (random bytes of random length). Call once, before any push. */
  start(): Buffer {
    if (this.state !== 'new') throw new WireError('WIRE_BAD_ARGUMENT', 'MseInitiator.start() was already called');
    this.state = 'key';
    return this.keyMessage();
  }

  override push(chunk: Uint8Array): MseStep {
    if (this.state === 'new') throw new WireError('WIRE_BAD_ARGUMENT', 'MseInitiator.push() before start()');
    return super.push(chunk);
  }

  protected advance(out: Buffer[]): MseResult | undefined {
    if (this.state === 'key') {
      const yb = this.input.take(MSE_KEY_BYTES);
      if (!yb) return undefined;
      out.push(this.message3(mseSharedSecret(this.privateKey, yb)));
      this.state = 'sync';
    }
    if (this.state === 'sync') {
      if (!this.seek(this.vcMarker, 'encrypted VC')) return undefined;
      this.state = 'select';
    }
    const cipher = this.cipher!;
    if (this.state === 'select') {
      const f = this.input.take(4 + 2);
      if (!f) return undefined;
      cipher.decrypt.process(f);
      const select = f.readUInt32BE(0);
      if ((select !== MSE_CRYPTO_PLAINTEXT && select !== MSE_CRYPTO_RC4) || (select & this.provide) === 0) {
        throw new WireError('WIRE_MSE_BAD_SELECT', `crypto_select 0x${select.toString(16)} is not one method we provided (0x${this.provide.toString(16)})`, {
          value: select,
        });
      }
      this.selected = select === MSE_CRYPTO_RC4 ? 'rc4' : 'plaintext';
      this.padD = this.padLengthAt(f, 4, 'PadD');
      this.state = 'pad';
    }
    if (this.state === 'pad') {
      const pad = this.input.take(this.padD);
      if (!pad) return undefined;
      cipher.decrypt.process(pad); // keeps the keystream in step; the content means nothing
      this.state = 'done';
      return this.finish(this.selected, this.infoHash, EMPTY, cipher);
    }
    return undefined;
  }

  private message3(secret: Buffer): Buffer {
    const cipher = mseCipher('initiator', secret, this.infoHash);
    this.cipher = cipher;
    // B's VC, encrypted with B's stream: the marker to look for. Making it moves our decrypting
    // stream past the VC, which is where B's crypto_select starts.
    this.vcMarker = Buffer.alloc(MSE_VC_BYTES);
    cipher.decrypt.process(this.vcMarker);
    // PadC stays empty: the spec reserves it, and peers send none.
    const enc = Buffer.alloc(MSE_VC_BYTES + 4 + 2 + 2 + this.ia.length);
    enc.writeUInt32BE(this.provide, MSE_VC_BYTES);
    enc.writeUInt16BE(0, MSE_VC_BYTES + 4); // len(PadC)
    enc.writeUInt16BE(this.ia.length, MSE_VC_BYTES + 6);
    this.ia.copy(enc, MSE_VC_BYTES + 8);
    cipher.encrypt.process(enc);
    const req1 = mseReq1Hash(secret);
    const skey = xor20(mseReq2Hash(this.infoHash), mseReq3Hash(secret));
    return Buffer.concat([req1, skey, enc]);
  }
}
