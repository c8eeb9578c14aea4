/** Field readers of the metainfo parser that record what is wrong instead of stopping at it. */
import { isUtf8 } from 'node:buffer';
import { typeName, wrongType } from '../bencode/access.js';
import type { BDict, BValue } from '../bencode/types.js';
import { CodecError } from '../errors.js';
import type { Problems } from './problems.js';

/** A byte count: a safe integer ≥ 0 (RELIABILITY #15). */
export function reqLength(v: BValue | undefined, field: string): number {
  if (typeof v === 'bigint') throw new CodecError('CODEC_BAD_LENGTH', `${field} is ${v}, beyond 2^53`, { field });
  if (typeof v !== 'number') throw wrongType(field, 'an integer', v);
  if (v < 0) throw new CodecError('CODEC_BAD_LENGTH', `${field} is negative (${v})`, { field });
  return v;
}

/** Decodes UTF-8 for display; invalid sequences become U+FFFD and are reported (RELIABILITY #7). */
export function text(raw: Buffer, field: string | (() => string), problems: Problems): string {
  if (!isUtf8(raw)) {
    const name = typeof field === 'string' ? field : field();
    problems.warn('WARN_INVALID_UTF8', `${name} is not valid UTF-8; shown with U+FFFD`, name);
  }
  return raw.toString('utf8');
}

/** Optional text field, preferring its `.utf-8` twin; an ill-typed one is a warning and ignored. */
export function optionalText(d: BDict, key: string, field: string, problems: Problems): string | undefined {
  for (const k of [`${key}.utf-8`, key]) {
    const v = d.get(k);
    if (v === undefined) continue;
    if (Buffer.isBuffer(v)) return text(v, `${field}${k}`, problems);
    problems.warn('WARN_BAD_OPTIONAL_FIELD', `${field}${k} should be a byte string but is ${typeName(v)}; ignored`, `${field}${k}`);
  }
  return undefined;
}

export function warnUnknownKeys(d: BDict, known: ReadonlySet<string>, prefix: string, problems: Problems): void {
  for (const k of d.keys()) {
    if (!known.has(k)) problems.warn('WARN_UNKNOWN_KEY', `unknown key ${JSON.stringify(k)}`, `${prefix}${k}`);
  }
}
