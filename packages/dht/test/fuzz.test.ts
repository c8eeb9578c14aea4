import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { MemoryNetwork } from './memory-network.js';
import { DhtError, decodeKrpc, hostileKrpcDatagrams } from '../src/index.js';

/**
 * Hostile and malformed KRPC in bulk (the million-packet run is `bench/fuzz-dht.mjs`): the decoder
 * gives only DhtError, and a node fed all of it never throws, keeps answering, and keeps its
 * memory and tables within their bounds.
 */
const COUNT = 20_000;
/** The DHT's share of the heap (the bound). */
const BOUND_BYTES = 20 * 1024 * 1024;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

describe('KRPC fuzz', () => {
  it(`decodeKrpc throws only DhtError on ${COUNT} hostile datagrams`, () => {
    const codes = new Map<string, number>();
    let decoded = 0;
    for (const d of hostileKrpcDatagrams(1, COUNT)) {
      try {
        decodeKrpc(d);
        decoded++;
      } catch (e) {
        if (!(e instanceof DhtError)) throw new Error(`not a DhtError for ${d.toString('latin1').slice(0, 80)}: ${String(e)}`);
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      }
    }
    // The mix reaches the decoder's every refusal and still lets well-formed messages through.
    expect(decoded).toBeGreaterThan(100);
    for (const code of ['DHT_BAD_MESSAGE', 'DHT_BAD_FIELD', 'DHT_BAD_TRANSACTION_ID', 'DHT_BAD_TYPE', 'DHT_TOO_LARGE']) {
      expect(codes.get(code) ?? 0, code).toBeGreaterThan(0);
    }
  });

  it(`a node fed ${COUNT} of them from many addresses never throws and stays bounded`, async () => {
    const net = new MemoryNetwork();
    const victim = net.add({ ip: '127.0.0.1', port: 6000 });
    const friend = net.add({ ip: '127.0.0.1', port: 6001 });
    let i = 0;
    const heapBefore = heap();
    for (const d of hostileKrpcDatagrams(2, COUNT, victim.id)) {
      const from = { ip: `10.${(i >> 8) & 255}.${i & 255}.1`, port: 1000 + (i % 50_000) };
      victim.receive(d, from);
      if (++i % 1000 === 0) await net.settle(100);
    }
    await net.settle(60_000); // every verification ping times out
    const s = victim.stats();
    expect(s.datagramsIn).toBe(COUNT);
    expect(s.dropped.malformed).toBeGreaterThan(COUNT / 3);
    expect(s.inFlight).toBe(0);
    expect(s.nodes[4]).toBe(0); // nobody answered a verification ping: nobody joined
    expect(s.storedPeers).toBe(0); // no announce carried a token we issued
    expect(s.rateLimitKeys).toBeLessThanOrEqual(20_000);
    // Still a working node afterwards.
    await expect(friend.ping({ ip: '127.0.0.1', port: 6000 })).resolves.toEqual(victim.id);
    expect(heap() - heapBefore).toBeLessThan(BOUND_BYTES);
    net.stopAll();
  });
});
