import { access } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pieceRanges, type Metainfo } from '@tc/codec';
import type { VerifyReport } from '@tc/create';

/** The pieces of one file that did not verify but also hold bytes of other files: whose bytes are bad is not known. */
export interface SharedFailure {
  /** Pieces of this file that did not verify and hold bytes of another file too. */
  readonly pieces: number;
  /** Those other files' indices, in torrent order. */
  readonly with: readonly number[];
}

/**
 * For each file, its unverified pieces that it shares with another (non-padding) file. A file whose
 * every unverified piece is shared cannot be judged alone: its own bytes may be intact (issue 17).
 * Linear in the unverified pieces.
 */
export function sharedFailures(m: Metainfo, report: VerifyReport): ReadonlyMap<number, SharedFailure> {
  const pieces = new Map<number, number>();
  const others = new Map<number, Set<number>>();
  for (let p = 0; p < report.pieceCount; p++) {
    if (report.have[p] === 1) continue;
    const files = [...new Set(pieceRanges(m, p).flatMap((r) => (r.padding ? [] : [r.fileIndex])))];
    if (files.length < 2) continue;
    for (const f of files) {
      pieces.set(f, (pieces.get(f) ?? 0) + 1);
      const set = others.get(f) ?? new Set<number>();
      for (const o of files) if (o !== f) set.add(o);
      others.set(f, set);
    }
  }
  const out = new Map<number, SharedFailure>();
  for (const [f, n] of pieces) out.set(f, { pieces: n, with: [...others.get(f)!].sort((a, b) => a - b) });
  return out;
}

/** Files looked at when guessing whether --data is the content folder itself: enough to tell, cheap. */
const MAX_PROBED_FILES = 20;

/**
 * When every file of a multi-file torrent is missing under `--data DIR` but its files are found
 * directly in DIR, DIR is the torrent's own folder: a hint naming the folder to give instead.
 * `given` is --data as the user typed it.
 */
export async function contentFolderHint(m: Metainfo, report: VerifyReport, dataDir: string, given: string): Promise<string | undefined> {
  if (!m.multiFile || report.files.length === 0) return undefined;
  if (!report.files.every((f) => f.status === 'missing' && f.problem === undefined)) return undefined;
  for (const f of report.files.slice(0, MAX_PROBED_FILES)) {
    if (f.expectedLength === 0 || f.path.length < 2) continue;
    const found = await access(join(dataDir, ...f.path.slice(1))).then(
      () => true,
      () => false,
    );
    if (found) {
      return `--data ${given} looks like the torrent's own folder (it holds its files): give the folder that holds it, --data ${dirname(given)}`;
    }
  }
  return undefined;
}
