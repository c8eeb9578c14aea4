import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { parseMetainfo } from '@tc/codec';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { freePort } from '@tc/testkit/transmission';
import { until } from '@tc/testkit/wait';
import { sourceFromMetainfo, type Session } from '../src/session.js';
import { memoryStorage, type MemoryStorage } from '../src/storage/memory.js';
import { LSD_GROUP4 } from '../src/discovery/lsd.js';
import { filledStorage, loopbackSession, memoryContents, range } from './helpers.js';

/** BEP 14 confined to loopback: a free UDP port instead of 6771, 127.0.0.1 as the multicast interface. */
describe('LSD between two sessions on loopback', () => {
  const sessions: Session[] = [];
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close()));
  });

  it('a downloader finds a seeder through LSD alone, ignores its own announces, and a private torrent is never announced', async () => {
    const lsd = { port: await freePort(), interface: '127.0.0.1' };
    const heard: string[] = [];
    const listener = createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((r) => listener.bind(lsd.port, r));
    listener.addMembership(LSD_GROUP4, '127.0.0.1');
    listener.on('message', (m) => heard.push(m.toString('latin1')));
    try {
      const t = createTestTorrent({ name: 'lsd', pieceLength: 16 * 1024, seed: 9, files: [{ path: ['x.bin'], length: 100_000 }] });
      const m = parseMetainfo(t.torrent).metainfo;
      const src = sourceFromMetainfo(m);
      const open = async (): Promise<Session> => {
        const s = await loopbackSession({ lsd });
        sessions.push(s);
        return s;
      };
      const seed = await open();
      await seed.add(src, { storage: filledStorage(t, src), have: range(src.layout.pieceCount), noTrackers: true });
      // A private torrent in the same session: never announced.
      const priv = createTestTorrent({ name: 'private', pieceLength: 16 * 1024, seed: 10, files: [{ path: ['p.bin'], length: 20_000 }] });
      const privSrc = { ...sourceFromMetainfo(parseMetainfo(priv.torrent).metainfo), private: true };
      await seed.add(privSrc, { storage: memoryStorage(), noTrackers: true });
      const leech = await open();
      const store = memoryStorage();
      const tor = await leech.add(src, { storage: store, noTrackers: true });
      await tor.done;
      expect(memoryContents(store.last as MemoryStorage).equals(t.data)).toBe(true);
      // The seeder announced before the leecher listened, so it is the seeder that hears the leecher and dials it.
      expect(seed.lsd!.peersFound + leech.lsd!.peersFound).toBeGreaterThanOrEqual(1);
      await until('own announces heard back', () => seed.lsd!.ours >= 1);
      expect(heard.some((h) => h.includes(m.infoHashHex))).toBe(true);
      expect(heard.some((h) => h.includes(privSrc.infoHash.toString('hex')))).toBe(false);
    } finally {
      listener.close();
    }
  }, 30_000);
});
