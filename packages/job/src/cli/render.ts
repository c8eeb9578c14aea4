import { formatBytes, formatDuration, formatRate, sanitize } from '@tc/cli';
import type { SeedGoal, TorrentStats } from '@tc/engine';
import type { TrackerStatus } from '@tc/tracker';

/** Seconds left at the current rate, or Infinity when unknown. */
export function etaSeconds(s: TorrentStats): number {
  if (s.left === 0) return 0;
  return s.downRateBps > 1 ? s.left / s.downRateBps : Infinity;
}

/** The live status line's text after the bar (aria2c-like): speeds, ETA, pieces, peers. */
export function statusText(s: TorrentStats): string {
  return [
    `${formatBytes(s.haveBytes)}/${formatBytes(s.totalBytes)}`,
    `↓ ${formatRate(s.downRateBps)}`,
    `↑ ${formatRate(s.upRateBps)}`,
    `ETA ${formatDuration(etaSeconds(s))}`,
    `pieces ${s.piecesHave}/${s.pieceCount}`,
    `peers ${s.peers}`,
    ...(s.hashFailures > 0 ? [`hash failures ${s.hashFailures}`] : []),
  ].join('  ');
}

/** One `--json` status object (CLI.md: schema 1 added by writeJson). */
export function statusJson(name: string, infoHash: string, s: TorrentStats, elapsedS: number, final: boolean): object {
  return {
    type: final ? 'summary' : 'status',
    name,
    infoHash,
    state: s.state,
    elapsedS: Math.round(elapsedS * 1000) / 1000,
    percent: s.totalBytes === 0 ? 100 : Math.round((10000 * s.haveBytes) / s.totalBytes) / 100,
    haveBytes: s.haveBytes,
    totalBytes: s.totalBytes,
    downloadedBytes: s.downloaded,
    uploadedBytes: s.uploaded,
    downRateBps: Math.round(s.downRateBps),
    upRateBps: Math.round(s.upRateBps),
    etaS: Number.isFinite(etaSeconds(s)) ? Math.round(etaSeconds(s)) : null,
    pieces: s.piecesHave,
    pieceCount: s.pieceCount,
    peers: s.peers,
    peersUsed: s.peersUsed,
    // Peers known by where they came from (trackers, DHT, PEX, LSD, --peer, incoming).
    ...(s.sources !== undefined ? { peerSources: s.sources } : {}),
    hashFailures: s.hashFailures,
    wasteBytes: s.wasteBytes,
    // Upload-only after a disk error: the reason, for a script to show (the error line is on stderr too).
    ...(s.error !== undefined ? { error: { code: s.error.code, message: s.error.message } } : {}),
    // Web seeds (BEP 19): each one's state and, when backed off or dropped, why (network text, sanitized).
    ...(s.webSeeds !== undefined
      ? {
          webSeeds: s.webSeeds.map((w) => ({
            url: sanitize(w.url),
            state: w.state,
            reason: w.reason !== undefined ? sanitize(w.reason) : null,
            downloadedBytes: w.downloaded,
          })),
        }
      : {}),
  };
}

/** The final human summary (stdout). */
export function summaryText(name: string, s: TorrentStats, elapsedS: number, where: string): string {
  const avg = elapsedS > 0 ? s.downloaded / elapsedS : 0;
  return [
    `downloaded ${sanitize(name)}`,
    `  bytes:         ${formatBytes(s.totalBytes)} (${s.totalBytes} bytes, ${s.pieceCount} pieces verified)`,
    `  time:          ${formatDuration(elapsedS)} (${elapsedS.toFixed(2)} s)`,
    `  average speed: ${formatRate(avg)}`,
    `  peers used:    ${s.peersUsed}`,
    `  hash failures: ${s.hashFailures}`,
    ...(s.webSeeds ?? []).map(
      (w) =>
        `  web seed:      ${sanitize(w.url)}: ${formatBytes(w.downloaded)}${w.state !== 'active' ? ` (${w.state === 'dropped' ? 'dropped' : 'backed off'}: ${sanitize(w.reason ?? 'failed')})` : ''}`,
    ),
    `  saved in:      ${sanitize(where)}`,
  ].join('\n');
}

/**
 * The seeding status line: upload rate, total, ratio (uploaded / size), peers; with a `--seed`
 * goal, how far along it is (`ratio 0.50 of 2`, `stops in 20m00s`).
 */
export function seedText(s: TorrentStats, goal?: SeedGoal, seedMs = 0): string {
  const ratio = (s.uploaded / Math.max(1, s.totalBytes)).toFixed(2);
  return [
    `↑ ${formatRate(s.upRateBps)}`,
    `uploaded ${formatBytes(s.uploaded)}`,
    `ratio ${ratio}${goal?.kind === 'ratio' ? ` of ${goal.ratio}` : ''}`,
    `peers ${s.peers}`,
    ...(goal?.kind === 'time' ? [`stops in ${formatDuration(Math.max(0, goal.ms - seedMs) / 1000)}`] : []),
  ].join('  ');
}

/** The final seeding summary (stdout). */
export function seedSummaryText(name: string, s: TorrentStats, seededS: number): string {
  return [
    `seeded ${sanitize(name)}`,
    `  uploaded:      ${formatBytes(s.uploaded)} (${s.uploaded} bytes, ratio ${(s.uploaded / Math.max(1, s.totalBytes)).toFixed(2)})`,
    `  time seeding:  ${formatDuration(seededS)} (${seededS.toFixed(2)} s)`,
    `  average speed: ${formatRate(seededS > 0 ? s.uploaded / seededS : 0)}`,
  ].join('\n');
}

/** "udp://x: timed out; http://y: 404" for the no-peers error. */
export function trackerFailures(status: readonly TrackerStatus[]): string {
  if (status.length === 0) return 'the torrent lists no trackers';
  return status
    .map((t) => `${sanitize(t.url)}: ${t.lastError !== undefined ? sanitize(t.lastError.message) : t.state === 'ok' ? `ok, ${t.peers ?? 0} peers` : t.state}`)
    .join('; ');
}
