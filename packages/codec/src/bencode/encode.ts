import { CodecError } from '../errors.js';
import { BDict, BRaw, type BEncodable } from './types.js';

/**
 * Encodes canonically: dictionary keys sorted by raw bytes, integers in shortest form.
 * `undefined` dictionary values are skipped; anything else not encodable (NaN, 1.5, null,
 * a function) is an error rather than a silent change.
 */
export function encode(value: BEncodable): Buffer {
  const parts: Uint8Array[] = [];
  write(value, parts, 0);
  return Buffer.concat(parts);
}

const ENCODE_MAX_DEPTH = 256;
const E = Buffer.from('e');
const L = Buffer.from('l');
const D = Buffer.from('d');

function writeBytes(bytes: Uint8Array, parts: Uint8Array[]): void {
  parts.push(Buffer.from(`${bytes.length}:`, 'latin1'), bytes);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

function write(value: BEncodable | undefined | null, parts: Uint8Array[], depth: number): void {
  if (depth > ENCODE_MAX_DEPTH) throw new CodecError('CODEC_TOO_DEEP', `cannot encode nesting deeper than ${ENCODE_MAX_DEPTH}`);
  if (value instanceof Uint8Array) return writeBytes(value, parts);
  if (typeof value === 'string') return writeBytes(Buffer.from(value, 'utf8'), parts);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new CodecError('CODEC_UNENCODABLE', `cannot encode ${value}: not a safe integer`);
    parts.push(Buffer.from(`i${value === 0 ? 0 : value}e`, 'latin1')); // -0 becomes 0
    return;
  }
  if (typeof value === 'bigint') {
    parts.push(Buffer.from(`i${value.toString()}e`, 'latin1'));
    return;
  }
  if (value instanceof BRaw) {
    parts.push(value.bytes);
    return;
  }
  if (Array.isArray(value)) {
    parts.push(L);
    for (const item of value as readonly BEncodable[]) write(item, parts, depth + 1);
    parts.push(E);
    return;
  }
  let entries: [Uint8Array, BEncodable][];
  if (value instanceof BDict) {
    entries = [...value.entries.values()].map((e) => [Buffer.from(e.key, 'latin1'), e.value]);
  } else if (value instanceof Map) {
    entries = [];
    for (const [k, v] of value as ReadonlyMap<string | Uint8Array, BEncodable | undefined>) {
      if (v !== undefined) entries.push([typeof k === 'string' ? Buffer.from(k, 'utf8') : k, v]);
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
  entries.sort((a, b) => compareBytes(a[0], b[0]));
  parts.push(D);
  for (let i = 0; i < entries.length; i++) {
    const [k, v] = entries[i]!;
    if (i > 0 && compareBytes(entries[i - 1]![0], k) === 0) {
      throw new CodecError('CODEC_DUPLICATE_KEY', `cannot encode duplicate key ${JSON.stringify(Buffer.from(k).toString('latin1'))}`);
    }
    writeBytes(k, parts);
    write(v, parts, depth + 1);
  }
  parts.push(E);
}
