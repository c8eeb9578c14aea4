import { CodecError } from '../errors.js';
import { BDict, BRaw, type BEncodable } from './types.js';

/**
 * Encodes canonically: dictionary keys sorted by raw bytes, integers in shortest form.
 * `undefined` dictionary values are skipped; anything else not encodable (NaN, 1.5, null,
 * a function) is an error rather than a silent change.
 */
export function encode(value: BEncodable): Buffer {
  const w = new Writer();
  write(value, w, 0);
  return w.result();
}

const ENCODE_MAX_DEPTH = 256;
const CH_E = 0x65;
const CH_L = 0x6c;
const CH_D = 0x64;
const CH_I = 0x69;
const CH_COLON = 0x3a;
/** First buffer size; it doubles as needed, so a large torrent costs O(log n) copies. */
const INITIAL_BYTES = 4096;

/** Appends into one growing buffer: far cheaper than a Buffer per token and a final concat. */
class Writer {
  private buf = Buffer.allocUnsafe(INITIAL_BYTES);
  private pos = 0;

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(c: number): void {
    this.reserve(1);
    this.buf[this.pos++] = c;
  }

  ascii(s: string): void {
    this.reserve(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** `<length>:<bytes>` */
  string(b: Uint8Array): void {
    this.ascii(String(b.length));
    this.byte(CH_COLON);
    this.bytes(b);
  }

  result(): Buffer {
    // Copy out so the caller does not keep the slack of the growth buffer alive.
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

function write(value: BEncodable | undefined | null, w: Writer, depth: number): void {
  if (depth > ENCODE_MAX_DEPTH) throw new CodecError('CODEC_TOO_DEEP', `cannot encode nesting deeper than ${ENCODE_MAX_DEPTH}`);
  if (value instanceof Uint8Array) return w.string(value);
  if (typeof value === 'string') return w.string(Buffer.from(value, 'utf8'));
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new CodecError('CODEC_UNENCODABLE', `cannot encode ${value}: not a safe integer`);
    w.byte(CH_I);
    w.ascii(String(value === 0 ? 0 : value)); // -0 becomes 0
    w.byte(CH_E);
    return;
  }
  if (typeof value === 'bigint') {
    w.byte(CH_I);
    w.ascii(value.toString());
    w.byte(CH_E);
    return;
  }
  if (value instanceof BRaw) return w.bytes(value.bytes);
  if (Array.isArray(value)) {
    w.byte(CH_L);
    for (const item of value as readonly BEncodable[]) write(item, w, depth + 1);
    w.byte(CH_E);
    return;
  }
  let entries: [Buffer, BEncodable][];
  if (value instanceof BDict) {
    entries = [...value.entries.values()].map((e) => [Buffer.from(e.key, 'latin1'), e.value]);
  } else if (value instanceof Map) {
    entries = [];
    for (const [k, v] of value as ReadonlyMap<string | Uint8Array, BEncodable | undefined>) {
      if (v !== undefined) entries.push([typeof k === 'string' ? Buffer.from(k, 'utf8') : Buffer.from(k), v]);
    }
  } else if (value !== null && typeof value === 'object') {
    entries = [];
    for (const k of Object.keys(value)) {
      const v = (value as { readonly [key: string]: BEncodable | undefined })[k];
      if (v !== undefined) entries.push([Buffer.from(k, 'utf8'), v]);
    }
  } else {
    throw new CodecError('CODEC_UNENCODABLE', `cannot encode a value of type ${value === null ? 'null' : typeof value}`);
  }
  // Keys sorted by raw bytes (BEP 3). Often already sorted (a decoded BDict): check before sorting.
  let sorted = true;
  for (let i = 1; i < entries.length && sorted; i++) sorted = Buffer.compare(entries[i - 1]![0], entries[i]![0]) < 0;
  if (!sorted) entries.sort((a, b) => Buffer.compare(a[0], b[0]));
  w.byte(CH_D);
  for (let i = 0; i < entries.length; i++) {
    const [k, v] = entries[i]!;
    if (i > 0 && Buffer.compare(entries[i - 1]![0], k) === 0) {
      throw new CodecError('CODEC_DUPLICATE_KEY', `cannot encode duplicate key ${JSON.stringify(k.toString('latin1'))}`);
    }
    w.string(k);
    write(v, w, depth + 1);
  }
  w.byte(CH_E);
}
