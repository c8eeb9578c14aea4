import { EngineBug, type EngineError } from '../errors.js';

/** A torrent's lifecycle (STATE.md). `error` holds the fatal error (disk); peers' errors are warnings. */
export type TorrentState =
  | { readonly kind: 'starting' }
  | { readonly kind: 'downloading' }
  | { readonly kind: 'paused'; readonly wasDone: boolean }
  | { readonly kind: 'seeding' }
  | { readonly kind: 'error'; readonly error: EngineError }
  | { readonly kind: 'closed' };

export type TorrentStateKind = TorrentState['kind'];

/** Every allowed transition, in one place. Anything else is a bug. */
const ALLOWED: Readonly<Record<TorrentStateKind, readonly TorrentStateKind[]>> = {
  starting: ['downloading', 'seeding', 'paused', 'error', 'closed'],
  downloading: ['seeding', 'paused', 'error', 'closed'],
  paused: ['downloading', 'seeding', 'error', 'closed'],
  seeding: ['paused', 'error', 'closed', 'downloading'],
  error: ['closed'],
  closed: [],
};

export function canTransition(from: TorrentStateKind, to: TorrentStateKind): boolean {
  return ALLOWED[from].includes(to);
}

export function transition(from: TorrentState, to: TorrentState): TorrentState {
  if (!canTransition(from.kind, to.kind)) throw new EngineBug(`torrent state ${from.kind} → ${to.kind} is not allowed`);
  return to;
}
