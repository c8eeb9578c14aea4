import type { Entry } from '../entry.js';
import { DaemonError } from '../errors.js';
import type { Registry } from '../registry.js';
import type { HttpRequest, HttpResponse } from './handler.js';
import { json } from './handler.js';
import { torrentFields } from './fields.js';

/** The fields of the JSON API's torrent list (one per torrent). */
const LIST_FIELDS = [
  'id',
  'name',
  'hashString',
  'percentDone',
  'rateDownload',
  'rateUpload',
  'eta',
  'peersConnected',
  'sizeWhenDone',
  'leftUntilDone',
  'errorString',
  'downloadDir',
  'addedDate',
  'doneDate',
  'uploadRatio',
];
/** And of one torrent's page. */
const DETAIL_FIELDS = [...LIST_FIELDS, 'files', 'fileStats', 'peers', 'trackerStats', 'pieceCount', 'pieceSize', 'haveValid', 'downloadedEver', 'uploadedEver'];

/** One torrent in the JSON API: Transmission's field names, plus our own `state` word. */
export function torrentView(e: Entry, detail = false): Record<string, unknown> {
  return {
    ...torrentFields(e, detail ? DETAIL_FIELDS : LIST_FIELDS),
    state: e.status,
    ...(detail && e.restored !== undefined ? { restored: e.restored } : {}),
  };
}

function bad(message: string): never {
  throw new DaemonError('DAEMON_BAD_REQUEST', message);
}

function bodyObject(req: HttpRequest): Record<string, unknown> {
  if (req.body.length === 0) return {};
  let v: unknown;
  try {
    v = JSON.parse(req.body.toString('utf8'));
  } catch {
    bad('malformed JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) bad('the body must be a JSON object');
  return v as Record<string, unknown>;
}

function indices(v: unknown, what: string): number[] | undefined {
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > 1_000_000 || !v.every((i) => Number.isSafeInteger(i) && (i as number) >= 0))
    bad(`${what} must be a list of file indices`);
  return v as number[];
}

/**
 * The JSON API (documented in apps/daemon/README.md):
 * GET /api/torrents · POST /api/torrents {url | torrent (base64), dir?, paused?, unwanted?} ·
 * GET /api/torrents/ID · POST /api/torrents/ID/start|stop|verify · POST /api/torrents/ID/files
 * {wanted?, unwanted?} · DELETE /api/torrents/ID?data=1 · GET|POST /api/settings.
 */
export async function apiRoute(reg: Registry, req: HttpRequest): Promise<HttpResponse> {
  const [path, query = ''] = req.url.split('?', 2) as [string, string?];
  const parts = path.split('/').filter((p) => p !== '');
  const m = req.method;
  if (parts[1] === 'settings' && parts.length === 2) {
    if (m === 'POST') {
      const b = bodyObject(req);
      const rate = (v: unknown, what: string): number | undefined =>
        v === undefined
          ? undefined
          : Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= 2 ** 40
            ? (v as number)
            : bad(`${what} must be bytes/s`);
      const down = rate(b.downloadRateBps, 'downloadRateBps');
      const up = rate(b.uploadRateBps, 'uploadRateBps');
      const q = b.maxActiveDownloads;
      if (q !== undefined && !(Number.isSafeInteger(q) && (q as number) >= 1 && (q as number) <= 10_000)) bad('maxActiveDownloads must be in 1..10000');
      await reg.setSettings({
        ...(down !== undefined ? { downloadRateBps: down } : {}),
        ...(up !== undefined ? { uploadRateBps: up } : {}),
        ...(q !== undefined ? { maxActiveDownloads: q as number } : {}),
      });
    } else if (m !== 'GET') return json(405, { error: { code: 'DAEMON_BAD_REQUEST', message: 'GET or POST' } });
    return json(200, { schema: 1, settings: reg.settings, downloadRoots: reg.roots.list });
  }
  if (parts[1] !== 'torrents') return json(404, { error: { code: 'DAEMON_NOT_FOUND', message: 'no such API' } });
  if (parts.length === 2) {
    if (m === 'GET') return json(200, { schema: 1, torrents: reg.list().map((e) => torrentView(e)) });
    if (m !== 'POST') return json(405, { error: { code: 'DAEMON_BAD_REQUEST', message: 'GET or POST' } });
    const b = bodyObject(req);
    if (b.url !== undefined && typeof b.url !== 'string') bad('url must be a string');
    if (b.torrent !== undefined && (typeof b.torrent !== 'string' || !/^[A-Za-z0-9+/=\s]*$/.test(b.torrent))) bad('torrent must be base64');
    if (b.dir !== undefined && typeof b.dir !== 'string') bad('dir must be a string');
    if (b.paused !== undefined && typeof b.paused !== 'boolean') bad('paused must be true or false');
    const unwanted = indices(b.unwanted, 'unwanted');
    const e = await reg.add({
      ...(typeof b.torrent === 'string' ? { torrent: Buffer.from(b.torrent, 'base64') } : {}),
      ...(typeof b.url === 'string' ? { url: b.url } : {}),
      ...(typeof b.dir === 'string' ? { dir: b.dir } : {}),
      ...(typeof b.paused === 'boolean' ? { paused: b.paused } : {}),
      ...(unwanted !== undefined ? { unwanted } : {}),
    });
    return json(201, { schema: 1, torrent: torrentView(e) });
  }
  const ref = parts[2]!;
  const e = reg.get(/^\d{1,10}$/.test(ref) ? Number(ref) : /^[0-9a-fA-F]{40}$/.test(ref) ? ref : bad('a torrent id or info-hash'));
  if (parts.length === 3) {
    if (m === 'GET') return json(200, { schema: 1, torrent: torrentView(e, true) });
    if (m === 'DELETE') {
      await reg.remove(e, new URLSearchParams(query).get('data') === '1');
      return json(200, { schema: 1, removed: e.id });
    }
    return json(405, { error: { code: 'DAEMON_BAD_REQUEST', message: 'GET or DELETE' } });
  }
  if (parts.length === 4 && m === 'POST') {
    switch (parts[3]) {
      case 'start':
        await reg.start(e);
        break;
      case 'stop':
        await reg.stop(e);
        break;
      case 'verify':
        await reg.verify(e);
        break;
      case 'files': {
        const b = bodyObject(req);
        const wanted = indices(b.wanted, 'wanted');
        const unwanted = indices(b.unwanted, 'unwanted');
        await reg.setWanted(e, { ...(wanted !== undefined ? { wanted } : {}), ...(unwanted !== undefined ? { unwanted } : {}) });
        break;
      }
      default:
        return json(404, { error: { code: 'DAEMON_NOT_FOUND', message: 'no such action' } });
    }
    return json(200, { schema: 1, torrent: torrentView(e) });
  }
  return json(404, { error: { code: 'DAEMON_NOT_FOUND', message: 'no such API' } });
}
