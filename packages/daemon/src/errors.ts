/**
 * Every failure the daemon itself raises. The `DAEMON_` prefix lets the app map them to exit codes
 * without @tc/cli knowing this package (cli ← job ← daemon).
 */
export const DAEMON_ERROR_CODES = [
  /** A request or option is malformed or out of bounds (HTTP 400; exit 2 at start-up). */
  'DAEMON_BAD_REQUEST',
  /** No torrent with that id or info-hash (HTTP 404). */
  'DAEMON_NOT_FOUND',
  /** The torrent is already in the daemon (HTTP 409). */
  'DAEMON_DUPLICATE',
  /** A download folder outside the allowed roots (HTTP 403). */
  'DAEMON_FORBIDDEN_PATH',
  /** A URL on a loopback, private or link-local address, not allowed (HTTP 403). */
  'DAEMON_PRIVATE_ADDRESS',
  /** Another daemon holds this state folder's lock (exit 2). */
  'DAEMON_LOCKED',
  /** The state folder cannot be read or written (exit 5). */
  'DAEMON_STATE_IO',
  /** A body larger than the limit (HTTP 413). */
  'DAEMON_TOO_LARGE',
  /** A file stream of a torrent that is not running (stopped, queued, checking, no metadata yet) (HTTP 409). */
  'DAEMON_NOT_RUNNING',
] as const;
export type DaemonErrorCode = (typeof DAEMON_ERROR_CODES)[number];

/** The one error class of the daemon package. */
export class DaemonError extends Error {
  override readonly name = 'DaemonError';
  readonly code: DaemonErrorCode;
  constructor(code: DaemonErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.code = code;
  }
}

/** The HTTP status of each code (for the handlers). */
export const DAEMON_HTTP_STATUS: Readonly<Record<DaemonErrorCode, number>> = {
  DAEMON_BAD_REQUEST: 400,
  DAEMON_NOT_FOUND: 404,
  DAEMON_DUPLICATE: 409,
  DAEMON_FORBIDDEN_PATH: 403,
  DAEMON_PRIVATE_ADDRESS: 403,
  DAEMON_LOCKED: 503,
  DAEMON_STATE_IO: 500,
  DAEMON_TOO_LARGE: 413,
  DAEMON_NOT_RUNNING: 409,
};
