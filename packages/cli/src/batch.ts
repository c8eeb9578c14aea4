/**
 * The exit code of a command that handled several items (CLI.md: "a batch exits non-zero if any
 * item failed"): the highest code of any item, so 6 (verification failed) outranks 3 (invalid
 * input) and 0 only when every item succeeded. Deterministic whatever the order of the items.
 */
export function worstExitCode(codes: Iterable<number>): number {
  let worst = 0;
  for (const c of codes) if (c > worst) worst = c;
  return worst;
}
