import { createSocket, type Socket } from 'node:dgram';
import { isIP } from 'node:net';
import { classifyDatagram, type DatagramOwner } from '@tc/utp';

/**
 * The session's one UDP port: the same number as its TCP listen port, shared by the DHT (BEP 5) and
 * uTP (BEP 29) as libtorrent shares it. Datagrams are routed by their first byte (`classifyDatagram`:
 * KRPC begins with `d`, uTP with its type/version byte); anything else is counted and dropped.
 * One socket per address family, so IPv4 and IPv6 peers and nodes both reach us.
 */

/** Kernel buffers asked for each socket: a uTP window in each direction (the kernel may cap it). */
export const UDP_PORT_BUFFER_BYTES = 4 * 1024 * 1024;

export interface UdpFrom {
  readonly address: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export type DatagramHandler = (datagram: Buffer, from: UdpFrom) => void;

/** The protocols that share the port. */
export type UdpProtocol = Exclude<DatagramOwner, 'unknown'>;

export interface UdpPortOptions {
  /** Port to bind on both families; 0 = a free one (the IPv6 socket then takes the IPv4 one's number). */
  readonly port: number;
  /** IPv4 address to bind; null disables IPv4. */
  readonly host4: string | null;
  /** IPv6 address to bind; null disables IPv6. A failure to bind it is not an error (no IPv6 here). */
  readonly host6: string | null;
}

export interface UdpPortStats {
  readonly received: Readonly<Record<DatagramOwner, number>>;
  /** Datagrams that arrived for a protocol with no handler yet (dropped). */
  readonly unhandled: number;
}

export class UdpPort {
  private readonly handlers = new Map<UdpProtocol, DatagramHandler>();
  private readonly counts: Record<DatagramOwner, number> = { dht: 0, utp: 0, unknown: 0 };
  private unhandledCount = 0;
  private closed = false;

  private constructor(
    private readonly v4: Socket | undefined,
    private readonly v6: Socket | undefined,
    /** The bound port number. */
    readonly port: number,
  ) {
    for (const [s, family] of [
      [v4, 4],
      [v6, 6],
    ] as const) {
      s?.on('message', (msg, rinfo) => this.route(msg, { address: rinfo.address, port: rinfo.port, family }));
      // ICMP unreachable and similar surface here on some systems: the protocols' own timeouts handle them.
      s?.on('error', () => undefined);
    }
  }

  /** Binds the port on each enabled family. Throws the bind error of IPv4 (or of IPv6 when it is the only one). */
  static async bind(opts: UdpPortOptions): Promise<UdpPort> {
    let v4: Socket | undefined;
    let v6: Socket | undefined;
    let port = opts.port;
    if (opts.host4 !== null) {
      v4 = await bindOne('udp4', opts.host4, port);
      port = v4.address().port;
    }
    if (opts.host6 !== null) {
      try {
        v6 = await bindOne('udp6', opts.host6, port);
        port = v6.address().port;
      } catch (e) {
        if (v4 === undefined) throw e;
      }
    }
    return new UdpPort(v4, v6, port);
  }

  /** Gives a protocol its datagrams; a second call for the same protocol replaces the first. */
  onDatagram(protocol: UdpProtocol, handler: DatagramHandler): void {
    this.handlers.set(protocol, handler);
  }

  /** Sends to an IP literal (host names are the caller's to resolve). Dropped silently after close or with no socket of that family. */
  send(datagram: Uint8Array, port: number, address: string): void {
    if (this.closed) return;
    const s = isIP(address) === 6 ? this.v6 : this.v4;
    s?.send(datagram, port, address);
  }

  /** Whether datagrams to this family can be sent. */
  hasFamily(family: 4 | 6): boolean {
    return (family === 4 ? this.v4 : this.v6) !== undefined;
  }

  stats(): UdpPortStats {
    return { received: { ...this.counts }, unhandled: this.unhandledCount };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const sockets = [this.v4, this.v6].filter((s): s is Socket => s !== undefined);
    await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  private route(datagram: Buffer, from: UdpFrom): void {
    const owner = classifyDatagram(datagram);
    this.counts[owner]++;
    if (owner === 'unknown') return;
    const handler = this.handlers.get(owner);
    if (handler === undefined) {
      this.unhandledCount++;
      return;
    }
    handler(datagram, from);
  }
}

async function bindOne(type: 'udp4' | 'udp6', host: string, port: number): Promise<Socket> {
  const family = type === 'udp4' ? 4 : 6;
  // Sends go to IP literals only; the default lookup would answer even those a tick later, per datagram.
  const s = createSocket({
    type,
    ...(type === 'udp6' ? { ipv6Only: true } : {}),
    lookup: (address, _o, cb) => (cb as (e: null, a: string, f: number) => void)(null, address, family),
  });
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, host, () => {
      s.off('error', reject);
      resolve();
    });
  });
  try {
    s.setRecvBufferSize(UDP_PORT_BUFFER_BYTES);
    s.setSendBufferSize(UDP_PORT_BUFFER_BYTES);
  } catch {
    // The kernel's cap (net.core.rmem_max) applies; the protocols work with smaller buffers, with more loss.
  }
  return s;
}
