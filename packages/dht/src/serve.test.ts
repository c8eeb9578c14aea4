import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryNetwork } from '../test/memory-network.js';
import { decodeKrpc, encodeQuery, type KrpcMessage, type Query } from './krpc.js';
import type { DhtNode } from './node.js';

const hash = (s: string): Buffer => createHash('sha1').update(s).digest();
const NODE = { ip: '127.0.0.1', port: 6000 };

let net: MemoryNetwork;
afterEach(() => net?.stopAll());

/** A node on 127.0.0.1:6000 and a raw KRPC client that collects what comes back. */
function setup(opts: Parameters<MemoryNetwork['add']>[1] = {}): {
  node: DhtNode;
  ask: (q: Query | Buffer, port?: number, ip?: string) => Promise<KrpcMessage[]>;
} {
  net = new MemoryNetwork();
  const node = net.add(NODE, opts);
  let tid = 0;
  const ask = async (q: Query | Buffer, port = 6100, ip = '127.0.0.1'): Promise<KrpcMessage[]> => {
    const got: KrpcMessage[] = [];
    const send = net.listen({ ip, port }, (d) => got.push(decodeKrpc(d)));
    const t = Buffer.alloc(2);
    t.writeUInt16BE(tid++);
    send(Buffer.isBuffer(q) ? q : encodeQuery(t, q, { readOnly: true }), NODE);
    await net.settle();
    return got;
  };
  return { node, ask };
}

const asker = hash('asker');

describe('serving queries', () => {
  it('answers ping with its id and, per BEP 42, the asker’s address', async () => {
    const { node, ask } = setup();
    const [r] = await ask({ method: 'ping', id: asker });
    expect(r).toMatchObject({ type: 'response', r: { id: node.id }, ip: { ip: '127.0.0.1', port: 6100 } });
  });

  it('find_node answers with nodes of the family asked (want n4/n6)', async () => {
    const { ask } = setup({ families: [4, 6] });
    const [plain] = await ask({ method: 'find_node', id: asker, target: hash('t') });
    expect(plain).toMatchObject({ type: 'response', r: { nodes: [] } });
    expect(plain?.type === 'response' && plain.r.nodes6).toBeUndefined();
    const [both] = await ask({ method: 'find_node', id: asker, target: hash('t'), want: [4, 6] });
    expect(both).toMatchObject({ r: { nodes: [], nodes6: [] } });
  });

  it('get_peers gives a token; announce_peer with it stores the peer; get_peers then returns it', async () => {
    const { node, ask } = setup();
    const ih = hash('stored');
    const announced: string[] = [];
    node.on('announce', (h, p) => announced.push(`${h.toString('hex')} ${p.ip}:${p.port}`));
    const [gp] = await ask({ method: 'get_peers', id: asker, infoHash: ih });
    expect(gp).toMatchObject({ type: 'response', r: { nodes: [] } });
    const token = gp?.type === 'response' ? gp.r.token : undefined;
    expect(token?.length).toBe(8);
    const [ok] = await ask({ method: 'announce_peer', id: asker, infoHash: ih, port: 51413, token: token!, impliedPort: false });
    expect(ok).toMatchObject({ type: 'response', r: { id: node.id } });
    expect(announced).toEqual([`${ih.toString('hex')} 127.0.0.1:51413`]);
    const [again] = await ask({ method: 'get_peers', id: asker, infoHash: ih }, 6101);
    expect(again).toMatchObject({ r: { values: [{ ip: '127.0.0.1', port: 51413, family: 4 }] } });
    expect(node.stats()).toMatchObject({ storedInfoHashes: 1, storedPeers: 1, queriesIn: { get_peers: 2, announce_peer: 1 } });
  });

  it('implied_port stores the UDP source port', async () => {
    const { ask } = setup();
    const ih = hash('implied');
    const [gp] = await ask({ method: 'get_peers', id: asker, infoHash: ih }, 6200);
    const token = gp?.type === 'response' ? gp.r.token! : Buffer.alloc(0);
    await ask({ method: 'announce_peer', id: asker, infoHash: ih, port: 1, token, impliedPort: true }, 6200);
    const [r] = await ask({ method: 'get_peers', id: asker, infoHash: ih }, 6201);
    expect(r).toMatchObject({ r: { values: [{ port: 6200 }] } });
  });

  it('refuses a bad or expired token with error 203, and accepts the previous secret’s', async () => {
    const { ask } = setup();
    const ih = hash('tok');
    const [bad] = await ask({ method: 'announce_peer', id: asker, infoHash: ih, port: 1, token: Buffer.alloc(8), impliedPort: false });
    expect(bad).toMatchObject({ type: 'error', code: 203 });
    const [gp] = await ask({ method: 'get_peers', id: asker, infoHash: ih });
    const token = gp?.type === 'response' ? gp.r.token! : Buffer.alloc(0);
    await net.settle(5 * 60_000); // one rotation: still accepted
    const [ok] = await ask({ method: 'announce_peer', id: asker, infoHash: ih, port: 1, token, impliedPort: false });
    expect(ok).toMatchObject({ type: 'response' });
    await net.settle(5 * 60_000); // two rotations: refused
    const [late] = await ask({ method: 'announce_peer', id: asker, infoHash: ih, port: 1, token, impliedPort: false });
    expect(late).toMatchObject({ type: 'error', code: 203 });
    // A token given to another address is refused.
    const [gp2] = await ask({ method: 'get_peers', id: asker, infoHash: ih }, 6100, '127.0.0.2');
    const t2 = gp2?.type === 'response' ? gp2.r.token! : Buffer.alloc(0);
    const [stolen] = await ask({ method: 'announce_peer', id: asker, infoHash: ih, port: 1, token: t2, impliedPort: false });
    expect(stolen).toMatchObject({ type: 'error', code: 203 });
    const [own] = await ask({ method: 'announce_peer', id: asker, infoHash: ih, port: 1, token: t2, impliedPort: false }, 6100, '127.0.0.2');
    expect(own).toMatchObject({ type: 'response' });
  });

  it('answers unknown methods with 204 and malformed queries with 203; drops garbage and non-queries silently', async () => {
    const { node, ask } = setup();
    const [unknown] = await ask(Buffer.from('d1:ad2:id20:abcdefghij0123456789e1:q3:get1:t2:xx1:y1:qe'));
    expect(unknown).toMatchObject({ type: 'error', code: 204, t: Buffer.from('xx') });
    const [malformed] = await ask(Buffer.from('d1:ad2:id3:abce1:q4:ping1:t2:yy1:y1:qe'));
    expect(malformed).toMatchObject({ type: 'error', code: 203, t: Buffer.from('yy') });
    expect(await ask(Buffer.from('i42e'))).toEqual([]);
    expect(await ask(Buffer.from('d1:rd2:id20:abcdefghij0123456789e1:t2:zz1:y1:re'))).toEqual([]); // a reply to nothing
    expect(node.stats().dropped).toMatchObject({ malformed: 2, unexpected: 1 });
  });

  it('ignores a query that claims our own id', async () => {
    const { node, ask } = setup();
    expect(await ask({ method: 'ping', id: node.id })).toEqual([]);
    expect(node.stats().dropped.self).toBe(1);
  });

  it('rate-limits what it answers per address', async () => {
    const { node, ask } = setup({ rateLimit: { perKeyPerSecond: 10, perKeyBurst: 20, globalPerSecond: 1000, globalBurst: 1000, maxKeys: 100 } });
    let answered = 0;
    for (let i = 0; i < 30; i++) answered += (await ask({ method: 'ping', id: asker })).length;
    expect(answered).toBe(20);
    expect(node.stats().dropped['rate-limited']).toBe(10);
    // Another address has its own budget.
    expect(await ask({ method: 'ping', id: asker }, 6300)).toHaveLength(1);
    await net.settle(1000); // ten more tokens a second later
    answered = 0;
    for (let i = 0; i < 15; i++) answered += (await ask({ method: 'ping', id: asker })).length;
    expect(answered).toBe(10);
  });

  it('pings a stranger that queried it, and adds it to the table once it answers', async () => {
    const { node } = setup();
    const peer = net.add({ ip: '127.0.0.1', port: 6400 });
    await net.settle(); // nothing yet
    expect(node.stats().nodes[4]).toBe(0);
    await peer.ping(NODE);
    await net.settle();
    expect(node.nodes().map((c) => c.port)).toEqual([6400]);
  });
});
