import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '@tc/clock';
import { until } from '@tc/testkit/wait';
import { bindDhtNode, decodeKrpc, encodeQuery, isKrpcDatagram, type BoundDhtNode } from '../src/index.js';

/** Our nodes on real loopback sockets, IPv4 and IPv6 (`::1`, BEP 32); inside the test namespace. */
const bound: BoundDhtNode[] = [];
afterEach(async () => {
  for (const b of bound.splice(0)) await b.close();
});

const hash = (s: string): Buffer => createHash('sha1').update(s).digest();

describe('bindDhtNode', () => {
  it('tells KRPC from uTP by the first byte', () => {
    expect(isKrpcDatagram(Buffer.from('d1:t2:aae'))).toBe(true);
    for (const b of [0x01, 0x11, 0x21, 0x31, 0x41]) expect(isKrpcDatagram(Buffer.from([b, 0, 0, 0]))).toBe(false);
    expect(isKrpcDatagram(Buffer.alloc(0))).toBe(false);
  });

  it('answers a raw UDP ping with its id and our address (BEP 42 ip field)', async () => {
    const b = await bindDhtNode();
    bound.push(b);
    const sock = createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const reply = new Promise<Buffer>((r) => sock.once('message', r));
    sock.send(encodeQuery(Buffer.from('xy'), { method: 'ping', id: hash('raw') }, { readOnly: true }), b.port, '127.0.0.1');
    const m = decodeKrpc(await reply);
    expect(m).toMatchObject({ type: 'response', t: Buffer.from('xy'), r: { id: b.node.id }, ip: { ip: '127.0.0.1', port: sock.address().port } });
    sock.close();
  });

  it('dual-stack nodes on 127.0.0.1 and ::1 find each other’s announces in both DHTs', async () => {
    for (let i = 0; i < 6; i++) bound.push(await bindDhtNode({ host6: '::1' }));
    const [first, ...rest] = bound;
    for (const b of rest) {
      await b.node.bootstrap([
        { ip: '127.0.0.1', port: first!.port },
        { ip: '::1', port: first!.port },
      ]);
    }
    for (const b of bound) await b.node.bootstrap();
    for (const b of bound) {
      expect(b.node.stats().nodes[4]).toBeGreaterThanOrEqual(3);
      expect(b.node.stats().nodes[6]).toBeGreaterThanOrEqual(3);
    }
    const ih = hash('dual-stack');
    const ann = await bound[2]!.node.announce(ih, 41000).done;
    expect(ann.announced).toBeGreaterThanOrEqual(4); // in both DHTs
    let peers: unknown[] = [];
    await until(
      () => `both families of peers (got ${JSON.stringify(peers)})`,
      async () => {
        peers = [...(await bound[5]!.node.lookup(ih).done).peers];
        return peers.length === 2;
      },
    );
    expect(peers).toEqual(
      expect.arrayContaining([
        { ip: '127.0.0.1', port: 41000, family: 4 },
        { ip: '::1', port: 41000, family: 6 },
      ]),
    );
  });

  it('close() leaves no timer behind and frees the port', async () => {
    const clock = new ManualClock();
    const b = await bindDhtNode({ clock });
    expect(clock.pending).toBeGreaterThan(0);
    const port = b.port;
    await b.close();
    expect(clock.pending).toBe(0);
    const again = await bindDhtNode({ port });
    bound.push(again);
    expect(again.port).toBe(port);
  });
});
