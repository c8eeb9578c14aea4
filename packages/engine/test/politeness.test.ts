import { connect as netConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { until } from '@tc/testkit/wait';
import { encodePieceHeader, generatePeerId } from '@tc/wire';
import { ManualClock } from '../src/clock.js';
import type { EngineError } from '../src/errors.js';
import { MAX_FAILURES } from '../src/peer/backoff.js';
import type { CandidateSource } from '../src/peer/swarm.js';
import { memoryStorage } from '../src/storage/memory.js';
import { Torrent, TICK_MS } from '../src/torrent/torrent.js';
import { startFakePeer, type FakeMode, type FakePeer } from './fake-peer.js';
import { sourceOf } from './helpers.js';

/**
 * A torrent on a manual clock dialling real loopback sockets: time only moves when the test says,
 * and each step waits (in real time) for the socket work it started, so minutes of backoff and
 * timeouts run in well under a second.
 */
interface Sim {
  readonly tor: Torrent;
  readonly clock: ManualClock;
  readonly fake: FakePeer;
  readonly t: TestTorrent;
  /** Dials made so far. */
  readonly dials: () => number;
  readonly disconnects: { at: number; reason: EngineError | undefined }[];
  /** Advances simulated time by `ms` in ticks, letting the sockets catch up after each. */
  advance(ms: number): Promise<void>;
  /** Waits (real time) until the engine has read every byte the fake peer wrote and no dial is half-done. */
  settle(): Promise<void>;
}

const open: { tor: Torrent; fake: FakePeer }[] = [];
afterEach(async () => {
  for (const { tor, fake } of open.splice(0)) {
    await tor.close();
    await fake.close();
  }
});

async function simulate(mode: FakeMode, source: CandidateSource, opts: { snubTimeoutMs?: number } = {}): Promise<Sim> {
  const t = createTestTorrent({ pieceLength: 32 * 1024, length: 48 * 32 * 1024, seed: 5 });
  const src = sourceOf(t);
  const fake = await startFakePeer(t, mode);
  const clock = new ManualClock();
  let dials = 0;
  /** Engine-side sockets not yet closed, and the bytes they have read. */
  let live = 0;
  let read = 0;
  const tor = new Torrent({
    infoHash: src.infoHash,
    name: src.name,
    layout: src.layout,
    storage: await memoryStorage().open(src.layout),
    peerId: generatePeerId(),
    clock,
    listenPort: 0,
    isSelf: () => false,
    random: () => 0.5,
    ...(opts.snubTimeoutMs !== undefined ? { snubTimeoutMs: opts.snubTimeoutMs } : {}),
    connect: (a) => {
      dials++;
      live++;
      const s = netConnect({ host: a.host, port: a.port });
      // Registered before the engine's own listeners, so once `read` has caught up the engine has the bytes too.
      s.on('data', (b: Buffer) => (read += b.length));
      s.once('close', () => live--);
      return s;
    },
  });
  open.push({ tor, fake });
  const disconnects: Sim['disconnects'] = [];
  tor.on('peer-disconnected', (e) => disconnects.push({ at: clock.now(), reason: e.reason }));
  tor.start();
  // Every mode but 'scripted' hangs up on each connection: then a step is over once the engine has
  // closed its socket. A scripted connection stays: it is over once the engine has read every byte.
  const quiet =
    mode === 'scripted' ? (): boolean => fake.connections >= dials && read >= fake.written : (): boolean => live === 0 && read >= fake.written;
  const settle = async (): Promise<void> => {
    await until('the sockets to settle', quiet, { everyMs: 1 });
    // One more turn: a FIN or the last bytes may be a callback behind.
    await new Promise((r) => setImmediate(r));
    await until('the sockets to settle', quiet, { everyMs: 1 });
  };
  tor.addPeers([{ host: '127.0.0.1', port: fake.port }], source);
  await settle();
  return {
    tor,
    clock,
    fake,
    t,
    dials: () => dials,
    disconnects,
    settle,
    async advance(ms) {
      for (let left = ms; left > 0; left -= TICK_MS) {
        clock.advance(Math.min(TICK_MS, left));
        await settle();
      }
    },
  };
}

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
