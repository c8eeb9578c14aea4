import { resolve } from 'node:path';
import { ensureBuilt } from '@tc/testkit/fresh-build';

/** The tests run the built commands (tc-create, and tc-seed for the interop test): build them first if the sources are newer. */
export default function setup(): void {
  ensureBuilt(resolve(import.meta.dirname, '..'));
  ensureBuilt(resolve(import.meta.dirname, '../../seed'));
}
