import { describe, expect, it } from 'vitest';
import { checkPathComponent, MAX_NAME_BYTES, safeFileName, toSafePath, truncateUtf8 } from './safe-path.js';

const b = (s: string) => Buffer.from(s, 'utf8');

describe('checkPathComponent (RELIABILITY #1, #2)', () => {
  it.each([
    ['', 'empty'],
    ['.', 'dot'],
    ['..', 'dot-dot'],
    ['a/b', 'separator'],
    ['a\\b', 'separator'],
    ['/', 'separator'],
    ['a\0', 'nul'],
    ['C:', 'drive-letter'],
    ['c:evil', 'drive-letter'],
    ['a:b', 'drive-letter'],
  ])('%j is rejected as %s', (name, reason) => {
    expect(checkPathComponent(b(name))).toBe(reason);
  });

  it.each(['a', '...', '.hidden', 'ab:c', 'CON', 'x..y'])('%j is acceptable', (name) => {
    expect(checkPathComponent(b(name))).toBeUndefined();
  });

  it('rejects Windows device names only when asked', () => {
    for (const n of ['CON', 'con.txt', 'Nul', 'COM1', 'lpt9.log', 'AUX. ']) {
      expect(checkPathComponent(b(n), { windowsReserved: true }), n).toBe('windows-reserved');
    }
    expect(checkPathComponent(b('CONSOLE'), { windowsReserved: true })).toBeUndefined();
  });
});

describe('safeFileName (RELIABILITY #3, #6)', () => {
  it.each([
    ['plain.txt', 'plain.txt'],
    ['a<b>c:d"e|f?g*h', 'a_b_c_d_e_f_g_h'],
    ['tab\there', 'tab_here'],
    ['esc\u001b[31mred', 'esc_[31mred'],
    ['del\u007f', 'del_'],
    ['name. . ', 'name____'],
    ['CON', '_CON'],
    ['com1.txt', '_com1.txt'],
    ['', '_'],
    ['.', '_'],
    ['..', '__'],
    ['a/b\\c', 'a_b_c'],
  ])('%j → %j', (from, to) => {
    expect(safeFileName(from)).toBe(to);
  });

  it('truncates over-long names on a UTF-8 boundary, keeping the extension', () => {
    const name = `${'é'.repeat(200)}.mkv`; // 404 bytes
    const safe = safeFileName(name);
    expect(Buffer.byteLength(safe)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(safe.endsWith('.mkv')).toBe(true);
    expect(safe).not.toContain('\uFFFD');
    expect(Buffer.from(safe).toString('utf8')).toBe(safe);
  });

  it('never splits a surrogate pair', () => {
    const cut = truncateUtf8('😀'.repeat(100), 255);
    expect(Buffer.byteLength(cut)).toBe(252);
    expect([...cut].every((c) => c === '😀')).toBe(true);
  });

  it('leaves no trailing dot or space where the cut lands', () => {
    // No kept extension (none, or one longer than 16 bytes): the cut falls right after a space or dot.
    for (const name of ['a'.repeat(254) + ' ' + 'b'.repeat(10), 'a'.repeat(254) + '.' + 'x'.repeat(20)]) {
      const out = safeFileName(name);
      expect(Buffer.byteLength(out)).toBeLessThanOrEqual(MAX_NAME_BYTES);
      expect(out).not.toMatch(/[. ]$/);
      expect(safeFileName(out)).toBe(out);
    }
  });

  it('is idempotent', () => {
    for (const n of ['a?', 'CON', 'x. ', `${'ü'.repeat(300)}`]) expect(safeFileName(safeFileName(n))).toBe(safeFileName(n));
  });
});

describe('toSafePath', () => {
  it('maps every component and reports each rename', () => {
    expect(toSafePath(['ok', 'a?b', 'NUL'])).toEqual({
      path: ['ok', 'a_b', '_NUL'],
      renames: [
        { index: 1, from: 'a?b', to: 'a_b' },
        { index: 2, from: 'NUL', to: '_NUL' },
      ],
    });
  });
});
