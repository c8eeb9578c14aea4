export { EngineError, EngineBug, isEngineError, ENGINE_ERROR_CODES, type EngineErrorCode, type EngineErrorDetails } from './errors.js';
export { ManualClock, systemClock, type Clock, type TimerHandle } from './clock.js';
export {
  BLOCK_BYTES,
  blockCount,
  blockSize,
  fileSlices,
  makeLayout,
  pieceHash,
  pieceSize,
  type FileSlice,
  type LayoutFile,
  type TorrentLayout,
} from './layout.js';
export type { StorageFactory, TorrentStorage } from './storage/types.js';
export { FsStorage, fsStorage, DEFAULT_MAX_OPEN_FILES, type FsStorageOptions } from './storage/fs.js';
export { MemoryStorage, memoryStorage } from './storage/memory.js';
export { PiecePicker, type BlockOutcome, type BlockRequest, type PieceSet, type PickerOptions } from './picker/picker.js';
export { pipelineDepth, DEFAULT_REQQ, MAX_PIPELINE_BLOCKS, MIN_PIPELINE_BLOCKS } from './picker/pipeline.js';
export { inlineVerifier, sha1, type Verifier } from './verify.js';
export { peerScore, hashFailureVerdict, type PeerRecord } from './peer/scoring.js';
export { backoffDelayMs } from './peer/backoff.js';
export { RateMeter } from './peer/rate.js';
export {
  Session,
  sourceFromMetainfo,
  MAX_PENDING_INCOMING,
  UNKNOWN_LEFT_BYTES,
  type AddOptions,
  type MagnetOptions,
  type SessionEvents,
  type SessionOptions,
  type TorrentSource,
} from './session.js';
export {
  MetadataFetcher,
  MAX_REPLAY_MESSAGES,
  type FetchedPeer,
  type MetadataFetcherEvents,
  type MetadataFetcherOptions,
  type MetadataFetchStats,
} from './magnet/fetcher.js';
export {
  MetadataExchange,
  METADATA_REQUEST_TIMEOUT_MS,
  METADATA_REQUESTS_PER_PEER,
  METADATA_REJECT_BACKOFF_MS,
  MAX_METADATA_FAULTS,
  type DataOutcome,
  type MetadataSkipReason,
} from './magnet/exchange.js';
export { Dialer, type DialerOptions } from './peer/dial.js';
export {
  Torrent,
  DEFAULT_MAX_PEERS,
  CONNECT_TIMEOUT_MS,
  SNUB_TIMEOUT_MS,
  MAX_WRITE_BACKLOG_BYTES,
  LOCAL_EXTENSIONS,
  MAX_METADATA_SERVES_EXTRA,
  type PeerInfo,
  type TorrentEvents,
  type TorrentOptions,
  type TorrentStats,
} from './torrent/torrent.js';
export { canTransition, type TorrentState, type TorrentStateKind } from './torrent/states.js';
export { PeerConnection, addressKey, HANDSHAKE_TIMEOUT_MS, IDLE_TIMEOUT_MS, KEEPALIVE_INTERVAL_MS, type PeerAddress } from './peer/connection.js';
export { CandidateList, MAX_CANDIDATES, type CandidateSource } from './peer/swarm.js';
export {
  Choker,
  rechoke,
  DEFAULT_UPLOAD_SLOTS,
  RECHOKE_INTERVAL_MS,
  OPTIMISTIC_INTERVAL_MS,
  NEW_PEER_MS,
  NEW_PEER_WEIGHT,
  type ChokerMode,
  type ChokerPeer,
  type ChokerInput,
  type ChokeDecision,
  type OptimisticState,
} from './choker/choker.js';
export { TokenBucket, defaultBurst, BURST_MS, MIN_BURST_BYTES } from './ratelimit/bucket.js';
export { RateLimiter, type RateLimiterOptions, type LimiterKey } from './ratelimit/limiter.js';
export {
  encodeResume,
  decodeResume,
  staleFiles,
  trustablePieces,
  MAX_RESUME_BYTES,
  RESUME_FORMAT,
  RESUME_VERSION,
  type FileStamp,
  type ResumeData,
  type ResumeExpect,
  type ResumeLoad,
  type ResumeRejectReason,
} from './resume/format.js';
export { ResumeStore, readResume, writeDurably, stampFiles, resumePath, RESUME_SUFFIX, TEMP_SUFFIX, type DurableWriteHooks } from './resume/store.js';
export {
  restore,
  dataPaths,
  ResumeKeeper,
  RESUME_SAVE_MS,
  RESUME_SAVE_PIECES,
  type RestoreOptions,
  type RestoreResult,
  type RestoreSource,
  type ResumeKeeperOptions,
} from './resume/restore.js';
export {
  parseSelection,
  planPieces,
  SelectionError,
  SELECTION_ERROR_CODES,
  MAX_SELECT_ITEMS,
  MAX_SELECT_SPEC_CHARS,
  type SelectableFile,
  type SelectionErrorCode,
  type PiecePlan,
} from './selection/selection.js';
export { parseSeedGoal, seedGoalReached, MAX_SEED_MS, MAX_SEED_RATIO, type SeedGoal } from './seed-goal.js';
export {
  probeHandshake,
  PROBE_HANDSHAKE_TIMEOUT_MS,
  PROBE_EXTENDED_WAIT_MS,
  MAX_PROBE_PEER_BYTES,
  type HandshakeProbe,
  type HandshakeProbeOptions,
  type HandshakeProbeState,
} from './probe/handshake.js';
export {
  clip,
  diagnose,
  diagnoseMetadata,
  pieceRanges,
  FINDING_CODES,
  SLOW_PEER_BPS,
  LONG_LATENCY_MS,
  AT_LIMIT_SHARE,
  FULL_BACKLOG_SHARE,
  VERIFY_BACKLOG_PIECES,
  type FactValue,
  type Finding,
  type FindingCode,
} from './diagnosis/diagnose.js';
export { Diagnoser, FINDING_CLEAR_MS, FINDING_HOLD_MS } from './diagnosis/debounce.js';
export {
  DIAL_FAIL_REASONS,
  SNAPSHOT_MAX_LIST,
  type DialFailReason,
  type FileGap,
  type MetadataSnapshot,
  type PeerSnapshot,
  type TorrentSnapshot,
  type TrackerSnapshot,
} from './diagnosis/snapshot.js';
