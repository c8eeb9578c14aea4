import { fileToPieces, pieceSize, type Layout } from '@tc/codec';
import { globMatch, parseGlob } from './glob.js';

/**
 * Selective download (issue 6): which files the user wants, and from that which pieces to fetch.
 * Pure: plain arrays in, plain arrays out. Geometry is codec's structural `Layout`, which codec's
 * `Metainfo` and the engine's `TorrentLayout` both satisfy.
 */

export const SELECTION_ERROR_CODES = ['SELECT_BAD_SPEC', 'SELECT_OUT_OF_RANGE', 'SELECT_NO_MATCH'] as const;
export type SelectionErrorCode = (typeof SELECTION_ERROR_CODES)[number];

/**
 * A `--select` value the user got wrong (a usage error: apps map it to exit code 2).
 * Local to selection until EngineErrorCode gains these codes; then this becomes an EngineError.
 */
export class SelectionError extends Error {
  override readonly name = 'SelectionError';
  readonly code: SelectionErrorCode;
  /** The comma-separated item at fault, as typed. */
  readonly item: string;

  constructor(code: SelectionErrorCode, message: string, item: string) {
    super(message);
    this.code = code;
    this.item = item;
  }
}

/** One file of a torrent as selection sees it: codec's `MetainfoFile` and the engine's `LayoutFile` both fit. */
export interface SelectableFile {
  /** Path components; for a multi-file torrent the torrent's folder name first (as codec gives it). */
  readonly path: readonly string[];
  readonly length: number;
  /** BEP 47 padding file: never selected by a pattern, never created. */
  readonly padding?: boolean;
}

/** Longest `--select` value accepted (characters): bounds parsing work on a hostile config. */
export const MAX_SELECT_SPEC_CHARS = 64 * 1024;
/** Most comma-separated items in one `--select`. */
export const MAX_SELECT_ITEMS = 4096;

const NUMERIC_ITEM = /^[0-9-]+$/;
const INDEX = /^(0|[1-9][0-9]*)$/;
const RANGE = /^(0|[1-9][0-9]*)-(0|[1-9][0-9]*)$/;

/**
 * Parses `--select` (`0,2-5`, `*.mkv`, `dir/**`, or a mix) against a torrent's file list and
 * returns the selected file indices, ascending and unique. Indices are positions in the torrent's
 * `files` list (what `--list` prints), padding files included, so they never shift.
 *
 * An item made only of digits and '-' is an index or an inclusive range `a-b`; anything else is a
 * glob (see glob.ts). A glob without '/' matches a file's base name in any folder; one with '/'
 * matches the whole path, with or without the torrent's folder name in front.
 * Throws SelectionError: SELECT_BAD_SPEC (malformed item), SELECT_OUT_OF_RANGE (index ≥ file
 * count), SELECT_NO_MATCH (a glob matched no file: almost always a typo, so it is not ignored).
 */
export function parseSelection(spec: string, files: readonly SelectableFile[]): number[] {
  if (spec.length > MAX_SELECT_SPEC_CHARS) {
    throw new SelectionError('SELECT_BAD_SPEC', `selection is longer than ${MAX_SELECT_SPEC_CHARS} characters`, spec.slice(0, 40));
  }
  const items = spec.split(',').map((s) => s.trim());
  if (items.length > MAX_SELECT_ITEMS) {
    throw new SelectionError('SELECT_BAD_SPEC', `selection has more than ${MAX_SELECT_ITEMS} items`, spec.slice(0, 40));
  }
  const chosen = new Uint8Array(files.length);
  for (const item of items) {
    if (item === '') throw new SelectionError('SELECT_BAD_SPEC', 'empty item in selection', item);
    if (NUMERIC_ITEM.test(item)) {
      selectRange(item, files.length, chosen);
      continue;
    }
    const glob = parseGlob(item);
    if (typeof glob === 'string') throw new SelectionError('SELECT_BAD_SPEC', `bad pattern "${item}": ${glob}`, item);
    let hits = 0;
    files.forEach((f, i) => {
      if (f.padding === true) return;
      const targets = glob.hasSlash ? matchTargets(f.path) : [f.path[f.path.length - 1] ?? ''];
      if (targets.some((t) => globMatch(glob, t))) {
        chosen[i] = 1;
        hits++;
      }
    });
    if (hits === 0) throw new SelectionError('SELECT_NO_MATCH', `pattern "${item}" matches no file`, item);
  }
  const out: number[] = [];
  chosen.forEach((v, i) => {
    if (v) out.push(i);
  });
  return out;
}

function selectRange(item: string, count: number, chosen: Uint8Array): void {
  let lo: number;
  let hi: number;
  const one = INDEX.exec(item);
  const range = RANGE.exec(item);
  if (one) {
    lo = hi = Number(one[1]);
  } else if (range) {
    lo = Number(range[1]);
    hi = Number(range[2]);
    if (hi < lo) throw new SelectionError('SELECT_BAD_SPEC', `range ${item} runs backwards`, item);
  } else {
    throw new SelectionError('SELECT_BAD_SPEC', `"${item}" is neither an index nor a range like 2-5`, item);
  }
  if (!Number.isSafeInteger(hi) || hi >= count) {
    const valid = count === 0 ? 'the torrent has no files' : `valid indices are 0-${count - 1}`;
    throw new SelectionError('SELECT_OUT_OF_RANGE', `file index ${item} is out of range: ${valid}`, item);
  }
  for (let i = lo; i <= hi; i++) chosen[i] = 1;
}

/** The whole path, and for paths under a folder also the path inside that folder (users often leave out the torrent name). */
function matchTargets(path: readonly string[]): string[] {
  const full = path.join('/');
  return path.length > 1 ? [full, path.slice(1).join('/')] : [full];
}

export interface PiecePlan {
  readonly pieceCount: number;
  /** One byte per piece: 1 when the piece must be fetched. */
  readonly wanted: Uint8Array;
  readonly wantedCount: number;
  /** Bytes in wanted pieces (what the download will fetch, boundary pieces in full). */
  readonly wantedBytes: number;
  /** Per file: true when it was selected. */
  readonly selected: readonly boolean[];
  /**
   * Per file: true when it will exist on disk: selected (even empty) or, for an unselected file,
   * because a wanted boundary piece writes into it. Padding files are never created.
   */
  readonly create: readonly boolean[];
  /** Per file: the byte range of it that wanted pieces cover, [start, end) in the file (empty when none). */
  readonly covered: readonly { readonly start: number; readonly end: number }[];
}

/**
 * The pieces to fetch for a selection (BEP 3 pieces span file boundaries): every piece that holds a
 * byte of a selected file, so the pieces at a selected file's ends, shared with its unselected
 * neighbours, are fetched whole and verified (a piece can only be checked whole). Unselected files
 * those boundary pieces write into must then exist; all other unselected files are never created.
 * `selected` undefined means every file.
 */
export function planPieces(layout: Layout, selected?: Iterable<number>): PiecePlan {
  const { pieceLength, pieceCount, files } = layout;
  const sel = new Array<boolean>(files.length).fill(selected === undefined);
  if (selected !== undefined) {
    for (const i of selected) {
      if (!Number.isInteger(i) || i < 0 || i >= files.length) throw new RangeError(`file index ${i} outside 0..${files.length - 1}`);
      sel[i] = true;
    }
  }
  const wanted = new Uint8Array(pieceCount);
  files.forEach((f, i) => {
    if (!sel[i] || f.padding === true) return;
    const r = fileToPieces(layout, i);
    if (r) wanted.fill(1, r.first, r.last + 1);
  });
  let wantedCount = 0;
  let wantedBytes = 0;
  for (let p = 0; p < pieceCount; p++) {
    if (!wanted[p]) continue;
    wantedCount++;
    wantedBytes += pieceSize(layout, p);
  }
  const create: boolean[] = [];
  const covered: { start: number; end: number }[] = [];
  files.forEach((f, i) => {
    const r = fileToPieces(layout, i);
    let start = 0;
    let end = 0;
    if (r && f.padding !== true) {
      // Only the file's first and last pieces can be wanted without the file being selected,
      // so the covered span runs from the first wanted piece to the last one.
      let a = r.first;
      while (a <= r.last && !wanted[a]) a++;
      if (a <= r.last) {
        let b = r.last;
        while (!wanted[b]) b--;
        start = Math.max(0, a * pieceLength - f.offset);
        end = Math.min(f.length, (b + 1) * pieceLength - f.offset);
      }
    }
    covered.push({ start, end });
    create.push(f.padding !== true && (sel[i] === true || end > start));
  });
  return { pieceCount, wanted, wantedCount, wantedBytes, selected: sel, create, covered };
}
