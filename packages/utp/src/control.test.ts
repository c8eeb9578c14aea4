import { describe, expect, it } from 'vitest';
import { DelayHistory } from './delay.js';
import { LOSS_DECAY_INTERVAL_MS, Ledbat, MAX_CWND_INCREASE_BYTES_PER_RTT, TARGET_DELAY_US } from './ledbat.js';
import { MAX_RTO_MS, MIN_RTO_MS, RttEstimator } from './rtt.js';
import { seqAdd, seqDistance, seqLess, timeLess } from './seq.js';

describe('16-bit sequence numbers', () => {
  it('compare and step across the wrap', () => {
    expect(seqAdd(0xffff, 1)).toBe(0);
    expect(seqAdd(0, -1)).toBe(0xffff);
    expect(seqDistance(0xfffe, 2)).toBe(4);
    expect(seqLess(0xfffe, 2)).toBe(true);
    expect(seqLess(2, 0xfffe)).toBe(false);
    expect(seqLess(5, 5)).toBe(false);
    expect(timeLess(0xffffff00, 0x100)).toBe(true);
  });
});

describe('RttEstimator (BEP 29)', () => {
  it('starts from the first sample, then smooths by 1/8 and 1/4', () => {
    const r = new RttEstimator();
    expect(r.timeoutMs).toBe(1000);
    r.sample(200);
    expect(r.rttMs).toBe(200);
    expect(r.rttVarMs).toBe(100);
    expect(r.timeoutMs).toBe(600); // 200 + 4 * 100
    r.sample(100);
    expect(r.rttVarMs).toBe(100); // 100 + (|200 - 100| - 100) / 4
    expect(r.rttMs).toBe(187.5); // 200 + (100 - 200) / 8
  });

  it('never times out under 500 ms, doubles per timeout in a row, caps at a minute', () => {
    const r = new RttEstimator();
    r.sample(1);
    expect(r.timeoutMs).toBe(MIN_RTO_MS);
    r.onTimeout();
    r.onTimeout();
    expect(r.timeoutMs).toBe(4 * MIN_RTO_MS);
    for (let i = 0; i < 30; i++) r.onTimeout();
    expect(r.timeoutMs).toBe(MAX_RTO_MS);
    r.onProgress();
    expect(r.timeoutMs).toBe(MIN_RTO_MS);
  });
});

describe('DelayHistory', () => {
  it('measures queueing delay above the smallest sample, filtered over the last three', () => {
    const h = new DelayHistory(0);
    expect(h.add(5_000_000, 0)).toBe(0); // the first sample is the base
    expect(h.add(5_030_000, 10)).toBe(30_000);
    expect(h.add(5_050_000, 20)).toBe(50_000);
    expect(h.currentUs).toBe(0); // min of 0, 30 ms, 50 ms
    h.add(5_040_000, 30);
    expect(h.currentUs).toBe(30_000);
  });

  it('forgets a base older than the 13-minute history and handles wrap', () => {
    const h = new DelayHistory(0);
    h.add(0xffffff00, 0);
    expect(h.add(0x100, 1)).toBe(0x200); // wrapped past zero: 512 µs above base
    // Later minutes only ever see samples 10 ms higher: after 13 of them the old base is gone.
    for (let m = 1; m <= 14; m++) h.add(0x100 + 10_000, m * 60_000);
    expect(h.baseUs).toBe(0x100 + 10_000);
  });

  it('shifts the base up for clock skew', () => {
    const h = new DelayHistory(0);
    h.add(1000, 0);
    h.shift(300);
    expect(h.baseUs).toBe(1300);
    expect(h.add(1400, 1)).toBe(100);
  });
});

describe('Ledbat', () => {
  const packet = 1380;
  const fresh = (): Ledbat => new Ledbat({ packetBytes: packet, maxWindowBytes: 1000 * packet });

  it('doubles per round trip in slow start while the delay is low', () => {
    const l = fresh();
    // Growth per ack is the larger of the acked bytes and the linear gain (3000 B for a whole window).
    l.onAck(l.windowBytes, l.windowBytes, 0, true);
    expect(l.windowBytes).toBe(2 * packet + MAX_CWND_INCREASE_BYTES_PER_RTT);
    const w0 = l.windowBytes;
    l.onAck(w0, w0, 0, true);
    expect(l.windowBytes).toBe(2 * w0);
    expect(l.inSlowStart).toBe(true);
  });

  it('leaves slow start at the delay target with half the window, then gains at most 3000 B per window', () => {
    const l = fresh();
    for (let i = 0; i < 5; i++) l.onAck(l.windowBytes, l.windowBytes, 0, true);
    const before = l.windowBytes;
    l.onAck(before / 2, before, TARGET_DELAY_US, true); // at target: the last doubling overshot
    expect(l.inSlowStart).toBe(false);
    expect(l.windowBytes).toBe(before / 2);
    expect(l.slowStartThresholdBytes).toBe(before / 2);
    const w = l.windowBytes;
    l.onAck(w, w, 0, true); // a whole window acked with no delay: +3000 B
    expect(l.windowBytes).toBe(w + MAX_CWND_INCREASE_BYTES_PER_RTT);
    l.onAck(w, w, TARGET_DELAY_US * 2, true); // twice the target: -3000 B
    expect(l.windowBytes).toBe(w);
  });

  it('does not grow a window the application is not filling', () => {
    const l = fresh();
    const w = l.windowBytes;
    l.onAck(packet, packet, 0, false);
    expect(l.windowBytes).toBe(w);
  });

  it('halves on loss at most once per 100 ms, never below one packet', () => {
    const l = fresh();
    for (let i = 0; i < 6; i++) l.onAck(l.windowBytes, l.windowBytes, 0, true);
    const w = l.windowBytes;
    l.onLoss(1000);
    expect(l.windowBytes).toBe(w / 2);
    expect(l.inSlowStart).toBe(false);
    l.onLoss(1000 + LOSS_DECAY_INTERVAL_MS - 1);
    expect(l.windowBytes).toBe(w / 2);
    l.onLoss(1000 + LOSS_DECAY_INTERVAL_MS);
    expect(l.windowBytes).toBe(w / 4);
    for (let i = 0; i < 20; i++) l.onLoss(2000 + i * 100);
    expect(l.windowBytes).toBe(packet);
  });

  it('drops to one packet on a timeout and slow-starts up to the last threshold', () => {
    const l = fresh();
    for (let i = 0; i < 6; i++) l.onAck(l.windowBytes, l.windowBytes, 0, true);
    l.onLoss(0);
    const threshold = l.slowStartThresholdBytes;
    l.onTimeout();
    expect(l.windowBytes).toBe(packet);
    expect(l.inSlowStart).toBe(true);
    while (l.inSlowStart) l.onAck(l.windowBytes, l.windowBytes, 0, true);
    expect(l.windowBytes).toBeLessThanOrEqual(threshold + MAX_CWND_INCREASE_BYTES_PER_RTT);
  });
});
