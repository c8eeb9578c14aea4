import { describe, expect, it } from 'vitest';
import { generatePeerId } from '@tc/wire';
import { simulations } from './sim.js';

/** RELIABILITY.md case 21: who may become a peer. On a manual clock with real loopback sockets. */

const simulate = simulations();

const TEN_MINUTES_MS = 10 * 60_000;

describe('admission (RELIABILITY #21)', () => {
  it('a peer at another address answering with our own peer id is closed with a reason, never a peer, and never dialled again', async () => {
    // The address is not ours (isSelf says no), so only the handshake's peer id gives us away.
    const sim = await simulate('handshake-only', 'manual', { fakePeerId: (ours) => ours });
    expect(sim.dials()).toBe(1);
    expect(sim.disconnects).toHaveLength(1);
    expect(sim.disconnects[0]!.reason?.code).toBe('ENGINE_PEER_PROTOCOL');
    expect(sim.connected).toEqual([]);
    // Banned: even a manual peer, which is otherwise kept and redialled for good, is never dialled again.
    await sim.advance(TEN_MINUTES_MS);
    sim.tor.addPeers([{ host: '127.0.0.1', port: sim.fake.port }], 'tracker');
    await sim.advance(60_000);
    expect(sim.dials()).toBe(1);
    expect(sim.maxPeers()).toBe(0);
  });

  it('a second connection with a peer id we are already connected to is closed with a reason; never a second peer', async () => {
    // Two addresses, one peer id (a client reachable on two ports or two addresses).
    const sim = await simulate('handshake-only', 'manual', { fakes: 2, fakePeerId: generatePeerId() });
    expect(sim.dials()).toBe(2);
    expect(sim.connected).toHaveLength(1);
    expect(sim.disconnects).toHaveLength(1);
    expect(sim.disconnects[0]!.reason?.code).toBe('ENGINE_PEER_PROTOCOL');
    expect(sim.disconnects[0]!.address).not.toBe(sim.connected[0]!.address);
    // The refused address is retried later (it may be someone else then), and refused again while the first stays.
    await sim.advance(60_000);
    expect(sim.dials()).toBeGreaterThan(2);
    expect(sim.connected).toHaveLength(1);
    expect(sim.disconnects.every((d) => d.address !== sim.connected[0]!.address && d.reason?.code === 'ENGINE_PEER_PROTOCOL')).toBe(true);
    expect(sim.maxPeers()).toBe(1);
    expect(sim.tor.stats().peers).toBe(1);
  });
});
