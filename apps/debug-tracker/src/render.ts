import { sanitize } from '@tc/cli';
import type { ChalkInstance } from 'chalk';
import { PEERS_SHOWN, type ProbeError, type TrackerProbe } from './probe.js';

export interface Report {
  readonly infoHash: Buffer;
  readonly name: string | undefined;
  readonly trackers: readonly TrackerProbe[];
  /** Wall time of all probes, ms. */
  readonly ms: number;
}

const LABEL = 10;
const label = (s: string): string => `  ${s.padEnd(LABEL)}`;
const ms = (n: number | undefined): string => (n === undefined ? '' : `${n} ms`);
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** An HTTP(S) tracker's silence has nothing to do with UDP: @tc/tracker's explanation covers both. */
const HTTP_TIMEOUT = 'timeout: no answer (host down, or packets dropped by a firewall)';

/** The explanation of a failed step, for the tracker at `url`. */
function explanation(e: ProbeError, url: string): string {
  return e.code === 'TRACKER_TIMEOUT' && /^https?:/i.test(url) ? HTTP_TIMEOUT : e.cause;
}

/** `<explanation>[: "<tracker's text>"]; error: <raw error>`: each said once, nothing nested. */
function errorLine(e: ProbeError, url: string): string {
  const tracker = e.trackerMessage !== undefined ? `: "${sanitize(e.trackerMessage)}"` : '';
  return `${sanitize(explanation(e, url))}${tracker}; error: ${sanitize(e.message)}`;
}

/** The --json shape of a failed step: `message` the explanation, `detail` the raw error. */
function errorJson(e: ProbeError, url: string): Record<string, unknown> {
  return {
    code: e.code,
    message: explanation(e, url),
    detail: e.message,
    ...(e.trackerMessage !== undefined ? { trackerMessage: e.trackerMessage } : {}),
    ...(e.status !== undefined ? { status: e.status } : {}),
  };
}

/** What `-v` labels a raw exchange with: UDP packets are shown in hex. */
function rawLabel(direction: 'request' | 'response', url: string): string {
  const udp = /^udp:/i.test(url);
  return direction === 'request' ? (udp ? 'sent hex' : 'sent') : udp ? 'recv hex' : 'received';
}

export function answered(p: TrackerProbe): boolean {
  return p.announce !== undefined && 'result' in p.announce;
}

/** The human report: one block per tracker, then a summary line. Every remote string is sanitized. */
export function renderReport(r: Report, opts: { chalk: ChalkInstance; verbose: boolean }): string {
  const c = opts.chalk;
  const out: string[] = [];
  out.push(`${c.bold('torrent')}  ${r.name !== undefined ? `${sanitize(r.name)} ` : ''}(info-hash ${r.infoHash.toString('hex')})`);
  for (const p of r.trackers) {
    out.push('');
    const ok = answered(p);
    out.push(`${c.bold('tracker')}  ${sanitize(p.url)}  ${c.dim(`tier ${p.tier}`)}  ${ok ? c.green('OK') : c.red('FAILED')}`);
    if (p.addresses !== undefined) {
      out.push(
        `${label('address')}${p.addresses.map((a) => sanitize(a)).join(', ') || '(none)'}${p.resolveMs !== undefined ? `  (resolved in ${ms(p.resolveMs)})` : ''}`,
      );
    }
    if (p.connectMs !== undefined) out.push(`${label('connect')}${ms(p.connectMs)}`);
    const a = p.announce;
    if (a !== undefined && 'result' in a) {
      const res = a.result;
      const counts = [
        `${plural(res.peers.length, 'peer')}`,
        `interval ${res.interval} s${res.minInterval !== undefined ? ` (min ${res.minInterval} s)` : ''}`,
        res.complete !== undefined ? plural(res.complete, 'seeder') : undefined,
        res.incomplete !== undefined ? plural(res.incomplete, 'leecher') : undefined,
      ].filter((x) => x !== undefined);
      out.push(`${label('announce')}${c.green('ok')} in ${ms(a.ms)}: ${counts.join(', ')}`);
      for (const peer of res.peers.slice(0, PEERS_SHOWN)) out.push(`${label('')}${peer.family === 6 ? `[${peer.ip}]` : peer.ip}:${peer.port}`);
      if (res.peers.length > PEERS_SHOWN) out.push(`${label('')}… and ${res.peers.length - PEERS_SHOWN} more`);
      if (res.skipped > 0) out.push(`${label('')}${plural(res.skipped, 'entry', 'entries')} skipped (port 0, malformed or over the cap)`);
      if (res.warning !== undefined) out.push(`${label('warning')}${c.yellow(sanitize(res.warning))}`);
    }
    if (p.failure !== undefined) {
      const after = p.failure.ms !== undefined ? ` after ${ms(p.failure.ms)}` : '';
      out.push(`${label(p.failure.step)}${c.red('failed')}${after}: ${errorLine(p.failure.error, p.url)}`);
    }
    const s = p.scrape;
    if (s !== undefined) {
      if ('error' in s) out.push(`${label('scrape')}${c.yellow('failed')}: ${errorLine(s.error, p.url)}`);
      else if (s.entry === undefined) out.push(`${label('scrape')}the tracker does not list this torrent`);
      else
        out.push(
          `${label('scrape')}${plural(s.entry.complete, 'seeder')}, ${plural(s.entry.incomplete, 'leecher')}, ${s.entry.downloaded} downloaded (${ms(s.ms)})`,
        );
    }
    for (const h of p.handshakes ?? []) {
      const who = `${h.ip.includes(':') ? `[${h.ip}]` : h.ip}:${h.port}`;
      out.push(
        `${label('handshake')}${who} ${h.ok ? `${c.green('answered')} in ${ms(h.ms)}${h.client !== undefined ? ` (${sanitize(h.client)})` : ''}` : `${c.red('no')}: ${sanitize(h.error ?? '')}`}`,
      );
    }
    if (opts.verbose) {
      for (const x of p.raw) {
        out.push(`${label(rawLabel(x.direction, p.url))}${sanitize(x.text, { multiline: true }).replace(/\n/g, `\n${label('')}`)}`);
      }
    }
  }
  const n = r.trackers.filter(answered).length;
  out.push('');
  out.push(`${n > 0 ? c.green('summary') : c.red('summary')}  ${n} of ${plural(r.trackers.length, 'tracker')} answered (${r.ms} ms)`);
  return `${out.join('\n')}\n`;
}

/** The --json document (stdout), schema 1. */
export function reportJson(r: Report, verbose: boolean): object {
  return {
    infoHash: r.infoHash.toString('hex'),
    name: r.name ?? null,
    answered: r.trackers.filter(answered).length,
    ms: r.ms,
    trackers: r.trackers.map((p) => ({
      url: p.url,
      tier: p.tier,
      ok: answered(p),
      addresses: p.addresses ?? [],
      resolveMs: p.resolveMs ?? null,
      connectMs: p.connectMs ?? null,
      announce:
        p.announce === undefined
          ? null
          : 'result' in p.announce
            ? {
                ms: p.announce.ms,
                interval: p.announce.result.interval,
                minInterval: p.announce.result.minInterval ?? null,
                seeders: p.announce.result.complete ?? null,
                leechers: p.announce.result.incomplete ?? null,
                warning: p.announce.result.warning ?? null,
                skipped: p.announce.result.skipped,
                peers: p.announce.result.peers.map((x) => ({ ip: x.ip, port: x.port, family: x.family })),
              }
            : { ms: p.announce.ms, error: errorJson(p.announce.error, p.url) },
      scrape:
        p.scrape === undefined
          ? null
          : 'error' in p.scrape
            ? { ms: p.scrape.ms, error: errorJson(p.scrape.error, p.url) }
            : {
                ms: p.scrape.ms,
                seeders: p.scrape.entry?.complete ?? null,
                leechers: p.scrape.entry?.incomplete ?? null,
                downloaded: p.scrape.entry?.downloaded ?? null,
              },
      handshakes: p.handshakes ?? null,
      failure: p.failure === undefined ? null : { ...p.failure, error: errorJson(p.failure.error, p.url) },
      ...(verbose ? { raw: p.raw } : {}),
    })),
  };
}
