import { describe, expect, it } from 'vitest';
import { ManualClock } from './index.js';

describe('ManualClock', () => {
  it('fires timers in time order, each at its own time, and repeats intervals', () => {
    const c = new ManualClock();
    const seen: string[] = [];
    c.setTimeout(() => seen.push(`b@${c.now()}`), 20);
    c.setTimeout(() => seen.push(`a@${c.now()}`), 10);
    const every = c.setInterval(() => seen.push(`i@${c.now()}`), 15);
    c.advance(31);
    expect(seen).toEqual(['a@10', 'i@15', 'b@20', 'i@30']);
    every.cancel();
    c.advance(100);
    expect(seen).toHaveLength(4);
    expect(c.pending).toBe(0);
    expect(c.now()).toBe(131);
  });

  it('fires timers due at the same time in the order they were set', () => {
    const c = new ManualClock();
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) c.setTimeout(() => seen.push(i), 5);
    c.advance(5);
    expect(seen).toEqual([0, 1, 2, 3, 4]);
  });

  it('advanceAsync lets awaited work schedule the next timer before time moves on', async () => {
    const c = new ManualClock();
    const seen: number[] = [];
    const loop = async (): Promise<void> => {
      for (let i = 0; i < 3; i++) {
        await new Promise<void>((r) => c.setTimeout(r, 10));
        seen.push(c.now());
      }
    };
    const done = loop();
    await c.advanceAsync(30);
    await done;
    expect(seen).toEqual([10, 20, 30]);
  });
});
