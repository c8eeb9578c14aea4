import type { ReachProbe, TrackerReach } from '@tc/tracker';
import { type CheckResult, type Clock, result } from './types.js';

/**
 * What one tracker probe found: @tc/tracker's reach probe. `alive`: the tracker answered in its
 * protocol. `answered`: a server answered but refused the request (HTTP status, tracker failure): it
 * is up, but may not serve this torrent. `dead`: refused, timed out, or unresolvable. `unsupported`:
 * a scheme tc does not speak. A dead tracker's `code` tells which: TRACKER_REFUSED (nothing listens
 * on the port: TCP refused, or for UDP an ICMP port unreachable), TRACKER_TIMEOUT (no answer at
 * all), TRACKER_DNS, …
 */
export type TrackerState = TrackerReach;
export type TrackerProbeOutcome = ReachProbe;

/** Probes one tracker URL within the signal's deadline; never rejects. */
export type TrackerProbe = (url: string, signal: AbortSignal) => Promise<TrackerProbeOutcome>;

/** Trackers probed at most: a torrent lists a handful; a 1000-URL list must not turn into a scan. */
export const MAX_TRACKERS_PROBED = 64;
/** Probes in flight at once. */
export const MAX_PARALLEL_PROBES = 16;

export async function probeTrackers(probe: TrackerProbe, urls: readonly string[], signal: AbortSignal): Promise<TrackerProbeOutcome[]> {
  const list = urls.slice(0, MAX_TRACKERS_PROBED);
  const out = new Array<TrackerProbeOutcome>(list.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < list.length) {
      const i = next++;
      out[i] = await probe(list[i]!, signal);
    }
  };
  await Promise.all(Array.from({ length: Math.min(MAX_PARALLEL_PROBES, list.length) }, worker));
  return out;
}

function line(o: TrackerProbeOutcome): string {
  const t = o.connectMs !== undefined ? `connect ${o.connectMs} ms, ${o.ms} ms in all` : `${o.ms} ms`;
  switch (o.state) {
    case 'alive':
      return `✓ ${o.url}: answered (${t})`;
    case 'answered':
      return `~ ${o.url}: up, but refused: ${o.message ?? o.code ?? '?'} (${t})`;
    case 'dead':
      // Some messages already carry their own timing ("no UDP reply after 2 tries (1500 ms)").
      return `✗ ${o.url}: ${o.message ?? o.code ?? 'no answer'}${/ ms\)$/.test(o.message ?? '') ? '' : ` (${o.ms} ms)`}`;
    case 'unsupported':
      return `- ${o.url}: not probed (${o.message ?? 'unsupported scheme'})`;
  }
}

/**
 * Check 4: each tracker's reachability, and how many BEP 12 tiers have at least one tracker up.
 * Fails when no tier is alive (no tracker, no peers); warns when some trackers are dead.
 */
export function trackersResult(tiers: readonly (readonly string[])[], outcomes: readonly TrackerProbeOutcome[], clock: Clock, started: number): CheckResult {
  const byUrl = new Map(outcomes.map((o) => [o.url, o]));
  const up = (u: string): boolean => {
    const s = byUrl.get(u)?.state;
    return s === 'alive' || s === 'answered';
  };
  const probedTiers = tiers.filter((t) => t.some((u) => byUrl.has(u)));
  const aliveTiers = probedTiers.filter((t) => t.some(up));
  const alive = outcomes.filter((o) => o.state === 'alive' || o.state === 'answered');
  const dead = outcomes.filter((o) => o.state === 'dead');
  const udp = outcomes.filter((o) => o.url.startsWith('udp:') && o.state !== 'unsupported');
  const http = outcomes.filter((o) => /^https?:/.test(o.url));
  const data = { tiers: tiers.length, aliveTiers: aliveTiers.length, trackers: outcomes };
  const detail = outcomes.map(line);
  if (outcomes.length === 0 || outcomes.every((o) => o.state === 'unsupported')) {
    return result('trackers', clock, started, {
      status: 'skip',
      summary: 'no HTTP or UDP tracker to probe',
      detail,
      data,
    });
  }
  const summary = `${aliveTiers.length} of ${probedTiers.length} tiers alive (${alive.length} of ${outcomes.length} trackers answered)`;
  let advice: string | undefined;
  const udpDead = udp.length > 0 && udp.every((o) => o.state === 'dead');
  const httpUp = http.some((o) => o.state === 'alive' || o.state === 'answered');
  const dnsDead = dead.filter((o) => o.code === 'TRACKER_DNS');
  const refused = dead.filter((o) => o.code === 'TRACKER_REFUSED');
  // UDP trackers whose host resolved: silence from all of them suggests a firewall that drops UDP,
  // a refusal (ICMP port unreachable) from all of them one that rejects it; a mix points at the trackers.
  const udpReached = udp.filter((o) => o.code !== 'TRACKER_DNS');
  const udpRefused = udpReached.filter((o) => o.code === 'TRACKER_REFUSED');
  if (udpDead && httpUp && udpReached.length > 0 && udpRefused.length === 0) {
    advice = 'every UDP tracker is silent while HTTP works: a firewall may block outgoing UDP; allow it, or prefer HTTP trackers';
  } else if (udpDead && httpUp && udpRefused.length === udpReached.length && udpRefused.length > 1) {
    advice =
      'every UDP tracker refused (port unreachable) while HTTP works: they may all be down, but a firewall that rejects outgoing UDP is likelier; check it, or prefer HTTP trackers';
  } else if (dnsDead.length === dead.length && dead.length > 0) advice = 'the dead trackers did not resolve: see the DNS check above';
  else if (aliveTiers.length === 0 && refused.length === dead.length) {
    advice =
      'no tracker answers: every one refused (nothing listens on its port): the trackers are down or their URLs name the wrong port; add working trackers (tc-enhance)';
  } else if (aliveTiers.length === 0) advice = 'no tracker answers: check your connection and firewall, or add working trackers (tc-enhance)';
  else if (dead.length > 0) {
    const why =
      refused.length > 0 ? ` (${refused.length} refused, meaning nothing listens on the port: the tracker is down or its URL names the wrong port)` : '';
    advice = `${dead.length} tracker(s) are dead${why}: the torrent still works through the others; remove dead ones with tc-enhance`;
  }
  const status = aliveTiers.length === 0 ? 'fail' : dead.length > 0 ? 'warn' : 'ok';
  return result('trackers', clock, started, { status, summary, detail, ...(status !== 'ok' ? { advice } : {}), data });
}
