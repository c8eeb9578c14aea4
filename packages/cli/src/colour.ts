import { Chalk, type ChalkInstance } from 'chalk';
import type { Io, OutStream } from './io.js';

export type ColourMode = 'auto' | 'always' | 'never';

/**
 * A chalk instance for one stream: `--color` first, then NO_COLOR, FORCE_COLOR and TERM=dumb,
 * then whether the stream is a terminal.
 */
export function colours(mode: ColourMode, io: Io, stream: OutStream = io.stdout): ChalkInstance {
  return new Chalk({ level: colourLevel(mode, io.env, stream) });
}

export function colourLevel(mode: ColourMode, env: Io['env'], stream: OutStream): 0 | 1 | 2 | 3 {
  if (mode === 'never') return 0;
  if (mode === 'always') return 1;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 0;
  const force = env.FORCE_COLOR;
  if (force !== undefined) {
    if (force === '0' || force === 'false') return 0;
    if (force === '2') return 2;
    if (force === '3') return 3;
    return 1;
  }
  if (env.TERM === 'dumb') return 0;
  return stream.isTTY ? 1 : 0;
}
