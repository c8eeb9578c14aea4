import type { ChalkInstance } from 'chalk';
import { formatBytes, formatProblem, problemJson, sanitize } from '@tc/cli';
import type { CodecProblem, Metainfo } from '@tc/codec';
import type { FileResult, VerifyReport } from '@tc/create';
import type { SharedFailure } from './shared.js';

/** The outcome for one .torrent: its validation, and the data check when `--data` was given. */
export interface ValidateResult {
  readonly source: string;
  readonly metainfo: Metainfo | undefined;
  readonly errors: readonly CodecProblem[];
  readonly warnings: readonly CodecProblem[];
  /** The file could not be read, or the data check failed to run (not a bad piece: an error). */
  readonly failure: string | undefined;
  readonly data: VerifyReport | undefined;
  /** With --data: each file's unverified pieces shared with other files (by file index). */
  readonly shared?: ReadonlyMap<number, SharedFailure> | undefined;
  /** With --data: a next step when the data folder looks mistaken (e.g. the content folder itself). */
  readonly hint?: string | undefined;
  readonly exitCode: number;
}

/** A file's status as reported: `unknown` when none of its pieces verified and each shares bytes with another file (issue 17). */
export type ShownStatus = FileResult['status'] | 'unknown';

export function shownStatus(f: FileResult, shared: SharedFailure | undefined): ShownStatus {
  if (f.status === 'partial' && f.piecesOk === 0 && shared !== undefined && shared.pieces === f.piecesTotal) return 'unknown';
  return f.status;
}

/** Other files named in a detail line; the rest are counted. */
const MAX_SHARED_NAMED = 3;

/** Files listed one by one by default; above this only the incomplete ones are (all with -v). */
const MAX_FILES_SHOWN = 20;
/** Incomplete files listed without -v: enough to see the pattern, not 100,000 lines. */
const MAX_PROBLEM_FILES_SHOWN = 100;

/** `12.3%`, rounded down so that an incomplete file never shows 100.0%. */
export function percent(done: number, total: number): string {
  if (total === 0) return '100.0%';
  return `${(Math.floor((1000 * done) / total) / 10).toFixed(1)}%`;
}

function fileStatus(f: FileResult, shared: SharedFailure | undefined, c: ChalkInstance): string {
  switch (shownStatus(f, shared)) {
    case 'unknown':
      return c.yellow('unknown');
    case 'complete':
      return c.green('complete');
    case 'partial':
      return c.yellow(`partial ${percent(f.piecesOk, f.piecesTotal)}`);
    case 'missing':
      return c.red('missing');
    case 'wrong-size':
      return c.red('wrong size');
  }
}

function fileDetail(f: FileResult, shared: SharedFailure | undefined, data: VerifyReport): string {
  if (shared !== undefined && f.status === 'partial') {
    const byIndex = new Map(data.files.map((g) => [g.index, g]));
    const named = shared.with.slice(0, MAX_SHARED_NAMED).map((i) => {
      const g = byIndex.get(i);
      return g === undefined ? `file ${i}` : `${sanitize(g.path.join('/'))} (${g.status.replace('-', ' ')})`;
    });
    const more = shared.with.length - named.length;
    const others = `${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}`;
    const n = shared.pieces;
    if (shownStatus(f, shared) === 'unknown') {
      return `${formatBytes(f.expectedLength)}, cannot be checked alone: its ${n === 1 ? '1 piece is' : `${n} pieces are`} shared with ${others}`;
    }
    const failed = f.piecesTotal - f.piecesOk;
    const which =
      n === failed
        ? failed === 1
          ? 'the piece that did not verify is'
          : `all ${failed} pieces that did not verify are`
        : `${n} of the ${failed} pieces that did not verify ${n === 1 ? 'is' : 'are'}`;
    return `${formatBytes(f.expectedLength)}, ${which} shared with ${others}`;
  }
  if (f.status === 'wrong-size') return `${formatBytes(f.actualLength ?? 0)} on disk, expected ${formatBytes(f.expectedLength)}`;
  if (f.status === 'missing' && f.problem !== undefined) return `${formatBytes(f.expectedLength)}, ${sanitize(f.problem)}`;
  return formatBytes(f.expectedLength);
}

/** The human block for one torrent (stdout). */
export function renderResult(r: ValidateResult, opts: { chalk: ChalkInstance; verbose: boolean }): string {
  const c = opts.chalk;
  const m = r.metainfo;
  const lines: string[] = [];
  const head = `${sanitize(r.source)}: `;
  if (r.errors.length > 0 || (m === undefined && r.failure !== undefined)) {
    const n = r.errors.length;
    lines.push(`${head}${c.red('invalid')}${n > 0 ? ` (${n} error${n === 1 ? '' : 's'})` : ''}`);
    for (const p of r.errors) lines.push(`  ${c.red('error')}    ${formatProblem(p)}`);
    if (r.failure !== undefined) lines.push(`  ${c.red('error')}    ${sanitize(r.failure)}`);
  } else if (m) {
    const w = r.warnings.length;
    const data = r.data;
    let verdict = c.green('valid');
    if (data) {
      verdict +=
        data.piecesOk === data.pieceCount
          ? `, data ${c.green('verified')} (${data.pieceCount}/${data.pieceCount} pieces)`
          : `, data ${c.red('incomplete')} (${data.piecesOk}/${data.pieceCount} pieces, ${percent(data.piecesOk, data.pieceCount)})`;
    }
    if (r.failure !== undefined) verdict += `, data ${c.red('not checked')}: ${sanitize(r.failure)}`;
    lines.push(`${head}${verdict}${w > 0 ? `, ${w} warning${w === 1 ? '' : 's'}` : ''}`);
    lines.push(
      `  ${m.infoHashHex}  ${sanitize(m.name)}  ${formatBytes(m.totalLength)}${m.version === 'v1' ? '' : `  (${m.version}, v2 info-hash ${m.v2!.infoHashHex})`}`,
    );
  }
  if (opts.verbose || r.errors.length > 0) for (const p of r.warnings) lines.push(`  ${c.yellow('warning')}  ${formatProblem(p)}`);
  if (r.data) {
    const files = r.data.files;
    const all = opts.verbose || files.length <= MAX_FILES_SHOWN;
    // Without -v: the files that need attention, up to a screenful or so; the rest are counted.
    const shown = all ? files : files.filter((f) => f.status !== 'complete').slice(0, MAX_PROBLEM_FILES_SHOWN);
    const sh = (f: FileResult): SharedFailure | undefined => r.shared?.get(f.index);
    const width = shown.reduce((w, f) => Math.max(w, fileStatus(f, sh(f), c).length), 0);
    for (const f of shown) lines.push(`  ${fileStatus(f, sh(f), c).padEnd(width)}  ${sanitize(f.path.join('/'))}  ${fileDetail(f, sh(f), r.data)}`);
    if (shown.length < files.length) {
      const rest = new Map<string, number>();
      for (const f of files) rest.set(shownStatus(f, sh(f)), (rest.get(shownStatus(f, sh(f))) ?? 0) + 1);
      for (const f of shown) rest.set(shownStatus(f, sh(f)), rest.get(shownStatus(f, sh(f)))! - 1);
      const parts = [...rest].filter(([, n]) => n > 0).map(([st, n]) => `${n} ${st.replace('-', ' ')}`);
      lines.push(`  … and ${files.length - shown.length} more files: ${parts.join(', ')} (-v lists them)`);
    }
  }
  if (r.hint !== undefined) lines.push(`  hint: ${sanitize(r.hint)}`);
  return `${lines.join('\n')}\n`;
}

export interface Summary {
  readonly torrents: number;
  readonly valid: number;
  readonly invalid: number;
  /** Only with --data: torrents whose every piece verified, and those that did not. */
  readonly verified: number | undefined;
  readonly unverified: number | undefined;
}

export function summarize(results: readonly ValidateResult[], withData: boolean): Summary {
  const valid = results.filter((r) => r.metainfo !== undefined && r.errors.length === 0).length;
  const verified = results.filter((r) => r.data !== undefined && r.data.piecesOk === r.data.pieceCount).length;
  return {
    torrents: results.length,
    valid,
    invalid: results.length - valid,
    verified: withData ? verified : undefined,
    unverified: withData ? valid - verified : undefined,
  };
}

export function renderSummary(s: Summary, c: ChalkInstance): string {
  const parts = [`${s.torrents} torrent${s.torrents === 1 ? '' : 's'}: ${s.valid} valid, ${s.invalid > 0 ? c.red(`${s.invalid} invalid`) : '0 invalid'}`];
  if (s.verified !== undefined && s.unverified !== undefined) {
    parts.push(`data: ${s.verified} verified, ${s.unverified > 0 ? c.red(`${s.unverified} not verified`) : '0 not verified'}`);
  }
  return `${parts.join('; ')}\n`;
}

/** The `--json` shape of one torrent (schema 1). */
export function resultJson(r: ValidateResult): Record<string, unknown> {
  const m = r.metainfo;
  const d = r.data;
  return {
    source: r.source,
    valid: m !== undefined && r.errors.length === 0,
    exitCode: r.exitCode,
    infoHash: m?.infoHashHex ?? null,
    version: m?.version ?? null,
    infoHashV2: m?.v2?.infoHashHex ?? null,
    name: m?.name ?? null,
    totalLength: m?.totalLength ?? null,
    errors: r.errors.map(problemJson),
    warnings: r.warnings.map(problemJson),
    failure: r.failure ?? null,
    hint: r.hint ?? null,
    data: d
      ? {
          verified: d.piecesOk === d.pieceCount,
          pieceCount: d.pieceCount,
          piecesOk: d.piecesOk,
          bytesOk: d.bytesOk,
          files: d.files.map((f) => ({
            path: f.path,
            status: shownStatus(f, r.shared?.get(f.index)),
            percent: f.piecesTotal === 0 ? 100 : Math.floor((1000 * f.piecesOk) / f.piecesTotal) / 10,
            expectedLength: f.expectedLength,
            actualLength: f.actualLength ?? null,
            piecesOk: f.piecesOk,
            piecesTotal: f.piecesTotal,
            sharedPieces: r.shared?.get(f.index)?.pieces ?? 0,
            sharedWith: (r.shared?.get(f.index)?.with ?? []).map((i) => d.files.find((g) => g.index === i)?.path ?? null),
            ...(f.problem !== undefined ? { problem: f.problem } : {}),
          })),
        }
      : null,
  };
}
