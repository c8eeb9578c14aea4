import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { seededRandom, startUdpProxy, type UdpImpairment, type UdpProxy } from './udp-proxy.js';
import { until } from './wait.js';

interface Endpoint {
  sock: Socket;
  port: number;
  got: { seq: number; at: number }[];
}

async function endpoint(echo: boolean): Promise<Endpoint> {
  const sock = createSocket('udp4');
  const e: Endpoint = { sock, port: 0, got: [] };
  sock.on('message', (m, r) => {
    e.got.push({ seq: m.readUInt32BE(0), at: performance.now() });
    if (echo) sock.send(m, r.port, r.address);
  });
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  e.port = sock.address().port;
  return e;
}

const open: { close(): unknown }[] = [];
afterEach(async () => {
  for (const x of open.splice(0)) await x.close();
});

async function setup(up: UdpImpairment, down: UdpImpairment = {}, seed = 7): Promise<{ server: Endpoint; client: Endpoint; proxy: UdpProxy }> {
  const server = await endpoint(true);
  const client = await endpoint(false);
  const proxy = await startUdpProxy({ target: { host: '127.0.0.1', port: server.port }, up, down, seed });
  open.push(proxy, { close: () => server.sock.close() }, { close: () => client.sock.close() });
  return { server, client, proxy };
}

/**
 * Sends `n` numbered datagrams, 20 at a time, each batch once the proxy has read the one before:
 * the kernel's socket buffers must never drop any, or the seeded fates would shift.
 */
async function send(client: Endpoint, proxy: UdpProxy, n: number): Promise<void> {
  const start = proxy.stats.up.received;
  for (let i = 0; i < n; i++) {
    const b = Buffer.alloc(8);
    b.writeUInt32BE(i, 0);
    client.sock.send(b, proxy.port, '127.0.0.1');
    if (i % 20 === 19) await until('the proxy to read a batch', () => proxy.stats.up.received >= start + i + 1);
  }
}

describe('seededRandom', () => {
  it('is deterministic per seed and roughly uniform', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 10_000 }, () => a());
    expect(xs.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.48);
    expect(mean).toBeLessThan(0.52);
    expect(seededRandom(43)()).not.toBe(seededRandom(42)());
  });
});

describe('startUdpProxy (loopback)', () => {
  it('drops about the configured share, the same datagrams for the same seed, and routes replies back', async () => {
    const runs: number[][] = [];
    for (let run = 0; run < 2; run++) {
      const { server, client, proxy } = await setup({ loss: 0.2 }, {}, 99);
      await send(client, proxy, 1000);
      await until('the proxy to see every datagram', () => proxy.stats.up.received === 1000);
      await until('the echoes', () => client.got.length === server.got.length && server.got.length === proxy.stats.up.forwarded);
      runs.push(server.got.map((g) => g.seq).sort((x, y) => x - y));
      expect(proxy.stats.up.dropped).toBeGreaterThan(150);
      expect(proxy.stats.up.dropped).toBeLessThan(250);
      expect(proxy.stats.down.dropped).toBe(0);
    }
    expect(runs[0]).toEqual(runs[1]);
  });

  it('delays by the fixed delay plus jitter, and jitter reorders', async () => {
    const { server, client, proxy } = await setup({ delayMs: 30, jitterMs: 40 });
    const sentAt = performance.now();
    await send(client, proxy, 200);
    await until('all 200', () => server.got.length === 200, { timeoutMs: 10_000 });
    expect(Math.min(...server.got.map((g) => g.at - sentAt))).toBeGreaterThanOrEqual(29);
    const order = server.got.map((g) => g.seq);
    expect(order).not.toEqual([...order].sort((x, y) => x - y));
    expect(new Set(order).size).toBe(200);
  });

  it('duplicates and holds back datagrams', async () => {
    const { server, client, proxy } = await setup({ duplicate: 1 });
    await send(client, proxy, 100);
    await until('200 copies', () => server.got.length === 200);
    expect(proxy.stats.up.duplicated).toBe(100);
    proxy.set('up', { reorder: 0.3, reorderDelayMs: 30 });
    server.got.length = 0;
    await send(client, proxy, 100);
    await until('100 more', () => server.got.length === 100, { timeoutMs: 10_000 });
    const order = server.got.map((g) => g.seq);
    expect(order).not.toEqual([...order].sort((x, y) => x - y));
    expect(proxy.stats.up.reordered).toBeGreaterThan(10);
  });

  it('refuses nonsense settings', async () => {
    await expect(startUdpProxy({ target: { host: '127.0.0.1', port: 1 }, up: { loss: 2 } })).rejects.toThrow(/probability/);
    await expect(startUdpProxy({ target: { host: '127.0.0.1', port: 1 }, down: { delayMs: -1 } })).rejects.toThrow(/duration/);
  });
});
