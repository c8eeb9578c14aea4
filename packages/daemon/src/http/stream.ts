import type { Readable } from 'node:stream';
import { DaemonError } from '../errors.js';
import type { Registry } from '../registry.js';
import { errorReply, json, type HttpRequest, type HttpResponse } from './handler.js';

/** `GET|HEAD /api/torrents/ID-OR-HASH/files/INDEX/stream`: a file of a torrent, while it downloads (issue 14). */
export const FILE_STREAM_PATH = /^\/api\/torrents\/([0-9]{1,10}|[0-9a-fA-F]{40})\/files\/([0-9]{1,7})\/stream$/;
/** File streams served at once: each holds a window of pieces at the front of its torrent's picker. */
export const MAX_FILE_STREAMS = 32;

/** Content types by extension: media a player or a `<video>` element takes, text as plain text; never HTML or script. */
const TYPES: Readonly<Record<string, string>> = {
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mkv: 'video/x-matroska',
  webm: 'video/webm',
  ogv: 'video/ogg',
  mov: 'video/quicktime',
  avi: 'video/x-msvideo',
  ts: 'video/mp2t',
  mp3: 'audio/mpeg',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  opus: 'audio/ogg',
  wav: 'audio/wav',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  pdf: 'application/pdf',
  txt: 'text/plain; charset=utf-8',
  nfo: 'text/plain; charset=utf-8',
  srt: 'text/plain; charset=utf-8',
  vtt: 'text/vtt; charset=utf-8',
};

/** The Content-Type of a file name: by its extension, else application/octet-stream. */
export function contentTypeOf(name: string): string {
  const dot = name.lastIndexOf('.');
  const ext = dot === -1 ? '' : name.slice(dot + 1).toLowerCase();
  return Object.hasOwn(TYPES, ext) ? TYPES[ext]! : 'application/octet-stream';
}

export type RangeRequest =
  /** No Range (or one we ignore, as RFC 9110 allows: another unit, several ranges): the whole file, 200. */
  | { readonly kind: 'all' }
  /** One satisfiable range, `end` inclusive: 206. */
  | { readonly kind: 'range'; readonly start: number; readonly end: number }
  /** Malformed, or starts past the end: 416. */
  | { readonly kind: 'unsatisfiable' };

/** Reads a Range header (RFC 9110 §14) against a file of `size` bytes: one `bytes=` range. */
export function parseRange(header: string | undefined, size: number): RangeRequest {
  if (header === undefined) return { kind: 'all' };
  const h = header.trim();
  if (!/^bytes=/i.test(h)) return { kind: 'all' };
  const spec = h.slice(6).trim();
  if (spec.includes(',')) return { kind: 'all' };
  const m = /^(\d{0,16})-(\d{0,16})$/.exec(spec);
  if (m === null || (m[1] === '' && m[2] === '')) return { kind: 'unsatisfiable' };
  if (m[1] === '') {
    // Suffix: the last N bytes.
    const n = Number(m[2]);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return { kind: 'unsatisfiable' };
  return { kind: 'range', start, end };
}

/** A response whose body is a stream (undefined for HEAD). */
export interface StreamReply {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly stream: Readable | undefined;
}

/** `filename*` of Content-Disposition (RFC 6266, RFC 8187): the name percent-encoded, nothing else. */
function disposition(name: string): string {
  return `inline; filename*=UTF-8''${encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}

/**
 * A file of a running torrent with HTTP Range support: 200 (whole) or 206 (one range) from the
 * engine's read stream, which fetches the pieces it needs first and waits for them; 416 for a bad
 * range; HEAD answers the headers only. The body is sandboxed (no script from a torrent runs on the
 * daemon's origin). The caller has checked Host and credentials. `open` counts streams in flight.
 */
export function fileStreamRoute(reg: Registry, req: Pick<HttpRequest, 'method' | 'url' | 'headers'>, open: { count: number }): HttpResponse | StreamReply {
  try {
    const m = FILE_STREAM_PATH.exec(req.url.split('?')[0] ?? '');
    if (m === null) throw new DaemonError('DAEMON_NOT_FOUND', 'no such API');
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return json(405, { error: { code: 'DAEMON_BAD_REQUEST', message: 'GET or HEAD' } }, { allow: 'GET, HEAD' });
    const e = reg.get(/^\d+$/.test(m[1]!) ? Number(m[1]) : m[1]!);
    const index = Number(m[2]);
    const meta = e.metainfo;
    if (meta === undefined) throw new DaemonError('DAEMON_NOT_RUNNING', 'the torrent has no metadata yet');
    const f = meta.files[index];
    if (f === undefined) throw new DaemonError('DAEMON_NOT_FOUND', `no file ${index} (the torrent has ${meta.files.length})`);
    const torrent = e.torrent;
    if (torrent === undefined || torrent.state.kind === 'closed')
      throw new DaemonError('DAEMON_NOT_RUNNING', `the torrent is ${e.status}: start it to stream its files`);
    const size = f.length;
    const name = f.safePath.at(-1) ?? 'file';
    const range = parseRange(req.headers.range, size);
    const common: Record<string, string> = {
      'accept-ranges': 'bytes',
      'content-disposition': disposition(name),
      'content-security-policy': 'sandbox',
    };
    if (range.kind === 'unsatisfiable') {
      return json(
        416,
        { error: { code: 'DAEMON_BAD_RANGE', message: `cannot serve range ${JSON.stringify(req.headers.range?.slice(0, 100))} of ${size} bytes` } },
        {
          ...common,
          'content-range': `bytes */${size}`,
        },
      );
    }
    const start = range.kind === 'range' ? range.start : 0;
    const end = range.kind === 'range' ? range.end : size - 1;
    const headers: Record<string, string> = {
      ...common,
      'content-type': contentTypeOf(name),
      'content-length': String(end - start + 1),
      ...(range.kind === 'range' ? { 'content-range': `bytes ${start}-${end}/${size}` } : {}),
    };
    const status = range.kind === 'range' ? 206 : 200;
    if (req.method === 'HEAD') return { status, headers, stream: undefined };
    if (open.count >= MAX_FILE_STREAMS) return json(503, { error: { code: 'DAEMON_BUSY', message: `${MAX_FILE_STREAMS} file streams are open already` } });
    return { status, headers, stream: torrent.createReadStream(index, { start, end }) };
  } catch (err) {
    return errorReply(err);
  }
}
