import { createSocket, type Socket } from 'node:dgram';
import type { DhtNodeOptions } from './node-options.js';
import { DhtNode } from './node.js';

/** KRPC messages are bencoded dictionaries: their first byte is `d` (uTP's is a type/version nibble pair). */
export function isKrpcDatagram(datagram: Uint8Array): boolean {
  return datagram.length > 0 && datagram[0] === 0x64;
}

export interface BindOptions extends Omit<DhtNodeOptions, 'transport' | 'localPort' | 'families'> {
  /** UDP port for both sockets; 0 (default) picks a free one for IPv4 and reuses it for IPv6. */
  readonly port?: number;
  /** IPv4 address to bind (default 127.0.0.1: tests and tools stay on loopback unless told). */
  readonly host?: string;
  /** IPv6 address to bind as well (e.g. `::1`), making the node dual-stack (BEP 32); none by default. */
  readonly host6?: string;
}

export interface BoundDhtNode {
  readonly node: DhtNode;
  readonly port: number;
  /** Stops the node and closes its sockets. */
  close(): Promise<void>;
}

function bind(socket: Socket, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}

/**
 * A DHT node on its own UDP socket(s): for tests and tools (`tc-debug-tracker --dht`,
 * `tc-netcheck`). The engine instead puts one socket per port in front of a `DhtNode` and passes
 * it the datagrams for which `isKrpcDatagram` holds.
 */
export async function bindDhtNode(opts: BindOptions = {}): Promise<BoundDhtNode> {
  const sockets: { 4: Socket; 6?: Socket } = { 4: createSocket({ type: 'udp4' }) };
  const closeAll = (): Promise<void> =>
    Promise.all(Object.values(sockets).map((s: Socket) => new Promise<void>((r) => s.close(() => r())).catch(() => undefined))).then(() => undefined);
  try {
    await bind(sockets[4], opts.port ?? 0, opts.host ?? '127.0.0.1');
    const port = sockets[4].address().port;
    if (opts.host6 !== undefined) {
      sockets[6] = createSocket({ type: 'udp6', ipv6Only: true });
      await bind(sockets[6], port, opts.host6);
    }
    const node = new DhtNode({
      ...opts,
      localPort: port,
      families: sockets[6] ? [4, 6] : [4],
      transport: {
        send(datagram, toPort, ip) {
          const s = ip.includes(':') ? sockets[6] : sockets[4];
          // A send error (unreachable, no route) is a lost datagram, as UDP is: the query times out.
          s?.send(datagram, toPort, ip, () => undefined);
        },
      },
    });
    for (const s of Object.values<Socket>(sockets)) {
      s.on('message', (msg, rinfo) => {
        if (isKrpcDatagram(msg)) node.receive(msg, { ip: rinfo.address, port: rinfo.port });
      });
      // ICMP errors surface as socket errors on some systems; they must not end the process.
      s.on('error', () => undefined);
    }
    node.start();
    return {
      node,
      port,
      close: async () => {
        node.stop();
        await closeAll();
      },
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
