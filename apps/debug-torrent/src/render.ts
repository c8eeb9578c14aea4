import type { ChalkInstance } from 'chalk';
import { formatBytes, formatProblem, problemJson, sanitize } from '@tc/cli';
import { BDict, toMagnet, type BValue, type CodecProblem, type Metainfo, type MetainfoFile } from '@tc/codec';
import { v2Json, v2Rows } from './v2.js';

/** What tc-debug-torrent learned about one input: a parsed torrent, or the problems that stopped it. */
export interface TorrentReport {
  /** The path or URL as given. */
  readonly source: string;
  /** Size of the .torrent itself, when it could be read. */
  readonly torrentBytes: number | undefined;
  readonly metainfo: Metainfo | undefined;
  readonly errors: readonly CodecProblem[];
  readonly warnings: readonly CodecProblem[];
  /** The input could not be read or fetched (then there are no codec problems). */
  readonly failure: { readonly message: string; readonly hint: string | undefined } | undefined;
  /** The decoded top-level value for `-v`, when the bytes were at least bencode. */
  readonly raw: BValue | undefined;
  readonly exitCode: number;
}

export type FilesStyle = 'tree' | 'list';

export interface HumanOptions {
  readonly chalk: ChalkInstance;
  readonly verbose: boolean;
  readonly files: FilesStyle;
}

/** Raw-key dump bounds: a hostile torrent may hold millions of values; a person reads a few screens. */
const RAW_MAX_LINES = 2000;
const RAW_MAX_LIST_ITEMS = 50;
const RAW_MAX_TEXT_CHARS = 200;
const RAW_HEX_PREFIX_BYTES = 20;
/** Width of the label column in the human report. */
const LABEL_WIDTH = 14;

function fmtSize(n: number): string {
  return n < 1024 ? `${n} B` : `${formatBytes(n)} (${n.toLocaleString('en-US')} bytes)`;
}

/** The human report of one parsed torrent, as lines for stdout. */
export function renderTorrent(r: TorrentReport, opts: HumanOptions): string {
  const c = opts.chalk;
  const m = r.metainfo;
  const lines: string[] = [];
  const row = (label: string, value: string | readonly string[]): void => {
    const values = typeof value === 'string' ? [value] : value;
    values.forEach((v, i) => lines.push(`${i === 0 ? c.bold(label.padEnd(LABEL_WIDTH)) : ' '.repeat(LABEL_WIDTH)}${v}`));
  };
  row('Source', sanitize(r.source));
  if (m) {
    row('Name', sanitize(m.name));
    row('Info-hash', m.infoHashHex);
    row('Base32', m.infoHashBase32);
    for (const [label, values] of v2Rows(m, opts.verbose)) row(label, values);
    row('Magnet', sanitize(toMagnet(m)));
    if (r.torrentBytes !== undefined) row('Torrent size', fmtSize(r.torrentBytes));
    row('Content size', fmtSize(m.totalLength));
    row('Private', m.private ? c.yellow('yes') : 'no');
    row('Piece length', fmtSize(m.pieceLength));
    const last = m.pieceCount > 0 ? m.pieceSize(m.pieceCount - 1) : 0;
    row('Pieces', `${m.pieceCount}${last !== m.pieceLength ? `, the last ${formatBytes(last)}` : ''}`);
    if (m.createdBy !== undefined) row('Created by', sanitize(m.createdBy));
    if (m.creationDate !== undefined) row('Created on', formatDate(m.creationDate));
    if (m.comment !== undefined) row('Comment', sanitize(m.comment, { multiline: true }).split('\n'));
    if (m.source !== undefined) row('Source tag', sanitize(m.source));
    row('Trackers', trackerLines(m.announceTiers));
    row('Web seeds', m.webSeeds.length === 0 ? ['none'] : m.webSeeds.map((u) => sanitize(u)));
    const real = m.files.filter((f) => !f.padding);
    const padding = m.files.length - real.length;
    row('Files', `${real.length} file${real.length === 1 ? '' : 's'}${padding > 0 ? ` (+${padding} padding)` : ''}, ${formatBytes(m.totalLength)}`);
    const shown = opts.verbose ? m.files : real;
    for (const l of opts.files === 'tree' && m.multiFile ? fileTree(shown) : fileList(shown)) lines.push(`${' '.repeat(LABEL_WIDTH)}${l}`);
  }
  if (r.errors.length > 0)
    row(
      'Errors',
      r.errors.map((p) => c.red(formatProblem(p))),
    );
  if (r.failure) row('Errors', c.red(sanitize(r.failure.message)));
  row('Warnings', r.warnings.length === 0 ? ['none'] : r.warnings.map((p) => c.yellow(formatProblem(p))));
  if (opts.verbose && r.raw !== undefined) {
    lines.push(c.bold('Raw keys'));
    for (const l of rawLines(r.raw)) lines.push(`  ${l}`);
  }
  return `${lines.join('\n')}\n`;
}

/** `2009-02-13 23:31:30 UTC`: always UTC, so output is the same on every machine. */
export function formatDate(d: Date): string {
  const iso = d.toISOString();
  // Years beyond 9999 come out as `+047910-…`: show those whole rather than cut them wrong.
  return /^\d{4}-/.test(iso) ? `${iso.slice(0, 19).replace('T', ' ')} UTC` : iso;
}

function trackerLines(tiers: readonly (readonly string[])[]): string[] {
  if (tiers.length === 0) return ['none'];
  const out: string[] = [];
  const width = `tier ${tiers.length}`.length + 2;
  tiers.forEach((tier, i) => {
    tier.forEach((url, j) => out.push(`${(j === 0 ? `tier ${i + 1}` : '').padEnd(width)}${sanitize(url)}`));
  });
  return out;
}

function fileLabel(f: MetainfoFile, name: string): string {
  const flags = f.padding ? ' [padding]' : f.attr ? ` [attr ${sanitize(f.attr)}]` : '';
  return `${sanitize(name)}  ${formatBytes(f.length)}${flags}`;
}

/** One line a file: its full path under the torrent's folder. */
function fileList(files: readonly MetainfoFile[]): string[] {
  return files.map((f) => fileLabel(f, f.path.join('/')));
}

interface TreeNode {
  readonly children: Map<string, TreeNode>;
  file: MetainfoFile | undefined;
}

/** The files as a folder tree, in the torrent's order (the first file of a folder places it). */
function fileTree(files: readonly MetainfoFile[]): string[] {
  const root: TreeNode = { children: new Map(), file: undefined };
  for (const f of files) {
    let node = root;
    for (const part of f.path) {
      let next = node.children.get(part);
      if (!next) {
        next = { children: new Map(), file: undefined };
        node.children.set(part, next);
      }
      node = next;
    }
    node.file = f;
  }
  const out: string[] = [];
  const walk = (node: TreeNode, prefix: string): void => {
    const entries = [...node.children];
    entries.forEach(([name, child], i) => {
      const lastChild = i === entries.length - 1;
      const branch = prefix === '' && node === root ? '' : lastChild ? '└── ' : '├── ';
      out.push(`${prefix}${branch}${child.file ? fileLabel(child.file, name) : `${sanitize(name)}/`}`);
      const nextPrefix = node === root ? '' : `${prefix}${lastChild ? '    ' : '│   '}`;
      walk(child, nextPrefix);
    });
  };
  walk(root, '');
  return out;
}

function isPrintableUtf8(b: Buffer): boolean {
  return isUtf8Text(b) && !/[\x00-\x08\x0e-\x1f\x7f]/.test(b.toString('utf8'));
}

function isUtf8Text(b: Buffer): boolean {
  return Buffer.from(b.toString('utf8'), 'utf8').equals(b);
}

function rawScalar(v: Buffer | number | bigint): string {
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  if (v.length === 0) return '""';
  if (isPrintableUtf8(v)) {
    const t = v.toString('utf8');
    const cut = t.length > RAW_MAX_TEXT_CHARS ? `${t.slice(0, RAW_MAX_TEXT_CHARS)}…` : t;
    return sanitize(JSON.stringify(cut));
  }
  const hex = v.subarray(0, RAW_HEX_PREFIX_BYTES).toString('hex');
  return `<${v.length} bytes: ${hex}${v.length > RAW_HEX_PREFIX_BYTES ? '…' : ''}>`;
}

/** A dictionary key (raw bytes held as latin1) shown as quoted UTF-8, made safe. */
function keyLabel(key: string): string {
  return `${sanitize(JSON.stringify(Buffer.from(key, 'latin1').toString('utf8')))}: `;
}

/** The decoded bencode, one key a line, indented; long lists, long strings and the whole dump are capped. */
export function rawLines(value: BValue): string[] {
  const out: string[] = [];
  let truncated = false;
  const push = (line: string): boolean => {
    if (out.length >= RAW_MAX_LINES) {
      truncated = true;
      return false;
    }
    out.push(line);
    return true;
  };
  const visit = (label: string, v: BValue, indent: string): boolean => {
    if (v instanceof BDict) {
      if (!push(`${indent}${label}dict (${v.size} key${v.size === 1 ? '' : 's'})`)) return false;
      for (const [k, e] of v.entries) if (!visit(keyLabel(k), e.value, `${indent}  `)) return false;
      return true;
    }
    if (Array.isArray(v)) {
      if (!push(`${indent}${label}list (${v.length} item${v.length === 1 ? '' : 's'})`)) return false;
      const n = Math.min(v.length, RAW_MAX_LIST_ITEMS);
      for (let i = 0; i < n; i++) if (!visit(`[${i}] `, v[i]!, `${indent}  `)) return false;
      if (v.length > n) return push(`${indent}  … ${v.length - n} more`);
      return true;
    }
    return push(`${indent}${label}${rawScalar(v)}`);
  };
  // The top level is always shown as its keys (a torrent is a dictionary).
  if (value instanceof BDict) {
    for (const [k, e] of value.entries) if (!visit(keyLabel(k), e.value, '')) break;
  } else visit('', value, '');
  if (truncated) out.push(`… (stopped after ${RAW_MAX_LINES} lines)`);
  return out;
}

/** JSON form of the raw value for `--json -v`: text when printable UTF-8, else hex; capped like the text dump. */
export function rawJson(value: BValue, budget = { nodes: 20_000 }): unknown {
  if (budget.nodes-- <= 0) return '…';
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return value.toString();
  if (Buffer.isBuffer(value)) {
    if (isPrintableUtf8(value) && value.length <= 4096) return value.toString('utf8');
    return { bytes: value.length, hex: value.subarray(0, 64).toString('hex'), truncated: value.length > 64 };
  }
  if (Array.isArray(value)) return value.slice(0, 1000).map((v) => rawJson(v, budget));
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [k, e] of value.entries) out[Buffer.from(k, 'latin1').toString('utf8')] = rawJson(e.value, budget);
  return out;
}

/** The `--json` shape of one input (schema 1). */
export function torrentJson(r: TorrentReport, verbose: boolean): Record<string, unknown> {
  const m = r.metainfo;
  return {
    source: r.source,
    ok: r.exitCode === 0,
    exitCode: r.exitCode,
    ...(r.failure ? { failure: r.failure.message } : {}),
    errors: r.errors.map(problemJson),
    warnings: r.warnings.map(problemJson),
    ...(m
      ? {
          torrent: {
            name: m.name,
            infoHash: m.infoHashHex,
            infoHashBase32: m.infoHashBase32,
            version: m.version,
            infoHashV2: m.v2?.infoHashHex ?? null,
            v2: v2Json(m),
            magnet: toMagnet(m),
            torrentBytes: r.torrentBytes,
            totalLength: m.totalLength,
            pieceLength: m.pieceLength,
            pieceCount: m.pieceCount,
            lastPieceLength: m.pieceCount > 0 ? m.pieceSize(m.pieceCount - 1) : 0,
            private: m.private,
            multiFile: m.multiFile,
            createdBy: m.createdBy ?? null,
            creationDate: m.creationDate?.toISOString() ?? null,
            comment: m.comment ?? null,
            source: m.source ?? null,
            trackers: m.announceTiers,
            webSeeds: m.webSeeds,
            files: m.files.map((f) => ({
              path: f.path,
              safePath: f.safePath,
              length: f.length,
              offset: f.offset,
              padding: f.padding,
              attr: f.attr,
            })),
          },
        }
      : {}),
    ...(verbose && r.raw !== undefined ? { raw: rawJson(r.raw) } : {}),
  };
}
