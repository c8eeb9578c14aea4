import type { CandidateSource } from '../peer/swarm.js';

/**
 * What the diagnosis reads of a torrent (issue 15): plain data, made by `Torrent.snapshot()` or by
 * hand in tests. Texts that came from the network (tracker errors, client names) are kept as received:
 * whoever prints them sanitizes. Every list is bounded by the maker (SNAPSHOT_MAX_LIST).
 */

/** Longest list a snapshot carries (peers, banned addresses, files with missing pieces, piece indexes). */
export const SNAPSHOT_MAX_LIST = 200;

/** Why an outgoing connection failed before the peer's handshake arrived. */
export type DialFailReason = 'refused' | 'timed-out' | 'reset' | 'unreachable' | 'handshake-failed' | 'other';

export const DIAL_FAIL_REASONS: readonly DialFailReason[] = ['refused', 'timed-out', 'reset', 'unreachable', 'handshake-failed', 'other'];

export interface TrackerSnapshot {
  readonly url: string;
  /** TrackerState: 'ok', 'failed', 'idle', … */
  readonly state: string;
  readonly failures: number;
  /** The last error's message, unsanitized. */
  readonly error?: string;
  /** Peers in its last answer. */
  readonly peers?: number;
  readonly seeders?: number;
  readonly leechers?: number;
}

export interface PeerSnapshot {
  readonly address: string;
  readonly client?: string;
  readonly incoming: boolean;
  /** The peer chokes us. */
  readonly chokesUs: boolean;
  /** We are interested in it (it has pieces we want). */
  readonly weAreInterested: boolean;
  /** It is interested in us. */
  readonly interestedInUs: boolean;
  /** It has every piece. */
  readonly seeder: boolean;
  readonly downRateBps: number;
  readonly upRateBps: number;
  readonly snubbed: boolean;
  /** Smoothed time from request to block (ms), when measured. */
  readonly responseMs?: number;
  readonly connectedMs: number;
}

/** A file some of whose wanted-or-not pieces are on no connected peer. */
export interface FileGap {
  readonly path: string;
  readonly wanted: boolean;
  /** Pieces of the file we lack that no connected peer has. */
  readonly unavailablePieces: number;
  /** Pieces of the file in all. */
  readonly pieces: number;
}

/** The magnet phase (BEP 9), before the torrent exists. */
export interface MetadataSnapshot {
  readonly peers: number;
  /** Peers whose extended handshake offers ut_metadata. */
  readonly offering: number;
  readonly rejects: number;
  /** Distinct metadata sizes announced by peers (more than one: they disagree). */
  readonly sizes: readonly number[];
  readonly elapsedMs: number;
}

export interface TorrentSnapshot {
  /** Lifecycle state kind ('downloading', 'seeding', …). */
  readonly state: string;
  readonly pieceCount: number;
  readonly piecesHave: number;
  /** Wanted pieces not yet verified. */
  readonly wantedLeft: number;
  readonly downRateBps: number;
  readonly upRateBps: number;
  readonly trackers: readonly TrackerSnapshot[];
  /** Candidates (addresses we may dial) now, and added ever per source. */
  readonly candidates: number;
  readonly candidatesBySource: Readonly<Partial<Record<CandidateSource, number>>>;
  /** Outgoing dials: attempts, handshakes reached, failures by reason. */
  readonly dials: { readonly attempts: number; readonly connected: number; readonly failed: Readonly<Partial<Record<DialFailReason, number>>> };
  /** Incoming connections that named this torrent, ever: none means we are probably not reachable. */
  readonly incomingEver: number;
  readonly peers: readonly PeerSnapshot[];
  /** Connected peers (peers may be cut to SNAPSHOT_MAX_LIST). */
  readonly peerCount: number;
  /** Wanted pieces we lack that no connected peer has, and the first of them (bounded). */
  readonly unavailableWanted: number;
  readonly unavailableWantedSample: readonly number[];
  /** Pieces we lack and do not want that no connected peer has. */
  readonly unavailableUnwanted: number;
  readonly fileGaps: readonly FileGap[];
  /** Our limits: rates in bytes/s (undefined: unlimited), the peer cap. */
  readonly downLimitBps?: number;
  readonly upLimitBps?: number;
  readonly maxPeers: number;
  readonly writeBacklogBytes: number;
  readonly maxWriteBacklogBytes: number;
  /** Complete pieces being hashed or written. */
  readonly verifyingPieces: number;
  readonly hashFailures: number;
  readonly wasteBytes: number;
  readonly banned: readonly { readonly address: string; readonly reason: string }[];
  /** DHT nodes in the routing table, when the session runs a DHT. */
  readonly dhtNodes?: number;
  readonly metadata?: MetadataSnapshot;
  /** Web seeds (BEP 19), when the torrent has any: their state and why they fail. */
  readonly webSeeds?: readonly WebSeedSnapshot[];
}

/** A web seed as the diagnosis sees it; `reason` is unsanitized (it may quote a server). */
export interface WebSeedSnapshot {
  readonly url: string;
  /** 'active', 'backoff' or 'dropped'. */
  readonly state: string;
  readonly reason?: string;
  readonly downloaded: number;
}
