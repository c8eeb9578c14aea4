import { isAbsolute } from 'node:path';
import type { Metainfo } from '@tc/codec';
import { JobError } from './errors.js';
import type { JobOptions } from './types.js';

/** Most peers a job may ask for: far above any useful swarm size for one torrent, well under a process's file limit. */
export const MAX_JOB_PEERS = 10_000;
/** Status ticks closer than this would only burn CPU; a day apart is as good as none. */
export const MIN_STATUS_INTERVAL_MS = 10;
export const MAX_STATUS_INTERVAL_MS = 24 * 3600 * 1000;

function bad(message: string): never {
  throw new JobError('JOB_BAD_OPTION', message);
}

/** Bounds every option the job reads (the daemon passes values from remote callers). */
export function checkJobOptions(o: JobOptions): void {
  if (typeof o.dir !== 'string' || o.dir === '') bad('dir must be a folder path');
  if (o.stateDir !== undefined && (typeof o.stateDir !== 'string' || !isAbsolute(o.stateDir))) bad('stateDir must be an absolute folder path');
  const fileCount = o.metainfo.files.length;
  if (o.selection !== undefined) {
    if (o.selection.length === 0) bad('selection names no file');
    for (const i of o.selection) if (!Number.isInteger(i) || i < 0 || i >= fileCount) bad(`selection: no file ${i} (the torrent has ${fileCount})`);
  }
  if (o.maxPeers !== undefined && (!Number.isInteger(o.maxPeers) || o.maxPeers < 1 || o.maxPeers > MAX_JOB_PEERS))
    bad(`maxPeers must be an integer in 1..${MAX_JOB_PEERS}`);
  if (o.firstPeerTimeoutMs !== undefined && !(Number.isFinite(o.firstPeerTimeoutMs) && o.firstPeerTimeoutMs > 0))
    bad('firstPeerTimeoutMs must be a positive number');
  const tick = o.statusIntervalMs;
  if (tick !== undefined && !(Number.isFinite(tick) && tick >= MIN_STATUS_INTERVAL_MS && tick <= MAX_STATUS_INTERVAL_MS)) {
    bad(`statusIntervalMs must be in ${MIN_STATUS_INTERVAL_MS}..${MAX_STATUS_INTERVAL_MS}`);
  }
  if (o.seedOnly === true && o.selection !== undefined) bad('seedOnly seeds the whole torrent: no selection');
}

/**
 * The torrent's top-level name on disk (its file, or its folder), as storage writes it: earlier
 * versions named the resume file after it, and tc-seed accepts DATA naming it rather than the folder that holds it.
 */
export function diskNameOf(m: Metainfo): string {
  return m.files.find((f) => !f.padding)?.safePath[0] ?? 'torrent';
}
