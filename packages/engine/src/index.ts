// The engine's public surface: what commands, the job package and the daemon drive. Everything else
// (picker, choker, wire glue, resume format internals) stays inside the package; its tests import
// the files directly.

// Sessions and torrents: the handles, their options and events.
export { Session, sourceFromMetainfo, type AddOptions, type MagnetOptions, type SessionEvents, type SessionOptions, type TorrentSource } from './session.js';
export { resolveAddInput, type AddInput, type ResolvedInput } from './add.js';
export { TorrentHandle, abortable, type HandleEvents, type HandleOptions, type HandlePhase, type HandleStatus } from './handle.js';
export { Torrent, DEFAULT_MAX_PEERS, type PeerInfo, type TorrentEvents, type TorrentOptions, type TorrentStats } from './torrent/torrent.js';
export type { TorrentState, TorrentStateKind } from './torrent/states.js';
export type { PeerAddress } from './peer/connection.js';
export type { CandidateSource } from './peer/swarm.js';
export type { MetadataFetcher, MetadataFetchStats } from './magnet/fetcher.js';

// Streaming while downloading (issue 14): `torrent.createReadStream(fileIndex, { start, end })`.
export { FileStream, STREAM_CHUNK_BYTES, type FileStreamOptions } from './stream/file-stream.js';
export { STREAM_WINDOW_BYTES } from './stream/window.js';

// Errors.
export { EngineError, EngineBug, isEngineError, ENGINE_ERROR_CODES, type EngineErrorCode, type EngineErrorDetails } from './errors.js';

// Time, storage and hashing: the narrow interfaces a caller may replace.
export { ManualClock, systemClock, type Clock, type TimerHandle } from './clock.js';
export type { TorrentLayout, LayoutFile } from './layout.js';
export type { StorageFactory, TorrentStorage } from './storage/types.js';
export { FsStorage, fsStorage, type FsStorageOptions } from './storage/fs.js';
export { PartFile, PartFileStorage, parkedFiles } from './storage/part-file.js';
export { MemoryStorage, memoryStorage } from './storage/memory.js';
export { inlineVerifier, type Verifier } from './verify.js';

// Rate limits shared by several torrents.
export { RateLimiter, type RateLimiterOptions } from './ratelimit/limiter.js';
export { defaultBurst } from './ratelimit/bucket.js';

// Transports: how peers are reached (uTP/TCP) and the encryption policy (MSE/PE).
export {
  ENCRYPTION_MODES,
  TRANSPORT_MODES,
  parseEncryptionMode,
  parseTransportMode,
  type EncryptionMode,
  type PeerLink,
  type TransportMode,
} from './net/policy.js';
export type { TransportStats } from './net/transport.js';

// Resume: restoring verified pieces and keeping the resume file current.
export { resumePath } from './resume/store.js';
export { canonicalFolder, migrateLegacyResume, RESUME_FOLDER, resumeFileFor, type MigrateResult } from './resume/location.js';
export { stateFolder } from './state-folder.js';
export {
  restore,
  ResumeKeeper,
  RESUME_SAVE_MS,
  type RestoreOptions,
  type RestoreResult,
  type RestoreSource,
  type ResumeKeeperOptions,
} from './resume/restore.js';

// File selection and seed goals, parsed from user arguments.
export {
  parseSelection,
  planPieces,
  SelectionError,
  SELECTION_ERROR_CODES,
  type SelectableFile,
  type SelectionErrorCode,
  type PiecePlan,
} from './selection/selection.js';
export { parseSeedGoal, seedGoalReached, type SeedGoal } from './seed-goal.js';

// The one-peer handshake probe used by the diagnostic commands.
export { probeHandshake, type HandshakeProbe, type HandshakeProbeOptions, type HandshakeProbeState } from './probe/handshake.js';

// Discovery: what the session's DHT, PEX and LSD report, and the HOST:PORT reader of --dht-bootstrap.
export { parseHostPort, type SessionDhtStats } from './discovery/dht.js';
export { type PexStats } from './discovery/pex.js';
export { type LsdStats } from './discovery/lsd.js';

// Diagnosis: why a torrent is not downloading (issue 15).
export { checkWebSeedUrl, webSeedFileUrl, MAX_WEB_SEEDS } from './webseed/url.js';
export { spanRanges, type FileRange } from './webseed/ranges.js';
export { WEB_SEED_TIMEOUT_MS, type WebSeedInfo } from './webseed/web-seeds.js';
export { diagnose, diagnoseMetadata, FINDING_CODES, type FactValue, type Finding, type FindingCode } from './diagnosis/diagnose.js';
export {
  DIAL_FAIL_REASONS,
  type DialFailReason,
  type MetadataSnapshot,
  type PeerSnapshot,
  type TorrentSnapshot,
  type TrackerSnapshot,
} from './diagnosis/snapshot.js';
