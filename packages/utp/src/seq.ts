/**
 * 16-bit sequence and ack numbers, and 32-bit microsecond timestamps, both wrap around (BEP 29).
 * Comparisons take the shorter way round the circle, as libutp's `wrapping_compare_less` does.
 */

export const SEQ_MASK = 0xffff;
export const TIMESTAMP_MASK = 0xffffffff;

/** `(a + n) mod 2^16`, for n of either sign. */
export function seqAdd(a: number, n: number): number {
  return (a + n) & SEQ_MASK;
}

/** How far `b` is ahead of `a`, in [0, 65535] (`b - a mod 2^16`). */
export function seqDistance(a: number, b: number): number {
  return (b - a) & SEQ_MASK;
}

/** Whether `a` comes before `b` on the 16-bit circle (the shorter way round). */
export function seqLess(a: number, b: number): boolean {
  const up = (b - a) & SEQ_MASK;
  const down = (a - b) & SEQ_MASK;
  return up < down;
}

/** `b - a` on the 32-bit microsecond circle, as an unsigned number. */
export function timeDistance(a: number, b: number): number {
  return (b - a) >>> 0;
}

/** Whether `a` comes before `b` on the 32-bit circle. */
export function timeLess(a: number, b: number): boolean {
  return timeDistance(a, b) < timeDistance(b, a);
}
