import { readdirSync } from 'node:fs';
import { parseMetainfo, type Metainfo } from '@tc/codec';
import { memoryStorage, Session, sourceFromMetainfo, type MemoryStorage } from '@tc/engine';
import type { TestTorrent } from '@tc/testkit/swarm-fixture';
import type { Job, JobEvents } from '../src/index.js';

export function metainfoOf(t: TestTorrent): Metainfo {
  return parseMetainfo(t.torrent).metainfo;
}

/** A session on 127.0.0.1 only (tests run in a loopback-only network namespace). */
export function loopbackSession(): Promise<Session> {
  return Session.create({ listenHost4: '127.0.0.1', listenHost6: null });
}

/** Adds `t` to `session` as a complete seed held in memory (no trackers): an in-process peer to download from. */
export async function seedInMemory(session: Session, t: TestTorrent): Promise<void> {
  const src = sourceFromMetainfo(metainfoOf(t));
  const n = src.layout.pieceCount;
  const store = memoryStorage();
  await session.add(src, {
    noTrackers: true,
    have: Array.from({ length: n }, (_, i) => i),
    storage: {
      async open(layout) {
        const s = (await store.open(layout)) as MemoryStorage;
        for (let i = 0; i < n; i++) await s.write(i, 0, [t.data.subarray(i * t.pieceLength, Math.min(t.data.length, (i + 1) * t.pieceLength))]);
        return s;
      },
    },
  });
}

/**
 * The names of a job's events as they come, a run of one name (the re-check's progress) counted
 * once, without the repeating ones (status ticks, peers, pieces, trackers).
 */
export function recordEvents(job: Job): string[] {
  const seen: string[] = [];
  const names: (keyof JobEvents)[] = [
    'selected',
    'checking',
    'restored',
    'started',
    'resume-save-failed',
    'download-end',
    'seeding',
    'seed-end',
    'stopping',
    'end',
  ];
  for (const n of names) job.on(n, () => seen.at(-1) !== n && seen.push(n));
  return seen;
}

/** Resolves with the event's first argument the next time the job emits it (and `pred` holds). */
export function nextEvent<K extends keyof JobEvents>(job: Job, name: K, pred: (e: JobEvents[K][0]) => boolean = () => true): Promise<JobEvents[K][0]> {
  return new Promise((resolve) => {
    const on = (e: JobEvents[K][0]): void => {
      if (!pred(e)) return;
      (job.off as (n: K, l: (e: JobEvents[K][0]) => void) => Job)(name, on);
      resolve(e);
    };
    (job.on as (n: K, l: (e: JobEvents[K][0]) => void) => Job)(name, on);
  });
}

/** File descriptors this process holds: a job must give back every one it opened. */
export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}
