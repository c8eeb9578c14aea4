/**
 * What tc-download and tc-seed share on top of the job: their terminal rendering (`JobConsole`), the
 * `--log` file (`EventLog`), the flags both read, and the status texts. The daemon does not use this.
 */
export { JobConsole, type JobConsoleOptions } from './console.js';
export { EventLog } from './event-log.js';
export {
  DEFAULT_FIRST_PEER_TIMEOUT_S,
  MAX_COMMAND_PEERS,
  openSession,
  parsePeer,
  readDhtBootstrap,
  portFallbackNotice,
  readJobFlags,
  readSeedGoal,
  withJobFlags,
  withOrderFlag,
  withWebSeedFlag,
  readWebSeeds,
  type JobFlags,
  type SessionFlags,
} from './flags.js';
export { findingLines, findingStatus, findingsJson, STALLED_BPS } from './findings.js';
export { etaSeconds, seedSummaryText, seedText, statusJson, statusText, summaryText, trackerFailures } from './render.js';
export { awaitMetadata, METADATA_STATUS_INTERVAL_MS, type AwaitMetadataOptions } from './metadata.js';
export { acquireRunLock, lockFolder, lockRun, type LockHolder, type RunLock } from './run-lock.js';
