import { afterEach, describe, expect, it } from 'vitest';
import { createTestTorrent, type TestTorrent } from '@tc/testkit/swarm-fixture';
import type { EngineError } from '../src/errors.js';
import { memoryStorage, type MemoryStorage } from '../src/storage/memory.js';
import type { Session } from '../src/session.js';
import type { Torrent } from '../src/torrent/torrent.js';
import { until } from '@tc/testkit/wait';
import type { TorrentSource } from '../src/session.js';
import { startFakePeer, type FakeMode, type FakePeer } from './fake-peer.js';
import { filledStorage, loopbackSession, memoryContents, range, sourceOf } from './helpers.js';

const sessions: Session[] = [];
const fakes: FakePeer[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

async function honestSeeder(t: TestTorrent, src: TorrentSource): Promise<Session> {
  const s = await loopbackSession();
  sessions.push(s);
  await s.add(src, { storage: filledStorage(t, src), have: range(src.layout.pieceCount), noTrackers: true });
  return s;
}

interface Seen {
  banned: string[];
  hashFailures: { index: number; peers: string[] }[];
  disconnects: { address: string; reason: EngineError | undefined }[];
  warnings: string[];
}

/**
 * Downloads with a fake peer of the given mode connected first, then an honest seeder once the fake
 * has shown its fault (`shown`; by default: the engine dropped it), so each test sees the engine
 * deal with the fault alone before anyone else can make up for it.
 */
async function downloadBeside(
  mode: FakeMode,
  opts: { snubTimeoutMs?: number; handshakeTimeoutMs?: number; shown?: (seen: Seen, fakeAddress: string, tor: Torrent) => boolean } = {},
) {
  const t = createTestTorrent({ pieceLength: 32 * 1024, length: 24 * 32 * 1024 - 1000, seed: 11 });
  const src = sourceOf(t);
  const fake = await startFakePeer(t, mode);
  fakes.push(fake);
  const seeder = await honestSeeder(t, src);
  const leecher = await loopbackSession({
    timeouts: { snubTimeoutMs: opts.snubTimeoutMs ?? 60_000, handshakeTimeoutMs: opts.handshakeTimeoutMs ?? 10_000 },
  });
  sessions.push(leecher);
  const store = memoryStorage();
  const tor = await leecher.add(src, { storage: store, noTrackers: true, peers: [{ host: '127.0.0.1', port: fake.port }] });
  const events: Seen = { banned: [], hashFailures: [], disconnects: [], warnings: [] };
  tor.on('peer-banned', (e) => events.banned.push(e.address));
  tor.on('hash-failure', (e) => events.hashFailures.push(e));
  tor.on('peer-disconnected', (e) => events.disconnects.push(e));
  tor.on('warning', (w) => events.warnings.push(w.message));
  const fakeAddress = `127.0.0.1:${fake.port}`;
  const shown = opts.shown ?? ((seen: Seen) => seen.disconnects.some((d) => d.address === fakeAddress));
  await until(
    () => `the ${mode} peer's fault to show (${JSON.stringify(events)})`,
    () => shown(events, fakeAddress, tor),
  );
  tor.addPeers([{ host: '127.0.0.1', port: seeder.port }], 'manual');
  await tor.done;
  const data = memoryContents(store.last as MemoryStorage);
  return { t, tor, fake, events, data };
}

describe('hostile and faulty peers', () => {
  it('corrupt blocks: the download completes correctly, the liar is banned, the failure reported', async () => {
    // Alone, the liar sends every failed piece: a strike and parole, then banned at the next one.
    const { t, tor, fake, events, data } = await downloadBeside('corrupt', { shown: (seen) => seen.banned.length > 0 });
    expect(data.equals(t.data)).toBe(true);
    expect(events.hashFailures.length).toBeGreaterThan(0);
    expect(tor.stats().hashFailures).toBe(events.hashFailures.length);
    expect(events.banned).toEqual([`127.0.0.1:${fake.port}`]);
    expect(events.hashFailures.some((h) => h.peers.includes(`127.0.0.1:${fake.port}`))).toBe(true);
  });

  it('a peer that vanishes mid-piece: its blocks go to the honest peer', async () => {
    const { t, data, events, fake } = await downloadBeside('vanish');
    expect(data.equals(t.data)).toBe(true);
    expect(events.disconnects.some((d) => d.address === `127.0.0.1:${fake.port}`)).toBe(true);
  });

  it('a peer that never answers is snubbed and its requests re-assigned', async () => {
    const { t, data, events, fake } = await downloadBeside('silent', { snubTimeoutMs: 1_000, shown: (seen) => seen.warnings.some((w) => /snubbed/.test(w)) });
    expect(data.equals(t.data)).toBe(true);
    expect(fake.requests).toBeGreaterThan(0);
    expect(events.warnings.some((w) => /snubbed/.test(w))).toBe(true);
  });

  it('unrequested blocks are dropped as waste, never stored', async () => {
    const { t, tor, data } = await downloadBeside('unrequested', { shown: (_seen, _a, tor) => tor.stats().wasteBytes > 0 });
    expect(data.equals(t.data)).toBe(true);
    expect(tor.stats().wasteBytes).toBeGreaterThan(0);
    expect(tor.stats().hashFailures).toBe(0);
  });

  it('a block of the wrong size is a protocol error: the peer is dropped', async () => {
    const { t, data, events, fake } = await downloadBeside('wrong-size');
    expect(data.equals(t.data)).toBe(true);
    const d = events.disconnects.find((x) => x.address === `127.0.0.1:${fake.port}`);
    expect(d?.reason?.code).toBe('ENGINE_PEER_PROTOCOL');
  });

  it('an oversized message closes the connection before anything is buffered', async () => {
    const { t, data, events, fake } = await downloadBeside('oversized');
    expect(data.equals(t.data)).toBe(true);
    const d = events.disconnects.find((x) => x.address === `127.0.0.1:${fake.port}`);
    expect(d?.reason?.message).toMatch(/WIRE_MESSAGE_TOO_LONG/);
  });

  it('a peer that never completes the handshake times out', async () => {
    const { t, data, events, fake } = await downloadBeside('mute', { handshakeTimeoutMs: 500 });
    expect(data.equals(t.data)).toBe(true);
    const d = events.disconnects.find((x) => x.address === `127.0.0.1:${fake.port}`);
    expect(d?.reason?.code).toBe('ENGINE_PEER_TIMEOUT');
  });

  it.each(['bad-bitfield', 'bad-have'] as const)('%s: the peer is dropped', async (mode) => {
    const { t, data, events, fake } = await downloadBeside(mode);
    expect(data.equals(t.data)).toBe(true);
    const d = events.disconnects.find((x) => x.address === `127.0.0.1:${fake.port}`);
    expect(d?.reason?.code).toBe('ENGINE_PEER_PROTOCOL');
  });
});
