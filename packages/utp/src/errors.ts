/**
 * Every way a uTP packet or connection can fail, as a literal code. Packet codes come from the
 * codec (a remote sent garbage: count and drop it); connection codes reach the stream's `error`
 * event with the closest TCP errno in `errno` so callers can treat both transports alike.
 */
export type UtpErrorCode =
  /** Fewer bytes than the 20-byte header, or an extension running past the end (BEP 29). */
  | 'UTP_TRUNCATED'
  /** The version nibble is not 1 (BEP 29 defines only version 1). */
  | 'UTP_BAD_VERSION'
  /** The type nibble is not one of DATA, FIN, STATE, RESET, SYN (0–4). */
  | 'UTP_BAD_TYPE'
  /** An extension with an impossible length (the 8-byte extension-bits header of another size). */
  | 'UTP_BAD_EXTENSION'
  /** More chained extensions than any implementation sends (a loop-shaped attack). */
  | 'UTP_TOO_MANY_EXTENSIONS'
  /** A SYN, STATE or RESET that carries payload, which no implementation sends. */
  | 'UTP_UNEXPECTED_PAYLOAD'
  /** A value we were asked to encode is out of its field's range (a caller bug). */
  | 'UTP_BAD_ARGUMENT'
  /** The remote answered our SYN with RESET (TCP's ECONNREFUSED). */
  | 'UTP_REFUSED'
  /** The remote reset an established connection (TCP's ECONNRESET). */
  | 'UTP_RESET'
  /** Retransmissions went unanswered: the SYN, data or FIN timed out (TCP's ETIMEDOUT). */
  | 'UTP_TIMEOUT'
  /** The socket was closed, or is at its connection limit. */
  | 'UTP_CLOSED'
  | 'UTP_TOO_MANY_CONNECTIONS';

export interface UtpErrorDetails {
  /** The offending value (a length, a type nibble). */
  readonly value?: number;
  /** The limit that `value` broke. */
  readonly limit?: number;
  readonly cause?: unknown;
}

/** The errno a TCP socket would report for the same failure (what `net.Socket` callers look at). */
const ERRNO: Partial<Record<UtpErrorCode, string>> = {
  UTP_REFUSED: 'ECONNREFUSED',
  UTP_RESET: 'ECONNRESET',
  UTP_TIMEOUT: 'ETIMEDOUT',
};

/** The one error class of the utp package. */
export class UtpError extends Error {
  override readonly name = 'UtpError';
  readonly code: UtpErrorCode;
  /** `ECONNREFUSED`, `ECONNRESET` or `ETIMEDOUT` for connection failures, like a TCP socket's. */
  readonly errno: string | undefined;
  readonly value: number | undefined;
  readonly limit: number | undefined;

  constructor(code: UtpErrorCode, message: string, details: UtpErrorDetails = {}) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.code = code;
    this.errno = ERRNO[code];
    this.value = details.value;
    this.limit = details.limit;
  }
}

export function isUtpError(e: unknown): e is UtpError {
  return e instanceof UtpError;
}

/** A broken invariant inside this package: a bug, never a remote's fault. */
export class UtpBug extends Error {
  override readonly name = 'UtpBug';
}

export function invariant(cond: unknown, message: string): asserts cond {
  if (!cond) throw new UtpBug(message);
}
