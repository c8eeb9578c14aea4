/** Every failure the job itself raises (the engine's failures keep their EngineError). */
export type JobErrorCode =
  /** An option the caller passed is out of bounds (a programming error: apps and the daemon validate input first). */
  | 'JOB_BAD_OPTION'
  /** The session already has this torrent: two jobs would fight over one torrent and its resume file. */
  | 'JOB_ALREADY_RUNNING';

/** The one error class of the job package. */
export class JobError extends Error {
  override readonly name = 'JobError';
  readonly code: JobErrorCode;

  constructor(code: JobErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.code = code;
  }
}
