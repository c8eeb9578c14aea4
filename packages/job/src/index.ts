export { Job, PART_SUFFIX, STATUS_INTERVAL_MS } from './job.js';
export { JobError, type JobErrorCode } from './errors.js';
export { diskNameOf, MAX_JOB_PEERS, MAX_STATUS_INTERVAL_MS, MIN_STATUS_INTERVAL_MS } from './options.js';
export type {
  DownloadEnd,
  JobEvents,
  JobOptions,
  JobOutcome,
  JobPhase,
  JobStatus,
  RestoreSummary,
  SeedEndKind,
  SelectionSummary,
  StopReason,
} from './types.js';
