import { describe, expect, it } from 'vitest';
import { until } from '@tc/testkit/wait';
import { encodePieceHeader } from '@tc/wire';
import { MAX_FAILURES } from '../src/peer/backoff.js';
import { IDLE_TIMEOUT_MS } from '../src/peer/connection.js';
import { TICK_MS } from '../src/torrent/torrent.js';
import { simulations, type Sim } from './sim.js';

const simulate = simulations();

const TEN_MINUTES_MS = 10 * 60_000;

describe('redial politeness (RELIABILITY #26: back off)', () => {
  it.each(['hangup', 'hangup-after-handshake'] as const)('%s: a tracker peer is backed off and then forgotten', async (mode) => {
    const sim = await simulate(mode, 'tracker');
    await sim.advance(TEN_MINUTES_MS);
    // Without backoff it would be dialled every 5 s (about 100 times); it gets MAX_FAILURES tries.
    expect(sim.dials()).toBe(MAX_FAILURES);
    expect(sim.tor.stats().candidates).toBe(0);
    // Handed out again (the next announce), it is dialled again.
    sim.tor.addPeers([{ host: '127.0.0.1', port: sim.fake.port }], 'tracker');
    await sim.settle();
    expect(sim.dials()).toBe(MAX_FAILURES + 1);
  });

  it('a manual peer that hangs up is kept, with exponential backoff', async () => {
    const sim = await simulate('hangup', 'manual');
    await sim.advance(TEN_MINUTES_MS);
    // 0, 5, 15, 35, 75, 155, 315 s (each plus up to a tick): then every 5 minutes.
    expect(sim.dials()).toBeGreaterThanOrEqual(7);
    expect(sim.dials()).toBeLessThanOrEqual(8);
    expect(sim.tor.stats().candidates).toBe(1);
  });

  it('a peer that gave us data before closing is redialled soon, every time', async () => {
    const sim = await simulate('serve-and-leave', 'tracker');
    await sim.advance(60_000);
    // Every ~5 s (the first retry delay) plus a tick, not backed off.
    expect(sim.dials()).toBeGreaterThanOrEqual(9);
    expect(sim.tor.stats().downloaded).toBeGreaterThanOrEqual(sim.dials() * 2 * 16 * 1024 - 2 * 16 * 1024);
  });
});

describe('a peer silent after the handshake (RELIABILITY #26: idle timeout)', () => {
  it('is dropped once IDLE_TIMEOUT_MS pass without a byte from it, not before', async () => {
    // It has nothing, so nothing is requested and snubbing never starts: only the idle timeout applies.
    const sim = await simulate('handshake-only', 'manual');
    expect(sim.connected).toHaveLength(1);
    await sim.advance(IDLE_TIMEOUT_MS - TICK_MS);
    expect(sim.disconnects).toEqual([]);
    expect(sim.tor.stats().peers).toBe(1);
    await sim.advance(3 * TICK_MS);
    expect(sim.disconnects).toHaveLength(1);
    const d = sim.disconnects[0]!;
    expect(d.reason?.code).toBe('ENGINE_PEER_TIMEOUT');
    expect(d.reason?.message).toMatch(/sent nothing/);
    expect(d.at).toBeGreaterThan(IDLE_TIMEOUT_MS);
    expect(d.at).toBeLessThanOrEqual(IDLE_TIMEOUT_MS + 2 * TICK_MS);
    expect(sim.tor.stats().peers).toBe(0);
  });
});

describe('a message trickled byte by byte (RELIABILITY #20)', () => {
  /** The piece message answering the engine's `k`-th request, once it is made. */
  async function answer(sim: Sim, k: number): Promise<Buffer> {
    await until('a request', () => sim.fake.requestLog.length > k, { everyMs: 1 });
    const r = sim.fake.requestLog[k]!;
    const off = r.index * sim.t.pieceLength + r.begin;
    return Buffer.concat([encodePieceHeader(r.index, r.begin, r.length), sim.t.data.subarray(off, off + r.length)]);
  }

  it('one byte every 3 s: closed with a typed reason within the message deadline', async () => {
    // Snubbing would also end it (after 2 × 60 s without a block): keep that out of the way.
    const sim = await simulate('scripted', 'manual', { snubTimeoutMs: 3_600_000 });
    const msg = await answer(sim, 0);
    let sent = 0;
    while (sim.disconnects.length === 0 && sent < 200) {
      sim.fake.write(msg.subarray(sent, sent + 1));
      sent++;
      await sim.settle();
      await sim.advance(3_000);
    }
    const d = sim.disconnects[0];
    expect(d?.reason?.code).toBe('ENGINE_PEER_TIMEOUT');
    expect(d?.reason?.message).toMatch(/trickl/);
    // A 16 KiB block is given about a minute, not the 120 s idle timeout (never reached: bytes keep coming).
    expect(d!.at).toBeLessThanOrEqual(75_000);
    expect(sent).toBeLessThan(30);
    expect(sim.tor.stats().downloaded).toBe(0);
  });

  it('16 KiB at 2 KiB/s is a slow but honest peer: kept, and its blocks accepted', async () => {
    const sim = await simulate('scripted', 'manual');
    for (let k = 0; k < 3; k++) {
      const msg = await answer(sim, k);
      for (let sent = 0; sent < msg.length; sent += 2048) {
        sim.fake.write(msg.subarray(sent, sent + 2048));
        await sim.settle();
        await sim.advance(1_000);
      }
    }
    expect(sim.disconnects).toEqual([]);
    expect(sim.tor.stats().downloaded).toBe(3 * 16 * 1024);
  });
});
