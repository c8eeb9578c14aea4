import { lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '@tc/testkit/tmp';
import { makeLayout } from '../layout.js';
import { FsStorage } from './fs.js';
import { NO_SLOT, PART_MAGIC, PartFile, PartFileStorage, parkedFiles, splitRanges } from './part-file.js';

// Pieces of 16: a.bin [0,20) · b.txt [20,30) · c.bin [30,70) · pad [70,80) · d.bin [80,90).
// Piece 1 [16,32) touches a, b and c; piece 4 [64,80) touches c and the padding.
const layout = makeLayout({
  pieceLength: 16,
  files: [
    { path: ['t', 'a.bin'], length: 20 },
    { path: ['t', 'b.txt'], length: 10 },
    { path: ['t', 'c.bin'], length: 40 },
    { path: ['t', '.pad', '10'], length: 10, padding: true },
    { path: ['t', 'd.bin'], length: 10 },
  ],
  pieceHashes: new Uint8Array(6 * 20),
});
const data = Buffer.from(Array.from({ length: 90 }, (_, i) => (i * 7 + 1) & 0xff));
const pieceBytes = (p: number): Buffer => data.subarray(p * 16, Math.min(90, p * 16 + 16));

describe('part file mapping', () => {
  it('parks the unselected files that share a piece with a selected one, never padding', () => {
    expect(parkedFiles(layout, undefined)).toEqual([false, false, false, false, false]);
    expect(parkedFiles(layout, [1])).toEqual([true, false, true, false, false]);
    expect(parkedFiles(layout, [0])).toEqual([false, true, true, false, false]);
    expect(parkedFiles(layout, [4])).toEqual([false, false, false, false, false]);
    expect(parkedFiles(layout, [2])).toEqual([true, true, false, false, false]);
    // A file already in the user's folder stays there (its bytes are in place).
    expect(new PartFileStorage(layout, {} as never, {} as never, [1], [true]).parked).toEqual([false, false, true, false, false]);
  });

  it('splits a piece range into runs for the user folder and the part file', () => {
    const parked = parkedFiles(layout, [1]);
    expect(splitRanges(layout, parked, 1, 0, 16)).toEqual([
      { offset: 0, length: 4, parked: true },
      { offset: 4, length: 10, parked: false },
      { offset: 14, length: 2, parked: true },
    ]);
    expect(splitRanges(layout, parked, 1, 5, 3)).toEqual([{ offset: 5, length: 3, parked: false }]);
    expect(splitRanges(layout, parked, 0, 0, 16)).toEqual([{ offset: 0, length: 16, parked: true }]);
    // Padding goes to the user's side (which skips it); the last piece is short.
    expect(splitRanges(layout, parked, 4, 0, 16)).toEqual([
      { offset: 0, length: 6, parked: true },
      { offset: 6, length: 10, parked: false },
    ]);
  });
});

describe('PartFileStorage', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let partPath: string;
  beforeEach(async () => {
    ({ path: dir, cleanup } = await tempDir('tc-part-'));
    partPath = join(dir, 'state', 'parts', 'x.parts');
  });
  afterEach(async () => cleanup());

  const present = (): Promise<boolean[]> =>
    Promise.all(
      layout.files.map((f) =>
        lstat(join(dir, 'dl', ...f.path)).then(
          () => true,
          () => false,
        ),
      ),
    );
  const open = async (selection: number[] | undefined): Promise<PartFileStorage> =>
    new PartFileStorage(layout, new FsStorage(layout, join(dir, 'dl')), await PartFile.open(partPath, 16, layout.pieceCount), selection, await present());

  it('with b.txt selected, the boundary piece leaves only b.txt in the folder; the rest is in the part file, read back whole', async () => {
    const s = await open([1]);
    await s.write(1, 0, [pieceBytes(1).subarray(0, 6), pieceBytes(1).subarray(6)]);
    expect(await readdir(join(dir, 'dl', 't'))).toEqual(['b.txt']);
    expect(await readFile(join(dir, 'dl', 't', 'b.txt'))).toEqual(data.subarray(20, 30));
    expect(await s.read(1, 0, 16)).toEqual(pieceBytes(1));
    expect(await s.read(1, 2, 5)).toEqual(pieceBytes(1).subarray(2, 7));
    await s.sync();
    await s.close();
    // The header names the slot; a new run reads it back.
    const raw = await readFile(partPath);
    expect(raw.subarray(0, 8)).toEqual(PART_MAGIC);
    expect(raw.readUInt32BE(16 + 4 * 1)).toBe(0);
    expect(raw.readUInt32BE(16 + 4 * 0)).toBe(NO_SLOT);
    const again = await open([1]);
    expect(await again.read(1, 0, 16)).toEqual(pieceBytes(1));
    expect(await again.read(0, 0, 16)).toEqual(Buffer.alloc(16));
    await again.close();
  });

  it('selecting a parked file later moves its bytes into place; the part file goes once nothing is parked', async () => {
    const s = await open([1]);
    await s.write(1, 0, [pieceBytes(1)]);
    await s.write(4, 0, [pieceBytes(4)]);
    await s.close();
    // a.bin selected too: its bytes of piece 1 move into place; c.bin is still parked there.
    const withA = await open([0, 1]);
    expect(await withA.adopt()).toEqual([]);
    const a = await readFile(join(dir, 'dl', 't', 'a.bin'));
    expect(a.length).toBe(20);
    expect(a.subarray(16)).toEqual(data.subarray(16, 20));
    await withA.close();
    await lstat(partPath);
    // Everything selected: c.bin's bytes of pieces 1 and 4 move too, and the part file is removed.
    const all = await open(undefined);
    expect(await all.adopt()).toEqual([1, 4]);
    const c = await readFile(join(dir, 'dl', 't', 'c.bin'));
    expect(c.subarray(0, 2)).toEqual(data.subarray(30, 32));
    expect(c.subarray(34, 40)).toEqual(data.subarray(64, 70));
    expect(await readFile(join(dir, 'dl', 't', 'b.txt'))).toEqual(data.subarray(20, 30));
    expect(await all.read(1, 0, 16)).toEqual(pieceBytes(1));
    await all.close();
    await expect(lstat(partPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a part file of another geometry, or with a slot named twice, is not trusted', async () => {
    const s = await open([1]);
    await s.write(1, 0, [pieceBytes(1)]);
    await s.write(4, 0, [pieceBytes(4)]);
    await s.close();
    const raw = await readFile(partPath);
    raw.writeUInt32BE(0, 16 + 4 * 4); // piece 4 claims piece 1's slot
    await writeFile(partPath, raw);
    const twice = await PartFile.open(partPath, 16, layout.pieceCount);
    expect(twice.pieces).toEqual([1]);
    await twice.close();
    const other = await PartFile.open(partPath, 32, 3);
    expect(other.pieces).toEqual([]);
    expect(await other.read(1, 0, 4)).toEqual(Buffer.alloc(4));
    await other.close();
  });
});
