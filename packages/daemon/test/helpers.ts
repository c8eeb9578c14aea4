import { parseMetainfo, type Metainfo } from '@tc/codec';
import { memoryStorage, Session, sourceFromMetainfo, type MemoryStorage } from '@tc/engine';
import type { TestTorrent } from '@tc/testkit/swarm-fixture';
import { DownloadRoots, Registry, StateDir } from '../src/index.js';

export function metainfoOf(t: TestTorrent): Metainfo {
  return parseMetainfo(t.torrent).metainfo;
}

/** A session on 127.0.0.1 only (tests run in a loopback-only network namespace). */
export function loopbackSession(): Promise<Session> {
  return Session.create({ listenHost4: '127.0.0.1', listenHost6: null, udp: false });
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

export interface Daemon {
  readonly session: Session;
  readonly state: StateDir;
  readonly registry: Registry;
  close(): Promise<void>;
}

/** A registry on its own loopback session over `stateDir`, downloading under `root`. */
export async function openDaemon(stateDir: string, root: string, opts: { statusIntervalMs?: number } = {}): Promise<Daemon> {
  const session = await loopbackSession();
  const state = await StateDir.open(stateDir);
  const roots = await DownloadRoots.create([root]);
  const { registry } = await Registry.open({ session, state, roots, statusIntervalMs: opts.statusIntervalMs ?? 50 });
  return {
    session,
    state,
    registry,
    async close() {
      await registry.close();
      await session.close();
      await state.close();
    },
  };
}
