import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ManualClock } from '@tc/clock';
import { describe, expect, it } from 'vitest';
import { DhtNode, decodeKrpc, encodeQuery, MAX_STORED_PEERS, type Query } from '../src/index.js';

/**
 * Memory under load: a node answers many queries (ping, find_node, get_peers, announce_peer with
 * real tokens) from many addresses and stays within a fixed bound. The full scale of the issue
 * (100,000 queries from 10,000 addresses) is `bench/dht-memory.mjs`; CI runs a fifth of it.
 */
const QUERIES = 20_000;
const ADDRESSES = 2_000;
/** The DHT's share: the bound at full scale, kept at the smaller scale too. */
const BOUND_BYTES = 20 * 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heap(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe('memory under load', () => {
  it(`a node that answered ${QUERIES} queries from ${ADDRESSES} addresses stays under ${BOUND_BYTES / 2 ** 20} MB`, () => {
    const before = heap();
    const clock = new ManualClock();
    // What the node sent since the last query: its answer first, then perhaps a ping to verify the asker.
    let sent: Buffer[] = [];
    const node = new DhtNode({ clock, transport: { send: (d) => sent.push(d) }, localPort: 6881 });
    node.start();
    const hashes = Array.from({ length: 500 }, (_, i) => createHash('sha1').update(`h${i}`).digest());
    const t = Buffer.from('tt');
    let answered = 0;
    for (let i = 0; i < QUERIES; i++) {
      const a = i % ADDRESSES;
      const from = { ip: `20.${(a >> 8) & 255}.${a & 255}.7`, port: 6881 + (a % 1000) };
      const id = createHash('sha1').update(`n${a}`).digest();
      const infoHash = hashes[(i * 7) % hashes.length]!;
      const kind = i % 5;
      const q: Query = kind === 0 ? { method: 'ping', id } : kind === 1 ? { method: 'find_node', id, target: infoHash } : { method: 'get_peers', id, infoHash };
      sent = [];
      node.receive(encodeQuery(t, q), from);
      const reply = sent[0] ? decodeKrpc(sent[0]) : undefined;
      if (reply?.type === 'response') answered++;
      // Every get_peers is followed by an announce with the token it gave (the store fills).
      if (kind >= 2 && reply?.type === 'response' && reply.r.token) {
        node.receive(encodeQuery(t, { method: 'announce_peer', id, infoHash, port: 1024 + (i % 60_000), token: reply.r.token, impliedPort: false }), from);
      }
      clock.advance(2); // 500 queries a second: within the global limit
    }
    clock.advance(10_000); // verification pings to the queriers time out
    const s = node.stats();
    expect(answered).toBe(QUERIES);
    expect(s.queriesIn['announce_peer']).toBe((QUERIES * 3) / 5);
    expect(s.storedPeers).toBeLessThanOrEqual(MAX_STORED_PEERS);
    expect(s.storedPeers).toBeGreaterThan(1000);
    expect(s.inFlight).toBe(0);
    const used = heap() - before;
    console.log(`dht memory: ${(used / 2 ** 20).toFixed(1)} MB after ${QUERIES} queries from ${ADDRESSES} addresses (${s.storedPeers} peers stored)`);
    expect(used).toBeLessThan(BOUND_BYTES);
    node.stop();
    expect(clock.pending).toBe(0);
  });
});
