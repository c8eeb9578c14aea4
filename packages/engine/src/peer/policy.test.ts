import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { EngineError } from '../errors.js';
import { backoffDelayMs, BACKOFF_MAX_MS } from './backoff.js';
import { MESSAGE_DEADLINE_MIN_MS, messageDeadlineMs } from './connection.js';
import { closeIsFailure, USEFUL_CONNECTION_MS } from './swarm.js';
import { RateMeter } from './rate.js';
import { hashFailureVerdict, peerScore } from './scoring.js';

describe('backoff', () => {
  it('doubles with jitter within ±25 % and caps', () => {
    expect(backoffDelayMs(1, () => 0.5)).toBe(5000);
    expect(backoffDelayMs(3, () => 0.5)).toBe(20000);
    expect(backoffDelayMs(2, () => 0)).toBe(7500);
    expect(backoffDelayMs(2, () => 0.999999)).toBeLessThanOrEqual(12500);
    expect(backoffDelayMs(50, () => 0.5)).toBe(BACKOFF_MAX_MS);
  });
});

describe('closeIsFailure', () => {
  const clean = { reason: undefined, handshaken: true, blocks: 0, connectedMs: 0 };
  const timeout = new EngineError('ENGINE_PEER_TIMEOUT', 'peer trickled a message');
  const reset = new EngineError('ENGINE_PEER_PROTOCOL', 'socket error: ECONNRESET');
  it('counts hang-ups right after connecting, and errors before any data, as failures', () => {
    expect(closeIsFailure(clean)).toBe(true);
    expect(closeIsFailure({ ...clean, handshaken: false, connectedMs: 10 * USEFUL_CONNECTION_MS })).toBe(true);
    expect(closeIsFailure({ ...clean, reason: reset, connectedMs: USEFUL_CONNECTION_MS })).toBe(true);
  });
  it('does not hold a close against a peer that gave data or stayed a while', () => {
    expect(closeIsFailure({ ...clean, blocks: 1 })).toBe(false);
    expect(closeIsFailure({ ...clean, blocks: 1, reason: reset })).toBe(false);
    expect(closeIsFailure({ ...clean, connectedMs: USEFUL_CONNECTION_MS })).toBe(false);
  });
  it('always backs off stalls and trickles, data or not', () => {
    expect(closeIsFailure({ ...clean, blocks: 100, connectedMs: 10 * USEFUL_CONNECTION_MS, reason: timeout })).toBe(true);
  });
});

describe('messageDeadlineMs', () => {
  it('gives a message time in proportion to its size, with a floor', () => {
    expect(messageDeadlineMs(0)).toBe(MESSAGE_DEADLINE_MIN_MS);
    expect(messageDeadlineMs(17)).toBe(MESSAGE_DEADLINE_MIN_MS);
    // A 16 KiB block: about a minute; honest 2 KiB/s needs 8 s.
    expect(messageDeadlineMs(16 * 1024 + 13)).toBeGreaterThan(60_000);
    expect(messageDeadlineMs(16 * 1024 + 13)).toBeLessThan(70_000);
  });
});

describe('RateMeter', () => {
  it('converges to a steady rate and decays after a stall', () => {
    const m = new RateMeter(0);
    for (let t = 100; t <= 10_000; t += 100) m.add(100_000, t);
    expect(m.rate(10_000)).toBeGreaterThan(900_000);
    expect(m.rate(10_000)).toBeLessThan(1_100_000);
    expect(m.rate(20_000)).toBeLessThan(20_000);
    expect(m.rate(30_000)).toBeLessThan(1_000);
    expect(m.total).toBe(100 * 100_000);
  });
});

describe('scoring', () => {
  const base = { rateBps: 1e6, responseMs: 50, hashFailures: 0, faults: 0, blocks: 10 };
  it('ranks by throughput, then punishes slowness and failures', () => {
    expect(peerScore(base)).toBeGreaterThan(peerScore({ ...base, rateBps: 1e5 }));
    expect(peerScore(base)).toBeGreaterThan(peerScore({ ...base, responseMs: 3000 }));
    expect(peerScore(base)).toBeGreaterThan(peerScore({ ...base, hashFailures: 1 }));
    expect(peerScore(base)).toBeGreaterThan(peerScore({ ...base, faults: 2 }));
    expect(peerScore({ ...base, rateBps: 0, blocks: 0 })).toBe(0);
  });
  it('bans a sole sender on parole and repeat offenders', () => {
    expect(hashFailureVerdict(1, false, false)).toBe('parole');
    expect(hashFailureVerdict(1, true, true)).toBe('ban');
    expect(hashFailureVerdict(2, true, false)).toBe('ban');
    expect(hashFailureVerdict(3, false, false)).toBe('ban');
  });
});

describe('ManualClock', () => {
  it('fires timers in order and cancels', () => {
    const c = new ManualClock();
    const log: string[] = [];
    c.setTimeout(() => log.push('b'), 20);
    const t = c.setTimeout(() => log.push('x'), 15);
    c.setTimeout(() => log.push('a'), 10);
    const i = c.setInterval(() => log.push('i'), 8);
    t.cancel();
    c.advance(20);
    i.cancel();
    c.advance(100);
    expect(log).toEqual(['i', 'a', 'i', 'b']);
    expect(c.now()).toBe(120);
    expect(c.pending).toBe(0);
  });
});
