import { isAbsolute, join, relative, sep } from 'node:path';
import { checkPathComponent } from '@tc/codec';
import { EngineError } from '../errors.js';

/**
 * Joins torrent path components under `root`, refusing anything that could land outside it.
 * codec has already made names safe; this is the storage's own last line of defence
 * (RELIABILITY.md cases 1–2), with codec's component rules, so it rejects rather than repairs.
 */
export function containedJoin(root: string, components: readonly string[]): string {
  if (components.length === 0) throw new EngineError('ENGINE_UNSAFE_PATH', 'empty file path');
  for (const c of components) {
    const why = checkPathComponent(Buffer.from(c, 'utf8'));
    if (why !== undefined || isAbsolute(c)) {
      throw new EngineError('ENGINE_UNSAFE_PATH', `unsafe path component ${JSON.stringify(c)} (${why ?? 'absolute'})`, { path: components.join('/') });
    }
  }
  const full = join(root, ...components);
  const rel = relative(root, full);
  if (rel === '' || rel.startsWith('..' + sep) || rel === '..' || isAbsolute(rel)) {
    throw new EngineError('ENGINE_UNSAFE_PATH', `path escapes the download folder`, { path: components.join('/') });
  }
  return full;
}
