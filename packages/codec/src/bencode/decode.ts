import { CodecError } from '../errors.js';
import { BDict, type BDictEntry, type BValue } from './types.js';

export interface DecodeOptions {
  /**
   * `strict` (default) rejects anything non-canonical: unsorted keys included.
   * `lenient` accepts unsorted dictionary keys (common in real torrents) and still records spans.
   * Both reject leading zeros, `i-0e`, duplicate keys and malformed lengths.
   */
  readonly mode?: 'strict' | 'lenient';
  /** Deepest nesting of lists and dictionaries. */
  readonly maxDepth?: number;
  /** Most values (integers, strings, lists, dictionaries) in one input. */
  readonly maxTokens?: number;
  /** Largest input accepted, checked before parsing. */
  readonly maxBytes?: number;
}

/** Nesting in real torrents and tracker replies is under 10; 64 leaves room and stops stack abuse (RELIABILITY #8). */
export const DEFAULT_MAX_DEPTH = 64;
/** libtorrent's default token limit (RELIABILITY #16). */
export const DEFAULT_MAX_TOKENS = 3_000_000;
/** Larger than any sane .torrent (those are capped at 10 MB by metainfo); a hard bound on work. */
export const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

const CH_i = 0x69;
const CH_l = 0x6c;
const CH_d = 0x64;
const CH_e = 0x65;
const CH_COLON = 0x3a;
const CH_MINUS = 0x2d;
const CH_0 = 0x30;
const CH_9 = 0x39;
/** 15 decimal digits always fit a safe integer; longer numbers go through BigInt. */
const SAFE_DIGITS = 15;

class Decoder {
  private pos = 0;
  private tokens = 0;
  private readonly buf: Buffer;
  private readonly strict: boolean;
  private readonly maxDepth: number;
  private readonly maxTokens: number;

  constructor(buf: Buffer, opts: DecodeOptions) {
    this.buf = buf;
    this.strict = (opts.mode ?? 'strict') === 'strict';
    this.maxDepth = opts.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.maxTokens = opts.maxTokens ?? DEFAULT_MAX_TOKENS;
  }

  get position(): number {
    return this.pos;
  }

  value(depth: number): BValue {
    if (++this.tokens > this.maxTokens) {
      throw new CodecError('CODEC_TOO_MANY_TOKENS', `more than ${this.maxTokens} values`, { offset: this.pos });
    }
    const c = this.buf[this.pos];
    if (c === undefined) throw this.truncated('a value');
    if (c >= CH_0 && c <= CH_9) return this.bytes();
    switch (c) {
      case CH_i:
        return this.integer();
      case CH_l:
        return this.list(depth + 1);
      case CH_d:
        return this.dict(depth + 1);
      default:
        throw new CodecError('CODEC_BAD_SYNTAX', `unexpected byte 0x${c.toString(16).padStart(2, '0')} where a value should start`, {
          offset: this.pos,
        });
    }
  }

  private truncated(what: string): CodecError {
    return new CodecError('CODEC_TRUNCATED', `input ends where ${what} was expected`, { offset: this.pos });
  }

  private checkDepth(depth: number): void {
    if (depth > this.maxDepth) {
      throw new CodecError('CODEC_TOO_DEEP', `nesting deeper than ${this.maxDepth}`, { offset: this.pos });
    }
  }

  /** Reads `[-]digits` up to `terminator`, with the canonical-form rules of BEP 3. */
  private digits(terminator: number, allowNegative: boolean, what: string): number | bigint {
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    let negative = false;
    if (buf[p] === CH_MINUS) {
      if (!allowNegative) throw new CodecError('CODEC_BAD_SYNTAX', `negative ${what}`, { offset: p });
      negative = true;
      p++;
    }
    const first = p;
    let n = 0;
    for (;;) {
      const c = buf[p];
      if (c === undefined) {
        this.pos = p;
        throw this.truncated(`the end of ${what}`);
      }
      if (c === terminator) break;
      if (c < CH_0 || c > CH_9) {
        throw new CodecError('CODEC_BAD_SYNTAX', `unexpected byte 0x${c.toString(16).padStart(2, '0')} in ${what}`, { offset: p });
      }
      n = n * 10 + (c - CH_0);
      p++;
    }
    const count = p - first;
    if (count === 0) throw new CodecError('CODEC_BAD_SYNTAX', `${what} has no digits`, { offset: start });
    if (buf[first] === CH_0 && count > 1) throw new CodecError('CODEC_LEADING_ZERO', `${what} has a leading zero`, { offset: start });
    if (negative && count === 1 && buf[first] === CH_0) {
      throw new CodecError('CODEC_NEGATIVE_ZERO', `${what} is negative zero`, { offset: start });
    }
    this.pos = p + 1; // past the terminator
    if (count <= SAFE_DIGITS) return negative ? -n : n;
    const big = BigInt(buf.toString('latin1', start, p));
    return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
  }

  private integer(): number | bigint {
    this.pos++; // 'i'
    return this.digits(CH_e, true, 'integer');
  }

  /** Byte-string length prefix: must fit in what is left, checked before any slicing (RELIABILITY #10). */
  private length(): number {
    const at = this.pos;
    const len = this.digits(CH_COLON, false, 'string length');
    const left = this.buf.length - this.pos;
    if (typeof len === 'bigint' || len > left) {
      throw new CodecError('CODEC_TRUNCATED', `string length ${len} exceeds the ${left} bytes left`, { offset: at });
    }
    return len;
  }

  bytes(): Buffer {
    const len = this.length();
    const start = this.pos;
    this.pos += len;
    return this.buf.subarray(start, this.pos);
  }

  private list(depth: number): BValue[] {
    this.checkDepth(depth);
    this.pos++; // 'l'
    const out: BValue[] = [];
    for (;;) {
      const c = this.buf[this.pos];
      if (c === undefined) throw this.truncated("a list item or 'e'");
      if (c === CH_e) break;
      out.push(this.value(depth));
    }
    this.pos++;
    return out;
  }

  private dict(depth: number): BDict {
    this.checkDepth(depth);
    const start = this.pos;
    this.pos++; // 'd'
    const entries = new Map<string, BDictEntry>();
    let previous: string | undefined;
    let sorted = true;
    const buf = this.buf;
    for (;;) {
      const c = buf[this.pos];
      if (c === undefined) throw this.truncated("a dictionary key or 'e'");
      if (c === CH_e) break;
      if (c < CH_0 || c > CH_9) {
        throw new CodecError('CODEC_BAD_SYNTAX', 'dictionary key is not a byte string', { offset: this.pos });
      }
      const keyAt = this.pos;
      const len = this.length();
      const key = buf.toString('latin1', this.pos, this.pos + len);
      this.pos += len;
      if (++this.tokens > this.maxTokens) {
        throw new CodecError('CODEC_TOO_MANY_TOKENS', `more than ${this.maxTokens} values`, { offset: keyAt });
      }
      // latin1 strings compare code unit by code unit, which is raw byte order.
      if (previous !== undefined && key <= previous) {
        if (key === previous || entries.has(key)) {
          throw new CodecError('CODEC_DUPLICATE_KEY', `duplicate dictionary key ${JSON.stringify(key)}`, { offset: keyAt });
        }
        if (this.strict) {
          throw new CodecError('CODEC_UNSORTED_KEYS', `dictionary key ${JSON.stringify(key)} is out of order`, { offset: keyAt });
        }
        sorted = false;
      } else if (!sorted && entries.has(key)) {
        throw new CodecError('CODEC_DUPLICATE_KEY', `duplicate dictionary key ${JSON.stringify(key)}`, { offset: keyAt });
      }
      previous = key;
      const valueStart = this.pos;
      if (buf[valueStart] === undefined) throw this.truncated(`the value of key ${JSON.stringify(key)}`);
      const value = this.value(depth);
      entries.set(key, { key, value, start: valueStart, end: this.pos });
    }
    this.pos++;
    return new BDict(entries, start, this.pos, sorted);
  }
}

function asBuffer(input: Uint8Array): Buffer {
  return Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength);
}

function checkSize(buf: Buffer, opts: DecodeOptions): void {
  const max = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  if (buf.length > max) throw new CodecError('CODEC_TOO_LARGE', `input is ${buf.length} bytes, more than the ${max} allowed`);
  if (buf.length === 0) throw new CodecError('CODEC_TRUNCATED', 'input is empty', { offset: 0 });
}

/** Decodes exactly one bencoded value that must fill the whole input. */
export function decode(input: Uint8Array, opts: DecodeOptions = {}): BValue {
  const buf = asBuffer(input);
  checkSize(buf, opts);
  const d = new Decoder(buf, opts);
  const value = d.value(0);
  if (d.position !== buf.length) {
    throw new CodecError('CODEC_TRAILING_DATA', `${buf.length - d.position} bytes after the end of the value`, { offset: d.position });
  }
  return value;
}

/**
 * Decodes one value at the start of the input and says where it ended: for formats that put raw
 * bytes after a bencoded header (BEP 9 `ut_metadata` data messages).
 */
export function decodePrefix(input: Uint8Array, opts: DecodeOptions = {}): { value: BValue; end: number } {
  const buf = asBuffer(input);
  checkSize(buf, opts);
  const d = new Decoder(buf, opts);
  const value = d.value(0);
  return { value, end: d.position };
}
