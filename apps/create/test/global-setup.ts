import { resolve } from 'node:path';
import { ensureBuilt } from '@tc/testkit/fresh-build';

/** The tests run the built command: build it first if the sources are newer. */
export default function setup(): void {
  ensureBuilt(resolve(import.meta.dirname, '..'));
}
