import { afterEach, describe, expect, it } from 'vitest';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { memoryStorage, MemoryStorage } from '../src/storage/memory.js';
import type { Session, SessionOptions } from '../src/session.js';
import { systemClock } from '../src/clock.js';
import type { PeerLink } from '../src/net/policy.js';
import { PeerTransports } from '../src/net/transport.js';
import type { Torrent } from '../src/torrent/torrent.js';
import { filledStorage, loopbackSession, memoryContents, range, sourceOf } from './helpers.js';

// Two tc engines over each transport and encryption policy (issue 12), on 127.0.0.1.

const sessions: Session[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
});

async function session(opts: SessionOptions): Promise<Session> {
  const s = await loopbackSession(opts);
  sessions.push(s);
  return s;
}

/** Seeds a fresh torrent from `seedOpts`, downloads it with `leechOpts`; the link the leecher saw and the one the seeder saw. */
async function transfer(seedOpts: SessionOptions, leechOpts: SessionOptions, length = 600_000): Promise<{ down: PeerLink[]; up: PeerLink[] }> {
  const t = createTestTorrent({ length, pieceLength: 32 * 1024 });
  const src = sourceOf(t);
  const seeder = await session(seedOpts);
  const seed = await seeder.add(src, { storage: filledStorage(t, src), have: range(src.layout.pieceCount), noTrackers: true });
  const leecher = await session(leechOpts);
  const store = memoryStorage();
  const tor = await leecher.add(src, { storage: store, noTrackers: true, peers: [{ host: '127.0.0.1', port: seeder.port }] });
  const down: PeerLink[] = [];
  const up: PeerLink[] = [];
  const watch = (x: Torrent, into: PeerLink[]): void => {
    x.on('peer-connected', () => into.push(...x.peerList().map((p) => p.link)));
  };
  watch(tor, down);
  watch(seed, up);
  await tor.done;
  expect(memoryContents(store.last as MemoryStorage).equals(t.data)).toBe(true);
  return { down, up };
}

describe('transports between two tc engines', () => {
  it('uTP only, RC4 required on both sides', async () => {
    const { down, up } = await transfer({ transport: 'utp', encryption: 'require' }, { transport: 'utp', encryption: 'require' });
    expect(down[0]).toEqual({ transport: 'utp', encryption: 'rc4' });
    expect(up[0]).toEqual({ transport: 'utp', encryption: 'rc4' });
  });

  it('both (the default): uTP wins the race; prefer selects MSE with the payload in the clear', async () => {
    const both = { transport: 'both', encryption: 'prefer' } as const;
    const { down, up } = await transfer(both, both);
    expect(down[0]).toEqual({ transport: 'utp', encryption: 'mse' });
    expect(up[0]).toEqual({ transport: 'utp', encryption: 'mse' });
  });

  it('both, against a peer without UDP: TCP after the head start', async () => {
    const { down } = await transfer({ udp: false, encryption: 'prefer' }, { transport: 'both', encryption: 'prefer' });
    expect(down[0]).toEqual({ transport: 'tcp', encryption: 'mse' });
  });

  it('prefer against a plaintext-only peer: retried in plaintext once', async () => {
    const { down, up } = await transfer({ transport: 'tcp', encryption: 'off' }, { transport: 'tcp', encryption: 'prefer' });
    expect(down[0]).toEqual({ transport: 'tcp', encryption: 'plain' });
    expect(up[0]).toEqual({ transport: 'tcp', encryption: 'plain' });
  });

  it('a plaintext dialer reaches a prefer peer at once', async () => {
    const { up } = await transfer({ encryption: 'prefer' }, { transport: 'tcp', encryption: 'allow' });
    expect(up[0]).toEqual({ transport: 'tcp', encryption: 'plain' });
  });

  it('require against a plaintext-only peer fails the dial with a reason; off refuses an MSE dialer', async () => {
    const t = createTestTorrent({ length: 100_000, pieceLength: 32 * 1024 });
    const src = sourceOf(t);
    const seeder = await session({ transport: 'tcp', encryption: 'off' });
    await seeder.add(src, { storage: filledStorage(t, src), have: range(src.layout.pieceCount), noTrackers: true });
    const dialer = new PeerTransports({ clock: systemClock, transport: 'tcp', encryption: 'require' });
    try {
      const err = await new Promise<Error | undefined>((r) =>
        dialer.dial({ host: '127.0.0.1', port: seeder.port }, { infoHash: t.infoHash, connectTimeoutMs: 5_000 }, (e, l) => {
          l?.stream.destroy();
          r(e);
        }),
      );
      expect(err).toMatchObject({ code: 'ENGINE_PEER_PROTOCOL' });
      expect(err?.message).toMatch(/MSE handshake failed/);
    } finally {
      dialer.close();
    }
  });
});
