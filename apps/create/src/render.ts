import type { ChalkInstance } from 'chalk';
import { formatBytes, formatDuration, sanitize } from '@tc/cli';
import type { Metainfo } from '@tc/codec';

export interface CreateResult {
  /** Absolute path of the .torrent written. */
  readonly output: string;
  /** The torrent as written, read back. */
  readonly metainfo: Metainfo;
  /** True when the piece size was chosen from the total size (no --piece-size). */
  readonly pieceLengthChosen: boolean;
  readonly magnet: string;
  readonly seconds: number;
}

const LABEL_WIDTH = 14;

function dataFiles(m: Metainfo): number {
  return m.files.filter((f) => !f.padding).length;
}

/** Human summary on stdout: what was written, the piece size (and whether it was chosen), both info-hashes, the magnet. */
export function renderCreate(r: CreateResult, opts: { chalk: ChalkInstance; verbose: boolean }): string {
  const c = opts.chalk;
  const m = r.metainfo;
  const lines: string[] = [];
  const row = (label: string, value: string): void => {
    lines.push(`${c.bold(label.padEnd(LABEL_WIDTH))}${value}`);
  };
  row('Wrote', sanitize(r.output));
  row('Name', sanitize(m.name));
  row('Version', m.version === 'hybrid' ? 'hybrid (v1 + v2)' : m.version);
  const n = dataFiles(m);
  row('Files', `${n} file${n === 1 ? '' : 's'}, ${formatBytes(m.totalLength - paddingBytes(m))}`);
  row('Piece size', `${formatBytes(m.pieceLength)}${r.pieceLengthChosen ? ' (chosen from the total size)' : ''}, ${m.pieceCount} pieces`);
  if (m.version !== 'v2') row('Info-hash v1', m.infoHashHex);
  if (m.v2) row('Info-hash v2', m.v2.infoHashHex);
  if (m.private) row('Private', 'yes');
  if (m.announceTiers.length > 0) row('Trackers', m.announceTiers.map((t) => t.map((u) => sanitize(u)).join(', ')).join(' | '));
  if (m.webSeeds.length > 0) row('Web seeds', m.webSeeds.map((u) => sanitize(u)).join(', '));
  if (opts.verbose) {
    if (m.source !== undefined) row('Source', sanitize(m.source));
    if (m.comment !== undefined) row('Comment', sanitize(m.comment));
    row('Hashed in', formatDuration(r.seconds));
  }
  row('Magnet', sanitize(r.magnet));
  return `${lines.join('\n')}\n`;
}

function paddingBytes(m: Metainfo): number {
  return m.files.reduce((n, f) => n + (f.padding ? f.length : 0), 0);
}

/** The `--json` shape (schema 1). */
export function createJson(r: CreateResult): Record<string, unknown> {
  const m = r.metainfo;
  return {
    output: r.output,
    name: m.name,
    version: m.version,
    files: dataFiles(m),
    totalBytes: m.totalLength - paddingBytes(m),
    pieceLength: m.pieceLength,
    pieceLengthChosen: r.pieceLengthChosen,
    pieceCount: m.pieceCount,
    private: m.private,
    /** The 20-byte swarm id: the v1 info-hash, or the truncated v2 one for a v2-only torrent. */
    infoHash: m.infoHashHex,
    infoHashV1: m.version === 'v2' ? null : m.infoHashHex,
    infoHashV2: m.v2?.infoHashHex ?? null,
    trackers: m.announceTiers,
    webSeeds: m.webSeeds,
    magnet: r.magnet,
    seconds: Math.round(r.seconds * 1000) / 1000,
  };
}
