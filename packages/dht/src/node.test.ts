import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryNetwork } from '../test/memory-network.js';
import { isSecureNodeId } from './bep42.js';
import type { DhtNode } from './node.js';
import { decodeKrpc, encodeQuery, encodeResponse } from './krpc.js';
import { decodeState, encodeState } from './state.js';

const ep = (port: number, ip = '127.0.0.1') => ({ ip, port });
const hash = (s: string): Buffer => createHash('sha1').update(s).digest();

/** Waits for a promise while moving the manual clock in 500 ms steps (for timeouts). */
async function within<T>(net: MemoryNetwork, p: Promise<T>, maxMs = 60_000): Promise<T> {
  let done = false;
  let value: T | undefined;
  let error: unknown;
  p.then(
    (v) => ((done = true), (value = v)),
    (e: unknown) => ((done = true), (error = e)),
  );
  for (let t = 0; t <= maxMs && !done; t += 500) await net.settle(500);
  if (!done) throw new Error(`not settled within ${maxMs} ms of manual time`);
  if (error !== undefined) throw error instanceof Error ? error : new Error(String(error));
  return value as T;
}

/** A swarm of `n` nodes on loopback ports 7000.., each bootstrapped from the first. */
async function swarm(net: MemoryNetwork, n: number): Promise<DhtNode[]> {
  const nodes = Array.from({ length: n }, (_, i) => net.add(ep(7000 + i)));
  for (const node of nodes.slice(1)) await within(net, node.bootstrap([ep(7000)]));
  // A second round lets early joiners learn of later ones.
  for (const node of nodes) await within(net, node.bootstrap([ep(7000)]));
  return nodes;
}

let net: MemoryNetwork;
afterEach(() => net?.stopAll());

describe('DhtNode in a memory network', () => {
  it('bootstraps, finds a peer announced by another node, and announces to the k closest', async () => {
    net = new MemoryNetwork();
    const nodes = await swarm(net, 30);
    for (const node of nodes) expect(node.stats().nodes[4]).toBeGreaterThan(5);
    const ih = hash('torrent');
    const ann = await within(net, nodes[7]!.announce(ih, 6881).done);
    expect(ann.announced).toBe(8);
    expect(ann.announceFailed).toBe(0);
    const found = nodes[20]!.lookup(ih);
    const seen: string[] = [];
    found.on('peers', (ps) => seen.push(...ps.map((p) => `${p.ip}:${p.port}`)));
    const r = await within(net, found.done);
    expect(r.peers).toContainEqual({ ip: '127.0.0.1', port: 6881, family: 4 });
    expect(seen).toContain('127.0.0.1:6881');
    expect(r.stats.queried).toBeGreaterThan(0);
    expect(r.stats.hops).toBeGreaterThanOrEqual(1);
    expect(r.firstPeerMs).toBeDefined();
    // The async iterator replays every peer.
    const it: string[] = [];
    for await (const p of found) it.push(`${p.ip}:${p.port}`);
    expect(it).toContain('127.0.0.1:6881');
  });

  it('an implied-port announce stores the UDP source port', async () => {
    net = new MemoryNetwork();
    const nodes = await swarm(net, 12);
    const ih = hash('implied');
    await within(net, nodes[3]!.announce(ih, 0, { impliedPort: true }).done);
    const r = await within(net, nodes[9]!.lookup(ih).done);
    expect(r.peers).toContainEqual({ ip: '127.0.0.1', port: 7003, family: 4 });
  });

  it('a dead node times out, and after two failures in a row is no longer handed out', async () => {
    net = new MemoryNetwork();
    const a = net.add(ep(7000));
    net.add(ep(7001));
    await within(net, a.bootstrap([ep(7001)]));
    expect(a.stats().nodes[4]).toBe(1);
    const askA = async (): Promise<number> => {
      let n = -1;
      const send = net.listen(ep(7200), (d) => {
        const m = decodeKrpc(d);
        if (m.type === 'response') n = m.r.nodes?.length ?? 0;
      });
      // Read-only (BEP 43): a does not ping the asker back, so only the dead node's timeouts count.
      send(encodeQuery(Buffer.from('fn'), { method: 'find_node', id: hash('asker'), target: hash('x') }, { readOnly: true }), ep(7000));
      await net.settle();
      return n;
    };
    expect(await askA()).toBe(1);
    net.remove(ep(7001));
    await expect(within(net, a.ping(ep(7001)))).rejects.toMatchObject({ code: 'DHT_TIMEOUT' });
    expect(a.stats().timeouts).toBe(1);
    expect(await askA()).toBe(1); // one failure: questionable at worst, still handed out
    await expect(within(net, a.ping(ep(7001)))).rejects.toMatchObject({ code: 'DHT_TIMEOUT' });
    expect(await askA()).toBe(0); // bad: never handed out again
  });

  it('stop() cancels every timer and fails pending queries with DHT_STOPPED', async () => {
    net = new MemoryNetwork();
    const a = net.add(ep(7000));
    const pending = a.ping(ep(7999));
    a.stop();
    await expect(pending).rejects.toMatchObject({ code: 'DHT_STOPPED' });
    expect(net.clock.pending).toBe(0);
  });

  it('saves its table and a new run bootstraps from it with no bootstrap address', async () => {
    net = new MemoryNetwork();
    const nodes = await swarm(net, 10);
    const saved = encodeState(nodes[4]!.state());
    const state = decodeState(saved);
    expect(state.id).toEqual(nodes[4]!.id);
    expect(state.nodes.length).toBeGreaterThan(3);
    net.remove(ep(7004));
    const again = net.add(ep(7004), { state });
    expect(again.id).toEqual(nodes[4]!.id);
    const r = await within(net, again.bootstrap());
    expect(r.nodes).toBeGreaterThan(3);
  });

  it('takes a BEP 42 id once three nodes agree on our external address', async () => {
    net = new MemoryNetwork();
    const a = net.add(ep(7000));
    const seen: string[] = [];
    a.on('external-address', (ip) => seen.push(ip));
    const oldId = a.id;
    // Three raw nodes answer a's pings with ip = 8.8.4.4.
    for (const port of [7101, 7102, 7103]) {
      const send = net.listen(ep(port), (d, from) => {
        const m = decodeKrpc(d);
        if (m.type !== 'query') return;
        send(encodeResponse(m.t, { id: hash(`n${port}`) }, { requester: { ip: '8.8.4.4', port: 7000 } }), from);
      });
      await within(net, a.ping(ep(port)));
    }
    expect(seen).toEqual(['8.8.4.4']);
    expect(a.id.equals(oldId)).toBe(false);
    expect(isSecureNodeId(a.id, '8.8.4.4')).toBe(true);
    expect(a.stats().nodes[4]).toBe(3); // the table was rebuilt under the new id
  });

  it('works over IPv6 (BEP 32): nodes6 and 18-byte peers', async () => {
    net = new MemoryNetwork();
    const nodes = Array.from({ length: 12 }, (_, i) => net.add(ep(7000 + i, '::1'), { families: [4, 6] }));
    for (const n of nodes.slice(1)) await within(net, n.bootstrap([ep(7000, '::1')]));
    for (const n of nodes) await within(net, n.bootstrap([ep(7000, '::1')]));
    expect(nodes[5]!.stats().nodes[6]).toBeGreaterThan(3);
    const ih = hash('v6');
    await within(net, nodes[2]!.announce(ih, 51413).done);
    const r = await within(net, nodes[10]!.lookup(ih).done);
    expect(r.peers).toContainEqual({ ip: '::1', port: 51413, family: 6 });
  });
});
