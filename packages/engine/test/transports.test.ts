import { afterEach, describe, expect, it } from 'vitest';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { until } from '@tc/testkit/wait';
import { memoryStorage, MemoryStorage } from '../src/storage/memory.js';
import type { Session, SessionOptions } from '../src/session.js';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { ManualClock, systemClock } from '../src/clock.js';
import { UdpPort } from '../src/net/udp-port.js';
import { UTP_GRACE_AFTER_REFUSAL_MS, UTP_HEAD_START_MS } from '../src/net/policy.js';
import type { PeerLink } from '../src/net/policy.js';
import { PeerTransports, type TransportLink } from '../src/net/transport.js';
import { encodeHandshake } from '@tc/wire';
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
    const warnings: string[] = [];
    seeder.on('warning', (w) => warnings.push(w.message));
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
      // The seeder said why, once, and counted it.
      expect(seeder.transportStats?.refusedMse).toBe(1);
      expect(warnings.some((w) => /refusing encrypted \(MSE\) connections \(--encryption off\)/.test(w))).toBe(true);
    } finally {
      dialer.close();
    }
  });

  it('both: TCP starts only after the head start, and a peer reached over TCP is dialled over TCP first next time', async () => {
    const accepted: Socket[] = [];
    const server = createServer((c) => accepted.push(c));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const clock = new ManualClock();
    const udp = await UdpPort.bind({ port: 0, host4: '127.0.0.1', host6: null });
    const pt = new PeerTransports({ clock, udp, transport: 'both', encryption: 'allow' });
    const links: PeerLink[] = [];
    const dial = (): Promise<void> =>
      new Promise<void>((resolve, reject) =>
        pt.dial({ host: '127.0.0.1', port }, { infoHash: Buffer.alloc(20), connectTimeoutMs: 10_000 }, (e, l) => {
          if (l === undefined) return reject(e ?? new Error('no link'));
          links.push(l.link);
          l.stream.destroy();
          resolve();
        }),
      );
    try {
      const first = dial();
      // uTP's SYN goes nowhere (no UDP there); until the head start passes no TCP connection is made.
      await new Promise((r) => setImmediate(r));
      expect(accepted.length).toBe(0);
      clock.advance(UTP_HEAD_START_MS);
      await first;
      expect(links[0]).toEqual({ transport: 'tcp', encryption: 'plain' });
      // Remembered: TCP at once, without the clock moving.
      await dial();
      expect(links[1]).toEqual({ transport: 'tcp', encryption: 'plain' });
      expect(accepted.length).toBe(2);
    } finally {
      pt.close();
      await udp.close();
      for (const c of accepted) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('both, against a closed port: the dial fails as refused soon after TCP is refused, not at the connect timeout', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const clock = new ManualClock();
    const udp = await UdpPort.bind({ port: 0, host4: '127.0.0.1', host6: null });
    const pt = new PeerTransports({ clock, udp, transport: 'both', encryption: 'allow' });
    let outcome: Error | undefined | 'pending' = 'pending';
    try {
      pt.dial({ host: '127.0.0.1', port }, { infoHash: Buffer.alloc(20), connectTimeoutMs: 10_000 }, (e) => (outcome = e));
      clock.advance(UTP_HEAD_START_MS);
      const timers = clock.pending;
      // TCP is refused at once on loopback (the grace timer starts); uTP's SYN meets a silent UDP port.
      await until('the TCP refusal', () => clock.pending > timers, { timeoutMs: 5_000 });
      expect(outcome).toBe('pending');
      clock.advance(UTP_GRACE_AFTER_REFUSAL_MS);
      expect((outcome as unknown as NodeJS.ErrnoException)?.code).toBe('ECONNREFUSED');
    } finally {
      pt.close();
      await udp.close();
    }
  });

  it('require refuses a plaintext peer with a clear reason', async () => {
    const t = createTestTorrent({ length: 100_000, pieceLength: 32 * 1024 });
    const src = sourceOf(t);
    const strict = await session({ transport: 'tcp', encryption: 'require' });
    const warnings: string[] = [];
    strict.on('warning', (w) => warnings.push(w.message));
    await strict.add(src, { storage: filledStorage(t, src), have: range(src.layout.pieceCount), noTrackers: true });
    const plain = new PeerTransports({ clock: systemClock, transport: 'tcp', encryption: 'off' });
    try {
      const link = await new Promise<TransportLink>((resolve, reject) =>
        plain.dial({ host: '127.0.0.1', port: strict.port }, { infoHash: t.infoHash, connectTimeoutMs: 5_000 }, (e, l) =>
          l ? resolve(l) : reject(e ?? new Error('no link')),
        ),
      );
      const closed = new Promise<void>((r) => link.stream.once('close', () => r()));
      link.stream.on('error', () => undefined);
      link.stream.resume();
      link.stream.write(encodeHandshake({ infoHash: t.infoHash, peerId: Buffer.alloc(20, 7), features: {} }));
      await closed;
      expect(strict.transportStats?.refusedPlaintext).toBe(1);
      expect(warnings.some((w) => /refusing plaintext connections \(--encryption require\)/.test(w))).toBe(true);
    } finally {
      plain.close();
    }
  });
});
