import { describe, expect, it } from 'vitest';
import { captureIo, writeJson } from '../src/index.js';

/** Characters that change what a terminal shows: C1 controls (U+009B is a one-byte CSI), DEL, bidi controls. */
const HOSTILE = [
  '\x7f',
  '\x80',
  '\x9b',
  '\x9f',
  '\u061c',
  '\u200e',
  '\u200f',
  '\u202a',
  '\u202b',
  '\u202c',
  '\u202d',
  '\u202e',
  '\u2066',
  '\u2067',
  '\u2068',
  '\u2069',
];

const RAW_UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

describe('writeJson', () => {
  it('escapes C1 controls and bidi controls in strings, so --json on a terminal shows them as escapes; the parsed value is unchanged', () => {
    const name = `movie\u202egnp.exe ${HOSTILE.join('|')} \x1b[31m naïve 日本`;
    const io = captureIo();
    writeJson(io, { type: 'files', name, files: [{ path: `dir/${name}`, length: 1 }], [`key${'\u202e'}`]: true });
    const out = io.out();
    expect(out.endsWith('\n')).toBe(true);
    expect(out.slice(0, -1)).not.toMatch(RAW_UNSAFE);
    expect(out).toContain('\\u202e');
    expect(out).toContain('\\u009b');
    // Nothing else is escaped: ordinary non-ASCII text stays readable.
    expect(out).toContain('naïve 日本');
    expect(JSON.parse(out)).toEqual({ schema: 1, type: 'files', name, files: [{ path: `dir/${name}`, length: 1 }], [`key${'\u202e'}`]: true });
  });

  it('still writes bigints as decimal strings and Buffers as hex', () => {
    const io = captureIo();
    writeJson(io, { n: 2n ** 70n, h: Buffer.from([0xab, 0x01]) });
    expect(JSON.parse(io.out())).toEqual({ schema: 1, n: '1180591620717411303424', h: 'ab01' });
  });
});
