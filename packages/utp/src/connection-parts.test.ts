import { ManualClock } from '@tc/clock';
import { describe, expect, it } from 'vitest';
import { applyAck } from './acks.js';
import { KEEPALIVE_INTERVAL_MS, ZERO_WINDOW_PROBE_MS } from './connection-options.js';
import { acksUnsent, mayTransmit, plausibleResetAck, sackedSeqs, sackLosses } from './loss.js';
import { PacketType, type Packet } from './packet.js';
import { arrival, Receiver } from './receiver.js';
import { MAX_REORDER_DISTANCE } from './reorder.js';
import { SendWindow, type OutPacket } from './send-buffer.js';
import { BOGUS_DELAY_US, OneWayDelays, timestampUs } from './timestamps.js';
import { DeadlineTimer, nextDeadline, type DeadlineInputs } from './timers.js';

/** A selective-ack mask with the given bits set (bit i names seq ack + 2 + i). */
function mask(bits: readonly number[], bytes = 4): Uint8Array {
  const m = new Uint8Array(bytes);
  for (const i of bits) m[i >> 3]! |= 1 << (i & 7);
  return m;
}

describe('loss decisions (loss.ts)', () => {
  it('reads the seqs a selective ack names, across the 16-bit wrap', () => {
    expect(sackedSeqs(100, mask([0, 2, 9]))).toEqual([102, 104, 111]);
    expect(sackedSeqs(0xfffe, mask([0, 1]))).toEqual([0, 1]);
  });

  it('declares a hole lost only with three counted acks above it, oldest first', () => {
    const all = (): boolean => true;
    // ack 10: 11 is missing; 12, 13, 14 arrived → 11 is lost.
    expect(sackLosses(10, mask([0, 1, 2]), all)).toEqual([11]);
    // Two above are not enough.
    expect(sackLosses(10, mask([0, 1]), all)).toEqual([]);
    // 11 and 15 missing, 12-14 and 16-18 arrived: 15 has three above, 11 has six.
    expect(sackLosses(10, mask([0, 1, 2, 4, 5, 6]), all)).toEqual([11, 15]);
    // Acks of packets we never sent do not count (a peer cannot force resends).
    expect(sackLosses(10, mask([0, 1, 2]), (seq) => seq !== 13)).toEqual([]);
  });

  it('believes a RESET only when its ack lies between what was acked and what we sent', () => {
    // base 50 (49 acked), next 60.
    expect(plausibleResetAck(50, 60, 49)).toBe(true);
    expect(plausibleResetAck(50, 60, 60)).toBe(true);
    expect(plausibleResetAck(50, 60, 61)).toBe(false);
    expect(plausibleResetAck(50, 60, 48)).toBe(false);
    expect(plausibleResetAck(0, 5, 0xffff)).toBe(true);
  });

  it('drops acks of packets never sent', () => {
    expect(acksUnsent(60, 59)).toBe(false);
    expect(acksUnsent(60, 60)).toBe(true);
    expect(acksUnsent(0, 0xffff)).toBe(false);
  });

  it('lets a packet go within both windows, and always one into an empty pipe unless the receiver has no room', () => {
    expect(mayTransmit(1000, 400, 2000, 5000, false)).toBe(true);
    expect(mayTransmit(1800, 400, 2000, 5000, false)).toBe(false);
    expect(mayTransmit(1000, 400, 5000, 1200, false)).toBe(false);
    expect(mayTransmit(0, 1400, 100, 5000, false)).toBe(true);
    expect(mayTransmit(0, 1400, 5000, 0, false)).toBe(false);
    expect(mayTransmit(0, 1400, 5000, 0, true)).toBe(true);
  });
});

describe('Receiver (receiver.ts)', () => {
  const packet = (seq: number, payload: string, type: PacketType = PacketType.Data): Packet =>
    ({
      type,
      seq,
      ack: 0,
      connectionId: 1,
      timestampUs: 0,
      timestampDiffUs: 0,
      windowBytes: 0,
      extension: 0,
      sack: undefined,
      payload: Buffer.from(payload),
    }) as unknown as Packet;

  function receiver(recvBufferBytes = 10_000) {
    const got: string[] = [];
    const log = { acks: 0, ended: 0 };
    const stats = { bytesReceived: 0, duplicatePackets: 0, droppedPackets: 0 };
    const rx = new Receiver({
      recvBufferBytes,
      payloadMax: 100,
      readBuffered: () => 0,
      stats,
      events: { data: (b) => got.push(b.toString()), end: () => log.ended++, wantAck: () => log.acks++, closed: () => false },
    });
    return { rx, got, log, stats };
  }

  it('classifies arrivals by their distance past the last in-order seq', () => {
    expect(arrival(10, 11)).toBe('next');
    expect(arrival(10, 12)).toBe('ahead');
    expect(arrival(10, 10)).toBe('delivered');
    expect(arrival(10, 11 + MAX_REORDER_DISTANCE)).toBe('too-far');
    expect(arrival(0xffff, 0)).toBe('next');
  });

  it('holds packets behind a gap, names them in the selective ack, and delivers in order once it fills', () => {
    const { rx, got, log, stats } = receiver();
    rx.ackNr = 10;
    rx.receive(packet(12, 'b'));
    rx.receive(packet(13, 'c'));
    rx.receive(packet(13, 'c'));
    expect(got).toEqual([]);
    expect(rx.heldPackets).toBe(2);
    expect(stats.duplicatePackets).toBe(1);
    expect(Array.from(rx.sack()!.slice(0, 1))).toEqual([0b11]);
    rx.receive(packet(11, 'a'));
    expect(got).toEqual(['a', 'b', 'c']);
    expect(rx.ackNr).toBe(13);
    expect(rx.heldPackets).toBe(0);
    expect(log.acks).toBe(4);
    expect(stats.bytesReceived).toBe(3);
  });

  it('ends the stream at the FIN once everything before it arrived, and drops what comes after it', () => {
    const { rx, got, log, stats } = receiver();
    rx.receive(packet(2, '', PacketType.Fin));
    expect(log.ended).toBe(0);
    rx.receive(packet(1, 'x'));
    expect(got).toEqual(['x']);
    expect(log.ended).toBe(1);
    expect(rx.readEnded).toBe(true);
    expect(rx.sack()).toBeUndefined();
    rx.receive(packet(3, 'late'));
    expect(stats.droppedPackets).toBe(1);
    expect(got).toEqual(['x']);
  });

  it('drops a packet over the advertised window (one packet of slack) and one too far ahead', () => {
    const { rx, stats } = receiver(150);
    rx.receive(packet(2, 'y'.repeat(100)));
    expect(rx.advertisedWindow()).toBe(50);
    rx.receive(packet(3, 'z'.repeat(100))); // 100 ≤ 50 left + 100 of slack: held
    expect(rx.windowLeft()).toBe(-50);
    expect(rx.advertisedWindow()).toBe(0);
    rx.receive(packet(4, 'w'.repeat(100))); // 100 > −50 + 100: dropped
    expect(rx.heldPackets).toBe(2);
    expect(stats.droppedPackets).toBe(1);
    rx.receive(packet(1 + MAX_REORDER_DISTANCE, 'far'));
    expect(stats.droppedPackets).toBe(2);
  });
});

describe('one-way delays (timestamps.ts)', () => {
  it('never sends a zero timestamp, and wraps at 2^32 µs', () => {
    expect(timestampUs(0)).toBe(1);
    expect(timestampUs(1.5)).toBe(1500);
    expect(timestampUs(2 ** 32 / 1000)).toBe(1);
  });

  it('echoes the delay of their packets, and ignores missing and bogus samples of ours', () => {
    const d = new OneWayDelays(0);
    d.note({ timestampUs: 1_000, timestampDiffUs: 0 }, 5);
    expect(d.replyMicro).toBe(4_000);
    expect(d.ours.hasSamples).toBe(false);
    d.note({ timestampUs: 0, timestampDiffUs: BOGUS_DELAY_US }, 6);
    expect(d.ours.hasSamples).toBe(false);
    d.note({ timestampUs: 0, timestampDiffUs: 7_000 }, 7);
    d.note({ timestampUs: 0, timestampDiffUs: 9_000 }, 8);
    expect(d.ours.currentUs).toBe(0);
    expect(d.ours.baseUs).toBe(7_000);
  });

  it('follows clock skew: when their base falls a little, ours moves up by as much', () => {
    const d = new OneWayDelays(0);
    d.note({ timestampUs: 1_000, timestampDiffUs: 50_000 }, 11); // their sample 10 000 µs
    d.note({ timestampUs: 5_000, timestampDiffUs: 0 }, 12); // 7 000 µs: their base fell by 3 000
    expect(d.ours.baseUs).toBe(53_000);
    d.note({ timestampUs: 100_000, timestampDiffUs: 0 }, 20); // −80 ms: too large to be skew
    expect(d.ours.baseUs).toBe(53_000);
  });
});

describe('applying an ack to the send window (acks.ts)', () => {
  /** A window with `n` data packets of 100 bytes from seq 10, each sent once at ms 0. */
  function window(n: number): SendWindow {
    const w = new SendWindow(10);
    for (let i = 0; i < n; i++) {
      const q: OutPacket = {
        type: PacketType.Data,
        seq: 10 + i,
        buf: Buffer.alloc(0),
        payloadBytes: 100,
        sentAtMs: 0,
        transmissions: 0,
        needResend: false,
        fastResent: false,
      };
      w.add(q);
      w.sent(q, 0);
    }
    return w;
  }

  it('acks cumulatively with one RTT sample per packet sent once, and resets the duplicate count', () => {
    const w = window(4);
    w.get(11)!.transmissions = 2; // resent: no sample (Karn)
    const a = applyAck(w, { type: PacketType.State, ack: 12, sack: undefined }, 2, 40);
    expect(a).toMatchObject({ packets: 3, bytes: 300, rttSamplesMs: [40, 40], progressed: true, dupAcks: 0, resend: [] });
    expect(w.base).toBe(13);
  });

  it('counts duplicate STATE acks and resends the head on the third', () => {
    const w = window(3);
    const dup = { type: PacketType.State, ack: 9, sack: undefined };
    expect(applyAck(w, dup, 0, 1).dupAcks).toBe(1);
    expect(applyAck(w, { ...dup, type: PacketType.Data }, 1, 1).dupAcks).toBe(1); // data repeats its ack for nothing
    const third = applyAck(w, dup, 2, 1);
    expect(third.dupAcks).toBe(3);
    expect(third.resend.map((q) => q.seq)).toEqual([10]);
  });

  it('acks selectively and resends the hole with three acked packets above it', () => {
    const w = window(6);
    // ack 10; 11 missing; 12, 13, 14 arrived (bits 0-2 name 12-14).
    const a = applyAck(w, { type: PacketType.State, ack: 10, sack: mask([0, 1, 2]) }, 0, 5);
    expect(a.packets).toBe(4);
    expect(a.resend.map((q) => q.seq)).toEqual([11]);
    expect(w.base).toBe(11);
    w.get(11)!.fastResent = true;
    expect(applyAck(w, { type: PacketType.State, ack: 10, sack: mask([0, 1, 2]) }, 0, 6).resend).toEqual([]);
  });
});

describe('deadlines (timers.ts)', () => {
  const idle: DeadlineInputs = {
    state: 'connected',
    lingerUntil: undefined,
    synRecvDeadline: undefined,
    rtoDeadline: undefined,
    packetsOut: 0,
    queuedBytes: 0,
    peerWindow: 1000,
    lastSentMs: 100,
    lastReceivedMs: 50,
  };

  it('picks the earliest of keep-alive, retransmission, SYN-RECV and zero-window probe; linger once closed', () => {
    expect(nextDeadline(idle)).toBe(100 + KEEPALIVE_INTERVAL_MS);
    expect(nextDeadline({ ...idle, rtoDeadline: 900 })).toBe(100 + KEEPALIVE_INTERVAL_MS); // nothing out: no RTO
    expect(nextDeadline({ ...idle, rtoDeadline: 900, packetsOut: 1 })).toBe(900);
    expect(nextDeadline({ ...idle, queuedBytes: 5, peerWindow: 0 })).toBe(50 + ZERO_WINDOW_PROBE_MS);
    expect(nextDeadline({ ...idle, state: 'syn-recv', synRecvDeadline: 10_000 })).toBe(10_000);
    expect(nextDeadline({ ...idle, state: 'closed', lingerUntil: 7 })).toBe(7);
    expect(nextDeadline({ ...idle, state: 'closed' })).toBe(Infinity);
  });

  it('keeps one timer at the earliest deadline, and leaves it when a deadline moves later', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    const t = new DeadlineTimer(clock, () => fired.push(clock.now()));
    t.armAt(100, 0);
    t.armAt(300, 0); // later: left alone
    expect(clock.pending).toBe(1);
    t.armAt(50, 0); // earlier: re-armed
    expect(clock.pending).toBe(1);
    clock.advance(200);
    expect(fired).toEqual([50]);
    t.armAt(400, clock.now());
    t.cancel();
    clock.advance(1000);
    expect(fired).toEqual([50]);
    expect(clock.pending).toBe(0);
  });
});
