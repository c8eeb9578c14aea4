import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
/** V8's collector, reachable once --expose-gc is set at run time (vitest's workers do not pass the flag). */
const gc = runInNewContext('gc') as () => void;

/** Bytes held by JS objects and buffers after a full collection: what a test may compare before and after. */
export function heldBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
