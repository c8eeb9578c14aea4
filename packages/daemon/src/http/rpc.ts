import { statfs } from 'node:fs/promises';
import type { Entry } from '../entry.js';
import { DaemonError } from '../errors.js';
import type { Registry } from '../registry.js';
import { torrentFields } from './fields.js';

/** Most ids one request may name (rpc-spec.md puts no bound; 1,000 torrents fit many times). */
export const MAX_RPC_IDS = 100_000;
/** Most fields one torrent-get may ask for. */
export const MAX_RPC_FIELDS = 500;

export type RpcArgs = Record<string, unknown>;
export interface RpcReply {
  readonly result: string;
  readonly arguments: Record<string, unknown>;
  readonly tag?: number;
}

function bad(message: string): never {
  throw new DaemonError('DAEMON_BAD_REQUEST', message);
}

function intList(v: unknown, what: string): number[] {
  if (!Array.isArray(v) || v.length > MAX_RPC_IDS) bad(`${what} must be a list of at most ${MAX_RPC_IDS} integers`);
  return v.map((i) => (Number.isSafeInteger(i) && (i as number) >= 0 ? (i as number) : bad(`${what} must hold non-negative integers`)));
}

/** The torrents `ids` names: all when absent, one id or hash, a list of them, or "recently-active". */
export function selectIds(reg: Registry, ids: unknown): Entry[] {
  if (ids === undefined) return reg.list();
  if (ids === 'recently-active') return reg.list().filter((e) => e.torrent !== undefined);
  const list = Array.isArray(ids) ? ids : [ids];
  if (list.length > MAX_RPC_IDS) bad(`at most ${MAX_RPC_IDS} ids`);
  const out: Entry[] = [];
  for (const id of list) {
    if (typeof id === 'number' && Number.isSafeInteger(id)) {
      const e = reg.find(id);
      if (e !== undefined) out.push(e);
    } else if (typeof id === 'string' && /^[0-9a-fA-F]{40}$/.test(id)) {
      const e = reg.find(id);
      if (e !== undefined) out.push(e);
    } else bad('ids must be torrent ids or info-hashes');
  }
  return [...new Set(out)];
}

/** Transmission's session-get view of the daemon. */
function sessionArgs(reg: Registry): Record<string, unknown> {
  const s = reg.settings;
  return {
    version: '3.00 (tc-daemon)',
    'rpc-version': 17,
    'rpc-version-minimum': 14,
    'download-dir': reg.roots.default,
    'peer-port': reg.session.port,
    'speed-limit-down': Math.round(s.downloadRateBps / 1000),
    'speed-limit-down-enabled': s.downloadRateBps > 0,
    'speed-limit-up': Math.round(s.uploadRateBps / 1000),
    'speed-limit-up-enabled': s.uploadRateBps > 0,
    'download-queue-enabled': true,
    'download-queue-size': s.maxActiveDownloads,
    'seed-queue-enabled': false,
    'seed-queue-size': 0,
    'dht-enabled': false,
    'pex-enabled': false,
    'lpd-enabled': false,
    'utp-enabled': false,
    'port-forwarding-enabled': false,
    encryption: 'tolerated',
    units: {
      'speed-units': ['kB/s', 'MB/s', 'GB/s', 'TB/s'],
      'speed-bytes': 1000,
      'size-units': ['kB', 'MB', 'GB', 'TB'],
      'size-bytes': 1000,
      'memory-units': ['KiB', 'MiB', 'GiB', 'TiB'],
      'memory-bytes': 1024,
    },
  };
}

const KB = 1000;

async function sessionSet(reg: Registry, a: RpcArgs): Promise<void> {
  const s = { ...reg.settings };
  const kbps = (v: unknown, what: string): number =>
    Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= 2 ** 30 ? (v as number) * KB : bad(`${what} must be kB/s`);
  const flag = (v: unknown, what: string): boolean => (typeof v === 'boolean' ? v : bad(`${what} must be true or false`));
  let down = a['speed-limit-down'] !== undefined ? kbps(a['speed-limit-down'], 'speed-limit-down') : s.downloadRateBps;
  let up = a['speed-limit-up'] !== undefined ? kbps(a['speed-limit-up'], 'speed-limit-up') : s.uploadRateBps;
  if (a['speed-limit-down-enabled'] !== undefined && !flag(a['speed-limit-down-enabled'], 'speed-limit-down-enabled')) down = 0;
  if (a['speed-limit-up-enabled'] !== undefined && !flag(a['speed-limit-up-enabled'], 'speed-limit-up-enabled')) up = 0;
  let queue = s.maxActiveDownloads;
  if (a['download-queue-size'] !== undefined) {
    const q = a['download-queue-size'];
    queue = Number.isSafeInteger(q) && (q as number) >= 1 && (q as number) <= 10_000 ? (q as number) : bad('download-queue-size must be in 1..10000');
  }
  if (a['download-dir'] !== undefined && (typeof a['download-dir'] !== 'string' || (await reg.roots.confine(a['download-dir'])) !== reg.roots.default)) {
    // The default folder is the first --download-root: a remote caller cannot move it.
    throw new DaemonError('DAEMON_FORBIDDEN_PATH', 'download-dir is set by --download-root');
  }
  await reg.setSettings({ downloadRateBps: down, uploadRateBps: up, maxActiveDownloads: queue });
}

function stats(reg: Registry): Record<string, unknown> {
  let down = 0;
  let up = 0;
  let downloaded = 0;
  let uploaded = 0;
  let active = 0;
  for (const e of reg.list()) {
    const s = e.stats();
    if (e.torrent !== undefined) {
      active++;
      down += s?.downRateBps ?? 0;
      up += s?.upRateBps ?? 0;
    }
    downloaded += s?.downloaded ?? 0;
    uploaded += s?.uploaded ?? 0;
  }
  const n = reg.list().length;
  const totals = { uploadedBytes: uploaded, downloadedBytes: downloaded, filesAdded: n, sessionCount: 1, secondsActive: Math.round(process.uptime()) };
  return {
    activeTorrentCount: active,
    pausedTorrentCount: n - active,
    torrentCount: n,
    downloadSpeed: Math.round(down),
    uploadSpeed: Math.round(up),
    'cumulative-stats': totals,
    'current-stats': totals,
  };
}

async function torrentAdd(reg: Registry, a: RpcArgs): Promise<Record<string, unknown>> {
  const dir = a['download-dir'];
  if (dir !== undefined && typeof dir !== 'string') bad('download-dir must be a string');
  const paused = a.paused;
  if (paused !== undefined && typeof paused !== 'boolean') bad('paused must be true or false');
  const unwanted = a['files-unwanted'] !== undefined ? intList(a['files-unwanted'], 'files-unwanted') : undefined;
  let torrent: Buffer | undefined;
  let url: string | undefined;
  if (typeof a.metainfo === 'string') {
    if (!/^[A-Za-z0-9+/=\s]*$/.test(a.metainfo)) bad('metainfo must be base64');
    torrent = Buffer.from(a.metainfo, 'base64');
  } else if (typeof a.filename === 'string') {
    // A remote caller's path is not read from the daemon's disk: only URLs and magnet links.
    if (!/^(magnet:|https?:\/\/)/i.test(a.filename)) bad('filename must be a magnet link or an http(s) URL (send a file as metainfo)');
    url = a.filename;
  } else bad('torrent-add needs filename or metainfo');
  try {
    const e = await reg.add({
      ...(torrent !== undefined ? { torrent } : {}),
      ...(url !== undefined ? { url } : {}),
      ...(dir !== undefined ? { dir } : {}),
      ...(paused !== undefined ? { paused } : {}),
      ...(unwanted !== undefined ? { unwanted } : {}),
    });
    return { 'torrent-added': { id: e.id, name: e.metainfo?.name ?? e.record.name, hashString: e.hex } };
  } catch (err) {
    const existing = (err as { existing?: Entry }).existing;
    if (err instanceof DaemonError && err.code === 'DAEMON_DUPLICATE' && existing !== undefined)
      return { 'torrent-duplicate': { id: existing.id, name: existing.metainfo?.name ?? existing.record.name, hashString: existing.hex } };
    throw err;
  }
}

async function torrentSet(reg: Registry, a: RpcArgs): Promise<void> {
  const wanted = a['files-wanted'] !== undefined ? intList(a['files-wanted'], 'files-wanted') : undefined;
  const unwanted = a['files-unwanted'] !== undefined ? intList(a['files-unwanted'], 'files-unwanted') : undefined;
  for (const e of selectIds(reg, a.ids)) {
    if (wanted !== undefined || unwanted !== undefined) {
      await reg.setWanted(e, { ...(wanted !== undefined ? { wanted } : {}), ...(unwanted !== undefined ? { unwanted } : {}) });
    }
  }
}

async function freeSpace(reg: Registry, a: RpcArgs): Promise<Record<string, unknown>> {
  const path = a.path;
  if (typeof path !== 'string') bad('free-space needs path');
  const dir = await reg.roots.confine(path);
  const s = await statfs(dir);
  return { path, 'size-bytes': s.bavail * s.bsize, total_size: s.blocks * s.bsize };
}

/** Runs one Transmission RPC method; errors become the reply's `result` string (the HTTP status stays 200). */
export async function runRpc(reg: Registry, method: unknown, args: RpcArgs): Promise<{ result: string; arguments: Record<string, unknown> }> {
  const ok = (a: Record<string, unknown> = {}): { result: string; arguments: Record<string, unknown> } => ({ result: 'success', arguments: a });
  switch (method) {
    case 'session-get':
      return ok(sessionArgs(reg));
    case 'session-set':
      await sessionSet(reg, args);
      return ok();
    case 'session-stats':
      return ok(stats(reg));
    case 'torrent-get': {
      const fields = args.fields;
      if (!Array.isArray(fields) || fields.length > MAX_RPC_FIELDS || !fields.every((f) => typeof f === 'string'))
        bad(`fields must be a list of at most ${MAX_RPC_FIELDS} names`);
      const entries = selectIds(reg, args.ids);
      return ok({ torrents: entries.map((e) => torrentFields(e, fields as string[])), ...(args.ids === 'recently-active' ? { removed: [] } : {}) });
    }
    case 'torrent-add':
      return ok(await torrentAdd(reg, args));
    case 'torrent-start':
    case 'torrent-start-now':
      for (const e of selectIds(reg, args.ids)) await reg.start(e);
      return ok();
    case 'torrent-stop':
      await Promise.all(selectIds(reg, args.ids).map((e) => reg.stop(e)));
      return ok();
    case 'torrent-verify':
      for (const e of selectIds(reg, args.ids)) await reg.verify(e);
      return ok();
    case 'torrent-remove': {
      const del = args['delete-local-data'];
      if (del !== undefined && typeof del !== 'boolean') bad('delete-local-data must be true or false');
      // No ids here would remove everything: Transmission does so too, but a typo should not; ask for them.
      if (args.ids === undefined) bad('torrent-remove needs ids');
      for (const e of selectIds(reg, args.ids)) await reg.remove(e, del === true);
      return ok();
    }
    case 'torrent-set':
      await torrentSet(reg, args);
      return ok();
    case 'torrent-reannounce':
      return ok();
    case 'free-space':
      return ok(await freeSpace(reg, args));
    case 'port-test':
      // Honest: the daemon cannot see itself from outside without a third party it does not use.
      return { result: 'port-test is not available: tc-daemon does not contact an outside service to test its port', arguments: {} };
    case 'torrent-set-location':
      return { result: 'torrent-set-location is not supported yet by tc-daemon', arguments: {} };
    case 'queue-move-top':
    case 'queue-move-up':
    case 'queue-move-down':
    case 'queue-move-bottom':
      return { result: `${method} is not supported yet: the queue follows the order torrents were added`, arguments: {} };
    default:
      return { result: 'method name not recognized', arguments: {} };
  }
}
