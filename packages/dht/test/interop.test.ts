import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import DHT from 'bittorrent-dht';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBittorrentDhtNode, startLibtorrentDhtNode, type LtDhtNode, type RunningBtDht } from '@tc/testkit/dht-nodes';
import { createTorrentWithLibtorrent, hasLibtorrent, startLibtorrent, type LibtorrentPeer } from '@tc/testkit/libtorrent';
import { tempDir } from '@tc/testkit/tmp';
import { until } from '@tc/testkit/wait';
import { bindDhtNode, decodeKrpc, type BoundDhtNode, type KrpcMessage } from '../src/index.js';

/**
 * Our node in a loopback DHT of real third-party nodes (INTEROP.md): libtorrent 2.0 nodes
 * (python3-libtorrent) mixed with npm bittorrent-dht nodes. Run inside the test network namespace.
 */

const lo = (port: number) => ({ ip: '127.0.0.1', port });
const hex = (b: Buffer): string => b.toString('hex');
const hash = (s: string): Buffer => createHash('sha1').update(`${s}-${process.pid}`).digest();

let first: RunningBtDht; // a bittorrent-dht node with `bootstrap: []`: the DHT starts here
let btOther: RunningBtDht;
let ltA: LtDhtNode;
let ltB: LtDhtNode;
let ours: BoundDhtNode;
const dirs: { cleanup: () => Promise<void> }[] = [];
const stopLater: { stop: () => Promise<void> }[] = [];

beforeAll(async () => {
  expect(hasLibtorrent(), 'python3-libtorrent is needed (apt-get install python3-libtorrent)').toBe(true);
  const dir = await tempDir();
  dirs.push(dir);
  first = await startBittorrentDhtNode(DHT, []);
  ltA = await startLibtorrentDhtNode({ nodes: [lo(first.port)], savePath: dir.path });
  ltB = await startLibtorrentDhtNode({ nodes: [lo(first.port), lo(ltA.port)], savePath: dir.path });
  btOther = await startBittorrentDhtNode(DHT, [lo(first.port), lo(ltA.port)]);
  ours = await bindDhtNode({ queryTimeoutMs: 2_000 });
  // We know one node; the rest we find.
  const b = await ours.node.bootstrap([lo(ltA.port)]);
  expect(b.stats.answered).toBeGreaterThan(0);
  await until(
    () => `our table to hold the other nodes (has ${ours.node.stats().nodes[4]})`,
    async () => {
      if (ours.node.stats().nodes[4] >= 3) return true;
      await ours.node.bootstrap();
      return false;
    },
    { timeoutMs: 30_000, everyMs: 500 },
  );
}, 60_000);

afterAll(async () => {
  await ours?.close();
  await Promise.all([first?.stop(), btOther?.stop(), ltA?.stop(), ltB?.stop(), ...stopLater.map((n) => n.stop())]);
  for (const d of dirs) await d.cleanup();
});

describe('a bittorrent-dht node asks our node', () => {
  it('ping, find_node, get_peers and announce_peer, and gets the answers BEP 5 describes', async () => {
    const to = lo(ours.port);
    const id = first.dht.nodeId;
    const pong = await first.query(to, 'ping', { id });
    expect(pong['id']).toEqual(ours.node.id);

    const found = await first.query(to, 'find_node', { id, target: randomBytes(20) });
    const nodes = found['nodes'] as Buffer;
    expect(Buffer.isBuffer(nodes) && nodes.length > 0 && nodes.length % 26 === 0).toBe(true);

    const ih = hash('bt-announce');
    const gp = await first.query(to, 'get_peers', { id, info_hash: ih });
    const token = gp['token'] as Buffer;
    expect(Buffer.isBuffer(token)).toBe(true);
    expect(gp['values']).toBeUndefined();

    const ack = await first.query(to, 'announce_peer', { id, info_hash: ih, port: 40001, token });
    expect(ack['id']).toEqual(ours.node.id);
    const again = await btOther.query(to, 'get_peers', { id: btOther.dht.nodeId, info_hash: ih });
    expect(again['values']).toEqual([Buffer.from([127, 0, 0, 1, 40001 >> 8, 40001 & 255])]);

    await expect(first.query(to, 'announce_peer', { id, info_hash: ih, port: 40002, token: Buffer.from('forged') })).rejects.toBeDefined();
  });

  it('its lookup finds what we announced, and ours finds what it announced', async () => {
    const ih = hash('bt-both-ways');
    const a = await ours.node.announce(ih, 40003).done;
    expect(a.announced).toBeGreaterThan(0);
    await until('bittorrent-dht to find our announce', async () => (await btOther.lookup(ih)).some((p) => p.port === 40003), { timeoutMs: 20_000 });

    const ih2 = hash('bt-announces');
    await btOther.announce(ih2, 40004);
    await until('our lookup to find bittorrent-dht’s announce', async () => (await ours.node.lookup(ih2).done).peers.some((p) => p.port === 40004), {
      timeoutMs: 20_000,
    });
  });
});

describe('a libtorrent node that knows only our node', () => {
  let lt: LtDhtNode;
  /** What libtorrent logged as sent by our node (`in`) or to it (`out`). */
  const packets = (dir: 'in' | 'out'): KrpcMessage[] =>
    lt.events.filter((e) => e.event === 'pkt' && e['dir'] === dir && e['port'] === ours.port).map((e) => decodeKrpc(Buffer.from(e['data'] as string, 'hex')));
  /** Our answers to its queries: every one a response, none an error. */
  const ourAnswers = (): KrpcMessage[] => packets('in').filter((m) => m.type !== 'query');

  beforeAll(async () => {
    const dir = await tempDir();
    dirs.push(dir);
    lt = await startLibtorrentDhtNode({ nodes: [lo(ours.port)], logPackets: true, savePath: dir.path });
  }, 30_000);

  // Stopped with the rest (top-level afterAll): a dead node in the DHT would make libtorrent's later
  // lookups wait for its timeout before they announce.
  afterAll(() => {
    stopLater.push(lt);
  });

  it('takes our node into its routing table, and learns the rest of the DHT from our answers', async () => {
    await until(
      'libtorrent to hold our node and a node only we told it of',
      async () => {
        const live = await lt.liveNodes();
        return live.some((n) => n.id === hex(ours.node.id)) && live.some((n) => n.port === ltB.port || n.port === first.port);
      },
      { timeoutMs: 30_000, everyMs: 500 },
    );
    // Every answer we sent it was a response, not an error.
    expect(ourAnswers().length).toBeGreaterThan(0);
    for (const m of ourAnswers()) expect(m.type).toBe('response');
  });

  it('its get_peers finds a peer stored with us, and its announce_peer is stored', async () => {
    const ih = hash('lt-get-peers');
    // A bittorrent-dht node stores a peer with us (and only us).
    const gp = await first.query(lo(ours.port), 'get_peers', { id: first.dht.nodeId, info_hash: ih });
    await first.query(lo(ours.port), 'announce_peer', { id: first.dht.nodeId, info_hash: ih, port: 40005, token: gp['token'] });
    const peers = await lt.getPeers(hex(ih));
    expect(peers).toContainEqual(lo(40005));

    const ih2 = hash('lt-announce');
    const announced = new Promise<{ port: number }>((resolve) =>
      ours.node.on('announce', (h, p) => {
        if (h.equals(ih2)) resolve(p);
      }),
    );
    lt.announce(hex(ih2));
    expect((await announced).port).toBe(lt.port);
    // libtorrent's own log of what it sent us and what came back (its lines may trail our receipt).
    const methods = (): Set<string | undefined> => new Set(packets('out').map((m) => (m.type === 'query' ? m.query?.method : undefined)));
    await until(
      () => `libtorrent's log of its queries to us (${[...methods()]})`,
      () => methods().has('get_peers') && methods().has('announce_peer'),
    );
    await until('libtorrent to log our answer to its announce_peer', () => ourAnswers().length >= packets('out').filter((m) => m.type === 'query').length);
    for (const m of ourAnswers()) expect(m.type).toBe('response');
  });
});

describe('peers between our node and libtorrent', () => {
  let seeder: LibtorrentPeer;

  afterAll(async () => {
    await seeder?.stop();
  });

  it('our lookup finds the libtorrent seeder that announced a trackerless torrent', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const data = join(dir.path, 'payload.bin');
    await writeFile(data, randomBytes(256 * 1024));
    const torrentPath = join(dir.path, 'payload.torrent');
    const made = await createTorrentWithLibtorrent({ dataPath: data, torrentPath });
    seeder = await startLibtorrent({ torrentPath, savePath: dir.path, seed: true, dht: { nodes: [lo(ltA.port), lo(first.port)] } });
    await seeder.waitFor('finished');
    const ih = Buffer.from(made.infoHash, 'hex');
    let last: unknown;
    let tries = 0;
    await until(
      () => `our lookup to find the seeder on ${seeder.port} (last: ${JSON.stringify(last)})`,
      async () => {
        // libtorrent announces when the torrent starts, often before its own DHT has any node;
        // ask it again now and then rather than wait for its next scheduled announce.
        if (tries++ % 3 === 0) seeder.dhtAnnounce();
        const r = await ours.node.lookup(ih).done;
        last = { peers: r.peers, stats: r.stats };
        return r.peers.some((p) => p.ip === '127.0.0.1' && p.port === seeder.port);
      },
      { timeoutMs: 45_000, everyMs: 1_000 },
    );
  }, 60_000);

  it('a libtorrent node’s get_peers finds what we announced', async () => {
    const ih = hash('we-announce');
    const r = await ours.node.announce(ih, 40006).done;
    expect(r.announced).toBeGreaterThanOrEqual(2);
    const peers = await ltB.getPeers(hex(ih), 30_000);
    expect(peers).toContainEqual(lo(40006));
  }, 45_000);
});
