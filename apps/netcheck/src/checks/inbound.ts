import type { LocalAddress } from './addresses.js';
import { type CheckResult, type Clock, result } from './types.js';

/** Our address as someone else saw it. */
export interface ExternalReport {
  /** A tracker URL (BEP 24 `external ip`) or `peer ip:port` (BEP 10 `yourip`). */
  readonly source: string;
  readonly ip: string;
}

/** `::ffff:1.2.3.4` and `1.2.3.4` are the same address for comparison. */
function normal(ip: string): string {
  const lower = ip.toLowerCase();
  return lower.startsWith('::ffff:') && lower.includes('.') ? lower.slice(7) : lower;
}

/**
 * Check 6: what address trackers and peers see for us, and whether it is one of ours. When it is
 * not, we are behind NAT: outgoing connections work, but peers can only connect in if the listen
 * port is forwarded. Never a failure: downloads work without inbound connections, only slower.
 */
export function inboundResult(reports: readonly ExternalReport[], local: readonly LocalAddress[], port: number, clock: Clock, started: number): CheckResult {
  const mine = new Set(local.map((a) => normal(a.address)));
  const distinct = [...new Set(reports.map((r) => normal(r.ip)))];
  const detail = distinct.map((ip) => {
    const from = reports.filter((r) => normal(r.ip) === ip).map((r) => r.source);
    const more = from.length > 2 ? ` and ${from.length - 2} more` : '';
    return `${ip}: ${mine.has(ip) ? 'one of our addresses' : 'not a local address (NAT)'}, seen by ${from.slice(0, 2).join(', ')}${more}`;
  });
  const data = { reports, external: distinct, port };
  if (distinct.length === 0) {
    return result('inbound', clock, started, {
      status: 'skip',
      summary: 'no tracker or peer told us our address',
      detail: ['HTTP trackers (BEP 24 `external ip`) and peers (BEP 10 `yourip`) report it; give a torrent to ask them'],
      data,
    });
  }
  const natted = distinct.filter((ip) => !mine.has(ip));
  if (natted.length === 0) {
    return result('inbound', clock, started, {
      status: 'ok',
      summary: `peers see us at ${distinct.join(', ')}, an address of this machine: no NAT in between`,
      detail,
      data,
    });
  }
  const cgnat = local.some((a) => a.scope === 'cgnat');
  const lan = local.find((a) => a.family === 4 && (a.scope === 'private' || a.scope === 'cgnat'));
  const advice = cgnat
    ? `your provider uses carrier-grade NAT (100.64.0.0/10): port forwarding is not possible; downloads still work through outgoing connections`
    : `behind NAT: forward TCP and UDP port ${port} to ${lan?.address ?? 'this machine'} on the router (or enable UPnP/NAT-PMP) so peers can connect in`;
  return result('inbound', clock, started, {
    status: 'warn',
    summary: `peers see us at ${natted.join(', ')}, not a local address: behind NAT${distinct.length > 1 ? ' (several addresses reported)' : ''}`,
    detail,
    advice,
    data,
  });
}
