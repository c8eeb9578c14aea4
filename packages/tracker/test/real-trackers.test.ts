import { startOpentracker, type Opentracker } from '@tc/testkit/opentracker';
import { startBtTracker, type RunningBtTracker } from '@tc/testkit/tracker-server';
import { Server } from 'bittorrent-tracker';
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrackerClient, TrackerSet, type AnnounceRequest, type Peer } from '../src/index.js';

/**
 * Against real trackers started here on loopback: opentracker (Debian, HTTP + UDP) and the
 * bittorrent-tracker npm server (HTTP + UDP on 127.0.0.1 and ::1).
 */

const hashes = Array.from({ length: 8 }, (_, i) => createHash('sha1').update(`tc-tracker-test-${i}`).digest());
let ot: Opentracker;
let bt: RunningBtTracker;
let agent: Agent;
let client: TrackerClient;

beforeAll(async () => {
  [ot, bt] = await Promise.all([startOpentracker(hashes), startBtTracker(Server)]);
  agent = new Agent({ keepAliveTimeout: 10 });
  client = new TrackerClient({ http: { dispatcher: agent, timeoutMs: 3_000 }, udp: { retransmitBaseMs: 500, maxRetransmits: 2 } });
});

afterAll(async () => {
  await client?.close();
  await agent?.close();
  await Promise.all([ot?.stop(), bt?.stop()]);
});

const peerId = (n: number): Buffer => Buffer.from(`-TC0001-${String(n).padStart(12, '0')}`);
const announce = (infoHash: Buffer, n: number, over: Partial<AnnounceRequest> = {}): AnnounceRequest => ({
  infoHash,
  peerId: peerId(n),
  port: 20_000 + n,
  uploaded: 0,
  downloaded: 0,
  left: n === 1 ? 0 : 1000,
  event: 'started',
  key: n,
  numwant: 50,
  ...over,
});
const ports = (peers: Peer[]): number[] => peers.map((p) => p.port).sort();

const cases: [string, () => string, number][] = [
  ['opentracker HTTP', () => ot.httpUrl, 0],
  ['opentracker UDP', () => ot.udpUrl, 1],
  ['bittorrent-tracker HTTP', () => bt.httpUrl, 2],
  ['bittorrent-tracker UDP', () => bt.udpUrl, 3],
];

it('bittorrent-tracker over UDP/IPv6 answers and counts peers', async () => {
  // Its UDP replies carry only IPv4 peers, in 6-byte form even over IPv6 (BEP 15 says 18), so
  // peers are not compared here; only the counters and scrape.
  const h = hashes[4]!;
  await client.announce(bt.udp6Url, announce(h, 1));
  const b = await client.announce(bt.udp6Url, announce(h, 2));
  expect([b.complete, b.incomplete]).toEqual([1, 1]);
  const s = await client.scrape(bt.udp6Url, [h]);
  expect(s.files.get(h.toString('hex'))).toMatchObject({ complete: 1, incomplete: 1 });
  await client.announce(bt.udp6Url, announce(h, 2, { event: 'stopped' }));
  expect((await client.scrape(bt.udp6Url, [h])).files.get(h.toString('hex'))).toMatchObject({ complete: 1, incomplete: 0 });
});

describe.each(cases)('%s', (_name, url, i) => {
  it('two clients see each other, scrape counts them, stopped removes one', async () => {
    const h = hashes[i]!;
    const u = url();
    const a = await client.announce(u, announce(h, 1));
    expect(a.interval).toBeGreaterThan(0);
    const b = await client.announce(u, announce(h, 2));
    expect(ports(b.peers)).toContain(20_001);
    const a2 = await client.announce(u, announce(h, 1, { event: 'periodic' }));
    expect(ports(a2.peers)).toContain(20_002);
    expect(a2.complete).toBe(1);
    expect(a2.incomplete).toBe(1);

    const s = await client.scrape(u, [h, hashes[7]!]);
    expect(s.files.get(h.toString('hex'))).toMatchObject({ complete: 1, incomplete: 1 });

    await client.announce(u, announce(h, 2, { event: 'stopped' }));
    const a3 = await client.announce(u, announce(h, 1, { event: 'periodic' }));
    expect(ports(a3.peers)).not.toContain(20_002);
    const s2 = await client.scrape(u, [h]);
    expect(s2.files.get(h.toString('hex'))).toMatchObject({ complete: 1, incomplete: 0 });
  });
});

it('opentracker refuses a torrent not on its whitelist with a failure reason', async () => {
  const other = createHash('sha1').update('not whitelisted').digest();
  await expect(client.announce(ot.httpUrl, announce(other, 1))).rejects.toMatchObject({ code: 'TRACKER_FAILURE' });
});

/** A TCP and UDP port with nothing listening on it (bound, noted, released). */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const a = s.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('TrackerSet on real trackers', () => {
  it('falls through a dead first tier to a live opentracker and finds the other peer', async () => {
    const h = hashes[5]!;
    await client.announce(ot.httpUrl, announce(h, 9)); // the other peer
    const dead = await deadPort();
    const udpOnly = createSocket('udp4'); // silent UDP tracker
    await new Promise<void>((r) => udpOnly.bind(0, '127.0.0.1', r));
    const transport = new TrackerClient({ http: { dispatcher: agent }, udp: { retransmitBaseMs: 100, maxRetransmits: 1 } });
    const set = new TrackerSet({
      tiers: [[`http://127.0.0.1:${dead}/announce`, `udp://127.0.0.1:${udpOnly.address().port}/announce`], [ot.udpUrl]],
      infoHash: h,
      peerId: peerId(3),
      port: 20_003,
      selfAddresses: ['127.0.0.1'],
      transport,
      stats: () => ({ uploaded: 0, downloaded: 0, left: 1000 }),
    });
    const found: Peer[] = [];
    set.on('peers', (e) => found.push(...e.peers));
    const out = await set.start();
    expect(out?.url).toBe(ot.udpUrl);
    expect(ports(found)).toEqual([20_009]); // ourselves filtered out
    const st = set.status();
    expect(st.find((s) => s.url.startsWith('http'))?.lastError?.code).toBe('TRACKER_REFUSED');
    expect(st.find((s) => s.url.includes(String(udpOnly.address().port)))?.lastError?.code).toBe('TRACKER_TIMEOUT');
    await set.stop();
    const after = await client.announce(ot.httpUrl, announce(h, 9, { event: 'periodic' }));
    expect(ports(after.peers)).not.toContain(20_003);
    await transport.close();
    await new Promise<void>((r) => udpOnly.close(() => r()));
  });
});
