import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Pair, concat, typeName } from '../test/pair.js';
import { DEFAULT_PACKET_BYTES, KEEPALIVE_INTERVAL_MS, LINGER_MS, MAX_RETRANSMITS, SYN_RECV_TIMEOUT_MS } from './connection-options.js';
import { UtpConnection } from './connection.js';
import { HEADER_BYTES, PacketType, encodePacket } from './packet.js';

const PAYLOAD = DEFAULT_PACKET_BYTES - HEADER_BYTES;

function connected(opts: ConstructorParameters<typeof Pair>[0] = {}): Pair {
  const p = new Pair(opts);
  p.pump();
  expect(p.a.connected).toBe(true);
  return p;
}

describe('UtpConnection handshake (BEP 29)', () => {
  it('SYN carries our receive id; the STATE answer carries the send id and acks the SYN', () => {
    const p = new Pair({ isnA: 0x1000, isnB: 0x2000 }, false);
    const syn = p.a.sent[0]!;
    expect(typeName(syn)).toBe('SYN');
    expect(syn.connectionId).toBe(500);
    expect(syn.seq).toBe(0x1000);
    p.startB();
    expect(p.b.conn.ids).toEqual({ recvId: 501, sendId: 500 });
    const synAck = p.b.sent[0]!;
    expect(typeName(synAck)).toBe('STATE');
    expect(synAck.connectionId).toBe(500);
    expect(synAck.ack).toBe(0x1000);
    expect(synAck.seq).toBe(0x2000);
    p.pump();
    expect(p.a.connected).toBe(true);
    expect(p.a.conn.state).toBe('connected');
    // The acceptor waits for the initiator to speak: a spoofed SYN never gets a stream.
    expect(p.b.connected).toBe(false);
    expect(p.b.conn.state).toBe('syn-recv');
    p.a.conn.write(Buffer.from('hello'));
    p.pump();
    expect(p.b.connected).toBe(true);
    expect(concat(p.b.received).toString()).toBe('hello');
    // a's data packets go to id 501 and use the seq after the SYN; b's first data uses its ISN.
    const data = p.a.sent.find((x) => x.type === PacketType.Data)!;
    expect(data.connectionId).toBe(501);
    expect(data.seq).toBe(0x1001);
    p.b.conn.write(Buffer.from('back'));
    p.pump();
    expect(p.b.sent.find((x) => x.type === PacketType.Data)!.seq).toBe(0x2000);
    expect(concat(p.a.received).toString()).toBe('back');
  });

  it('resends a SYN at 1 s and 2 s later, then fails with UTP_TIMEOUT (ETIMEDOUT)', () => {
    const p = new Pair({}, false);
    p.a.out.length = 0;
    const times: number[] = [p.clock.now()];
    for (let i = 0; i < 100 && p.a.closed === undefined; i++) {
      p.clock.advance(100);
      if (p.a.out.length > 0) {
        times.push(p.clock.now());
        p.a.out.length = 0;
      }
    }
    expect(times.map((t) => t - times[0]!)).toEqual([0, 1000, 3000]);
    expect(p.a.closed?.error?.code).toBe('UTP_TIMEOUT');
    expect(p.a.closed?.error?.errno).toBe('ETIMEDOUT');
    expect(p.clock.now() - times[0]!).toBe(7000);
    expect(p.clock.pending).toBe(0);
  });

  it('answers a repeated SYN (our SYN-ACK was lost) with the same STATE', () => {
    const p = new Pair();
    const syn = p.a.sent[0]!;
    p.b.out.length = 0; // the SYN-ACK is lost
    p.b.conn.receive(syn);
    expect(p.b.out.length).toBe(1);
    p.pump();
    expect(p.a.connected).toBe(true);
  });

  it('drops an acceptor whose initiator never speaks after the SYN-ACK', () => {
    const p = new Pair();
    p.b.out.length = 0;
    p.clock.advance(SYN_RECV_TIMEOUT_MS);
    expect(p.b.closed?.error?.code).toBe('UTP_TIMEOUT');
    expect(p.b.released).toBe(true);
  });

  it('a RESET in answer to the SYN is a refusal (ECONNREFUSED); later, a reset (ECONNRESET)', () => {
    const p = new Pair({}, false);
    const reset = (seq: number, ack: number): Buffer =>
      encodePacket({ type: PacketType.Reset, connectionId: 500, timestampUs: 1, timestampDiffUs: 0, windowBytes: 0, seq, ack });
    p.a.conn.receive(decodePacketOf(reset(1, 0x1000)));
    expect(p.a.closed?.error?.code).toBe('UTP_REFUSED');
    expect(p.a.closed?.error?.errno).toBe('ECONNREFUSED');
    const q = connected();
    q.a.conn.receive(decodePacketOf(reset(0x2000, 0x1000)));
    expect(q.a.closed?.error?.code).toBe('UTP_RESET');
    expect(q.a.closed?.error?.errno).toBe('ECONNRESET');
    expect(q.a.released).toBe(true);
  });
});

import { decodePacket } from './packet.js';
const decodePacketOf = decodePacket;

describe('UtpConnection data transfer', () => {
  it('moves 2 MiB byte-exact, across the 16-bit sequence wrap, in full packets', () => {
    const p = connected({ isnA: 0xff00, isnB: 0xfff0 });
    const data = randomBytes(2 * 1024 * 1024);
    const back = randomBytes(300_000);
    for (let i = 0; i < data.length; i += 100_000) p.a.conn.write(data.subarray(i, i + 100_000));
    p.b.conn.write(back);
    p.pump();
    expect(concat(p.b.received).equals(data)).toBe(true);
    expect(concat(p.a.received).equals(back)).toBe(true);
    const dataPackets = p.a.sent.filter((x) => x.type === PacketType.Data);
    expect(dataPackets.length).toBe(Math.ceil(data.length / PAYLOAD));
    // Sequence numbers wrapped (2 MiB is about 1500 packets from 0xff01).
    expect(dataPackets.some((x) => x.seq < 0x100)).toBe(true);
    expect(p.a.conn.stats.retransmits).toBe(0);
  });

  it('recovers a lost packet by selective ack and fast retransmit, without a timeout', () => {
    const p = connected();
    let dropped = false;
    p.filter = (x, dir) => {
      if (dir === 'a→b' && x.type === PacketType.Data && x.seq === 0x1001 + 3 && !dropped) {
        dropped = true;
        return 'drop';
      }
      return 'pass';
    };
    const data = randomBytes(40 * PAYLOAD);
    p.a.conn.write(data);
    p.pump();
    p.advance(200);
    expect(dropped).toBe(true);
    expect(concat(p.b.received).equals(data)).toBe(true);
    expect(p.a.conn.stats.fastRetransmits).toBe(1);
    expect(p.a.conn.stats.timeouts).toBe(0);
    // b told a what it held past the hole.
    expect(p.b.sent.some((x) => x.type === PacketType.State && x.sack !== undefined)).toBe(true);
  });

  it('resends on three duplicate acks when no selective ack comes', () => {
    const p = connected();
    // Simulate a receiver that never sends selective acks: strip them on the way back.
    p.filter = (x, dir) => (dir === 'b→a' && x.sack !== undefined ? 'drop' : 'pass');
    let dropped = false;
    const orig = p.filter;
    p.filter = (x, dir) => {
      if (dir === 'a→b' && x.type === PacketType.Data && x.seq === 0x1002 && !dropped) {
        dropped = true;
        return 'drop';
      }
      return orig(x, dir);
    };
    const dupAckFor = (n: number): void => {
      // Three plain acks of the packet before the hole.
      for (let i = 0; i < n; i++) {
        p.a.conn.receive(
          decodePacketOf(
            encodePacket({ type: PacketType.State, connectionId: 500, timestampUs: 1, timestampDiffUs: 1, windowBytes: 1 << 20, seq: 0x2000, ack: 0x1001 }),
          ),
        );
      }
    };
    p.a.conn.write(randomBytes(10 * PAYLOAD));
    p.pump();
    const before = p.a.conn.stats.fastRetransmits;
    dupAckFor(3);
    expect(p.a.conn.stats.fastRetransmits).toBe(before + 1);
  });

  it('times out, backs off (doubling), then gives up after 5 timeouts in a row', () => {
    const p = connected();
    p.a.conn.write(Buffer.from('x'.repeat(100)));
    p.filter = () => 'drop';
    const start = p.clock.now();
    const sendTimes: number[] = [];
    for (let i = 0; i < 2000 && p.a.closed === undefined; i++) {
      const n = p.a.sent.length;
      p.clock.advance(10);
      p.pump();
      if (p.a.sent.slice(n).some((x) => x.type === PacketType.Data)) sendTimes.push(p.clock.now() - start);
    }
    // The timeout doubles: 500, 1000, 2000, 4000 ms after each resend (the first send at 0).
    expect(sendTimes).toEqual([500, 1500, 3500, 7500]);
    expect(p.clock.now() - start).toBe(15_500);
    expect(p.a.closed?.error?.code).toBe('UTP_TIMEOUT');
    expect(p.a.conn.stats.timeouts).toBe(MAX_RETRANSMITS + 1);
    expect(p.a.conn.stats.retransmits).toBe(MAX_RETRANSMITS);
    expect(p.a.released).toBe(true);
    expect(p.clock.pending).toBe(0);
  });

  it('uses the BEP 29 RTT estimate for the timeout (not under 500 ms)', () => {
    const p = connected();
    p.a.conn.write(Buffer.from('a'));
    p.pump();
    expect(p.a.conn.rttMs).toBe(0); // acked in the same instant on a manual clock
    p.filter = () => 'drop';
    p.a.conn.write(Buffer.from('b'));
    const t0 = p.clock.now();
    let resentAt: number | undefined;
    const n = p.a.sent.length;
    for (let i = 0; i < 100 && resentAt === undefined; i++) {
      p.clock.advance(10);
      p.pump();
      if (p.a.sent.slice(n).some((x) => x.type === PacketType.Data)) resentAt = p.clock.now();
    }
    expect(resentAt! - t0).toBe(500);
  });

  it('honours the receive window: a reader that stops reading stops the sender, and reopens it', () => {
    const p = connected({ recvBufferBytes: 64 * 1024 });
    p.b.autoRead = false;
    const data = randomBytes(300 * 1024);
    p.a.conn.write(data);
    p.pump();
    const got = concat(p.b.received).length;
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThanOrEqual(64 * 1024 + PAYLOAD);
    expect(p.b.conn.stats.droppedPackets).toBe(0); // the sender kept to the window
    for (let i = 0; i < 50 && concat(p.b.received).length < data.length; i++) {
      p.read(p.b);
      p.pump();
    }
    expect(concat(p.b.received).equals(data)).toBe(true);
  });

  it('coalesces small writes while a short packet is unacked (Nagle), and not with setNoDelay', () => {
    const p = connected();
    p.filter = () => 'hold'; // nothing is acked while we write
    for (let i = 0; i < 10; i++) p.a.conn.write(Buffer.from('0123456789'));
    p.pump();
    const dataPkts = (): number => p.a.sent.filter((x) => x.type === PacketType.Data).length;
    expect(dataPkts()).toBe(1); // the first short write went out; the rest wait for its ack
    p.filter = () => 'pass';
    p.release();
    p.pump();
    expect(dataPkts()).toBe(2); // the 90 waiting bytes in one packet
    expect(concat(p.b.received).toString()).toBe('0123456789'.repeat(10));
    p.a.conn.setNoDelay(true);
    p.filter = () => 'hold';
    for (let i = 0; i < 5; i++) p.a.conn.write(Buffer.from('x'));
    p.pump();
    expect(dataPkts()).toBe(7);
  });

  it('reports backpressure when the send buffer fills, and drains', () => {
    const p = connected({ sendBufferBytes: 16 * 1024 });
    p.filter = () => 'hold';
    let ok = true;
    for (let i = 0; i < 40 && ok; i++) ok = p.a.conn.write(randomBytes(4096));
    expect(ok).toBe(false);
    p.filter = () => 'pass';
    p.release();
    p.pump();
    expect(p.a.drains).toBeGreaterThan(0);
  });

  it('sends a keep-alive after 29 s without sending', () => {
    const p = connected();
    p.a.conn.write(Buffer.from('x'));
    p.pump();
    const n = p.a.sent.length;
    p.advance(KEEPALIVE_INTERVAL_MS - 100, 1000);
    expect(p.a.sent.length).toBe(n);
    p.advance(1000, 1000);
    expect(p.a.sent.slice(n).map(typeName)).toContain('STATE');
    expect(p.a.conn.state).toBe('connected');
  });

  it('ignores a packet that acks data never sent, and one far ahead of the window', () => {
    const p = connected();
    const bogus = (seq: number, ack: number, payload = Buffer.from('evil')): Buffer =>
      encodePacket({ type: PacketType.Data, connectionId: 501, timestampUs: 1, timestampDiffUs: 0, windowBytes: 1 << 20, seq, ack, payload });
    const before = p.b.conn.stats.droppedPackets;
    p.b.conn.receive(decodePacketOf(bogus(0x1001, 0x2000 + 500))); // acks 500 packets b never sent
    p.b.conn.receive(decodePacketOf(bogus(0x1001 + 5000, 0x1fff))); // far beyond any reorder window
    p.pump();
    expect(p.b.conn.stats.droppedPackets).toBe(before + 2);
    expect(p.b.received.length).toBe(0);
    p.a.conn.write(Buffer.from('real'));
    p.pump();
    expect(concat(p.b.received).toString()).toBe('real');
  });
});

describe('UtpConnection close', () => {
  it('FIN after the data, both ways, then closes cleanly and lingers for stray FINs', () => {
    const p = connected();
    const data = randomBytes(10_000);
    p.a.conn.write(data);
    p.a.conn.end();
    expect(p.a.conn.state).toBe('fin-sent');
    p.pump();
    expect(p.b.ended).toBe(true);
    expect(concat(p.b.received).equals(data)).toBe(true);
    expect(p.a.finished).toBe(true);
    expect(p.a.closed).toBeUndefined(); // b has not finished its side
    p.b.conn.end();
    p.pump();
    expect(p.a.ended && p.b.finished).toBe(true);
    expect(p.a.closed).toEqual({ error: undefined });
    expect(p.b.closed).toEqual({ error: undefined });
    expect(p.a.conn.reason).toBe('done');
    // b's FIN again (as if a's ack were lost): a, lingering, acks it again.
    const fin = p.b.sent.find((x) => x.type === PacketType.Fin)!;
    const n = p.a.sent.length;
    p.a.conn.receive(fin);
    p.pump();
    expect(p.a.sent.slice(n).map(typeName)).toEqual(['STATE']);
    expect(p.a.released).toBe(false);
    p.clock.advance(LINGER_MS);
    expect(p.a.released && p.b.released).toBe(true);
    expect(p.clock.pending).toBe(0);
  });

  it('delivers a FIN that arrives before the data it follows only after that data', () => {
    const p = connected();
    p.filter = (x, dir) => (dir === 'a→b' && x.type === PacketType.Data ? 'hold' : 'pass');
    p.a.conn.write(Buffer.from('last words'));
    p.a.conn.end();
    p.pump();
    expect(p.b.ended).toBe(false);
    p.filter = () => 'pass';
    p.release();
    p.pump();
    expect(concat(p.b.received).toString()).toBe('last words');
    expect(p.b.ended).toBe(true);
  });

  it('destroy sends a RESET and closes without an error', () => {
    const p = connected();
    p.a.conn.destroy();
    expect(p.a.sent.at(-1)!.type).toBe(PacketType.Reset);
    expect(p.a.closed).toEqual({ error: undefined });
    p.pump();
    expect(p.b.closed?.error?.code).toBe('UTP_RESET');
    expect(p.clock.pending).toBe(0);
  });

  it('refuses writes after end and after close', () => {
    const p = connected();
    p.a.conn.end();
    expect(p.a.conn.write(Buffer.from('late'))).toBe(false);
    p.a.conn.destroy();
    expect(p.a.conn.write(Buffer.from('later'))).toBe(false);
    expect(UtpConnection).toBeDefined();
  });
});
