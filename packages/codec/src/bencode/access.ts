import { CodecError } from '../errors.js';
import { BDict, type BValue } from './types.js';

/**
 * Typed reads of decoded values, for parsers of bencoded formats (metainfo, tracker replies,
 * extension messages). Each throws CODEC_WRONG_TYPE naming the field, or CODEC_MISSING_FIELD when
 * the value is `undefined` (a dictionary without that key).
 */

/** How a value's type reads in an error message (shared with the metainfo parser). */
export function typeName(v: BValue | undefined): string {
  if (v === undefined) return 'missing';
  if (Buffer.isBuffer(v)) return 'a byte string';
  if (typeof v === 'number' || typeof v === 'bigint') return 'an integer';
  if (Array.isArray(v)) return 'a list';
  return 'a dictionary';
}

/** The error for a value that is missing (`undefined`) or not of the `wanted` type. */
export function wrongType(field: string, wanted: string, v: BValue | undefined): CodecError {
  if (v === undefined) return new CodecError('CODEC_MISSING_FIELD', `${field} is missing`, { field });
  return new CodecError('CODEC_WRONG_TYPE', `${field} should be ${wanted} but is ${typeName(v)}`, { field });
}

export function asDict(v: BValue | undefined, field: string): BDict {
  if (v instanceof BDict) return v;
  throw wrongType(field, 'a dictionary', v);
}

export function asList(v: BValue | undefined, field: string): BValue[] {
  if (Array.isArray(v)) return v;
  throw wrongType(field, 'a list', v);
}

export function asBytes(v: BValue | undefined, field: string): Buffer {
  if (Buffer.isBuffer(v)) return v;
  throw wrongType(field, 'a byte string', v);
}

/** A byte string decoded as UTF-8 (invalid sequences become U+FFFD; callers that must keep raw bytes use asBytes). */
export function asText(v: BValue | undefined, field: string): string {
  return asBytes(v, field).toString('utf8');
}

/** An integer that fits a JS number, optionally within [min, max]. */
export function asInt(v: BValue | undefined, field: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v === 'bigint') {
    throw new CodecError('CODEC_UNSAFE_INTEGER', `${field} is ${v}, beyond the largest safe integer`, { field });
  }
  if (typeof v !== 'number') throw wrongType(field, 'an integer', v);
  if (v < min || v > max) {
    throw new CodecError('CODEC_WRONG_TYPE', `${field} is ${v}, outside ${min}..${max}`, { field });
  }
  return v;
}
