import { sanitize } from '@tc/cli';
import type { Metainfo, V2LayerState } from '@tc/codec';

/** Missing piece layers listed by path before the rest is only counted. */
const MAX_MISSING_SHOWN = 10;

const STATE_WORDS: Readonly<Record<V2LayerState, string>> = {
  present: 'present',
  missing: 'MISSING',
  'not-needed': 'not needed (one piece or less)',
  empty: 'none (empty file)',
};

/** The BEP 52 rows of the human report: version, the SHA-256 info-hash, and where the piece layers stand. */
export function v2Rows(m: Metainfo, verbose: boolean): [label: string, values: string[]][] {
  const v2 = m.v2;
  if (!v2) return [];
  const rows: [string, string[]][] = [
    ['Version', [m.version === 'hybrid' ? 'hybrid (v1 + v2, BEP 52)' : 'v2 only (BEP 52): the info-hash above is the v2 one cut to 20 bytes']],
    ['Info-hash v2', [v2.infoHashHex]],
  ];
  const needing = v2.files.filter((f) => f.layerState === 'present' || f.layerState === 'missing');
  const missing = needing.filter((f) => f.layerState === 'missing');
  const layers =
    needing.length === 0
      ? ['none needed: every file fits in one piece']
      : missing.length === 0
        ? [`complete: ${needing.length} of ${v2.files.length} file${v2.files.length === 1 ? '' : 's'} need one, all present`]
        : [
            `MISSING for ${missing.length} of ${needing.length} file${needing.length === 1 ? '' : 's'} that need one (a client must fetch them from peers)`,
            ...missing.slice(0, MAX_MISSING_SHOWN).map((f) => `  ${sanitize(f.path.join('/'))}`),
            ...(missing.length > MAX_MISSING_SHOWN ? [`  … ${missing.length - MAX_MISSING_SHOWN} more`] : []),
          ];
  rows.push(['Piece layers', layers]);
  if (verbose) {
    rows.push([
      'File tree',
      v2.files.map((f) => `${sanitize(f.path.join('/'))}  root ${f.piecesRoot ? f.piecesRoot.toString('hex') : '-'}  layer ${STATE_WORDS[f.layerState]}`),
    ]);
  }
  return rows;
}

/** The BEP 52 part of `--json` (null for a v1 torrent). */
export function v2Json(m: Metainfo): Record<string, unknown> | null {
  const v2 = m.v2;
  if (!v2) return null;
  return {
    infoHash: v2.infoHashHex,
    truncatedInfoHash: v2.truncatedInfoHash.toString('hex'),
    layersComplete: v2.layersComplete,
    files: v2.files.map((f) => ({
      path: f.path,
      length: f.length,
      piecesRoot: f.piecesRoot?.toString('hex') ?? null,
      pieceCount: f.pieceCount,
      layerState: f.layerState,
    })),
  };
}
