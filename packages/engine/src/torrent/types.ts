import type { Socket } from 'node:net';
import type { TrackerSet, TrackerStatus } from '@tc/tracker';
import type { Clock } from '../clock.js';
import type { Finding } from '../diagnosis/diagnose.js';
import type { EngineError } from '../errors.js';
import type { TorrentLayout } from '../layout.js';
import type { PeerLink } from '../net/policy.js';
import type { PeerTransports } from '../net/transport.js';
import type { PeerAddress } from '../peer/connection.js';
import type { CandidateSource } from '../peer/swarm.js';
import type { RateLimiter } from '../ratelimit/limiter.js';
import type { TorrentStorage } from '../storage/types.js';
import type { Verifier } from '../verify.js';
import type { WebSeedInfo, WebSeedOptions } from '../webseed/web-seeds.js';
import type { TorrentState } from './states.js';

/** The public shapes of a torrent: its options, statistics and events. */

export interface TorrentStats {
  readonly state: TorrentState['kind'];
  readonly pieceCount: number;
  readonly piecesHave: number;
  readonly totalBytes: number;
  /** Verified bytes we hold (wanted or not). */
  readonly haveBytes: number;
  /** Payload bytes received in accepted blocks. */
  readonly downloaded: number;
  readonly uploaded: number;
  readonly left: number;
  readonly downRateBps: number;
  readonly upRateBps: number;
  readonly peers: number;
  /** Distinct peers that sent us at least one accepted block. */
  readonly peersUsed: number;
  readonly candidates: number;
  /** `candidates` by source (tracker, dht, pex, lsd, manual, incoming). */
  readonly sources?: Readonly<Partial<Record<CandidateSource, number>>>;
  readonly hashFailures: number;
  readonly wasteBytes: number;
  readonly endgame: boolean;
  /** The disk error that stopped the download (state `upload-only`, or `paused` after it): for a UI to show. */
  readonly error?: EngineError;
  /** Web seeds (BEP 19), when the torrent has any: each one's state and, when failing, why. */
  readonly webSeeds?: readonly WebSeedInfo[];
}

export interface PeerInfo {
  readonly address: string;
  readonly client: string | undefined;
  readonly downRateBps: number;
  readonly score: number;
  /** How the peer was reached: tcp/utp, plain/mse/rc4. */
  readonly link: PeerLink;
}

export interface TorrentEvents {
  state: [TorrentState];
  'peer-connected': [{ address: string; incoming: boolean }];
  'peer-disconnected': [{ address: string; reason: EngineError | undefined }];
  'peer-banned': [{ address: string; reason: string }];
  'piece-verified': [{ index: number }];
  'hash-failure': [{ index: number; peers: string[] }];
  warning: [{ message: string; peer?: string; cause?: unknown }];
  'tracker-status': [TrackerStatus];
  progress: [TorrentStats];
  /** The shown findings changed (issue 15): why it is not downloading, most blocking first; empty when nothing is. */
  diagnosis: [Finding[]];
  done: [];
  error: [EngineError];
}

export interface TorrentOptions {
  readonly infoHash: Buffer;
  /** A hybrid's truncated v2 info-hash: an incoming peer naming it is answered with it (BEP 52). */
  readonly infoHashV2?: Buffer;
  readonly name: string;
  readonly layout: TorrentLayout;
  readonly storage: TorrentStorage;
  readonly peerId: Buffer;
  readonly clock: Clock;
  /** Our listen port (announced, and how we recognise ourselves). */
  readonly listenPort: number;
  readonly isSelf: (a: PeerAddress) => boolean;
  readonly maxPeers?: number;
  readonly verifier?: Verifier;
  readonly random?: () => number;
  readonly trackers?: TrackerSet;
  /** Dials a peer (injected for tests). */
  readonly connect?: (a: PeerAddress) => Socket;
  readonly connectTimeoutMs?: number;
  /** The session's transports (uTP/TCP, MSE); without them (and without `connect`), plain TCP. */
  readonly transports?: PeerTransports | undefined;
  readonly snubTimeoutMs?: number;
  readonly handshakeTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  /** Pieces already verified (resume, issue 6). */
  readonly have?: Iterable<number>;
  /** Upload slots for the choker (default 4, BEP 3). */
  readonly uploadSlots?: number;
  /** Start pieces in index order instead of rarest first (PickerOptions.sequential). */
  readonly sequential?: boolean;
  /** One byte per piece, 0 = not wanted (selective download: `planPieces(...).wanted`). Default: every piece. */
  readonly wanted?: Uint8Array;
  /** Download limit (issue 6): paces our requests; usually shared by the session's torrents. Off when absent. */
  readonly downLimiter?: RateLimiter;
  /** Upload limit: paces the `piece` messages we send. */
  readonly upLimiter?: RateLimiter;
  /** The raw info dictionary: served to peers that ask with ut_metadata (BEP 9), e.g. to fetch a magnet from us. */
  readonly infoBytes?: Buffer;
  /**
   * BEP 5 `port` messages, when the session runs a DHT: our handshake sets the DHT bit, peers that
   * set it too are sent `port` (our UDP port), and the ports they send come to `onNode`.
   */
  readonly dhtPort?: { readonly port: number; readonly onNode: (host: string, port: number) => void };
  /** Peer exchange (BEP 11, discovery/pex.ts); never for a private torrent. Off unless true. */
  readonly pex?: boolean;
  /** Nodes in the session's DHT routing table, when it runs one: read by the diagnosis (issue 15). */
  readonly dhtNodes?: () => number | undefined;
  /** Web seeds (BEP 19): base URLs and the files' paths as named in the torrent (webseed/web-seeds.ts). */
  readonly webSeeds?: WebSeedOptions;
  /** How long a web seed span may take (tests; default WEB_SEED_TIMEOUT_MS). */
  readonly webSeedTimeoutMs?: number;
}
