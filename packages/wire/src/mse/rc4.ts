import { WireError } from '../errors.js';
import { KERNEL_DATA_AT, KERNEL_DATA_BYTES, KERNEL_STATE_BYTES, rc4Kernel } from './rc4-kernel.js';

/**
 * Below this many bytes the JavaScript loop wins: the kernel costs two copies of the 258-byte state
 * and of the data per call (measured break-even is a few dozen bytes; handshake fields are 2–8).
 */
const KERNEL_MIN_BYTES = 64;

/**
 * RC4 (ARC4) keystream, for MSE's stream cipher. Node 20's OpenSSL 3 refuses `rc4` unless the
 * legacy provider is loaded, so this is ours. It runs over every byte of an encrypted connection:
 * bytes are XORed from a source into a destination (the same buffer for in place) with no
 * allocation, by a small WebAssembly loop (rc4-kernel.ts) for all but short inputs, and by the
 * same loop in JavaScript for those.
 */
export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;
  /** S, i and j as the kernel lays them out, for loading it. */
  private readonly packed = new Uint8Array(KERNEL_STATE_BYTES);

  /** Key scheduling (KSA); MSE keys are 20-byte SHA-1 digests, RC4 allows 1..256 bytes. */
  constructor(key: Uint8Array) {
    if (key.length < 1 || key.length > 256) {
      throw new WireError('WIRE_BAD_ARGUMENT', `an RC4 key is 1..256 bytes, got ${key.length}`, { value: key.length });
    }
    const s = this.s;
    for (let k = 0; k < 256; k++) s[k] = k;
    let j = 0;
    for (let k = 0; k < 256; k++) {
      const sk = s[k]!;
      j = (j + sk + key[k % key.length]!) & 0xff;
      s[k] = s[j]!;
      s[j] = sk;
    }
  }

  /**
   * XORs the next `src.length` keystream bytes into `src`, writing to `dst` (default: `src`, in
   * place). Encryption and decryption are the same operation. `dst` must be at least as long.
   */
  process(src: Uint8Array, dst: Uint8Array = src): void {
    const n = src.length;
    if (dst.length < n) throw new WireError('WIRE_BAD_ARGUMENT', `RC4 output of ${dst.length} bytes for ${n} bytes of input`);
    if (n >= KERNEL_MIN_BYTES) this.processKernel(src, dst);
    else this.processJs(src, dst);
  }

  /** The reference loop (tests check the kernel against it). */
  processJs(src: Uint8Array, dst: Uint8Array = src): void {
    const n = src.length;
    const s = this.s;
    let i = this.i;
    let j = this.j;
    for (let k = 0; k < n; k++) {
      i = (i + 1) & 0xff;
      const si = s[i]!;
      j = (j + si) & 0xff;
      const sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      dst[k] = src[k]! ^ s[(si + sj) & 0xff]!;
    }
    this.i = i;
    this.j = j;
  }

  private processKernel(src: Uint8Array, dst: Uint8Array): void {
    const { memory, run } = rc4Kernel();
    const packed = this.packed;
    packed.set(this.s);
    packed[256] = this.i;
    packed[257] = this.j;
    memory.set(packed);
    for (let at = 0; at < src.length; at += KERNEL_DATA_BYTES) {
      const n = Math.min(KERNEL_DATA_BYTES, src.length - at);
      memory.set(src.subarray(at, at + n), KERNEL_DATA_AT);
      run(KERNEL_DATA_AT, n);
      dst.set(memory.subarray(KERNEL_DATA_AT, KERNEL_DATA_AT + n), at);
    }
    this.s.set(memory.subarray(0, 256));
    this.i = memory[256]!;
    this.j = memory[257]!;
  }

  /** Advances the keystream by `n` bytes without output (MSE drops the first 1024). */
  skip(n: number): void {
    this.processJs(new Uint8Array(n));
  }
}
