import { formatBytes, sanitize, toJsonLine, type Io } from '@tc/cli';
import type { ItemResult } from './result.js';

/**
 * Prints one item's result as it is known: with --json one JSON line on stdout (schema 1: source,
 * status, path — or daemon with --add-to —, infoHash, name, size, or error); else a line on stdout for a saved torrent and an
 * `error:` line (and `hint:`) on stderr for a failed one. Network text is sanitized.
 */
export function printResult(io: Io, r: ItemResult, json: boolean): void {
  if (json) {
    const body =
      r.status === 'failed'
        ? { source: r.source, status: r.status, error: { message: r.message, exitCode: r.exitCode, ...(r.hint !== undefined ? { hint: r.hint } : {}) } }
        : 'daemon' in r
          ? { source: r.source, status: r.status, daemon: r.daemon, infoHash: r.infoHash, name: r.name, size: r.size }
          : { source: r.source, status: r.status, path: r.path, infoHash: r.infoHash, name: r.name, size: r.size };
    io.stdout.write(`${toJsonLine({ schema: 1, ...body })}\n`);
    if (r.status !== 'failed') return;
  }
  if (r.status === 'failed') {
    if (r.reported) return;
    io.stderr.write(`error: ${sanitize(r.source)}: ${sanitize(r.message)}\n`);
    if (r.hint) io.stderr.write(`hint: ${sanitize(r.hint)}\n`);
    return;
  }
  if ('daemon' in r) {
    io.stdout.write(`${r.status.padEnd(9)} ${sanitize(r.name)}  ${r.infoHash}  to ${sanitize(r.daemon)}\n`);
    return;
  }
  io.stdout.write(`${r.status.padEnd(9)} ${sanitize(r.path)}  ${r.infoHash}  ${sanitize(r.name)} (${formatBytes(r.size)})\n`);
}
