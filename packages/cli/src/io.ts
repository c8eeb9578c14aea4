import { escapeUnsafeJson } from './sanitize.js';

/** The streams and environment a command runs with: process's in production, captured in tests. */
export interface OutStream {
  write(chunk: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

export interface Io {
  readonly stdout: OutStream;
  readonly stderr: OutStream;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Aborted on SIGINT/SIGTERM (the first one); commands stop gracefully. */
  readonly signal?: AbortSignal;
  /** Where a `-` argument is read from (a torrent on standard input). */
  readonly stdin?: InStream;
}

/** Standard input as a command reads it: chunks, and whether it is a terminal (then `-` is refused). */
export interface InStream extends AsyncIterable<Buffer | string> {
  readonly isTTY?: boolean;
}

export function processIo(signal?: AbortSignal): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    stdin: process.stdin,
    ...(signal ? { signal } : {}),
  };
}

/** Writes one JSON document to stdout, tagged with the output schema version (CLI.md). */
export function writeJson(io: Io, value: object): void {
  io.stdout.write(`${toJsonLine({ schema: 1, ...value })}\n`);
}

/**
 * One line of JSON for output a person may read on a terminal (`--json`, a `--log` file): bigints as
 * decimal strings, Buffers as hex, and C1 and bidi controls escaped like the C0 ones (the value a
 * program parses is unchanged; a terminal shows `\u202e` instead of obeying it).
 */
export function toJsonLine(value: unknown): string {
  return escapeUnsafeJson(JSON.stringify(value, jsonReplacer));
}

/**
 * `value` is what `toJSON` made of the property (a Buffer has become `{type: 'Buffer', data}` by
 * then), so the Buffer check looks at the property itself, `holder[key]`.
 */
function jsonReplacer(this: unknown, key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  const raw = (this as Record<string, unknown>)[key];
  if (Buffer.isBuffer(raw)) return raw.toString('hex');
  return value;
}
