import type { TrackerStatus } from '@tc/tracker';
import type { TorrentLayout } from '../layout.js';
import type { PiecePicker } from '../picker/picker.js';
import type { RateLimiter } from '../ratelimit/limiter.js';
import type { PeerState } from '../torrent/peer-state.js';
import type { SwarmCounters } from './counters.js';
import { SNAPSHOT_MAX_LIST, type FileGap, type PeerSnapshot, type TorrentSnapshot, type WebSeedSnapshot } from './snapshot.js';

/** What a torrent hands to `collectSnapshot`: its parts, read, never changed. */
export interface SnapshotSources {
  readonly state: string;
  readonly now: number;
  readonly layout: TorrentLayout;
  readonly picker: PiecePicker;
  readonly peers: Iterable<PeerState>;
  readonly peerCount: number;
  readonly candidates: number;
  readonly counters: SwarmCounters;
  readonly trackers: readonly TrackerStatus[];
  readonly downRateBps: number;
  readonly upRateBps: number;
  readonly downLimiter?: RateLimiter | undefined;
  readonly upLimiter?: RateLimiter | undefined;
  readonly maxPeers: number;
  readonly writeBacklogBytes: number;
  readonly maxWriteBacklogBytes: number;
  readonly hashFailures: number;
  readonly wasteBytes: number;
  readonly dhtNodes?: number | undefined;
  readonly webSeeds?: readonly WebSeedSnapshot[] | undefined;
}

function peerSnapshot(p: PeerState, now: number, wanted: boolean): PeerSnapshot {
  return {
    address: p.conn.key,
    ...(p.client !== undefined ? { client: p.client } : {}),
    incoming: !p.conn.outgoing,
    chokesUs: p.amChoked,
    weAreInterested: wanted,
    interestedInUs: p.peerInterested,
    seeder: p.bitfield.isComplete,
    downRateBps: p.rate.rate(now),
    upRateBps: p.upRate.rate(now),
    snubbed: p.snubbed,
    ...(p.responseMs !== undefined ? { responseMs: p.responseMs } : {}),
    connectedMs: now - p.connectedAt,
  };
}

/**
 * A torrent's snapshot for the diagnosis. One pass over the pieces (availability, wanted, verifying)
 * and the files: O(pieces + files), called every few seconds, not per block.
 */
export function collectSnapshot(s: SnapshotSources): TorrentSnapshot {
  const { layout, picker } = s;
  let unavailableWanted = 0;
  let unavailableUnwanted = 0;
  let verifyingPieces = 0;
  let wantedLeft = 0;
  const sample: number[] = [];
  /** Per file: [unavailable wanted, unavailable unwanted] pieces. */
  const perFile = new Map<number, [number, number]>();
  let file = 0;
  for (let i = 0; i < layout.pieceCount; i++) {
    const st = picker.pieceState(i);
    if (st === 'have') continue;
    if (st === 'verifying') verifyingPieces++;
    const wanted = st !== 'skipped';
    if (wanted) wantedLeft++;
    if (picker.availability[i] !== 0 || st === 'verifying') continue;
    if (wanted) {
      unavailableWanted++;
      if (sample.length < SNAPSHOT_MAX_LIST) sample.push(i);
    } else unavailableUnwanted++;
    // The files this piece overlaps (pieces ascend, so the first file only moves forward).
    const start = i * layout.pieceLength;
    const end = Math.min(start + layout.pieceLength, layout.totalLength);
    while (file < layout.files.length && layout.files[file]!.offset + layout.files[file]!.length <= start) file++;
    for (let f = file; f < layout.files.length && layout.files[f]!.offset < end; f++) {
      const lf = layout.files[f]!;
      if (lf.padding || lf.length === 0) continue;
      const c = perFile.get(f) ?? [0, 0];
      c[wanted ? 0 : 1]++;
      perFile.set(f, c);
    }
  }
  const fileGaps: FileGap[] = [];
  for (const [f, [w, u]] of perFile) {
    const lf = layout.files[f]!;
    const first = Math.floor(lf.offset / layout.pieceLength);
    const last = Math.floor((lf.offset + lf.length - 1) / layout.pieceLength);
    const path = lf.path.join('/');
    if (w > 0) fileGaps.push({ path, wanted: true, unavailablePieces: w, pieces: last - first + 1 });
    if (u > 0) fileGaps.push({ path, wanted: false, unavailablePieces: u, pieces: last - first + 1 });
    if (fileGaps.length >= SNAPSHOT_MAX_LIST) break;
  }
  const peers: PeerSnapshot[] = [];
  for (const p of s.peers) {
    if (peers.length >= SNAPSHOT_MAX_LIST) break;
    peers.push(peerSnapshot(p, s.now, p.amInterested));
  }
  const c = s.counters;
  return {
    state: s.state,
    pieceCount: layout.pieceCount,
    piecesHave: picker.piecesHave,
    wantedLeft,
    downRateBps: s.downRateBps,
    upRateBps: s.upRateBps,
    trackers: s.trackers.map((t) => ({
      url: t.url,
      state: t.state,
      failures: t.failures,
      ...(t.lastError !== undefined ? { error: t.lastError.message } : {}),
      ...(t.peers !== undefined ? { peers: t.peers } : {}),
      ...(t.complete !== undefined ? { seeders: t.complete } : {}),
      ...(t.incomplete !== undefined ? { leechers: t.incomplete } : {}),
    })),
    candidates: s.candidates,
    candidatesBySource: { ...c.bySource },
    dials: { attempts: c.dialAttempts, connected: c.dialConnected, failed: { ...c.dialFailed } },
    incomingEver: c.incomingEver,
    peers,
    peerCount: s.peerCount,
    unavailableWanted,
    unavailableWantedSample: sample,
    unavailableUnwanted,
    fileGaps,
    ...(s.downLimiter?.limited === true ? { downLimitBps: s.downLimiter.rateBps } : {}),
    ...(s.upLimiter?.limited === true ? { upLimitBps: s.upLimiter.rateBps } : {}),
    maxPeers: s.maxPeers,
    writeBacklogBytes: s.writeBacklogBytes,
    maxWriteBacklogBytes: s.maxWriteBacklogBytes,
    verifyingPieces,
    hashFailures: s.hashFailures,
    wasteBytes: s.wasteBytes,
    banned: [...c.banned],
    ...(s.dhtNodes !== undefined ? { dhtNodes: s.dhtNodes } : {}),
    ...(s.webSeeds !== undefined && s.webSeeds.length > 0 ? { webSeeds: s.webSeeds.slice(0, SNAPSHOT_MAX_LIST) } : {}),
  };
}
