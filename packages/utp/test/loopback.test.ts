import { randomBytes } from 'node:crypto';
import { startUdpProxy, type UdpProxy } from '@tc/testkit/udp-proxy';
import { until } from '@tc/testkit/wait';
import { afterEach, describe, expect, it } from 'vitest';
import { listenUtp, type UtpUdpEndpoint } from '../src/udp.js';
import type { UtpStream } from '../src/stream.js';
import { closed, connected, readAll, sha1, writeAll } from './helpers.js';

const open: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const x of open.splice(0).reverse()) await x.close();
});

async function endpoints(): Promise<[UtpUdpEndpoint, UtpUdpEndpoint]> {
  // Both sides write while reading: the first to finish reading must not end the other's writes.
  const a = await listenUtp({ allowHalfOpen: true });
  const b = await listenUtp({ allowHalfOpen: true });
  open.push(a, b);
  return [a, b];
}

/**
 * Both directions at once: each side writes its data, ends, and reads the other's to the end. The
 * acceptor hands out its stream only once the initiator has spoken, so the client starts writing
 * before the server stream exists.
 */
async function exchange(client: UtpStream, incoming: Promise<UtpStream>, up: Buffer, down: Buffer): Promise<UtpStream> {
  const clientRead = readAll(client);
  const clientWrite = writeAll(client, up);
  const server = await incoming;
  const [gotUp, gotDown] = await Promise.all([readAll(server), clientRead, clientWrite, writeAll(server, down)]);
  expect(gotUp.length).toBe(up.length);
  expect(sha1(gotUp)).toBe(sha1(up));
  expect(gotDown.length).toBe(down.length);
  expect(sha1(gotDown)).toBe(sha1(down));
  await Promise.all([closed(client), closed(server)]);
  return server;
}

function accepted(e: UtpUdpEndpoint): Promise<UtpStream> {
  return new Promise((resolve) => e.utp.once('connection', resolve));
}

describe('tc uTP ↔ tc uTP over UDP on 127.0.0.1', () => {
  it('moves 8 MiB one way and 1 MiB back byte-exact, and both ends close cleanly', async () => {
    const [a, b] = await endpoints();
    const up = randomBytes(8 * 1024 * 1024);
    const down = randomBytes(1024 * 1024);
    const incoming = accepted(b);
    const client = a.utp.connect(b.port, '127.0.0.1');
    const errors: Error[] = [];
    client.on('error', (e) => errors.push(e));
    await connected(client);
    const server = await exchange(client, incoming, up, down);
    expect(server.remotePort).toBe(a.port);
    expect(server.remoteAddress).toBe('127.0.0.1');
    expect(errors).toEqual([]);
    expect(client.connection?.reason).toBe('done');
    expect(server.connection?.reason).toBe('done');
  }, 60_000);

  it('carries many connections at once over one port pair', async () => {
    const [a, b] = await endpoints();
    const n = 20;
    const datas = Array.from({ length: n }, (_, i) => randomBytes(50_000 + i * 1000));
    const servers = new Map<number, Promise<Buffer>>();
    b.utp.on('connection', (s) => {
      // Each client first sends its index; echo back everything that follows.
      s.once('data', (first: Buffer) => {
        const idx = first[0]!;
        const rest = first.subarray(1);
        servers.set(
          idx,
          readAll(s).then((tail) => Buffer.concat([rest, tail])),
        );
      });
    });
    await Promise.all(
      datas.map(async (d, i) => {
        const c = a.utp.connect(b.port, '127.0.0.1');
        await connected(c);
        c.write(Buffer.from([i]));
        await writeAll(c, d);
      }),
    );
    for (let i = 0; i < n; i++) {
      const deadline = Date.now() + 20_000;
      while (!servers.has(i) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(sha1(await servers.get(i)!)).toBe(sha1(datas[i]!));
    }
  }, 60_000);

  it('a dial to a port with nobody behind it is refused or times out with a typed error', async () => {
    const [a, b] = await endpoints();
    // b is a uTP socket without a 'connection' listener: it ignores SYNs, like a closed port.
    const s = a.utp.connect(b.port, '127.0.0.1');
    const err = await new Promise<Error & { code?: string }>((resolve) => s.once('error', resolve));
    expect(err.code).toBe('UTP_TIMEOUT');
    expect(b.utp.stats.synsDropped).toBeGreaterThanOrEqual(1);
  }, 20_000);

  it('leaves no UDP socket or timer behind once the endpoints close', async () => {
    const count = (kind: string): number => process.getActiveResourcesInfo().filter((r) => r === kind).length;
    const timersBefore = count('Timeout');
    const udpBefore = count('UDPWrap');
    const a = await listenUtp({ allowHalfOpen: true });
    const b = await listenUtp({ allowHalfOpen: true });
    const incoming = accepted(b);
    const client = a.utp.connect(b.port, '127.0.0.1');
    await connected(client);
    // A clean close leaves both connections lingering (5 s) for stray FINs; close() ends that too.
    await exchange(client, incoming, randomBytes(100_000), randomBytes(1000));
    expect(a.utp.size + b.utp.size).toBe(2);
    await a.close();
    await b.close();
    expect(a.utp.size + b.utp.size).toBe(0);
    // dgram's close callback comes before libuv has released the handle: wait for that.
    await until(
      () => `UDP handles back to ${udpBefore}: ${process.getActiveResourcesInfo().join(',')}`,
      () => count('UDPWrap') === udpBefore,
    );
    expect(count('Timeout')).toBeLessThanOrEqual(timersBefore);
  });

  it('destroy on one side resets the other (ECONNRESET)', async () => {
    const [a, b] = await endpoints();
    const incoming = accepted(b);
    const client = a.utp.connect(b.port, '127.0.0.1');
    await connected(client);
    client.write('hello');
    const server = await incoming;
    const err = new Promise<Error & { errno?: string }>((resolve) => server.once('error', resolve));
    client.destroy();
    expect((await err).errno).toBe('ECONNRESET');
    await closed(server);
  });
});

describe('through a lossy proxy: 2% loss, 50 ms jitter, reordering, duplicates', () => {
  it('moves 2 MiB byte-exact both ways', async () => {
    const [a, b] = await endpoints();
    const impair = { loss: 0.02, jitterMs: 50, reorder: 0.02, reorderDelayMs: 30, duplicate: 0.01 };
    const proxy: UdpProxy = await startUdpProxy({ target: { host: '127.0.0.1', port: b.port }, up: impair, down: impair, seed: 2024 });
    open.push(proxy);
    const up = randomBytes(2 * 1024 * 1024);
    const down = randomBytes(256 * 1024);
    const incoming = accepted(b);
    const client = a.utp.connect(proxy.port, '127.0.0.1');
    await connected(client);
    const t0 = performance.now();
    await exchange(client, incoming, up, down);
    const s = client.connection!.stats;
    console.log(
      `lossy proxy: 2 MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s; proxy up ${JSON.stringify(proxy.stats.up)}; ` +
        `sender retransmits ${s.retransmits} (fast ${s.fastRetransmits}), timeouts ${s.timeouts}`,
    );
    expect(proxy.stats.up.dropped).toBeGreaterThan(0);
    expect(proxy.stats.up.reordered + proxy.stats.up.duplicated).toBeGreaterThan(0);
    expect(s.retransmits).toBeGreaterThan(0);
  }, 120_000);
});
