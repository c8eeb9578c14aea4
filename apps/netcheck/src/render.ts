import { sanitize, writeJson, type Io } from '@tc/cli';
import type { ChalkInstance } from 'chalk';
import { CHECK_IDS, CHECK_TITLES, type CheckStatus } from './checks/types.js';
import type { NetcheckReport } from './netcheck.js';

export const STATUS_MARKS: Readonly<Record<CheckStatus, string>> = { ok: '✓', warn: '⚠', fail: '✗', skip: '-' };

export interface Heading {
  readonly trackerSource: string;
  readonly trackerCount: number;
  readonly port: number;
  readonly torrent?: { readonly infoHashHex: string; readonly name?: string };
}

function paint(c: ChalkInstance, status: CheckStatus, text: string): string {
  switch (status) {
    case 'ok':
      return c.green(text);
    case 'warn':
      return c.yellow(text);
    case 'fail':
      return c.red(text);
    case 'skip':
      return c.dim(text);
  }
}

/** The human checklist: one line per check, its details indented, advice under it. Network text is sanitized. */
export function renderChecklist(report: NetcheckReport, heading: Heading, c: ChalkInstance): string {
  const lines: string[] = [];
  const what = heading.torrent
    ? `torrent ${heading.torrent.name !== undefined ? `"${sanitize(heading.torrent.name)}" ` : ''}(${heading.torrent.infoHashHex})`
    : 'no torrent';
  lines.push(`tc-netcheck: ${what}, ${heading.trackerCount} tracker(s) from ${heading.trackerSource}, port ${heading.port}`);
  lines.push('');
  for (const r of report.checks) {
    const mark = paint(c, r.status, STATUS_MARKS[r.status]);
    lines.push(`${mark} ${c.bold(r.title)}: ${sanitize(r.summary)} ${c.dim(`(${r.ms} ms)`)}`);
    for (const d of r.detail) lines.push(`    ${sanitize(d)}`);
    if (r.advice !== undefined && (r.status === 'warn' || r.status === 'fail')) lines.push(`    ${paint(c, r.status, '→')} ${sanitize(r.advice)}`);
  }
  lines.push('');
  const fails = report.checks.filter((r) => r.status === 'fail').length;
  const warns = report.checks.filter((r) => r.status === 'warn').length;
  const counts = `${fails} failed, ${warns} warning(s), ${report.checks.length} check(s) in ${report.ms} ms`;
  // Only what ran is vouched for: checks left out by --only, or skipped (no torrent for peers), are named.
  const ran = new Set(report.checks.filter((r) => r.status !== 'skip').map((r) => r.id));
  const notChecked = CHECK_IDS.filter((id) => !ran.has(id)).map((id) => CHECK_TITLES[id].toLowerCase());
  const unchecked = notChecked.length > 0 ? `; not checked: ${notChecked.join(', ')}` : '';
  lines.push(
    fails > 0
      ? `${c.red('✗')} ${counts}: downloads will not work until the failures above are fixed${unchecked}`
      : warns > 0
        ? `${c.yellow('⚠')} ${counts}: downloads should work, perhaps slower${unchecked}`
        : notChecked.length > 0
          ? `${c.green('✓')} ${counts}: everything checked works${unchecked}`
          : `${c.green('✓')} ${counts}: everything a download needs works`,
  );
  return `${lines.join('\n')}\n`;
}

/** `--json`: one document with `schema: 1`; every string from the network is kept verbatim (JSON escapes it). */
export function renderJson(io: Io, report: NetcheckReport, heading: Heading, exitCode: number): void {
  writeJson(io, {
    ok: report.ok,
    exitCode,
    ms: report.ms,
    port: heading.port,
    trackerSource: heading.trackerSource,
    trackerCount: heading.trackerCount,
    torrent: heading.torrent ?? null,
    checks: report.checks.map((r) => ({
      id: r.id,
      title: r.title,
      status: r.status,
      ms: r.ms,
      summary: r.summary,
      detail: r.detail,
      advice: r.advice ?? null,
      data: r.data,
    })),
  });
}
