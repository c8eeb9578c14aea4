import { constants } from 'node:fs';
import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { EngineError } from '../errors.js';
import { fileSlices, type TorrentLayout } from '../layout.js';
import { syncFolder } from './durable.js';
import type { TorrentStorage } from './types.js';

/**
 * The part file (issue 17, as libtorrent's): with a selection, a piece wanted for a selected file
 * can also hold bytes of an unselected neighbour. Those bytes go to one file in the state folder,
 * never into a full-size sparse file in the user's folder; when the user selects the neighbour
 * later, `adopt()` moves them into place.
 *
 * Format: a header, then one slot of `pieceLength` bytes per piece kept, holding every byte written
 * to that piece at its piece-relative offset (the parked ranges, and a copy of the others, so that
 * `adopt()` can put a whole range in place without telling written zeros from unwritten ones).
 * ```
 * 8  magic "tcpart01"
 * 4  piece length (u32 BE)
 * 4  piece count (u32 BE)
 * 4×piece count  slot of each piece (u32 BE), NO_SLOT when none
 * ```
 * A file that does not match the torrent's geometry is ignored and rewritten: its bytes were only
 * ever trusted through the hash check of the pieces they belong to.
 */

export const PART_MAGIC = Buffer.from('tcpart01', 'latin1');
/** A piece with no slot. */
export const NO_SLOT = 0xffffffff;
const FIXED_HEADER = 16;

/** One contiguous range of a piece, in the user's files (`parked` false) or the part file. */
export interface PartRange {
  /** Offset within the piece. */
  readonly offset: number;
  readonly length: number;
  readonly parked: boolean;
}

/**
 * Files whose bytes belong in the part file: those not selected that share a piece with a selected
 * one. (Other unselected files are never written: no wanted piece touches them.) Padding files never.
 */
export function parkedFiles(layout: TorrentLayout, selection: readonly number[] | undefined): boolean[] {
  const parked = new Array<boolean>(layout.files.length).fill(false);
  if (selection === undefined) return parked;
  const selected = new Set(selection);
  const wantedPiece = new Set<number>();
  for (const i of selection) {
    const f = layout.files[i];
    if (f === undefined || f.length === 0) continue;
    for (let p = Math.floor(f.offset / layout.pieceLength); p <= Math.floor((f.offset + f.length - 1) / layout.pieceLength); p++) wantedPiece.add(p);
  }
  layout.files.forEach((f, i) => {
    if (selected.has(i) || f.padding || f.length === 0) return;
    const first = Math.floor(f.offset / layout.pieceLength);
    const last = Math.floor((f.offset + f.length - 1) / layout.pieceLength);
    parked[i] = wantedPiece.has(first) || wantedPiece.has(last);
  });
  return parked;
}

/** Splits `length` bytes at `offset` in `piece` into runs going to the user's files or to the part file (padding: to the user's side, which skips it). */
export function splitRanges(layout: TorrentLayout, parked: readonly boolean[], piece: number, offset: number, length: number): PartRange[] {
  const out: { offset: number; length: number; parked: boolean }[] = [];
  for (const s of fileSlices(layout, piece, offset, length)) {
    const isParked = parked[s.file] === true;
    const at = offset + s.rangeOffset;
    const last = out[out.length - 1];
    if (last !== undefined && last.parked === isParked && last.offset + last.length === at) last.length += s.length;
    else out.push({ offset: at, length: s.length, parked: isParked });
  }
  return out;
}

function diskError(what: string, path: string, cause: unknown): EngineError {
  return new EngineError('ENGINE_DISK', `${what} ${path}: ${(cause as { code?: string }).code ?? (cause as Error).message}`, { path, cause });
}

/** The part file itself: piece-relative slots, allocated on first write. */
export class PartFile {
  private fh: FileHandle | undefined;
  private readonly slots: Uint32Array;
  private used = 0;
  private dirty = false;

  private constructor(
    readonly path: string,
    readonly pieceLength: number,
    pieceCount: number,
  ) {
    this.slots = new Uint32Array(pieceCount).fill(NO_SLOT);
  }

  /** Reads the slot table of an existing part file (no file: empty; nothing is created before a write). */
  static async open(path: string, pieceLength: number, pieceCount: number): Promise<PartFile> {
    const pf = new PartFile(path, pieceLength, pieceCount);
    let fh: FileHandle;
    try {
      fh = await open(path, constants.O_RDWR | constants.O_NOFOLLOW);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return pf;
      throw diskError('cannot open part file', path, e);
    }
    pf.fh = fh;
    const header = Buffer.alloc(FIXED_HEADER + 4 * pieceCount);
    const { bytesRead } = await fh.read(header, 0, header.length, 0);
    const ok =
      bytesRead === header.length &&
      header.subarray(0, 8).equals(PART_MAGIC) &&
      header.readUInt32BE(8) === pieceLength &&
      header.readUInt32BE(12) === pieceCount;
    if (!ok) {
      await fh.truncate(0);
      await pf.writeHeader();
      return pf;
    }
    const seen = new Set<number>();
    for (let p = 0; p < pieceCount; p++) {
      const s = header.readUInt32BE(FIXED_HEADER + 4 * p);
      // A slot out of range or used twice: the entry is dropped (its piece is fetched again).
      if (s === NO_SLOT || s >= pieceCount || seen.has(s)) continue;
      seen.add(s);
      pf.slots[p] = s;
      pf.used = Math.max(pf.used, s + 1);
    }
    return pf;
  }

  private get headerBytes(): number {
    return FIXED_HEADER + 4 * this.slots.length;
  }

  /** Pieces with a slot, ascending. */
  get pieces(): number[] {
    const out: number[] = [];
    this.slots.forEach((s, p) => {
      if (s !== NO_SLOT) out.push(p);
    });
    return out;
  }

  has(piece: number): boolean {
    return this.slots[piece] !== NO_SLOT;
  }

  private async handle(): Promise<FileHandle> {
    if (this.fh !== undefined) return this.fh;
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      this.fh = await open(this.path, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    } catch (e) {
      throw diskError('cannot create part file', this.path, e);
    }
    await this.writeHeader();
    await syncFolder(dirname(this.path));
    return this.fh;
  }

  private async writeHeader(): Promise<void> {
    const h = Buffer.alloc(this.headerBytes);
    PART_MAGIC.copy(h, 0);
    h.writeUInt32BE(this.pieceLength, 8);
    h.writeUInt32BE(this.slots.length, 12);
    this.slots.forEach((s, p) => h.writeUInt32BE(s, FIXED_HEADER + 4 * p));
    await this.fh!.write(h, 0, h.length, 0);
    this.dirty = true;
  }

  /** The lowest slot no piece uses. */
  private freeSlot(): number {
    const taken = new Set(this.slots);
    for (let s = 0; s < this.used; s++) if (!taken.has(s)) return s;
    return this.used++;
  }

  async write(piece: number, offset: number, bytes: Uint8Array): Promise<void> {
    const fh = await this.handle();
    let slot = this.slots[piece]!;
    try {
      if (slot === NO_SLOT) {
        slot = this.freeSlot();
        this.slots[piece] = slot;
        const entry = Buffer.alloc(4);
        entry.writeUInt32BE(slot);
        // Bytes first, then the entry naming them (a crash between loses the bytes, never mixes slots).
        await fh.write(bytes, 0, bytes.length, this.headerBytes + slot * this.pieceLength + offset);
        await fh.write(entry, 0, 4, FIXED_HEADER + 4 * piece);
      } else {
        await fh.write(bytes, 0, bytes.length, this.headerBytes + slot * this.pieceLength + offset);
      }
      this.dirty = true;
    } catch (e) {
      throw diskError('cannot write part file', this.path, e);
    }
  }

  /** Bytes of `piece` at `offset`; zeros where nothing was written. */
  async read(piece: number, offset: number, length: number): Promise<Buffer> {
    const out = Buffer.alloc(length);
    const slot = this.slots[piece]!;
    if (slot === NO_SLOT || this.fh === undefined) return out;
    try {
      await this.fh.read(out, 0, length, this.headerBytes + slot * this.pieceLength + offset);
    } catch (e) {
      throw diskError('cannot read part file', this.path, e);
    }
    return out;
  }

  /** Forgets a piece's slot (its bytes moved into place). */
  async free(piece: number): Promise<void> {
    if (this.slots[piece] === NO_SLOT || this.fh === undefined) return;
    this.slots[piece] = NO_SLOT;
    const entry = Buffer.alloc(4);
    entry.writeUInt32BE(NO_SLOT);
    await this.fh.write(entry, 0, 4, FIXED_HEADER + 4 * piece).catch((e: unknown) => {
      throw diskError('cannot write part file', this.path, e);
    });
    this.dirty = true;
  }

  async sync(): Promise<void> {
    if (this.fh === undefined || !this.dirty) return;
    this.dirty = false;
    await this.fh.datasync().catch((e: unknown) => {
      throw diskError('cannot sync part file', this.path, e);
    });
  }

  /** Closes it; a part file left with no piece is deleted. */
  async close(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    if (fh === undefined) return;
    await fh.close().catch(() => undefined);
    if (this.pieces.length === 0) await unlink(this.path).catch(() => undefined);
  }
}

/**
 * A storage that keeps the bytes of parked files (`parkedFiles`) in a part file and passes every
 * other byte to `inner` (the user's files) at the same piece and offset.
 */
export class PartFileStorage implements TorrentStorage {
  /** Files whose bytes go to the part file: `parkedFiles`, less those already in the user's folder. */
  readonly parked: readonly boolean[];
  private readonly selected: boolean[];

  /**
   * `present[i]`: file i exists in the user's folder (asked before anything is written). A file
   * already there stays there, selected or not (its bytes are in place: parking them now would
   * lose them), and `adopt()` does not write it again.
   */
  constructor(
    private readonly layout: TorrentLayout,
    private readonly inner: TorrentStorage,
    private readonly part: PartFile,
    selection: readonly number[] | undefined,
    private readonly present: readonly boolean[] = [],
  ) {
    this.parked = parkedFiles(layout, selection).map((p, i) => p && present[i] !== true);
    const chosen = new Set(selection ?? layout.files.map((_, i) => i));
    this.selected = layout.files.map((f, i) => !f.padding && chosen.has(i));
  }

  async write(piece: number, offset: number, chunks: readonly Uint8Array[]): Promise<void> {
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const ranges = splitRanges(this.layout, this.parked, piece, offset, total);
    if (ranges.every((r) => !r.parked)) return this.inner.write(piece, offset, chunks);
    const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    await this.part.write(piece, offset, bytes);
    for (const r of ranges) {
      if (!r.parked) await this.inner.write(piece, r.offset, [bytes.subarray(r.offset - offset, r.offset - offset + r.length)]);
    }
  }

  async read(piece: number, offset: number, length: number): Promise<Buffer> {
    const ranges = splitRanges(this.layout, this.parked, piece, offset, length);
    if (ranges.every((r) => !r.parked)) return this.inner.read(piece, offset, length);
    const parts = await Promise.all(ranges.map((r) => (r.parked ? this.part.read(piece, r.offset, r.length) : this.inner.read(piece, r.offset, r.length))));
    return Buffer.concat(parts, length);
  }

  /**
   * Moves into the user's files the bytes the part file holds of files selected since (those not
   * `present` in the user's folder), and frees slots left with nothing parked. Returns the
   * pieces whose slot was freed that way (a piece still partly parked stays, its other bytes in place).
   */
  async adopt(): Promise<number[]> {
    const moved: number[] = [];
    // A selected file already in the user's folder was never parked since it was written there
    // (parked files are never created there), or was adopted before: its bytes are in place, and
    // writing them again would only change its mtime.
    const adopting = this.selected.map((s, i) => s && this.present[i] !== true);
    for (const piece of this.part.pieces) {
      const size = Math.min(this.layout.pieceLength, this.layout.totalLength - piece * this.layout.pieceLength);
      const slices = fileSlices(this.layout, piece, 0, size);
      let any = false;
      for (const sl of slices) {
        // A selected file's range: the slot has its bytes (a copy of what went in place, or what was parked).
        if (adopting[sl.file] !== true) continue;
        await this.inner.write(piece, sl.rangeOffset, [await this.part.read(piece, sl.rangeOffset, sl.length)]);
        any = true;
      }
      if (slices.some((sl) => this.parked[sl.file] === true)) continue;
      if (any) moved.push(piece);
      await this.part.free(piece);
    }
    return moved;
  }

  async sync(): Promise<void> {
    await this.part.sync();
    await this.inner.sync();
  }

  async close(): Promise<void> {
    await this.part.close();
    await this.inner.close();
  }
}
