import { EngineBug, type EngineError } from '../errors.js';

/**
 * A torrent's lifecycle (STATE.md). `upload-only` holds the disk error that stopped the download
 * (libtorrent's upload mode): verified pieces are still served. Peers' errors are warnings.
 */
export type TorrentState =
  | { readonly kind: 'starting' }
  | { readonly kind: 'downloading' }
  | { readonly kind: 'paused'; readonly wasDone: boolean }
  | { readonly kind: 'seeding' }
  | { readonly kind: 'upload-only'; readonly error: EngineError }
  | { readonly kind: 'closed' };

export type TorrentStateKind = TorrentState['kind'];

/** Every allowed transition, in one place. Anything else is a bug. */
const ALLOWED: Readonly<Record<TorrentStateKind, readonly TorrentStateKind[]>> = {
  starting: ['downloading', 'seeding', 'paused', 'upload-only', 'closed'],
  downloading: ['seeding', 'paused', 'upload-only', 'closed'],
  // A disk error met while paused is kept; resume() then enters upload-only.
  paused: ['downloading', 'seeding', 'upload-only', 'closed'],
  seeding: ['paused', 'upload-only', 'closed', 'downloading'],
  // The disk error stays: upload-only never downloads again (a new run re-checks and resumes).
  'upload-only': ['paused', 'closed'],
  closed: [],
};

export function canTransition(from: TorrentStateKind, to: TorrentStateKind): boolean {
  return ALLOWED[from].includes(to);
}

export function transition(from: TorrentState, to: TorrentState): TorrentState {
  if (!canTransition(from.kind, to.kind)) throw new EngineBug(`torrent state ${from.kind} → ${to.kind} is not allowed`);
  return to;
}
