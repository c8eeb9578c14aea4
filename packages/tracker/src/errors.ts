/** Every failure the tracker package reports, as a literal code that apps map to exit codes and messages. */
export const TRACKER_ERROR_CODES = [
  /** The tracker answered with `failure reason` (HTTP) or an error action (UDP); `trackerMessage` holds its text. */
  'TRACKER_FAILURE',
  /** No answer in time (HTTP deadline, or every UDP retransmission used up). */
  'TRACKER_TIMEOUT',
  /** HTTP status other than 200. */
  'TRACKER_HTTP_STATUS',
  /** The reply is not what the protocol allows: bad bencode, wrong types, short packet, wrong action. */
  'TRACKER_BAD_RESPONSE',
  /** The reply is larger than the cap (body, decompressed body or datagram). */
  'TRACKER_TOO_LARGE',
  /** The host name did not resolve. */
  'TRACKER_DNS',
  /**
   * The connection was refused or reset (HTTP), or nothing listens on the UDP port (ICMP port
   * unreachable, seen only by a UDP client in `per-tracker` socket mode).
   */
  'TRACKER_REFUSED',
  /** Some other network failure (unreachable, TLS, socket error). */
  'TRACKER_NETWORK',
  /** A scheme we do not speak (wss:, …) or a tracker with no scrape URL. */
  'TRACKER_UNSUPPORTED',
  /** Too many redirects, or a redirect the SSRF guard refused. */
  'TRACKER_REDIRECT',
  /** The announce URL or a request parameter is malformed (our side). */
  'TRACKER_BAD_URL',
  /** The caller aborted (AbortSignal) or the client was closed. */
  'TRACKER_ABORTED',
] as const;
export type TrackerErrorCode = (typeof TRACKER_ERROR_CODES)[number];

export interface TrackerErrorDetails {
  readonly url?: string;
  /** The tracker's own text (`failure reason`, UDP error message), unsanitized: apps sanitize before printing. */
  readonly trackerMessage?: string;
  readonly status?: number;
  readonly cause?: unknown;
}

/** The one error class of the tracker package. A failing tracker is a warning for the caller, never a crash. */
export class TrackerError extends Error {
  override readonly name = 'TrackerError';
  readonly code: TrackerErrorCode;
  readonly url: string | undefined;
  readonly trackerMessage: string | undefined;
  readonly status: number | undefined;

  constructor(code: TrackerErrorCode, message: string, details: TrackerErrorDetails = {}) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.code = code;
    this.url = details.url;
    this.trackerMessage = details.trackerMessage;
    this.status = details.status;
  }
}

export function isTrackerError(e: unknown): e is TrackerError {
  return e instanceof TrackerError;
}

/** Adds the tracker URL to an error that lacks one (protocol code does not know it). */
export function withUrl(e: unknown, url: string): unknown {
  if (e instanceof TrackerError && e.url === undefined) {
    return new TrackerError(e.code, e.message, {
      url,
      ...(e.trackerMessage !== undefined ? { trackerMessage: e.trackerMessage } : {}),
      ...(e.status !== undefined ? { status: e.status } : {}),
      ...(e.cause !== undefined ? { cause: e.cause } : {}),
    });
  }
  return e;
}
