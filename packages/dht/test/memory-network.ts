import { ManualClock, flushPromises } from '@tc/clock';
import { DhtNode, type DhtNodeOptions, type Endpoint } from '../src/index.js';

/**
 * DHT nodes wired to each other in memory, on one manual clock: a datagram sent is delivered on
 * the next microtask, so `settle()` runs every exchange to its end without real time passing.
 */
export class MemoryNetwork {
  readonly clock = new ManualClock(1_000_000);
  private readonly nodes = new Map<string, DhtNode>();
  /** Return true to lose a datagram. */
  drop: (from: Endpoint, to: Endpoint, datagram: Buffer) => boolean = () => false;
  /** Every datagram sent, with its ends (for tests that look at the bytes). */
  readonly log: { from: Endpoint; to: Endpoint; datagram: Buffer }[] = [];
  logging = false;
  sent = 0;

  static key(e: Endpoint): string {
    return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
  }

  add(self: Endpoint, opts: Partial<DhtNodeOptions> = {}): DhtNode {
    const node = new DhtNode({
      clock: this.clock,
      localPort: self.port,
      ...opts,
      transport: { send: (datagram, port, ip) => this.deliver(self, { ip, port }, datagram) },
    });
    this.nodes.set(MemoryNetwork.key(self), node);
    node.start();
    return node;
  }

  /** A bare endpoint whose datagrams the test sees (a raw KRPC client). */
  listen(self: Endpoint, onDatagram: (d: Buffer, from: Endpoint) => void): (datagram: Buffer, to: Endpoint) => void {
    this.raw.set(MemoryNetwork.key(self), onDatagram);
    return (datagram, to) => this.deliver(self, to, datagram);
  }

  private readonly raw = new Map<string, (d: Buffer, from: Endpoint) => void>();

  private deliver(from: Endpoint, to: Endpoint, datagram: Buffer): void {
    this.sent++;
    if (this.logging) this.log.push({ from, to, datagram });
    if (this.drop(from, to, datagram)) return;
    queueMicrotask(() => {
      const key = MemoryNetwork.key(to);
      this.nodes.get(key)?.receive(datagram, from);
      this.raw.get(key)?.(datagram, from);
    });
  }

  remove(e: Endpoint): void {
    this.nodes.get(MemoryNetwork.key(e))?.stop();
    this.nodes.delete(MemoryNetwork.key(e));
  }

  async settle(ms = 0): Promise<void> {
    await flushPromises();
    if (ms > 0) await this.clock.advanceAsync(ms);
  }

  stopAll(): void {
    for (const n of this.nodes.values()) n.stop();
  }
}
