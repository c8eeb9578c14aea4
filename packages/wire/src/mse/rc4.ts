import { WireError } from '../errors.js';

/**
 * RC4 (ARC4) keystream, for MSE's stream cipher. Node 20's OpenSSL 3 refuses `rc4` unless the
 * legacy provider is loaded, so this is ours. It runs over every byte of an encrypted connection:
 * the state lives in one typed array, the loop keeps i, j and the table in locals, and bytes are
 * XORed from a source into a destination (the same buffer for in place) with no allocation.
 */
export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

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

  /** Advances the keystream by `n` bytes without output (MSE drops the first 1024). */
  skip(n: number): void {
    const s = this.s;
    let i = this.i;
    let j = this.j;
    for (let k = 0; k < n; k++) {
      i = (i + 1) & 0xff;
      const si = s[i]!;
      j = (j + si) & 0xff;
      s[i] = s[j]!;
      s[j] = si;
    }
    this.i = i;
    this.j = j;
  }
}
