import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bindDhtNode, decodeState, type BoundDhtNode } from '@tc/dht';
import { formatMagnet, parseMagnet, parseMetainfo, type Metainfo } from '@tc/codec';
import { createTestTorrent } from '@tc/testkit/swarm-fixture';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryStorage, type MemoryStorage } from '../src/storage/memory.js';
import { sourceFromMetainfo, type Session, type SessionOptions } from '../src/session.js';
import { DHT_SAVE_INTERVAL_MS, parseHostPort, SessionDht, stateFolder } from '../src/discovery/dht.js';
import { ManualClock } from '../src/clock.js';
import { UdpPort } from '../src/net/udp-port.js';
import { filledStorage, loopbackSession, memoryContents, range } from './helpers.js';
import { until } from '@tc/testkit/wait';

const sessions: Session[] = [];
const nodes: BoundDhtNode[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'tc-dht-'));
  dirs.push(d);
  return d;
}

async function session(opts: SessionOptions): Promise<Session> {
  const s = await loopbackSession(opts);
  sessions.push(s);
  return s;
}

/** A small loopback DHT: one node everyone bootstraps from, and a few more joined to it. */
async function loopbackDht(n = 4): Promise<BoundDhtNode[]> {
  const first = await bindDhtNode({ queryTimeoutMs: 2_000 });
  nodes.push(first);
  const rest: BoundDhtNode[] = [];
  for (let i = 1; i < n; i++) {
    const b = await bindDhtNode({ queryTimeoutMs: 2_000 });
    nodes.push(b);
    await b.node.bootstrap([{ ip: '127.0.0.1', port: first.port }]);
    rest.push(b);
  }
  await first.node.bootstrap([{ ip: '127.0.0.1', port: rest[0]!.port }]);
  return [first, ...rest];
}

function fixture(): { metainfo: Metainfo; data: Buffer; t: ReturnType<typeof createTestTorrent> } {
  const t = createTestTorrent({ name: 'dht-test', pieceLength: 16 * 1024, seed: 5, files: [{ path: ['a.bin'], length: 200_000 }] });
  return { metainfo: parseMetainfo(t.torrent).metainfo, data: t.data, t };
}

describe('the DHT in the session (loopback)', () => {
  it('a trackerless magnet finds a seeder that is announced only in the DHT, fetches the metadata and completes', async () => {
    const dht = await loopbackDht();
    const boot = [`127.0.0.1:${dht[0]!.port}`];
    const f = fixture();
    const seed = await session({ dht: { bootstrap: boot, stateFile: null } });
    const src = sourceFromMetainfo(f.metainfo);
    await seed.add(f.metainfo, { storage: filledStorage(f.t, src), have: range(src.layout.pieceCount), noTrackers: true });
    // The seeder's announce reaches the DHT's nodes.
    await until('the announce stored', () => dht.some((n) => n.node.stats().storedPeers > 0), { timeoutMs: 15_000 });
    const leech = await session({ dht: { bootstrap: [`127.0.0.1:${dht[2]!.port}`], stateFile: null } });
    const { magnet } = parseMagnet(formatMagnet({ infoHash: f.metainfo.infoHash }));
    expect(magnet.trackers).toEqual([]);
    const meta = await leech.fetchMetadata(magnet, { noTrackers: true }).metadata;
    expect(meta.infoHash.equals(f.metainfo.infoHash)).toBe(true);
    const store = memoryStorage();
    const tor = await leech.add(meta, { storage: store, noTrackers: true });
    await tor.done;
    expect(memoryContents(store.last as MemoryStorage).equals(f.data)).toBe(true);
    const st = leech.dht!;
    expect(st.nodes[4]).toBeGreaterThan(0);
    expect(st.peersFound).toBeGreaterThan(0);
    expect(st.lookups).toBeGreaterThan(0);
  }, 60_000);

  it('a private torrent is never looked up or announced', async () => {
    const dht = await loopbackDht(2);
    const t = createTestTorrent({ name: 'private', pieceLength: 16 * 1024, seed: 6, files: [{ path: ['p.bin'], length: 50_000 }] });
    const m = { ...sourceFromMetainfo(parseMetainfo(t.torrent).metainfo), private: true };
    const s = await session({ dht: { bootstrap: [`127.0.0.1:${dht[0]!.port}`], stateFile: null } });
    await until('bootstrap', () => s.dht!.bootstrapped, { timeoutMs: 10_000 });
    const before = s.dht!.queriesOut['get_peers'] ?? 0;
    await s.add(m, { storage: memoryStorage(), noTrackers: true });
    expect(s.dht!.torrents).toBe(0);
    // The public one next to it is looked up, so lookups do run in this session.
    const f = fixture();
    await s.add(f.metainfo, { storage: memoryStorage(), noTrackers: true });
    await until('a lookup', () => s.dht!.lookups > 0, { timeoutMs: 10_000 });
    expect(s.dht!.torrents).toBe(1);
    expect(s.dht!.queriesOut['get_peers'] ?? 0).toBeGreaterThan(before);
    for (const n of dht) expect(n.node.stats().storedInfoHashes).toBeLessThanOrEqual(1);
  }, 30_000);

  it('saves the routing table on close and joins from it alone next time', async () => {
    const dht = await loopbackDht();
    const dir = await tmp();
    const file = join(dir, 'state', 'dht.state');
    const first = await session({ dht: { bootstrap: [`127.0.0.1:${dht[0]!.port}`], stateFile: file } });
    await until('nodes', () => first.dht!.bootstrapped && first.dht!.nodes[4] >= 2, { timeoutMs: 10_000 });
    await first.close();
    const saved = decodeState(await readFile(file));
    expect(saved.nodes.length).toBeGreaterThanOrEqual(2);
    // No bootstrap node at all: the saved table is enough.
    const second = await session({ dht: { bootstrap: [], stateFile: file } });
    await until('nodes from the saved table', () => second.dht!.nodes[4] >= 2, { timeoutMs: 10_000 });
    expect(second.dht!.id).toBe(saved.id.toString('hex'));
  }, 30_000);

  it('saves the table every DHT_SAVE_INTERVAL_MS while running, not only on close', async () => {
    const dht = await loopbackDht(3);
    const file = join(await tmp(), 'dht.state');
    const clock = new ManualClock(Date.now());
    const udp = await UdpPort.bind({ port: 0, host4: '127.0.0.1', host6: null });
    const d = await SessionDht.start({ udp, clock, bootstrap: [`127.0.0.1:${dht[0]!.port}`], stateFile: file });
    try {
      await until('nodes', () => d.stats().nodes[4] >= 2, { timeoutMs: 10_000 });
      await expect(readFile(file)).rejects.toThrow();
      clock.advance(DHT_SAVE_INTERVAL_MS);
      await until(
        'the periodic save',
        () =>
          readFile(file).then(
            () => true,
            () => false,
          ),
        { timeoutMs: 5_000 },
      );
      expect(decodeState(await readFile(file)).nodes.length).toBeGreaterThanOrEqual(2);
    } finally {
      await d.close();
      await udp.close();
    }
  });

  it('BEP 5 port messages: two peers with DHT and no bootstrap put each other in their tables', async () => {
    const f = fixture();
    const src = sourceFromMetainfo(f.metainfo);
    const a = await session({ dht: { bootstrap: [], stateFile: null } });
    await a.add(f.metainfo, { storage: filledStorage(f.t, src), have: range(src.layout.pieceCount), noTrackers: true });
    const b = await session({ dht: { bootstrap: [], stateFile: null } });
    await b.add(f.metainfo, { storage: memoryStorage(), noTrackers: true, peers: [{ host: '127.0.0.1', port: a.port }] });
    await until('each node in the other table', () => a.dht!.nodes[4] >= 1 && b.dht!.nodes[4] >= 1, { timeoutMs: 10_000 });
  });

  it('a corrupt state file is a warning and a fresh start', async () => {
    const dir = await tmp();
    const file = join(dir, 'dht.state');
    await writeFile(file, 'not bencode at all');
    const s = await session({ dht: { bootstrap: [], stateFile: file } });
    expect(s.dht!.nodes[4]).toBe(0);
  });

  it('reads HOST:PORT and the state folder', () => {
    expect(parseHostPort('127.0.0.1:6881')).toEqual({ host: '127.0.0.1', port: 6881 });
    expect(parseHostPort('[::1]:6881')).toEqual({ host: '::1', port: 6881 });
    expect(parseHostPort('router.example:70000')).toBeUndefined();
    expect(parseHostPort('nocolon')).toBeUndefined();
    expect(stateFolder({ XDG_STATE_HOME: '/x/state', HOME: '/h' })).toBe('/x/state/tc');
    expect(stateFolder({ XDG_STATE_HOME: 'relative' })).toMatch(/\.local\/state\/tc$/);
  });
});
