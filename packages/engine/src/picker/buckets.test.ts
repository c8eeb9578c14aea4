import { describe, expect, it } from 'vitest';
import { AvailabilityBuckets } from './buckets.js';

describe('AvailabilityBuckets', () => {
  it('keeps pieces in the list of their availability as it changes, and finds the rarest', () => {
    const av = new Uint32Array(6);
    const q = new AvailabilityBuckets(6, av);
    expect(q.size).toBe(6);
    for (const i of [0, 1, 2, 3, 4, 5]) q.changeAvailability(i, 1);
    for (const i of [0, 1, 2, 3, 5]) q.changeAvailability(i, 1);
    q.changeAvailability(5, -1);
    // availability: 0-3 → 2, 4 → 1, 5 → 1
    expect(Array.from(av)).toEqual([2, 2, 2, 2, 1, 1]);
    const rarest = q.rarest(
      () => true,
      () => 0.99,
    );
    expect([4, 5]).toContain(rarest);
    expect(
      q.rarest(
        (i) => i < 4,
        () => 0,
      ),
    ).toBeLessThan(4);
    q.remove(4);
    q.remove(5);
    expect(q.size).toBe(4);
    expect(
      q.rarest(
        (i) => i >= 4,
        () => 0,
      ),
    ).toBe(-1);
    q.add(5);
    expect(
      q.rarest(
        () => true,
        () => 0.5,
      ),
    ).toBe(5);
    for (let i = 0; i < 6; i++) expect(q.inPlace(i)).toBe(true);
    expect(q.counted()).toBe(q.size);
  });

  it('never wraps an availability below zero (a count out of step elsewhere)', () => {
    const av = new Uint32Array(2);
    const q = new AvailabilityBuckets(2, av);
    q.changeAvailability(0, -1);
    expect(av[0]).toBe(0);
    expect(q.inPlace(0)).toBe(true);
  });

  it('picks at random over every held piece that fits, across lists', () => {
    const av = new Uint32Array(10);
    const q = new AvailabilityBuckets(10, av);
    for (let i = 0; i < 10; i += 2) q.changeAvailability(i, 1);
    const seen = new Set<number>();
    for (let k = 0; k < 100; k++)
      seen.add(
        q.random(
          (i) => i !== 3,
          () => k / 100,
        ),
      );
    expect([...seen].sort((a, b) => a - b)).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
    expect(
      q.random(
        () => false,
        () => 0.3,
      ),
    ).toBe(-1);
  });
});
