import { connect as netConnect } from 'node:net';
import { afterEach } from 'vitest';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import { until } from '@tc/testkit/wait';
import { generatePeerId } from '@tc/wire';
import { ManualClock } from '../src/clock.js';
import type { EngineError } from '../src/errors.js';
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
export interface Sim {
  readonly tor: Torrent;
  readonly clock: ManualClock;
  /** The first fake peer, and all of them. */
  readonly fake: FakePeer;
  readonly fakes: readonly FakePeer[];
  readonly t: TestTorrent;
  /** Our own peer id (the torrent's). */
  readonly peerId: Buffer;
  /** Dials made so far. */
  readonly dials: () => number;
  readonly disconnects: { at: number; address: string; reason: EngineError | undefined }[];
  /** Every `peer-connected` event, with the simulated time it came at. */
  readonly connected: { at: number; address: string }[];
  /** The most peers the torrent had at once, sampled after every step. */
  readonly maxPeers: () => number;
  /** Advances simulated time by `ms` in ticks, letting the sockets catch up after each. */
  advance(ms: number): Promise<void>;
  /** Waits (real time) until the engine has read every byte the fake peers wrote and no dial is half-done. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export interface SimOptions {
  readonly snubTimeoutMs?: number;
  /** How many fake peers (each on its own port) to start and hand to the torrent. Default 1. */
  readonly fakes?: number;
  /** The peer id every fake peer answers with; a function gets our own (to play ourselves). */
  readonly fakePeerId?: Buffer | ((ours: Buffer) => Buffer);
}

/** Modes whose connections stay open: a step is over once the engine has read every byte. */
const STAYING: ReadonlySet<FakeMode> = new Set(['scripted', 'handshake-only']);

export async function simulate(mode: FakeMode, source: CandidateSource, opts: SimOptions = {}): Promise<Sim> {
  const t = createTestTorrent({ pieceLength: 32 * 1024, length: 48 * 32 * 1024, seed: 5 });
  const src = sourceOf(t);
  const peerId = generatePeerId();
  const fakePeerId = typeof opts.fakePeerId === 'function' ? opts.fakePeerId(peerId) : opts.fakePeerId;
  const fakes: FakePeer[] = [];
  for (let i = 0; i < (opts.fakes ?? 1); i++) fakes.push(await startFakePeer(t, mode, fakePeerId !== undefined ? { peerId: fakePeerId } : {}));
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
    peerId,
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
  const disconnects: Sim['disconnects'] = [];
  const connected: Sim['connected'] = [];
  let maxPeers = 0;
  tor.on('peer-disconnected', (e) => disconnects.push({ at: clock.now(), address: e.address, reason: e.reason }));
  tor.on('peer-connected', (e) => connected.push({ at: clock.now(), address: e.address }));
  tor.start();
  const written = (): number => fakes.reduce((n, f) => n + f.written, 0);
  const accepted = (): number => fakes.reduce((n, f) => n + f.connections, 0);
  // Modes that hang up on each connection: a step is over once the engine has closed its sockets.
  const quiet = STAYING.has(mode) ? (): boolean => accepted() >= dials && read >= written() : (): boolean => live === 0 && read >= written();
  const settle = async (): Promise<void> => {
    await until('the sockets to settle', quiet, { everyMs: 1 });
    // One more turn: a FIN or the last bytes may be a callback behind.
    await new Promise((r) => setImmediate(r));
    await until('the sockets to settle', quiet, { everyMs: 1 });
    maxPeers = Math.max(maxPeers, tor.stats().peers);
  };
  tor.addPeers(
    fakes.map((f) => ({ host: '127.0.0.1', port: f.port })),
    source,
  );
  await settle();
  return {
    tor,
    clock,
    fake: fakes[0]!,
    fakes,
    t,
    peerId,
    dials: () => dials,
    disconnects,
    connected,
    maxPeers: () => maxPeers,
    settle,
    async advance(ms) {
      for (let left = ms; left > 0; left -= TICK_MS) {
        clock.advance(Math.min(TICK_MS, left));
        await settle();
      }
    },
    async close() {
      await tor.close();
      for (const f of fakes) await f.close();
    },
  };
}

/**
 * `simulate` for one test file: every simulation it starts is closed after each test. Call once at
 * the top of the file.
 */
export function simulations(): typeof simulate {
  const open: Sim[] = [];
  afterEach(async () => {
    for (const sim of open.splice(0)) await sim.close();
  });
  return async (...args) => {
    const sim = await simulate(...args);
    open.push(sim);
    return sim;
  };
}
