import { DIAL_FAIL_REASONS, type MetadataSnapshot, type TorrentSnapshot } from './snapshot.js';

/**
 * "Why is it stuck?" (issue 15; ARCHITECTURE.md "Findings are computed"): a pure function from a
 * torrent's snapshot to the findings that hold now, most blocking first. The CLI, `--json`, the
 * library's `diagnosis` event and the daemon render these same objects; `Diagnoser` (debounce.ts)
 * keeps a finding from flickering.
 */

/** Stable codes, in the order findings are listed when several hold (most blocking first). */
export const FINDING_CODES = [
  'metadata-not-arriving',
  'no-peers-known',
  'peers-unreachable',
  'swarm-lacks-pieces',
  'choked-by-all',
  'disk-backlog',
  'verify-backlog',
  'download-limit',
  'peer-cap',
  'corrupt-data',
  'web-seed-failing',
  'slow-peers',
  'unwanted-pieces-missing',
] as const;
export type FindingCode = (typeof FINDING_CODES)[number];

/** A fact behind a finding: JSON-able. */
export type FactValue = string | number | boolean | null | readonly FactValue[] | { readonly [k: string]: FactValue };

export interface Finding {
  readonly code: FindingCode;
  /** One line for a terminal; network text in it is escaped and cut. */
  readonly text: string;
  readonly facts: { readonly [k: string]: FactValue };
  readonly advice: string;
}

/** A peer below this rate is slow (bytes/s). */
export const SLOW_PEER_BPS = 16 * 1024;
/** A smoothed request-to-block time above this is long (ms). */
export const LONG_LATENCY_MS = 3_000;
/** The download rate is "at the limit" from this share of it. */
export const AT_LIMIT_SHARE = 0.8;
/** The write backlog is "full" from this share of its maximum (requesting stops at the maximum). */
export const FULL_BACKLOG_SHARE = 0.9;
/** Pieces waiting to be hashed or written above which hashing is behind (when the disk backlog is not full). */
export const VERIFY_BACKLOG_PIECES = 32;
/** Longest network text kept in a finding. */
export const MAX_FACT_TEXT = 160;

/** Network text made safe to print anywhere: controls and bidi overrides escaped, length bounded. */
export function clip(s: string): string {
  const safe = s.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return safe.length > MAX_FACT_TEXT ? `${safe.slice(0, MAX_FACT_TEXT)}…` : safe;
}

function pct(n: number, d: number): number {
  return d <= 0 ? 0 : Math.round((100 * n) / d);
}

function rate(bps: number): string {
  if (bps >= 1024 * 1024) return `${(bps / 1024 / 1024).toFixed(1)} MiB/s`;
  if (bps >= 1024) return `${(bps / 1024).toFixed(1)} KiB/s`;
  return `${Math.round(bps)} B/s`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** "10-19, 25" from sorted piece indexes. */
export function pieceRanges(sorted: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

const REASON_ADVICE: Readonly<Record<(typeof DIAL_FAIL_REASONS)[number], string>> = {
  refused: 'the peers refuse connections (their port is closed)',
  'timed-out': 'the peers do not answer (firewalled, or gone)',
  reset: 'the peers hang up at once (full, or blocking us)',
  unreachable: 'the peers cannot be reached from this network (no route)',
  'handshake-failed': 'the peers accept the connection but drop the handshake (they may not have this torrent any more, or require encryption)',
  other: 'the dials fail',
};

type Rule = (s: TorrentSnapshot) => Finding | undefined;

const metadata: Rule = (s) => (s.metadata !== undefined ? metadataFinding(s.metadata) : undefined);

/** BEP 9: why the metadata is not arriving; undefined while peers offer it and nothing goes wrong. */
function metadataFinding(m: MetadataSnapshot): Finding | undefined {
  const disagree = m.sizes.length > 1;
  if (m.offering > 0 && !disagree && m.rejects === 0) return undefined;
  const why =
    m.peers === 0
      ? 'no peer connected yet'
      : m.offering === 0
        ? `none of ${plural(m.peers, 'peer')} offers it`
        : disagree
          ? `peers disagree on its size (${m.sizes.join(', ')} bytes)`
          : m.rejects > 0
            ? `${plural(m.rejects, 'request')} rejected by ${m.offering} offering ${m.offering === 1 ? 'peer' : 'peers'}`
            : `${m.offering} of ${plural(m.peers, 'peer')} offer it`;
  return {
    code: 'metadata-not-arriving',
    text: `metadata not arriving: ${why}`,
    facts: { peers: m.peers, offering: m.offering, rejects: m.rejects, sizes: [...m.sizes], elapsedMs: m.elapsedMs },
    advice: 'wait for more peers, or download the .torrent file itself; peers that lack the metadata cannot send it',
  };
}

function failedDials(s: TorrentSnapshot): number {
  return DIAL_FAIL_REASONS.reduce((a, r) => a + (s.dials.failed[r] ?? 0), 0);
}

const noPeersKnown: Rule = (s) => {
  // Addresses that all failed and were forgotten are "none connect", not "none known".
  if (s.peerCount > 0 || s.candidates > 0 || failedDials(s) > 0) return undefined;
  // A web seed at work is a source: the torrent is not stuck for want of peers.
  if (s.webSeeds?.some((w) => w.state === 'active') === true) return undefined;
  const trackers = s.trackers.map((t) => `${clip(t.url)}: ${t.error !== undefined ? clip(t.error) : t.state === 'ok' ? `ok, ${t.peers ?? 0} peers` : t.state}`);
  const parts = [
    s.trackers.length === 0 ? 'the torrent lists no trackers' : trackers.join('; '),
    s.dhtNodes !== undefined ? `DHT: ${plural(s.dhtNodes, 'node')}` : 'no DHT',
    'no PEX/LSD source',
  ];
  return {
    code: 'no-peers-known',
    text: `no peers known: ${parts.join('; ')}`,
    facts: {
      trackers: s.trackers.map((t) => ({
        url: clip(t.url),
        state: t.state,
        failures: t.failures,
        error: t.error !== undefined ? clip(t.error) : null,
        peers: t.peers ?? null,
      })),
      dhtNodes: s.dhtNodes ?? null,
      candidatesBySource: { ...s.candidatesBySource },
    },
    advice: 'check the trackers with tc-debug-tracker, add trackers with tc-enhance, check the network with tc-netcheck, or add a peer with --peer HOST:PORT',
  };
};

const unreachable: Rule = (s) => {
  const failedTotal = failedDials(s);
  if (s.peerCount > 0 || failedTotal === 0) return undefined;
  const known = Math.max(
    s.candidates,
    Object.values(s.candidatesBySource).reduce((a, n) => a + (n ?? 0), 0),
  );
  const top = DIAL_FAIL_REASONS.reduce((a, r) => ((s.dials.failed[r] ?? 0) > (s.dials.failed[a] ?? 0) ? r : a));
  const shares = DIAL_FAIL_REASONS.filter((r) => (s.dials.failed[r] ?? 0) > 0)
    .sort((a, b) => (s.dials.failed[b] ?? 0) - (s.dials.failed[a] ?? 0))
    .map((r) => `${pct(s.dials.failed[r] ?? 0, failedTotal)}% ${r}`);
  const noIncoming = s.incomingEver === 0;
  return {
    code: 'peers-unreachable',
    text:
      `peers known but none connect: ${plural(known, 'address', 'addresses')}, ${plural(failedTotal, 'failed dial')} (${shares.join(', ')})` +
      (noIncoming ? '; nobody has connected to us either' : ''),
    facts: { candidates: s.candidates, attempts: s.dials.attempts, connected: s.dials.connected, failed: { ...s.dials.failed }, incomingEver: s.incomingEver },
    advice:
      `${REASON_ADVICE[top]}; ` +
      (noIncoming
        ? 'nobody reached us either, so we are probably not reachable (incoming port closed or behind NAT) and only peers that accept connections can be used: open or forward the port, check it with tc-netcheck'
        : 'wait for the trackers to hand out other peers'),
  };
};

const lacksPieces: Rule = (s) => {
  if (s.peerCount === 0 || s.unavailableWanted === 0) return undefined;
  const files = s.fileGaps.filter((f) => f.wanted);
  const fileText = files
    .slice(0, 3)
    .map((f) => `${clip(f.path)} ${pct(f.unavailablePieces, f.pieces)}%`)
    .join(', ');
  const more = files.length > 3 ? `, +${files.length - 3} more` : '';
  return {
    code: 'swarm-lacks-pieces',
    text: `${plural(s.unavailableWanted, 'piece')} (${plural(files.length, 'file')}) are on no connected peer: ${fileText}${more}; waiting for a seeder`,
    facts: {
      pieces: s.unavailableWanted,
      sample: pieceRanges(s.unavailableWantedSample),
      files: files.map((f) => ({
        path: clip(f.path),
        unavailablePieces: f.unavailablePieces,
        pieces: f.pieces,
        sharePercent: pct(f.unavailablePieces, f.pieces),
      })),
      peers: s.peerCount,
    },
    advice: 'the download cannot finish until a peer with these pieces appears; keep it running, or unselect those files',
  };
};

const chokedByAll: Rule = (s) => {
  const useful = s.peers.filter((p) => p.weAreInterested);
  if (useful.length === 0 || useful.some((p) => !p.chokesUs)) return undefined;
  const seeders = useful.filter((p) => p.seeder).length;
  const interested = useful.filter((p) => p.interestedInUs).length;
  const capped = s.upLimitBps !== undefined && s.upRateBps >= AT_LIMIT_SHARE * s.upLimitBps;
  return {
    code: 'choked-by-all',
    text: `choked by all ${plural(useful.length, 'peer')} that ${useful.length === 1 ? 'has' : 'have'} what we want (${seeders} seeding, ${interested} interested in us); uploading ${rate(s.upRateBps)}${capped ? ' at our upload limit' : ''}`,
    facts: { peers: useful.length, seeders, interestedInUs: interested, upRateBps: Math.round(s.upRateBps), upLimitBps: s.upLimitBps ?? null },
    advice: capped
      ? 'peers unchoke those who upload to them (tit-for-tat): raise --limit-up'
      : 'peers unchoke in rotation (optimistic unchoke every 30 s); wait, or add peers',
  };
};

const diskBacklog: Rule = (s) => {
  if (s.writeBacklogBytes < FULL_BACKLOG_SHARE * s.maxWriteBacklogBytes) return undefined;
  return {
    code: 'disk-backlog',
    text: `limited by the disk: ${Math.round(s.writeBacklogBytes / 1024 / 1024)} MiB of verified pieces waiting to be written`,
    facts: { writeBacklogBytes: s.writeBacklogBytes, maxWriteBacklogBytes: s.maxWriteBacklogBytes },
    advice: 'the disk writes slower than the swarm sends; use a faster disk or a local folder',
  };
};

const verifyBacklog: Rule = (s) => {
  if (s.verifyingPieces < VERIFY_BACKLOG_PIECES) return undefined;
  return {
    code: 'verify-backlog',
    text: `hashing is behind: ${plural(s.verifyingPieces, 'piece')} waiting to be verified or written`,
    facts: { verifyingPieces: s.verifyingPieces },
    advice: 'the CPU or disk is busy; other programs may be competing for it',
  };
};

const downLimit: Rule = (s) => {
  if (s.downLimitBps === undefined || s.downRateBps < AT_LIMIT_SHARE * s.downLimitBps) return undefined;
  return {
    code: 'download-limit',
    text: `limited by ourselves: download limit ${rate(s.downLimitBps)} reached (${rate(s.downRateBps)})`,
    facts: { downLimitBps: s.downLimitBps, downRateBps: Math.round(s.downRateBps) },
    advice: 'raise or remove --limit-down',
  };
};

const peerCap: Rule = (s) => {
  if (s.peerCount < s.maxPeers || s.candidates <= s.peerCount) return undefined;
  const slow = s.peers.every((p) => p.downRateBps < SLOW_PEER_BPS);
  if (!slow) return undefined;
  return {
    code: 'peer-cap',
    text: `limited by ourselves: at the peer cap (${s.maxPeers}) with ${plural(s.candidates - s.peerCount, 'more address', 'more addresses')} known`,
    facts: { peers: s.peerCount, maxPeers: s.maxPeers, candidates: s.candidates },
    advice: 'raise --max-peers; weak peers are replaced every minute',
  };
};

const corrupt: Rule = (s) => {
  if (s.hashFailures === 0 && s.banned.length === 0) return undefined;
  const names = s.banned.slice(0, 3).map((b) => clip(b.address));
  return {
    code: 'corrupt-data',
    text:
      `corrupt data: ${plural(s.hashFailures, 'hash failure')}, ${Math.round(s.wasteBytes / 1024)} KiB wasted` +
      (s.banned.length > 0 ? `; banned ${names.join(', ')}${s.banned.length > 3 ? ` +${s.banned.length - 3}` : ''}` : ''),
    facts: {
      hashFailures: s.hashFailures,
      wasteBytes: s.wasteBytes,
      banned: s.banned.map((b) => ({ address: clip(b.address), reason: clip(b.reason) })),
    },
    advice: 'peers sending bad data are banned and their pieces fetched again; nothing bad is written',
  };
};

const slowPeers: Rule = (s) => {
  const unchoking = s.peers.filter((p) => !p.chokesUs && p.weAreInterested);
  if (unchoking.length === 0 || unchoking.some((p) => p.downRateBps >= SLOW_PEER_BPS)) return undefined;
  const snubbed = s.peers.filter((p) => p.snubbed).length;
  const lat = unchoking.map((p) => p.responseMs).filter((x): x is number => x !== undefined);
  const slowest = lat.length > 0 ? Math.max(...lat) : undefined;
  const long = slowest !== undefined && slowest > LONG_LATENCY_MS;
  return {
    code: 'slow-peers',
    text:
      `slow peers only: ${plural(unchoking.length, 'peer')} sending, each below ${rate(SLOW_PEER_BPS)}` +
      (snubbed > 0 ? `, ${snubbed} snubbed` : '') +
      (long ? `, requests take up to ${(slowest / 1000).toFixed(1)} s` : ''),
    facts: {
      sending: unchoking.length,
      snubbed,
      slowestResponseMs: slowest !== undefined ? Math.round(slowest) : null,
      downRateBps: Math.round(s.downRateBps),
    },
    advice: 'the swarm is slow; more peers (more trackers with tc-enhance) may help',
  };
};

const unwantedMissing: Rule = (s) => {
  if (s.peerCount === 0 || s.unavailableWanted > 0 || s.unavailableUnwanted === 0) return undefined;
  const files = s.fileGaps.filter((f) => !f.wanted);
  return {
    code: 'unwanted-pieces-missing',
    text: `${plural(s.unavailableUnwanted, 'piece')} of unselected files are on no connected peer; the wanted files can complete`,
    facts: { pieces: s.unavailableUnwanted, files: files.map((f) => ({ path: clip(f.path), unavailablePieces: f.unavailablePieces, pieces: f.pieces })) },
    advice: 'nothing to do for the selected files',
  };
};

const webSeedFailing: Rule = (s) => {
  const failing = (s.webSeeds ?? []).filter((w) => w.state !== 'active');
  if (failing.length === 0) return undefined;
  const all = s.webSeeds?.length ?? 0;
  return {
    code: 'web-seed-failing',
    text: `${plural(failing.length, 'web seed')} of ${all} failing: ${failing
      .slice(0, 3)
      .map((w) => `${clip(w.url)} ${w.state === 'dropped' ? 'dropped' : 'backed off'}: ${clip(w.reason ?? 'failed')}`)
      .join('; ')}${failing.length > 3 ? `; +${failing.length - 3} more` : ''}`,
    facts: {
      webSeeds: failing.map((w) => ({ url: clip(w.url), state: w.state, reason: w.reason !== undefined ? clip(w.reason) : null, downloaded: w.downloaded })),
    },
    advice: 'the web seed serves nothing usable (it needs HTTP Range support and the files at the URLs BEP 19 names); peers are used meanwhile',
  };
};

const RULES: readonly Rule[] = [
  metadata,
  noPeersKnown,
  unreachable,
  lacksPieces,
  chokedByAll,
  diskBacklog,
  verifyBacklog,
  downLimit,
  peerCap,
  corrupt,
  webSeedFailing,
  slowPeers,
  unwantedMissing,
];

/** A magnet's fetch (BEP 9), before any torrent exists: `metadata-not-arriving` or nothing. */
export function diagnoseMetadata(m: MetadataSnapshot): Finding[] {
  const f = metadataFinding(m);
  return f === undefined ? [] : [f];
}

/** The findings that hold for `s`, most blocking first; none unless the torrent is fetching (metadata or pieces). */
export function diagnose(s: TorrentSnapshot): Finding[] {
  if (s.metadata === undefined && (s.state !== 'downloading' || s.wantedLeft === 0)) return [];
  if (s.metadata !== undefined) {
    const m = metadata(s);
    return m === undefined ? [] : [m];
  }
  const out: Finding[] = [];
  for (const r of RULES) {
    const f = r(s);
    if (f !== undefined) out.push(f);
  }
  return out;
}
