import { TrackerError } from '../errors.js';

/** A failed probe step in words a person can act on. */
export interface ProbeError {
  /** A TRACKER_* code, or a system error code, or `ERROR`. */
  readonly code: string;
  readonly message: string;
  /** A short, plain guess at the cause. */
  readonly cause: string;
  /** The tracker's own text (unsanitized: apps sanitize before printing). */
  readonly trackerMessage?: string;
  readonly status?: number;
}

const CAUSES: Readonly<Record<string, string>> = {
  TRACKER_DNS: 'DNS: the host name does not resolve',
  TRACKER_REFUSED: 'refused: nothing listens on that port (tracker down or wrong port)',
  TRACKER_TIMEOUT: 'timeout: no answer (host down, packets dropped by a firewall, or UDP blocked)',
  TRACKER_HTTP_STATUS: 'HTTP status: the web server answered, but not as a tracker',
  TRACKER_FAILURE: 'tracker error: the tracker refused the request',
  TRACKER_BAD_RESPONSE: 'bad reply: the answer is not a valid tracker response',
  TRACKER_TOO_LARGE: 'reply too large: the tracker sent more than the size cap',
  TRACKER_REDIRECT: 'redirect refused or looping',
  TRACKER_UNSUPPORTED: 'unsupported: tc does not speak this tracker protocol',
  TRACKER_BAD_URL: 'bad URL: the tracker URL is malformed',
  TRACKER_NETWORK: 'network error: the host is unreachable or the connection failed',
  TRACKER_ABORTED: 'interrupted',
};

/**
 * Explains an error of a probe step. With `deadlineMs`, an abort counts as running out of that
 * overall time limit (for the person waiting, a timeout), not as an interruption.
 */
export function probeError(e: unknown, deadlineMs?: number): ProbeError {
  if (e instanceof TrackerError) {
    const code = e.code === 'TRACKER_ABORTED' && deadlineMs !== undefined ? 'TRACKER_TIMEOUT' : e.code;
    const message = code !== e.code ? `no answer within the total time limit of ${(deadlineMs ?? 0) / 1000} s` : e.message;
    const status = e.code === 'TRACKER_HTTP_STATUS' && e.status !== undefined ? e.status : undefined;
    return {
      code,
      message,
      cause: status !== undefined ? `HTTP status ${status}: the web server answered, but not as a tracker` : (CAUSES[code] ?? code),
      ...(e.trackerMessage !== undefined ? { trackerMessage: e.trackerMessage } : {}),
      ...(status !== undefined ? { status } : {}),
    };
  }
  const code = (e as { code?: unknown } | null)?.code;
  return { code: typeof code === 'string' ? code : 'ERROR', message: e instanceof Error ? e.message : String(e), cause: 'unexpected error' };
}

/** A TRACKER_* code that still proves a server answered (it refused the request, but it is up). */
export function answeredCode(code: string): boolean {
  return code === 'TRACKER_FAILURE' || code === 'TRACKER_HTTP_STATUS' || code === 'TRACKER_BAD_RESPONSE';
}

/** Bytes as text with non-printables escaped (tracker bodies are mostly ASCII bencode), cut at `max`. */
export function printable(b: Buffer, max = 2048): string {
  const s = b
    .subarray(0, max)
    .toString('latin1')
    .replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return b.length > max ? `${s}… (${b.length} bytes)` : s;
}

/** Milliseconds to one decimal, as probes report them. */
export function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}
