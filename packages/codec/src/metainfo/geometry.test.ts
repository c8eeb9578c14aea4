import { describe, expect, it } from 'vitest';
import { fileAt, fileToPieces, locateByte, pieceRanges, pieceSize, type Layout } from './geometry.js';

// Files: 0 [0,10) · 1 empty at 10 · 2 [10,35) · 3 padding [35,40) · 4 [40,45); pieces of 16 bytes.
const layout: Layout = {
  pieceLength: 16,
  pieceCount: 3,
  totalLength: 45,
  files: [
    { offset: 0, length: 10 },
    { offset: 10, length: 0 },
    { offset: 10, length: 25 },
    { offset: 35, length: 5, padding: true },
    { offset: 40, length: 5 },
  ],
};

describe('geometry', () => {
  it('sizes pieces, the last one short', () => {
    expect([0, 1, 2].map((i) => pieceSize(layout, i))).toEqual([16, 16, 13]);
    expect(() => pieceSize(layout, 3)).toThrow(RangeError);
  });

  it('maps a piece to the file ranges it covers, skipping empty files', () => {
    expect(pieceRanges(layout, 0)).toEqual([
      { fileIndex: 0, fileOffset: 0, pieceOffset: 0, length: 10, padding: false },
      { fileIndex: 2, fileOffset: 0, pieceOffset: 10, length: 6, padding: false },
    ]);
    expect(pieceRanges(layout, 2)).toEqual([
      { fileIndex: 2, fileOffset: 22, pieceOffset: 0, length: 3, padding: false },
      { fileIndex: 3, fileOffset: 0, pieceOffset: 3, length: 5, padding: true },
      { fileIndex: 4, fileOffset: 0, pieceOffset: 8, length: 5, padding: false },
    ]);
  });

  it('ranges of all pieces tile the data exactly once', () => {
    const covered: number[] = [];
    for (let p = 0; p < layout.pieceCount; p++) {
      let inPiece = 0;
      for (const r of pieceRanges(layout, p)) {
        expect(r.pieceOffset).toBe(inPiece);
        inPiece += r.length;
        for (let i = 0; i < r.length; i++) covered.push(layout.files[r.fileIndex]!.offset + r.fileOffset + i);
      }
      expect(inPiece).toBe(pieceSize(layout, p));
    }
    expect(covered).toEqual(Array.from({ length: 45 }, (_, i) => i));
  });

  it('maps a file to its pieces and back', () => {
    expect(fileToPieces(layout, 0)).toEqual({ first: 0, last: 0 });
    expect(fileToPieces(layout, 1)).toBeUndefined();
    expect(fileToPieces(layout, 2)).toEqual({ first: 0, last: 2 });
    expect(fileToPieces(layout, 4)).toEqual({ first: 2, last: 2 });
    expect(fileAt(layout, 10)).toBe(2);
    expect(fileAt(layout, 44)).toBe(4);
    expect(locateByte(layout, 33)).toEqual({ piece: 2, pieceOffset: 1 });
  });
});
