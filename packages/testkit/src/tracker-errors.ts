/**
 * Assertion helpers for typed errors (`code` plus fields): what a function throws, what a promise
 * rejects with. Anything not of the expected class is rethrown, so a bug is not mistaken for a
 * handled failure.
 */
export function thrownCode<E extends Error & { code: string }>(cls: new (...a: never[]) => E, fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof cls) return e.code;
    throw e;
  }
  return undefined;
}

export async function rejection<E extends Error>(cls: new (...a: never[]) => E, p: Promise<unknown>): Promise<E> {
  try {
    await p;
  } catch (e) {
    if (e instanceof cls) return e;
    throw e;
  }
  throw new Error(`expected a rejection with ${cls.name}`);
}
