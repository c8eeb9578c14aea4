import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { until } from '@tc/testkit/wait';
import { UdpPort, type UdpFrom } from './udp-port.js';

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const o of open.splice(0)) await o.close();
});

async function client(type: 'udp4' | 'udp6', host: string): Promise<{ s: Socket; got: Buffer[] }> {
  const s = createSocket(type);
  const got: Buffer[] = [];
  s.on('message', (m) => got.push(m));
  await new Promise<void>((r) => s.bind(0, host, () => r()));
  open.push({ close: () => new Promise<void>((r) => s.close(() => r())) });
  return { s, got };
}

// A uTP SYN header (type 4, version 1) padded to the 20-byte header; a KRPC message starts with `d`.
const utpSyn = Buffer.concat([Buffer.from([0x41]), Buffer.alloc(19)]);
const krpc = Buffer.from('d1:t2:aa1:y1:qe');

describe('UdpPort (the DHT and uTP on one port)', () => {
  it('routes KRPC to the DHT and uTP to uTP on IPv4 and IPv6, drops the rest, and sends from the same port', async () => {
    const port = await UdpPort.bind({ port: 0, host4: '127.0.0.1', host6: '::1' });
    open.push(port);
    const seen: [string, Buffer, UdpFrom][] = [];
    port.onDatagram('dht', (d, from) => seen.push(['dht', d, from]));
    port.onDatagram('utp', (d, from) => seen.push(['utp', d, from]));
    const a = await client('udp4', '127.0.0.1');
    const b = await client('udp6', '::1');
    a.s.send(krpc, port.port, '127.0.0.1');
    a.s.send(Buffer.from('GET / HTTP/1.1'), port.port, '127.0.0.1');
    b.s.send(utpSyn, port.port, '::1');
    await until('both datagrams routed', () => seen.length === 2 && port.stats().received.unknown === 1);
    const byOwner = new Map(seen.map(([o, d, f]) => [o, { d, f }]));
    expect(byOwner.get('dht')?.d).toEqual(krpc);
    expect(byOwner.get('dht')?.f).toMatchObject({ address: '127.0.0.1', port: a.s.address().port, family: 4 });
    expect(byOwner.get('utp')?.f).toMatchObject({ address: '::1', port: b.s.address().port, family: 6 });
    port.send(Buffer.from('reply4'), a.s.address().port, '127.0.0.1');
    port.send(Buffer.from('reply6'), b.s.address().port, '::1');
    await until('both replies', () => a.got.length === 1 && b.got.length === 1);
    expect(a.got[0]?.toString()).toBe('reply4');
    expect(b.got[0]?.toString()).toBe('reply6');
  });

  it('counts datagrams for a protocol with no handler, and sends nothing after close', async () => {
    const port = await UdpPort.bind({ port: 0, host4: '127.0.0.1', host6: null });
    open.push(port);
    const a = await client('udp4', '127.0.0.1');
    a.s.send(krpc, port.port, '127.0.0.1');
    await until('the datagram counted', () => port.stats().unhandled === 1);
    expect(port.hasFamily(6)).toBe(false);
    await port.close();
    expect(() => port.send(krpc, a.s.address().port, '127.0.0.1')).not.toThrow();
  });
});
