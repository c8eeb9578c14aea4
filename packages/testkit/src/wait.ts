/**
 * Polls `cond` until it holds; throws `timed out waiting for <what>` after `timeoutMs`. `what` may be
 * a function, to report state read at the moment of the timeout.
 */
export async function until(
  what: string | (() => string),
  cond: () => boolean | Promise<boolean>,
  opts: { timeoutMs?: number; everyMs?: number } = {},
): Promise<void> {
  const end = Date.now() + (opts.timeoutMs ?? 5_000);
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, opts.everyMs ?? 10));
  }
}
