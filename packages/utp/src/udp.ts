import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { UtpSocket, type UtpSocketOptions } from './socket.js';

/**
 * A UtpSocket on a UDP socket of its own, for tools, tests and benchmarks. The engine instead
 * owns one UDP socket per listen port and routes datagrams itself (`classifyDatagram`), so that
 * the DHT can share it; this is the same wiring with nothing else on the port.
 */

/** Socket buffers asked of the kernel: a full uTP window in each direction (the kernel may cap it). */
export const UDP_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;

export interface UtpUdpOptions extends UtpSocketOptions {
  /** Port to bind (0 = any free one). */
  readonly port?: number;
  /** Address to bind; default 127.0.0.1. */
  readonly host?: string;
  /** Datagrams that are not uTP (a DHT message, junk) go here; default: dropped. */
  readonly onOther?: (buf: Buffer, from: { address: string; port: number }) => void;
}

export interface UtpUdpEndpoint {
  readonly utp: UtpSocket;
  readonly udp: DgramSocket;
  readonly port: number;
  /** Destroys every connection, then closes the UDP socket. */
  close(): Promise<void>;
}

export async function listenUtp(opts: UtpUdpOptions = {}): Promise<UtpUdpEndpoint> {
  const host = opts.host ?? '127.0.0.1';
  const family = host.includes(':') ? 6 : 4;
  // uTP sends to IP literals only. Node's default lookup (dns.lookup) answers even those on the
  // next tick, once per datagram; this one answers at once.
  const udp = createSocket({
    type: family === 6 ? 'udp6' : 'udp4',
    lookup: (address, _opts, cb) => (cb as (e: null, a: string, f: number) => void)(null, address, family),
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(opts.port ?? 0, host, () => {
      udp.off('error', reject);
      resolve();
    });
  });
  try {
    udp.setRecvBufferSize(UDP_SOCKET_BUFFER_BYTES);
    udp.setSendBufferSize(UDP_SOCKET_BUFFER_BYTES);
  } catch {
    // The kernel's limit (net.core.rmem_max) applies; the defaults still work, with more loss.
  }
  const utp = new UtpSocket(
    {
      send: (buf, port, to) => {
        udp.send(buf, port, to);
      },
    },
    opts,
  );
  udp.on('message', (msg, rinfo) => {
    const from = { address: rinfo.address, port: rinfo.port };
    if (!utp.receive(msg, from)) opts.onOther?.(msg, from);
  });
  // ICMP errors (a closed port) surface as send errors on some systems; uTP's timeouts handle them.
  udp.on('error', () => undefined);
  return {
    utp,
    udp,
    port: udp.address().port,
    close: async () => {
      utp.close();
      await new Promise<void>((r) => udp.close(() => r()));
    },
  };
}
