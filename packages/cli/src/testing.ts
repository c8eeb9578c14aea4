import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { Io } from './io.js';

export interface CapturedIo extends Io {
  readonly out: () => string;
  readonly err: () => string;
}

/**
 * An Io whose streams are captured strings: for testing a command's `run` in-process (env
 * TC_DHT_BOOTSTRAP='', TC_LSD=0, TC_PORT=0 and XDG_STATE_HOME in the temp folder, unless given).
 * TC_PORT=0: tests running side by side must not contend for the default port 6881; TC_PORT=''
 * restores the default.
 */
export function captureIo(opts: { env?: Record<string, string>; cwd?: string; signal?: AbortSignal; tty?: boolean; stdin?: Buffer } = {}): CapturedIo {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s), isTTY: opts.tty ?? false },
    stderr: { write: (s: string) => (err += s), isTTY: opts.tty ?? false },
    // As testkit's runBin: no public DHT router and no LSD multicast unless the test asks.
    // And state (resume data, locks, the DHT table) in the temp folder, never the user's home.
    env: { TC_DHT_BOOTSTRAP: '', TC_LSD: '0', TC_PORT: '0', XDG_STATE_HOME: join(tmpdir(), 'tc-test-state'), ...opts.env },
    cwd: opts.cwd ?? process.cwd(),
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.stdin ? { stdin: Readable.from([opts.stdin]) } : {}),
    out: () => out,
    err: () => err,
  };
}
