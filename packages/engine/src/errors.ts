/** Every failure the engine reports, as a literal code that apps map to exit codes and messages. */
export const ENGINE_ERROR_CODES = [
  'ENGINE_BAD_TORRENT',
  'ENGINE_UNSAFE_PATH',
  'ENGINE_DISK',
  'ENGINE_HASH_MISMATCH',
  'ENGINE_PEER_PROTOCOL',
  'ENGINE_PEER_TIMEOUT',
  'ENGINE_PEER_BANNED',
  /** A bug met while handling a peer's input: that peer is closed, the process lives (issue 10, defect 3). */
  'ENGINE_PEER_INTERNAL',
  'ENGINE_NO_PEERS',
  'ENGINE_CLOSED',
  'ENGINE_DUPLICATE_TORRENT',
  'ENGINE_ABORTED',
  /** A caller's option cannot be read (a usage error in a CLI). */
  'ENGINE_BAD_OPTION',
] as const;
export type EngineErrorCode = (typeof ENGINE_ERROR_CODES)[number];

export interface EngineErrorDetails {
  readonly cause?: unknown;
  /** File path (relative to the download folder) involved in a disk error. */
  readonly path?: string;
  readonly piece?: number;
  /** `host:port` of the peer involved. */
  readonly peer?: string;
}

/** The one error class of the engine package for expected failures (bad input, network, disk). */
export class EngineError extends Error {
  override readonly name = 'EngineError';
  readonly code: EngineErrorCode;
  readonly path: string | undefined;
  readonly piece: number | undefined;
  readonly peer: string | undefined;

  constructor(code: EngineErrorCode, message: string, details: EngineErrorDetails = {}) {
    super(message, details.cause !== undefined ? { cause: details.cause } : undefined);
    this.code = code;
    this.path = details.path;
    this.piece = details.piece;
    this.peer = details.peer;
  }
}

export function isEngineError(e: unknown): e is EngineError {
  return e instanceof EngineError;
}

/** A broken invariant inside the engine: a bug, never the user's or a remote's fault. */
export class EngineBug extends Error {
  override readonly name = 'EngineBug';
}

/** Throws an EngineBug when `cond` is false. */
export function invariant(cond: unknown, message: string): asserts cond {
  if (!cond) throw new EngineBug(message);
}
