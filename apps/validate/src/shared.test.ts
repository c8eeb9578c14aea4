import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { encode, parseMetainfo } from '@tc/codec';
import type { FileResult, VerifyReport } from '@tc/create';
import { renderResult } from './render.js';
import { sharedFailures } from './shared.js';

// Three files over 16 KiB pieces: a (20 KiB: pieces 0-1), b (4 KiB: piece 1), c (24 KiB: pieces 1-2).
const m = parseMetainfo(
  encode({
    info: {
      name: 'set',
      'piece length': 16 * 1024,
      pieces: Buffer.alloc(20 * 3),
      files: [
        { path: ['a'], length: 20 * 1024 },
        { path: ['b'], length: 4 * 1024 },
        { path: ['c'], length: 24 * 1024 },
      ],
    },
  }),
).metainfo;

function report(have: number[], files: Omit<FileResult, 'expectedLength' | 'actualLength' | 'index' | 'path'>[]): VerifyReport {
  return {
    pieceCount: 3,
    piecesOk: have.filter((h) => h === 1).length,
    have: Uint8Array.from(have),
    bytesOk: 0,
    files: files.map((f, i) => ({
      ...f,
      index: i,
      path: ['set', m.files[i]!.path.at(-1)!],
      expectedLength: m.files[i]!.length,
      actualLength: m.files[i]!.length,
    })),
  };
}

describe('sharedFailures and the file lines (issue 17)', () => {
  it('counts, per file, the unverified pieces it shares with other files; the detail line says so', () => {
    // Piece 1 (a's tail, all of b, c's head) failed; pieces 0 and 2 verified.
    const r = report(
      [1, 0, 1],
      [
        { status: 'partial', piecesOk: 1, piecesTotal: 2 },
        { status: 'partial', piecesOk: 0, piecesTotal: 1 },
        { status: 'partial', piecesOk: 1, piecesTotal: 2 },
      ],
    );
    const shared = sharedFailures(m, r);
    expect([...shared]).toEqual([
      [0, { pieces: 1, with: [1, 2] }],
      [1, { pieces: 1, with: [0, 2] }],
      [2, { pieces: 1, with: [0, 1] }],
    ]);
    const text = renderResult(
      { source: 'x.torrent', metainfo: m, errors: [], warnings: [], failure: undefined, data: r, shared, exitCode: 6 },
      { chalk: new Chalk({ level: 0 }), verbose: false },
    );
    expect(text).toContain('  unknown        set/b  4.00 KiB, cannot be checked alone: its 1 piece is shared with set/a (partial), set/c (partial)\n');
    expect(text).toContain('  partial 50.0%  set/a  20.0 KiB, the piece that did not verify is shared with set/b (partial), set/c (partial)\n');
  });

  it('a piece within one file is not shared', () => {
    const r = report(
      [0, 1, 1],
      [
        { status: 'partial', piecesOk: 1, piecesTotal: 2 },
        { status: 'complete', piecesOk: 1, piecesTotal: 1 },
        { status: 'complete', piecesOk: 2, piecesTotal: 2 },
      ],
    );
    expect(sharedFailures(m, r).size).toBe(0);
  });
});
